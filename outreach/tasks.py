import logging
import time

from celery import shared_task
from django.utils import timezone

from crm.tasks import TenantTask

from . import dispatch

SEND_BUDGET_SECONDS = 50
logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def send_due_messages():
    """Claim and send due messages until none is left or the time budget is spent (then go on later).

    A database error between batches (a restart) is waited out within the budget, on a new connection.
    """
    started = time.monotonic()
    total = {}
    reaped = False
    while time.monotonic() - started < SEND_BUDGET_SECONDS:
        try:
            dispatch.heal_connection()
            if not dispatch.flush_pending_writes():
                dispatch.wait_for_database(1)
                continue
            if not reaped:
                dispatch.reap_stale()
                reaped = True
            ids = dispatch.claim_due()
        except dispatch.DATABASE_ERRORS as error:
            logger.warning("outbox: the database is not answering (%s); trying again", error)
            dispatch.wait_for_database(1)
            continue
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
    """Kept for tasks queued before notices were written with the decision; running it again adds nothing."""
    from .services import queue_decision_notice as queue

    queue(application_id=application_id)


@shared_task(ignore_result=True)
def repair_missing_notices():
    """Beat: a recent decision that should have a notice and has none gets it now, and an operator hears of it."""
    from .services import missing_notice_repair

    return missing_notice_repair()


@shared_task(ignore_result=True)
def run_due_campaigns():
    """Beat: start the runs whose time has come, and close the runs whose emails all have an outcome."""
    from .campaigns import close_finished_runs, retry_stalled_runs, start_due_runs

    return {"started": len(start_due_runs()), "retried": retry_stalled_runs(), "closed": close_finished_runs()}


@shared_task(base=TenantTask, acks_late=True, ignore_result=True, max_retries=3, default_retry_delay=30)
def prepare_campaign_run(*, organization_id, run_id):
    """Write a run's recipients to the outbox (once: the unique keys make a second pass add nothing)."""
    from .campaigns import prepare_run
    from .models import CampaignRun, RunStatus

    run = CampaignRun.objects.filter(pk=run_id).first()
    if run is None or run.status != RunStatus.PREPARING:
        return
    from crm.services import ServiceError

    try:
        prepare_run(run)
    except ServiceError as error:
        CampaignRun.objects.filter(pk=run_id, status=RunStatus.PREPARING).update(
            status=RunStatus.FAILED, message=error.message[:300], finished_at=timezone.now())


@shared_task(base=TenantTask, acks_late=True, ignore_result=True)
def campaign_audience_preview(*, organization_id, operation_id):
    """The exact audience of a campaign and why the rest are excluded (a large audience takes a while)."""
    from crm.operations import operation_run

    from .campaigns import preview_run

    operation_run(operation_id, preview_run)


# Set by a webhook post that asked a worker to apply the inbox; cleared by the worker before it reads it.
NUDGED = "webhook-events:nudged"
NUDGED_SECONDS = 60  # a nudge the broker lost stops holding back the next one after this long
# A web process that found a worker asked asks no other for this long; so the worker looks again this long
# after it found the inbox empty (outreach.webhooks._nudge).
NUDGE_QUIET = 1.0


@shared_task(bind=True, acks_late=True, ignore_result=True)
def apply_webhook_events(self):
    """Apply the provider events the webhooks took (outreach.receivers.apply_pending): nudged after a post
    that brought new ones (one nudge waiting at a time), and run by the beat for any a lost nudge left."""
    from django.core.cache import cache

    from .receivers import apply_pending

    cache.delete(NUDGED)
    applied = apply_pending()
    if not self.request.is_eager:  # a post that did not nudge NUDGE_QUIET seconds ago has committed by now
        time.sleep(NUDGE_QUIET)
        applied += apply_pending()
    return applied


@shared_task(ignore_result=True)
def purge_webhook_events():
    """Forget the keys of webhook events applied a week ago (until then a replay is dropped at the door)."""
    from .receivers import purge_applied

    return purge_applied()
