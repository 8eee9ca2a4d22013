from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import Action, ConsentPurpose, ConsentRecord, ConsentState, Source, State
from consent.selectors import has_marketing_consent
from consent.services import record
from crm.services import ServiceError
from outreach.selectors import marketing_refusal

from ..factories import CandidateFactory


@pytest.fixture
def candidate(tenant_a):
    with tenant_a.scope():
        return CandidateFactory(organization=tenant_a.organization)


def test_the_ledger_is_append_only(tenant_a, candidate):
    with tenant_a.scope():
        purpose = ConsentPurpose.objects.get(key="job_offers")
        entry = record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=Source.RECRUITER)
        with pytest.raises(PermissionError):
            entry.save()
        with pytest.raises(PermissionError):
            entry.delete()
        with pytest.raises(PermissionError):
            ConsentRecord.objects.filter(pk=entry.pk).update(action="withdrawn")
        with pytest.raises(PermissionError):
            ConsentRecord.objects.filter(pk=entry.pk).delete()
        assert ConsentRecord.objects.get(pk=entry.pk).action == "confirmed"


def test_state_moves_with_the_ledger_in_one_transaction(tenant_a, candidate):
    with tenant_a.scope():
        purpose = ConsentPurpose.objects.get(key="events")
        record(candidate=candidate, purpose=purpose, action=Action.REQUESTED, source=Source.PUBLIC_FORM)
        assert ConsentState.objects.get(candidate=candidate, purpose=purpose).state == State.PENDING
        assert not has_marketing_consent(candidate, "events")
        entry = record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=Source.PUBLIC_FORM,
                       frequency="quarterly")
        state = ConsentState.objects.get(candidate=candidate, purpose=purpose)
        assert (state.state, state.frequency) == (State.GRANTED, "quarterly")
        assert entry.text.version == 1  # the exact text shown is recorded
        assert state.expires_at > timezone.now() + timedelta(days=700)  # 24 months by default
        record(candidate=candidate, purpose=purpose, action=Action.WITHDRAWN, source=Source.UNSUBSCRIBE_LINK)
        assert not has_marketing_consent(candidate, "events")


def test_a_recruiter_records_consent_with_required_evidence(tenant_a, candidate):
    url = f"/o/{tenant_a.slug}/candidates/{candidate.pk}/consents/"
    missing = tenant_a.recruiter_client.post(url, {"purposes": ["job_offers"], "frequency": "monthly"}, follow=True)
    assert "required" in missing.content.decode().lower()
    tenant_a.recruiter_client.post(url, {"purposes": ["job_offers", "talent_pool"], "frequency": "weekly",
                                         "note": "Phone call on 3 May, asked for weekly job offers"})
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/candidates/{candidate.pk}/").content.decode()
    assert 'id="consent-panel"' in page and "Recruiter on the candidate&#x27;s behalf" in page
    with tenant_a.scope():
        assert has_marketing_consent(candidate, "job_offers")
        evidence = ConsentRecord.objects.filter(candidate=candidate).first().evidence
        assert "Phone call on 3 May" in evidence.note


def test_api_reads_and_records_consent(tenant_a, candidate):
    url = f"/api/v1/candidates/{candidate.pk}/consents/"
    assert tenant_a.api.post(url, {"purposes": ["events"]}, format="json").status_code == 400
    created = tenant_a.api.post(url, {"purposes": ["events"], "frequency": "monthly",
                                      "evidence": "Signed the form at the Paris meet-up"}, format="json")
    assert created.status_code == 201
    body = tenant_a.api_read.get(url).json()
    assert body["states"][0]["purpose"] == "events" and body["states"][0]["state"] == "granted"
    assert body["ledger"][0]["source"] == "recruiter"


def test_a_provider_complaint_withdraws_every_marketing_topic(tenant_a, candidate):
    from consent.services import withdraw_marketing

    with tenant_a.scope():
        for key in ("job_offers", "events", "talent_pool"):
            record(candidate=candidate, purpose=ConsentPurpose.objects.get(key=key), action=Action.CONFIRMED,
                   source=Source.PUBLIC_FORM)
        assert sorted(withdraw_marketing(candidate=candidate, source=Source.PROVIDER_COMPLAINT)) == [
            "events", "job_offers"]
        states = dict(ConsentState.objects.filter(candidate=candidate).values_list("purpose__key", "state"))
    assert states == {"job_offers": "withdrawn", "events": "withdrawn", "talent_pool": "granted"}


def test_record_refuses_an_unknown_frequency(tenant_a, candidate):
    with tenant_a.scope(), pytest.raises(ServiceError):
        record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="events"), action=Action.CONFIRMED,
               source=Source.RECRUITER, frequency="hourly")


STEPS = st.lists(st.tuples(
    st.sampled_from([Action.REQUESTED, Action.CONFIRMED, Action.WITHDRAWN, Action.EXPIRED, Action.RENEWED]),
    st.integers(min_value=0, max_value=900)), min_size=1, max_size=8)


# The tenant is read-only for the examples; each example rolls its own rows back.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, dnc=st.booleans(), bounced=st.booleans())
def test_the_marketing_rule_over_random_ledgers(tenant_a, steps, dnc, bounced):
    """Whatever the history, marketing is allowed exactly when the last word is a confirmation still valid,
    the person is contactable and the address works."""
    from django.db import transaction

    with tenant_a.scope(), transaction.atomic():
        candidate = CandidateFactory(organization=tenant_a.organization, do_not_contact=dnc,
                                     email_status="bounced" if bounced else "valid")
        purpose = ConsentPurpose.objects.get(key="job_offers")
        start = timezone.now() - timedelta(days=1000)
        expected_state, granted_at = None, None
        for offset, (action, day) in enumerate(sorted(steps, key=lambda s: s[1])):
            moment = start + timedelta(days=day, seconds=offset)
            record(candidate=candidate, purpose=purpose, action=action, source=Source.RECRUITER, now=moment)
            if action in (Action.CONFIRMED, Action.RENEWED):
                expected_state, granted_at = "granted", moment
            elif action == Action.REQUESTED:
                expected_state = expected_state if expected_state == "granted" else "pending"
            else:
                expected_state = str(action.value) if action != Action.EXPIRED else "expired"
        valid = expected_state == "granted" and granted_at + timedelta(days=round(30.44 * 24)) > timezone.now()
        allowed = valid and not dnc and not bounced
        assert (marketing_refusal(candidate, "job_offers") is None) == allowed
        # The queryset form used for audiences agrees with the single-candidate form.
        from crm.models import Candidate
        from outreach.selectors import marketing_audience

        assert marketing_audience(Candidate.objects.filter(pk=candidate.pk), "job_offers").exists() == allowed
        transaction.set_rollback(True)
