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


@shared_task(base=TenantTask, bind=True, acks_late=True)
def ask_renewal_after_text_change(self, *, organization_id, text_id):
    """A new talent-pool text: everyone who agreed to an older one is asked to renew."""
    from crm.models import Candidate
    from crm.tenancy import current_organization

    from .models import ConsentState, PurposeKey, State
    from .retention import request_renewal

    organization = current_organization()
    candidate_ids = ConsentState.objects.filter(purpose__key=PurposeKey.TALENT_POOL, state=State.GRANTED).values_list(
        "candidate_id", flat=True)
    for candidate in Candidate.objects.filter(pk__in=list(candidate_ids)).iterator(chunk_size=500):
        request_renewal(candidate, organization, key=f"text{text_id}")
