"""A new talent-pool text asking for renewal while the broker is down: saved, answered, and the renewals go out later."""

import socket
from contextlib import contextmanager

import pytest

from config.celery import app as celery_app
from consent.models import ConsentPurpose, ConsentRecord, ConsentText
from consent.tasks import ask_pending_renewals, ask_renewal_after_text_change
from outreach.models import Message

from .test_public import _confirmed

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: the nudge runs after them


@contextmanager
def broker_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_write_url)

    def new_connections():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.task_always_eager = False
    conf.broker_url = conf.broker_write_url = f"redis://127.0.0.1:{port}/0"
    new_connections()
    try:
        yield
    finally:
        conf.task_always_eager, conf.broker_url, conf.broker_write_url = saved
        new_connections()


def test_a_text_change_asking_for_renewal_with_the_broker_down_is_kept_and_the_beat_sends_it_once(tenant_a):
    candidate = _confirmed(tenant_a)
    with tenant_a.scope():
        pool = ConsentPurpose.objects.get(key="talent_pool")
    with broker_unreachable():
        response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/consent/texts/", {
            "purpose": pool.pk, "language": "en", "text": "New words about keeping your profile.",
            "ask_renewal": "on"})
    assert response.status_code == 302
    text = ConsentText.all_tenants.get(purpose=pool, text="New words about keeping your profile.")
    assert text.renewal_pending and text.renewal_claimed_at is None
    assert not Message.all_tenants.filter(kind="consent_renewal").exists()  # the task never reached a worker

    assert ask_pending_renewals() == 1  # the beat's tick, the broker back (tasks run eagerly here)
    text.refresh_from_db()
    assert not text.renewal_pending
    assert Message.all_tenants.filter(kind="consent_renewal", candidate=candidate).count() == 1
    requested = ConsentRecord.all_tenants.filter(candidate=candidate, action="renewal_requested").count()
    assert requested >= 1

    assert ask_pending_renewals() == 0
    # A task delivered twice (a redelivery after the beat's) asks nobody again.
    ConsentText.all_tenants.filter(pk=text.pk).update(renewal_pending=True, renewal_claimed_at=None)
    ask_renewal_after_text_change.delay(organization_id=tenant_a.organization.pk, text_id=text.pk)
    assert Message.all_tenants.filter(kind="consent_renewal", candidate=candidate).count() == 1
    assert ConsentRecord.all_tenants.filter(candidate=candidate, action="renewal_requested").count() == requested


def test_a_claimed_renewal_run_is_not_started_again_by_the_beat(tenant_a):
    from django.utils import timezone

    _confirmed(tenant_a)
    with tenant_a.scope():
        pool = ConsentPurpose.objects.get(key="talent_pool")
    text = ConsentText.all_tenants.create(organization=tenant_a.organization, purpose=pool, language="en", version=9,
                                          text="Words", renewal_pending=True, renewal_claimed_at=timezone.now())
    assert ask_pending_renewals() == 0  # a worker is on it
    ConsentText.all_tenants.filter(pk=text.pk).update(renewal_claimed_at=timezone.now() - timezone.timedelta(hours=1))
    assert ask_pending_renewals() == 1  # that worker died: the run goes again
    assert Message.all_tenants.filter(kind="consent_renewal").count() == 1
