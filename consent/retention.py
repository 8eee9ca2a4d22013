"""The daily retention run: ask to renew before consent expires, mark what expired, erase who is past retention."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from crm.links import site_link
from crm.models import Candidate

from .models import Action, ConsentRecord, ConsentState, PurposeKey, RetentionRun, Source, State
from .services import record
from .tokens import preferences_token

RENEWAL_NOTICE = timedelta(days=30)
ERASURE_GRACE = timedelta(days=7)
BATCH = 500


@transaction.atomic
def request_renewal(candidate, organization, *, key, source=Source.RETENTION, now=None):
    """Ask the candidate to renew what they granted: a ledger row per purpose and one email (once per key)."""
    from outreach.services import queue_email, template_for

    language = candidate.language or organization.default_language
    _, created = queue_email(
        unique_key=f"consent_renewal:{candidate.pk}:{key}", kind="consent_renewal", to_email=candidate.email,
        candidate=candidate, template=template_for("consent_renewal", language, organization), language=language,
        context={"links": {"preferences": site_link("consent:preferences", token=preferences_token(candidate))}})
    if not created:  # asked already (a task run again): the ledger has its rows
        return
    for state in ConsentState.objects.filter(candidate=candidate, state=State.GRANTED).select_related("purpose"):
        record(candidate=candidate, purpose=state.purpose, action=Action.RENEWAL_REQUESTED, source=source, now=now)


def run_retention(organization, *, now=None):
    """One organization's run (inside its scope). Returns the RetentionRun it recorded."""
    from .rights import candidate_erase

    now = now or timezone.now()
    run = RetentionRun(organization=organization, started_at=now)

    # 1. Renewal requests 30 days before expiry, once per consent period.
    due = (ConsentState.objects.filter(state=State.GRANTED, expires_at__lte=now + RENEWAL_NOTICE, expires_at__gt=now)
           .values_list("candidate_id", "granted_at").distinct())
    for candidate_id, granted_at in due[:BATCH * 10]:
        if ConsentRecord.objects.filter(candidate_id=candidate_id, action=Action.RENEWAL_REQUESTED,
                                        created_at__gte=granted_at).exists():
            continue
        request_renewal(Candidate.objects.get(pk=candidate_id), organization, key=f"{granted_at:%Y%m%d%H%M%S}",
                        now=now)
        run.renewals_requested += 1

    # 2. Expired consents.
    for state in ConsentState.objects.filter(state=State.GRANTED, expires_at__lte=now).select_related(
            "purpose", "candidate")[:BATCH * 10]:
        record(candidate=state.candidate, purpose=state.purpose, action=Action.EXPIRED, source=Source.RETENTION,
               now=now)
        run.expired += 1

    # 3. Erasure: no valid talent-pool consent and no activity past the retention period, after a grace.
    cutoff = now - timedelta(days=round(30.44 * organization.retention_months)) - ERASURE_GRACE
    keep = ConsentState.objects.filter(purpose__key=PurposeKey.TALENT_POOL, state=State.GRANTED,
                                       expires_at__gt=now).values("candidate_id")
    for candidate in Candidate.objects.filter(last_activity_at__lt=cutoff).exclude(pk__in=keep)[:BATCH]:
        candidate_erase(candidate=candidate, actor=None, reason="retention period over, no valid consent")
        run.erased += 1
    run.save()
    return run
