"""Real Celery worker processes, Redis and PostgreSQL, against a fake provider on 127.0.0.1."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from config.celery import app as celery_app
from crm.models import Candidate
from crm.services import application_create, feedback_note_create, job_save
from crm.tenancy import organization_scope
from outreach.fake_provider import FakeProvider
from outreach.models import EmailTemplate, Message, MessageStatus
from outreach.services import queue_email, review_approve

from ..conftest import make_tenant
from ..factories import CandidateFactory
from ..processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


def worker_database_url():
    """The server the tests use (DATABASE_URL, socket or host), with the test database's name."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def provider():
    fake = FakeProvider(latency=0.02).start()
    yield fake
    fake.stop()


@pytest.fixture
def broker():
    """Tasks go to the real broker (Redis) instead of running in this process."""
    celery_app.conf.task_always_eager = False
    yield celery_app
    celery_app.conf.task_always_eager = True


class Worker:
    def __init__(self, provider, **env):
        environ = {**os.environ, "DATABASE_URL": worker_database_url(), "SILVERPOOL_TESTING": "1",
                   "OUTBOX_EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
                   "ANYMAIL_POSTMARK_SERVER_TOKEN": "fake-token", "ANYMAIL_POSTMARK_API_URL": provider.url,
                   "OUTBOX_SEND_CONCURRENCY": "4", "CELERY_TASK_ALWAYS_EAGER": "0",
                   **{k: str(v) for k, v in env.items()}}
        environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "--concurrency", "1",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=environ, start_new_session=True,
        )

    def kill(self):
        """SIGKILL the worker and its pool: no clean-up of any kind runs."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers():
    started = []

    def start(provider, **env):
        worker = Worker(provider, **env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def test_a_rejection_through_the_api_is_sent_once_by_a_worker_and_a_bounce_marks_the_candidate(
        provider, broker, workers, settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    tenant = make_tenant("Acme Robotics", "acme")
    with organization_scope(tenant.organization):
        job = job_save(actor=tenant.recruiter, title="Flight software engineer", status="open",
                       hiring_managers=[tenant.hiring_manager])
        candidate = CandidateFactory(organization=tenant.organization, first_name="Margaret",
                                     email="margaret@apollo.test")
        application = application_create(actor=tenant.recruiter, candidate=candidate, job=job, stage="final")
        feedback_note_create(application=application, author=tenant.hiring_manager,
                             strengths="Your error-handling design saved the landing", shareable=True)
    workers(provider)
    response = tenant.api.post(f"/api/v1/applications/{application.pk}/reject/",
                               {"reason": "Another candidate chosen", "send_email": "now"}, format="json")
    assert response.status_code == 200
    queued = lambda: Message.all_tenants.filter(application=application, status=MessageStatus.REVIEW).exists()  # noqa: E731
    assert wait_until(queued), "the worker did not queue the rejection email"
    with organization_scope(tenant.organization):
        review_approve(message=Message.objects.get(application=application), actor=tenant.recruiter)
    assert provider.wait_for(1), "the worker did not send the email"
    assert wait_until(lambda: Message.all_tenants.get(application=application).status == MessageStatus.SENT)
    message = Message.all_tenants.get(application=application)
    time.sleep(1)
    assert len(provider.received) == 1
    assert provider.received[0][1] == "margaret@apollo.test"
    assert "Your error-handling design saved the landing" in provider.bodies[0]

    bounce = {"RecordType": "Bounce", "ID": 982347, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
              "MessageID": message.provider_message_id, "Email": "margaret@apollo.test",
              "Description": "The server was unable to deliver your message.", "Details": "smtp;550 5.1.1 unknown",
              "BouncedAt": "2026-11-24T10:00:00Z", "Inactive": True, "CanActivate": True, "MessageStream": "outbound",
              "Metadata": {}}
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()
    answer = Client().post("/webhooks/anymail/postmark/tracking/", json.dumps(bounce),
                           content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert answer.status_code == 200
    # The post is taken into the webhook inbox; the worker applies it.
    assert wait_until(lambda: Candidate.all_tenants.get(pk=candidate.pk).email_status == "bounced", 30)
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.BOUNCED


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(provider, broker, workers):
    tenant = make_tenant("Acme Robotics", "acme")
    with organization_scope(tenant.organization):
        template = EmailTemplate.objects.get(kind="generic", language="en")
        ids = []
        for i in range(6):
            candidate = CandidateFactory(organization=tenant.organization, email=f"c{i}@kill.test")
            message, _ = queue_email(unique_key=f"kill:{i}", kind="generic", to_email=candidate.email,
                                     candidate=candidate, template=template)
            ids.append(message.pk)
    provider.hold.clear()  # the provider takes the emails but holds its answers
    first = workers(provider, OUTBOX_SEND_CONCURRENCY=2, OUTBOX_SENDING_TIMEOUT=2)
    broker.send_task("outreach.tasks.send_due_messages")
    assert provider.wait_for(2), "the worker never reached the provider"
    first.kill()  # two emails are inside the provider call, four are claimed but not started
    provider.hold.set()
    states = dict(Message.all_tenants.filter(pk__in=ids).values_list("pk", "provider_call_started_at"))
    in_flight = {pk for pk, started in states.items() if started is not None}
    assert len(in_flight) == 2
    assert set(Message.all_tenants.filter(pk__in=ids).values_list("status", flat=True)) == {"sending"}

    time.sleep(2.5)  # past the sending timeout
    workers(provider, OUTBOX_SEND_CONCURRENCY=2, OUTBOX_SENDING_TIMEOUT=2)
    broker.send_task("outreach.tasks.send_due_messages")
    assert provider.wait_for(6), f"only {len(provider.received)} of 6 emails reached the provider"
    settled = lambda: not Message.all_tenants.filter(pk__in=ids, status__in=["queued", "sending"]).exists()  # noqa: E731
    assert wait_until(settled)
    time.sleep(1)
    received = [int(r[0]) for r in provider.received]
    assert sorted(received) == sorted(ids), "every email reached the provider exactly once"
    statuses = dict(Message.all_tenants.filter(pk__in=ids).values_list("pk", "status"))
    assert {pk for pk, status in statuses.items() if status == "needs_review"} == in_flight
    assert {pk for pk, status in statuses.items() if status == "sent"} == set(ids) - in_flight
