"""Long operations: a row with progress that a page polls, and the worker side that moves it.

    operation = operation_create(kind="tag.bulk", label="Tag 34,120 candidates “python”", total=34_120,
                                 params={...}, actor=request.user)
    operation_start(operation, some_task)

The task calls `operation_run(operation_id, body)`; `body(operation, progress)` does the work in
batches and calls `progress(done)` after each; what it returns is stored as the result.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .audit import actor_label
from .models import ApiKey, Operation, OperationStatus
from .services import ServiceError

logger = logging.getLogger(__name__)

# A run still "running" after this long was left by a dead worker: a redelivered task takes it over.
STALLED_AFTER = timedelta(minutes=10)
# A run still "queued" after this long lost its nudge (the broker was down): it is sent again.
REQUEUE_AFTER = timedelta(minutes=3)


def operation_create(*, kind, label, total, params, actor, return_url=""):
    return Operation.objects.create(
        kind=kind, label=label[:300], total=total, params=params, return_url=return_url,
        created_by=actor if actor is not None and not isinstance(actor, ApiKey) else None,
        created_by_api_key=actor if isinstance(actor, ApiKey) else None,
        created_by_label=actor_label(actor),
    )


def operation_start(operation, task):
    """Ask a worker to run `task` for the operation once this transaction commits.

    The task's name is kept on the row, so a nudge lost with the broker is sent again by
    `operations_requeue_lost` (a beat task) instead of leaving the operation queued for good.
    """
    from .tasks import nudge_on_commit

    Operation.objects.filter(pk=operation.pk).update(task_name=task.name)
    operation.task_name = task.name
    nudge_on_commit(task, operation_id=operation.pk, organization_id=operation.organization_id)
    return operation


def operations_requeue_lost(*, queued_for=REQUEUE_AFTER):
    """Queue again the operations nobody took (queued for long, or running without a heartbeat).

    Runs across organizations (a system job). A second delivery of a live run does nothing
    (`operation_run` claims the row first), so sending again is always safe. Returns how many were sent.
    """
    from celery import current_app

    now = timezone.now()
    lost = (Operation.all_tenants.filter(status=OperationStatus.QUEUED, created_at__lt=now - queued_for)
            | Operation.all_tenants.filter(status=OperationStatus.RUNNING, heartbeat_at__lt=now - STALLED_AFTER))
    sent = 0
    for operation_id, organization_id, task_name in lost.exclude(task_name="").values_list(
            "pk", "organization_id", "task_name").order_by("pk")[:500]:
        task = current_app.tasks.get(task_name)
        if task is None:
            logger.error("operation %s names an unknown task %s", operation_id, task_name)
            continue
        try:
            task.delay(operation_id=operation_id, organization_id=organization_id)
        except Exception as error:  # the broker is still down: the next tick tries again
            logger.warning("could not queue operation %s again: %r", operation_id, error)
            break
        logger.warning("operation %s was not taken by any worker; queued it again", operation_id)
        sent += 1
    return sent


def _claim(operation_id):
    now = timezone.now()
    claimable = Operation.objects.filter(pk=operation_id).filter(
        status=OperationStatus.QUEUED) | Operation.objects.filter(
        pk=operation_id, status=OperationStatus.RUNNING, heartbeat_at__lt=now - STALLED_AFTER)
    return claimable.update(status=OperationStatus.RUNNING, started_at=now, heartbeat_at=now) == 1


def operation_run(operation_id, body):
    """Run `body` for the operation once (a second delivery of a live run does nothing)."""
    if not _claim(operation_id):
        logger.info("operation %s is taken or finished; nothing to do", operation_id)
        return None
    operation = Operation.objects.get(pk=operation_id)

    def progress(done, total=None):
        fields = {"done": done, "heartbeat_at": timezone.now()}
        if total is not None:
            fields["total"] = total
        Operation.objects.filter(pk=operation_id).update(**fields)

    try:
        result = body(operation, progress) or {}
    except ServiceError as error:
        Operation.objects.filter(pk=operation_id).update(status=OperationStatus.FAILED, message=error.message[:500],
                                                         finished_at=timezone.now())
        return None
    except Exception:
        logger.exception("operation %s failed", operation_id)
        Operation.objects.filter(pk=operation_id).update(
            status=OperationStatus.FAILED, finished_at=timezone.now(),
            message="Something went wrong on our side; what was done so far is kept. Try again.")
        raise
    with transaction.atomic():
        operation = Operation.objects.select_for_update().get(pk=operation_id)
        operation.status = OperationStatus.DONE
        operation.done = max(operation.done, operation.total)
        operation.result = result
        operation.message = result.get("message", "")[:500] if isinstance(result, dict) else ""
        operation.finished_at = timezone.now()
        operation.save(update_fields=["status", "done", "result", "message", "finished_at"])
    return result
