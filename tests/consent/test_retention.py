from datetime import timedelta

from django.core import mail
from django.utils import timezone

from consent.models import Action, ConsentPurpose, ConsentRecord, ConsentState, Source
from consent.retention import run_retention
from consent.services import record
from crm.models import Candidate, Suppression
from outreach import dispatch

from ..factories import CandidateFactory


def test_a_retention_run_renews_expires_and_erases(tenant_a):
    now = timezone.now()
    org = tenant_a.organization  # 24 months
    with tenant_a.scope():
        pool = ConsentPurpose.objects.get(key="talent_pool")
        offers = ConsentPurpose.objects.get(key="job_offers")
        # Expires in 20 days: asked to renew.
        soon = CandidateFactory(organization=org, email="soon@x.test")
        record(candidate=soon, purpose=pool, action=Action.CONFIRMED, source=Source.PUBLIC_FORM,
               now=now - timedelta(days=710))
        # Expired yesterday: marked expired.
        lapsed = CandidateFactory(organization=org, email="lapsed@x.test")
        record(candidate=lapsed, purpose=offers, action=Action.CONFIRMED, source=Source.PUBLIC_FORM,
               now=now - timedelta(days=731))
        # No consent, inactive for 30 months: erased.
        old = timezone.now() - timedelta(days=900)
        gone = CandidateFactory(organization=org, email="gone@x.test", last_activity_at=old, created_at=old)
        # Inactive too but consenting: kept.
        kept = CandidateFactory(organization=org, email="kept@x.test", last_activity_at=old, created_at=old)
        record(candidate=kept, purpose=pool, action=Action.CONFIRMED, source=Source.RECRUITER)
        run = run_retention(org, now=now)
        again = run_retention(org, now=now)  # the next run asks nobody twice
    assert (run.renewals_requested, run.expired, run.erased) == (1, 1, 1)
    assert (again.renewals_requested, again.erased) == (0, 0)
    assert ConsentState.all_tenants.get(candidate=lapsed).state == "expired"
    assert ConsentRecord.all_tenants.filter(candidate=soon, action="renewal_requested", source="retention").exists()
    assert not Candidate.all_tenants.filter(pk=gone.pk).exists()
    assert Candidate.all_tenants.filter(pk=kept.pk).exists()
    assert Suppression.all_tenants.count() == 1
    dispatch.send_batch(dispatch.claim_due())
    assert [m.to for m in mail.outbox] == [["soon@x.test"]]
    assert "/p/prefs/" in mail.outbox[0].alternatives[0][0]


def test_the_preference_centre_renews(tenant_a):
    from django.test import Client

    from consent.tokens import preferences_token

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="events"), action=Action.CONFIRMED,
               source=Source.PUBLIC_FORM, now=timezone.now() - timedelta(days=700), frequency="monthly")
    Client().post(f"/p/prefs/{preferences_token(candidate)}/", {"renew": "1"})
    state = ConsentState.all_tenants.get(candidate=candidate)
    assert state.expires_at > timezone.now() + timedelta(days=700) and state.frequency == "monthly"
