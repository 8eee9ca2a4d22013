import time

from celery import shared_task
from django.utils import timezone

from crm.tasks import TenantTask

from . import dispatch

SEND_BUDGET_SECONDS = 50


@shared_task(acks_late=True, ignore_result=True)
def send_due_messages():
    """Claim and send due messages until none is left or the time budget is spent (then go on later)."""
    dispatch.reap_stale()
    started = time.monotonic()
    total = {}
    while time.monotonic() - started < SEND_BUDGET_SECONDS:
        ids = dispatch.claim_due()
        if not ids:
            return total
        for outcome, count in dispatch.send_batch(ids).items():
            total[outcome] = total.get(outcome, 0) + count
    send_due_messages.delay()
    return total


@shared_task(ignore_result=True)
def outbox_tick():
    """Beat: wake a sender; due rows are found by query, not by ETA tasks (Redis redelivers those)."""
    send_due_messages.delay()


@shared_task(ignore_result=True)
def purge_message_bodies():
    """Keep bodies for each organization's retention, then only metadata."""
    from crm.models import Organization

    from .models import Message, MessageStatus

    purged = 0
    for organization in Organization.objects.all():
        cutoff = timezone.now() - timezone.timedelta(days=organization.message_retention_days)
        purged += Message.all_tenants.filter(organization=organization, sent_at__lt=cutoff).exclude(
            html="", text="").exclude(status=MessageStatus.NEEDS_REVIEW).update(html="", text="")
    return purged


@shared_task(base=TenantTask, bind=True, acks_late=True, max_retries=5, default_retry_delay=30)
def queue_decision_notice(self, *, organization_id, application_id):
    from .services import queue_decision_notice as queue

    queue(application_id=application_id)
