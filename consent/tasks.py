from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

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


# A renewal run still claimed after this long lost its worker: the next beat tick runs it again.
RENEWAL_CLAIM_STALE_AFTER = timedelta(minutes=10)


@shared_task(base=TenantTask, bind=True, acks_late=True)
def ask_renewal_after_text_change(self, *, organization_id, text_id):
    """A new talent-pool text: everyone who agreed to an older one is asked to renew (once, however often it runs)."""
    from crm.models import Candidate
    from crm.tenancy import current_organization

    from .models import ConsentState, ConsentText, PurposeKey, State
    from .retention import request_renewal

    now = timezone.now()
    claimed = ConsentText.objects.filter(pk=text_id, renewal_pending=True).filter(
        Q(renewal_claimed_at__isnull=True) | Q(renewal_claimed_at__lt=now - RENEWAL_CLAIM_STALE_AFTER)
    ).update(renewal_claimed_at=now)
    if not claimed:
        return
    organization = current_organization()
    candidate_ids = ConsentState.objects.filter(purpose__key=PurposeKey.TALENT_POOL, state=State.GRANTED).values_list(
        "candidate_id", flat=True)
    for candidate in Candidate.objects.filter(pk__in=list(candidate_ids)).iterator(chunk_size=500):
        request_renewal(candidate, organization, key=f"text{text_id}")
    ConsentText.objects.filter(pk=text_id).update(renewal_pending=False)


@shared_task(ignore_result=True)
def ask_pending_renewals():
    """Beat: renewal requests whose task was lost (the broker was down) or whose worker died go out now."""
    from .models import ConsentText

    stale = timezone.now() - RENEWAL_CLAIM_STALE_AFTER
    pending = ConsentText.all_tenants.filter(renewal_pending=True).filter(
        Q(renewal_claimed_at__isnull=True) | Q(renewal_claimed_at__lt=stale)).values_list("pk", "organization_id")
    for text_id, organization_id in pending:
        ask_renewal_after_text_change.delay(organization_id=organization_id, text_id=text_id)
    return len(pending)
