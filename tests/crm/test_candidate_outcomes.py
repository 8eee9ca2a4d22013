"""The candidate row mirrors its applications' outcomes and its consent states (smart pools filter on it).

Database triggers keep the mirror in step in the statement that changes an application or a consent
state, whoever writes it: the pipeline services, a queryset update, a bulk insert, a delete. A full
save of a candidate loaded earlier never writes a stale mirror back.
"""

import pytest

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import Application, Candidate, RejectionReason
from crm.services import application_advance, application_create, application_reject, job_save
from crm.services.pipeline import application_undo_rejection
from talentpools.services import tag_candidates, tag_create

from ..factories import CandidateFactory


def mirror(candidate):
    return Candidate.objects.values_list("furthest_stage_rank", "rejection_reason_ids", "consent_topics").get(
        pk=candidate.pk)


@pytest.fixture
def pipeline(tenant_a):
    with tenant_a.scope():
        jobs = [job_save(actor=tenant_a.recruiter, title=title, status="open") for title in ("Backend", "Data")]
        reasons = list(RejectionReason.objects.order_by("pk")[:2])
        yield tenant_a, jobs, reasons


def test_stages_and_rejections_follow_the_pipeline(pipeline):
    tenant, (backend, data), (skills, timing) = pipeline
    actor = tenant.recruiter
    ada = CandidateFactory(organization=tenant.organization)
    assert mirror(ada) == (-1, [], [])
    first = application_create(actor=actor, candidate=ada, job=backend, stage="screening")
    assert mirror(ada)[:2] == (1, [])
    first = application_advance(application=first, to_stage="final", actor=actor)
    application_reject(application=first, reason=skills, actor=actor, notice_plan="none", notice_skip_reason="t")
    assert mirror(ada)[:2] == (3, [skills.pk])
    second = application_create(actor=actor, candidate=ada, job=data)
    application_reject(application=second, reason=timing, actor=actor, notice_plan="none", notice_skip_reason="t")
    assert mirror(ada)[:2] == (3, sorted([skills.pk, timing.pk]))
    # Undoing a rejection takes its reason away; the stage reached stays.
    application_undo_rejection(application=Application.objects.get(pk=first.pk), actor=actor)
    assert mirror(ada)[:2] == (3, [timing.pk])
    Application.objects.filter(pk=first.pk).delete()
    assert mirror(ada)[:2] == (0, [timing.pk])


def test_set_based_writes_keep_every_candidate_in_step(pipeline):
    tenant, (backend, data), (skills, _) = pipeline
    people = [CandidateFactory(organization=tenant.organization) for _ in range(3)]
    Application.objects.bulk_create([Application(organization=tenant.organization, candidate=person, job=backend,
                                                 stage="interview", furthest_stage="interview") for person in people])
    assert [mirror(p)[0] for p in people] == [2, 2, 2]
    Application.objects.filter(job=backend).update(stage="rejected", rejection_reason=skills)
    assert [mirror(p)[1] for p in people] == [[skills.pk]] * 3
    # An application moved to another person (a merge) leaves the first with nothing.
    Application.objects.filter(candidate=people[0]).update(candidate=people[1])
    assert mirror(people[0])[:2] == (-1, [])
    assert mirror(people[1])[:2] == (2, [skills.pk])


def test_consent_states_are_mirrored_as_topic_and_state(tenant_a):
    with tenant_a.scope():
        bo = CandidateFactory(organization=tenant_a.organization)
        purposes = {p.key: p for p in ConsentPurpose.objects.all()}
        record(candidate=bo, purpose=purposes["job_offers"], action=Action.CONFIRMED, source=Source.RECRUITER)
        record(candidate=bo, purpose=purposes["events"], action=Action.REQUESTED, source=Source.PUBLIC_FORM)
        assert mirror(bo)[2] == ["events:pending", "job_offers:granted"]
        record(candidate=bo, purpose=purposes["job_offers"], action=Action.WITHDRAWN, source=Source.UNSUBSCRIBE_LINK)
        assert mirror(bo)[2] == ["events:pending", "job_offers:withdrawn"]


def test_a_stale_full_save_does_not_undo_the_mirrors(pipeline):
    tenant, (backend, _), (skills, _) = pipeline
    cy = CandidateFactory(organization=tenant.organization)
    loaded = Candidate.objects.get(pk=cy.pk)  # read before the changes below
    application = application_create(actor=tenant.recruiter, candidate=cy, job=backend, stage="interview")
    application_reject(application=application, reason=skills, actor=tenant.recruiter, notice_plan="none",
                       notice_skip_reason="t")
    tag = tag_create(name="Kept")
    tag_candidates(tag=tag, candidate_ids=[cy.pk], actor=tenant.recruiter)
    loaded.headline = "Staff engineer"
    loaded.save()
    fresh = Candidate.objects.get(pk=cy.pk)
    assert fresh.headline == "Staff engineer"
    assert (fresh.furthest_stage_rank, fresh.rejection_reason_ids, fresh.tag_ids) == (2, [skills.pk], [tag.pk])
