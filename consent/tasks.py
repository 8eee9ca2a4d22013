from celery import shared_task

from crm.tasks import TenantTask


@shared_task(ignore_result=True)
def consent_retention_daily():
    """Beat: one retention task per organization."""
    from crm.models import Organization

    for organization_id in Organization.objects.active().values_list("pk", flat=True):
        retention_for_organization.delay(organization_id=organization_id)


@shared_task(base=TenantTask, bind=True, acks_late=True)
def retention_for_organization(self, *, organization_id):
    from crm.tenancy import current_organization

    from .retention import run_retention

    run_retention(current_organization())
