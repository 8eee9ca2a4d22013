"""Decisions and their emails with the broker (Redis) unreachable: the decision and its outbox row commit together."""

import logging
import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from crm.models import Application, RejectionReason
from crm.services import application_create, job_save
from outreach.models import Message, MessageStatus
from outreach.tasks import repair_missing_notices

from ..conftest import make_tenant
from ..consent.test_public import JOIN
from ..factories import CandidateFactory

# Real commits: the nudges run after them inside the request, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down():
    """The Celery app publishes to a port nothing listens on, once, without waiting between tries."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_write_url, conf.task_publish_retry_policy)

    def new_connections():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.task_always_eager = False
    conf.broker_url = conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1}
    new_connections()
    yield
    conf.task_always_eager, conf.broker_url, conf.broker_write_url, conf.task_publish_retry_policy = saved
    new_connections()


@pytest.fixture
def applications():
    tenant = make_tenant("Acme Robotics", "acme")
    make_tenant("Bluebird Labs", "bluebird")
    with tenant.scope():
        job = job_save(actor=tenant.recruiter, title="Platform engineer", status="open")
        created = [application_create(actor=tenant.recruiter, job=job, stage="screening",
                                      candidate=CandidateFactory(organization=tenant.organization,
                                                                 email=f"c{i}@broker.test"))
                   for i in range(3)]
        reason = RejectionReason.objects.filter(active=True).first()
    return tenant, created, reason


def test_a_rejection_through_the_page_with_the_broker_down_is_rejected_with_its_email_queued(
        broker_down, applications, caplog):
    tenant, created, reason = applications
    caplog.set_level(logging.WARNING, logger="crm.tasks")
    for application in created:
        response = tenant.recruiter_client.post(
            f"/o/{tenant.slug}/applications/{application.pk}/reject/",
            {"reason": reason.pk, "send_email": "now", "version": application.version})
        assert response.status_code == 302
        assert Application.all_tenants.get(pk=application.pk).stage == "rejected"
        message = Message.all_tenants.get(application=application)
        assert message.status == MessageStatus.QUEUED and message.kind == "rejection_early"
        assert message.send_after <= timezone.now()
    assert "could not queue outreach.tasks.send_due_messages after the commit: OperationalError" in caplog.text


def test_a_rejection_through_the_api_with_the_broker_down_is_rejected_with_its_email_queued(
        broker_down, applications):
    tenant, created, reason = applications
    application = created[0]
    response = tenant.api.post(f"/api/v1/applications/{application.pk}/reject/",
                               {"reason": reason.label, "send_email": "scheduled"}, format="json")
    assert response.status_code == 200, response.content
    assert Application.all_tenants.get(pk=application.pk).stage == "rejected"
    message = Message.all_tenants.get(application=application)
    assert message.status == MessageStatus.QUEUED
    assert message.send_after > timezone.now()  # the next working morning, as planned at the decision


def test_undoing_a_rejection_with_the_broker_down_cancels_its_email_in_the_same_transaction(
        broker_down, applications):
    tenant, created, reason = applications
    application = created[0]
    tenant.recruiter_client.post(f"/o/{tenant.slug}/applications/{application.pk}/reject/",
                                 {"reason": reason.pk, "version": application.version})
    application.refresh_from_db()
    response = tenant.recruiter_client.post(f"/o/{tenant.slug}/applications/{application.pk}/undo/",
                                            {"version": application.version})
    assert response.status_code == 302
    assert Message.all_tenants.get(application=application).status == MessageStatus.CANCELLED


def test_the_public_join_form_with_the_broker_down_queues_the_confirmation(broker_down, applications):
    tenant = applications[0]
    response = Client().post(f"/p/{tenant.slug}/join/", JOIN)
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()
    assert Message.all_tenants.filter(kind="consent_confirmation", to_email="lin@wei.test").exists()


def test_the_repair_task_queues_a_missing_notice_and_says_so_loudly(applications, caplog):
    tenant, created, reason = applications
    early, later, skipped = created
    for application in created:
        tenant.recruiter_client.post(f"/o/{tenant.slug}/applications/{application.pk}/reject/",
                                     {"reason": reason.pk, "version": application.version, "send_email": "morning"}
                                     | ({"send_email": "none", "skip_reason": "Asked us not to"}
                                        if application is skipped else {}))
    lost = Message.all_tenants.get(application=early)
    Message.all_tenants.filter(pk=lost.pk).delete()  # as if it had never been written
    a_while_ago = timezone.now() - timedelta(minutes=5)
    Application.all_tenants.filter(pk__in=[a.pk for a in created]).update(decided_at=a_while_ago)
    caplog.set_level(logging.ERROR, logger="outreach.services")

    assert repair_missing_notices() == 1
    repaired = Message.all_tenants.get(application=early)
    assert repaired.status == MessageStatus.QUEUED and repaired.kind == "rejection_early"
    assert f"application {early.pk}" in caplog.text and "was missing" in caplog.text
    assert not Message.all_tenants.filter(application=skipped).exists()  # no email was the recruiter's choice
    assert Message.all_tenants.filter(application=later).count() == 1
    assert repair_missing_notices() == 0
