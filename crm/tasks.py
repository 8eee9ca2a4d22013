import logging

from celery import Task, shared_task
from django.db import transaction

from .models import Organization
from .tenancy import organization_scope

logger = logging.getLogger(__name__)


def nudge_on_commit(task, **kwargs):
    """Ask a worker to run `task` once the transaction commits.

    A broker that is down loses the nudge, not the decision: it is logged, never raised, so it can neither
    fail a request nor roll back what was decided (the outbox's beat tick finds due emails by itself).
    """

    def nudge():
        try:
            task.delay(**kwargs)
        except Exception as error:  # kombu.exceptions.OperationalError when Redis is unreachable
            logger.warning("could not queue %s after the commit: %r", task.name, error)

    transaction.on_commit(nudge)


class TenantTask(Task):
    """Base for tasks about one organization: they take `organization_id` and run in its scope."""

    def __call__(self, *args, organization_id, **kwargs):
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            logger.info("%s: organization %s is gone; nothing to do", self.name, organization_id)
            return None
        with organization_scope(organization):
            return self.run(*args, organization_id=organization_id, **kwargs)


@shared_task(base=TenantTask, bind=True, acks_late=True, max_retries=5)
def delete_organization(self, *, organization_id):
    """Delete an organization whose deletion was requested, with every row it owns."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update().filter(
            pk=organization_id, deletion_requested_at__isnull=False
        ).first()
        if organization is None:
            return 0
        deleted, _ = organization.delete()
    logger.info("organization %s deleted (%s rows)", organization_id, deleted)
    return deleted


@shared_task(acks_late=True)
def send_account_emails():
    """Send the account emails that are due (nudged after an invitation commits, and by the beat)."""
    from .account_emails import send_due

    return send_due()


@shared_task
def requeue_lost_work():
    """Beat: send again what a lost nudge left waiting (operations, organization deletions)."""
    from datetime import timedelta

    from django.utils import timezone

    from .operations import operations_requeue_lost

    sent = operations_requeue_lost()
    cutoff = timezone.now() - timedelta(minutes=10)
    for organization_id in Organization.objects.filter(deletion_requested_at__lt=cutoff).values_list("pk", flat=True):
        try:
            delete_organization.delay(organization_id=organization_id)
        except Exception as error:  # the broker is still down: the next tick tries again
            logger.warning("could not queue the deletion of organization %s again: %r", organization_id, error)
            break
        logger.warning("organization %s was still waiting for its deletion; queued it again", organization_id)
    return sent
