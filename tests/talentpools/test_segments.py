"""Smart pools: every filter, with the NOT / ANY / ALL forms, and definitions that cannot be used."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Action, ConsentPurpose, ConsentState, Source
from consent.services import record
from crm.models import Candidate, RejectionReason
from crm.services import application_create, application_reject, job_save
from talentpools.segments import DefinitionError, clean_definition, segment_queryset
from talentpools.services import tag_candidates, tag_create, tag_delete

from ..factories import CandidateFactory


@pytest.fixture
def base(tenant_a):
    """Seven people who differ in one way each from the next."""
    now = timezone.now()
    org = tenant_a.organization
    with tenant_a.scope():
        python, rust, go = (tag_create(name=n) for n in ("Python", "Rust", "Go"))
        people = {
            "ada": CandidateFactory(organization=org, first_name="Ada", seniority="senior",
                                    skills=["python", "django"], source="applied", language="en",
                                    location="Paris, France"),
            "bo": CandidateFactory(organization=org, first_name="Bo", seniority="junior", skills=["python"],
                                   source="referral", language="fr", location="Lyon, France"),
            "cy": CandidateFactory(organization=org, first_name="Cy", seniority="senior", skills=["rust", "go"],
                                   source="event", language="en", location="Paris, France",
                                   last_activity_at=now - timedelta(days=400),
                                   created_at=now - timedelta(days=500)),
            "di": CandidateFactory(organization=org, first_name="Di", seniority="lead", skills=["go"],
                                   source="event", language="de", silver_medalist=True,
                                   last_activity_at=now - timedelta(days=200),
                                   created_at=now - timedelta(days=300)),
            "ed": CandidateFactory(organization=org, first_name="Ed", seniority="mid", skills=[], source="sourced"),
            "fay": CandidateFactory(organization=org, first_name="Fay", seniority="senior", skills=["python"],
                                    do_not_contact=True, do_not_contact_reason="asked"),
        }
        tag_candidates(tag=python, candidate_ids=[people["ada"].pk, people["bo"].pk, people["fay"].pk],
                       actor=tenant_a.recruiter)
        tag_candidates(tag=rust, candidate_ids=[people["bo"].pk, people["cy"].pk], actor=tenant_a.recruiter)
        tag_candidates(tag=go, candidate_ids=[people["cy"].pk, people["di"].pk], actor=tenant_a.recruiter)
        job = job_save(actor=tenant_a.recruiter, title="Backend", status="open")
        reasons = {r.label: r for r in RejectionReason.objects.all()}
        skills_reason, other_reason = list(reasons.values())[:2]
        interview = application_create(actor=tenant_a.recruiter, candidate=people["ada"], job=job, stage="interview")
        application_reject(application=interview, reason=skills_reason, actor=tenant_a.recruiter,
                           notice_plan="none", notice_skip_reason="test")
        final = application_create(actor=tenant_a.recruiter, candidate=people["di"], job=job, stage="final")
        application_reject(application=final, reason=other_reason, actor=tenant_a.recruiter,
                           notice_plan="none", notice_skip_reason="test")
        application_create(actor=tenant_a.recruiter, candidate=people["bo"], job=job, stage="screening")
        purposes = {p.key: p for p in ConsentPurpose.objects.all()}
        offers = purposes["job_offers"]
        record(candidate=people["ada"], purpose=offers, action=Action.CONFIRMED, source=Source.RECRUITER)
        record(candidate=people["bo"], purpose=offers, action=Action.REQUESTED, source=Source.PUBLIC_FORM)
        record(candidate=people["cy"], purpose=offers, action=Action.CONFIRMED, source=Source.RECRUITER)
        record(candidate=people["cy"], purpose=offers, action=Action.WITHDRAWN, source=Source.UNSUBSCRIBE_LINK)
        record(candidate=people["di"], purpose=offers, action=Action.CONFIRMED, source=Source.RECRUITER)
        # Di's consent ran out without the retention run having marked it yet: it counts as expired.
        ConsentState.objects.filter(candidate=people["di"], purpose=offers).update(expires_at=now - timedelta(days=1))
        record(candidate=people["ed"], purpose=offers, action=Action.CONFIRMED, source=Source.RECRUITER)
        record(candidate=people["ed"], purpose=offers, action=Action.EXPIRED, source=Source.RETENTION)
        record(candidate=people["fay"], purpose=offers, action=Action.CONFIRMED, source=Source.RECRUITER)
        record(candidate=people["ada"], purpose=purposes["events"], action=Action.CONFIRMED, source=Source.RECRUITER)
        # Applying counts as activity: put Di's back where the story has it.
        Candidate.objects.filter(pk=people["di"].pk).update(last_activity_at=now - timedelta(days=200))
    return {"tags": {"python": python, "rust": rust, "go": go}, "people": people,
            "reasons": (skills_reason, other_reason), "tenant": tenant_a}


def who(base, definition):
    with base["tenant"].scope():
        return {c.first_name.lower() for c in segment_queryset(clean_definition(definition))}


def test_tags_all_any_none(base):
    t = {k: v.pk for k, v in base["tags"].items()}
    assert who(base, {"tags_all": [t["python"], t["rust"]]}) == {"bo"}
    assert who(base, {"tags_any": [t["python"], t["go"]]}) == {"ada", "bo", "cy", "di"}
    assert who(base, {"tags_none": [t["python"], t["rust"]]}) == {"di", "ed"}
    assert who(base, {"tags_any": [t["go"]], "tags_none": [t["rust"]]}) == {"di"}


def test_skills_all_and_any(base):
    assert who(base, {"skills_all": ["python", "django"]}) == {"ada"}
    assert who(base, {"skills_all": ["Python "]}) == {"ada", "bo"}  # case and spaces do not matter
    assert who(base, {"skills_any": ["django", "go"]}) == {"ada", "cy", "di"}


def test_choices_location_and_silver(base):
    assert who(base, {"seniority": ["senior"]}) == {"ada", "cy"}  # Fay is do-not-contact
    assert who(base, {"seniority": ["senior", "lead"]}) == {"ada", "cy", "di"}
    assert who(base, {"source": ["event"]}) == {"cy", "di"}
    assert who(base, {"language": ["fr", "de"]}) == {"bo", "di"}
    assert who(base, {"location": "PARIS"}) == {"ada", "cy"}
    assert who(base, {"silver_medalist": True}) == {"di"}
    assert "di" not in who(base, {"silver_medalist": False})


def test_activity(base):
    assert who(base, {"inactive_days": 180}) == {"cy", "di"}
    assert who(base, {"inactive_days": 365}) == {"cy"}
    assert who(base, {"active_within_days": 30}) == {"ada", "bo", "ed"}
    since = (timezone.now() - timedelta(days=250)).date().isoformat()
    assert who(base, {"active_after": since}) == {"ada", "bo", "di", "ed"}
    assert who(base, {"active_before": since}) == {"cy"}


def test_stage_reached_and_rejection_reason(base):
    assert who(base, {"furthest_stage": "interview"}) == {"ada", "di"}
    assert who(base, {"furthest_stage": "final"}) == {"di"}
    assert who(base, {"furthest_stage": "screening"}) == {"ada", "bo", "di"}
    skills_reason, other_reason = base["reasons"]
    assert who(base, {"rejection_reasons": [skills_reason.pk]}) == {"ada"}
    assert who(base, {"rejection_reasons": [skills_reason.pk, other_reason.pk]}) == {"ada", "di"}


def test_consent_state_per_topic(base):
    assert who(base, {"consent": {"job_offers": "granted"}}) == {"ada"}  # Fay granted but do-not-contact
    assert who(base, {"consent": {"job_offers": "not_granted"}}) == {"bo", "cy", "di", "ed"}
    assert who(base, {"consent": {"job_offers": "pending"}}) == {"bo"}
    assert who(base, {"consent": {"job_offers": "withdrawn"}}) == {"cy"}
    assert who(base, {"consent": {"job_offers": "expired"}}) == {"di", "ed"}
    assert who(base, {"consent": {"job_offers": "granted", "events": "granted"}}) == {"ada"}
    assert who(base, {"consent": {"events": "not_granted"}, "seniority": ["senior"]}) == {"cy"}


def test_the_headline_example(base):
    """Senior Python developers, rejected at interview or later, consented to job offers."""
    assert who(base, {"seniority": ["senior"], "skills_all": ["python"], "furthest_stage": "interview",
                      "consent": {"job_offers": "granted"}}) == {"ada"}


@pytest.mark.parametrize("definition, field", [
    ({"tags_all": "python"}, "tags_all"),
    ({"tags_any": [True]}, "tags_any"),
    ({"tags_any": list(range(51))}, "tags_any"),
    ({"seniority": ["wizard"]}, "seniority"),
    ({"furthest_stage": "rejected"}, "furthest_stage"),
    ({"silver_medalist": "yes"}, "silver_medalist"),
    ({"inactive_days": 0}, "inactive_days"),
    ({"inactive_days": "180"}, "inactive_days"),
    ({"active_after": "2024-02-30"}, "active_after"),
    ({"consent": {"job_offers": "maybe"}}, "consent"),
    ({"consent": {"talent_pool": "granted"}}, "consent"),
    ({"consent": ["job_offers"]}, "consent"),
    ({"location": "x" * 151}, "location"),
    ({"skills_all": ["x" * 51]}, "skills_all"),
    ({"salary": 100}, "definition"),
    ([], "definition"),
])
def test_malformed_definitions_name_the_field(base, definition, field):
    with base["tenant"].scope(), pytest.raises(DefinitionError) as caught:
        clean_definition(definition)
    assert field in caught.value.errors


def test_a_tag_both_required_and_excluded_is_refused(base):
    python = base["tags"]["python"].pk
    with base["tenant"].scope(), pytest.raises(DefinitionError) as caught:
        clean_definition({"tags_all": [python], "tags_none": [python]})
    assert "tags_none" in caught.value.errors


def test_another_organizations_tag_is_answered_like_a_missing_one(base, tenant_b):
    with tenant_b.scope():
        theirs = tag_create(name="Their tag")
    with base["tenant"].scope():
        for tag_id in (theirs.pk, 2_000_000_000):
            with pytest.raises(DefinitionError) as caught:
                clean_definition({"tags_any": [tag_id]})
            assert caught.value.errors["tags_any"] == [f"No such id: {tag_id} (deleted, or never existed)."]


def test_a_pool_naming_a_deleted_tag_shows_nobody_and_says_why(base):
    tenant = base["tenant"]
    rust = base["tags"]["rust"]
    response = tenant.api.post("/api/v1/pools/", {"name": "Rustaceans", "kind": "smart",
                                                   "definition": {"tags_any": [rust.pk]}}, format="json")
    assert response.status_code == 201, response.json()
    pool_id = response.json()["id"]
    assert tenant.api.get(f"/api/v1/pools/{pool_id}/candidates/").json()["count"] == 2
    with tenant.scope():
        tag_delete(tag=rust, actor=tenant.recruiter)
    response = tenant.api.get(f"/api/v1/pools/{pool_id}/candidates/")
    assert response.status_code == 409 and "tags_any" in response.json()["definition"]
    page = tenant.recruiter_client.get(f"/o/{tenant.slug}/pools/{pool_id}/")
    assert page.status_code == 200
    assert "no longer exists" in page.content.decode() and "Bo" not in page.content.decode()
