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
