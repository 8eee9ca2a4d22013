import pytest
from django.utils import timezone

from crm.events import application_rejected, offer_declined, rejection_undone
from crm.models import Application, Candidate, JobAssignment, RejectionReason, Stage, StageChange
from crm.services import (
    ServiceError,
    application_advance,
    application_create,
    application_decline_offer,
    application_reject,
    application_undo_rejection,
    application_withdraw,
    feedback_note_create,
    job_save,
)
from crm.tenancy import organization_scope

from ..factories import CandidateFactory


@pytest.fixture
def pipeline(tenant_a):
    """A job with tenant A's hiring manager assigned, and one application at `applied`."""
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Robotics engineer", status="open",
                       hiring_managers=[tenant_a.hiring_manager])
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Marie", last_name="Curie")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
        reason = RejectionReason.objects.get(label="Another candidate chosen")
    return {"job": job, "candidate": candidate, "application": application, "reason": reason, "tenant": tenant_a}


def move(p, stage):
    with p["tenant"].scope():
        return application_advance(application=p["application"], to_stage=stage, actor=p["tenant"].recruiter)


def test_moves_record_history_furthest_stage_and_timeline(pipeline):
    move(pipeline, "screening")
    application = move(pipeline, "final")
    assert application.furthest_stage == "final"
    application = move(pipeline, "interview")  # a step back is allowed while open
    assert application.stage == "interview" and application.furthest_stage == "final"
    with pipeline["tenant"].scope():
        history = list(StageChange.objects.filter(application=application).values_list("from_stage", "to_stage"))
    assert history == [("", "applied"), ("applied", "screening"), ("screening", "final"), ("final", "interview")]


@pytest.mark.parametrize("path,target,message", [
    (["offer", "hired"], "interview", "hired"),
    (["screening"], "hired", "Only a candidate with an offer"),
    ([], "rejected", "Unknown stage"),
    ([], "nonsense", "Unknown stage"),
])
def test_impossible_moves_are_refused_and_change_nothing(pipeline, path, target, message):
    for stage in path:
        move(pipeline, stage)
    with pipeline["tenant"].scope():
        before = Application.objects.get(pk=pipeline["application"].pk)
        with pytest.raises(ServiceError, match=message):
            application_advance(application=before, to_stage=target, actor=pipeline["tenant"].recruiter)
        after = Application.objects.get(pk=before.pk)
    assert (after.stage, after.version) == (before.stage, before.version)


def test_a_closed_application_reopens_only_by_undo(pipeline):
    tenant = pipeline["tenant"]
    with tenant.scope():
        application_reject(application=pipeline["application"], reason=pipeline["reason"], actor=tenant.recruiter)
        with pytest.raises(ServiceError, match="closed"):
            application_advance(application=pipeline["application"], to_stage="interview", actor=tenant.recruiter)
        with pytest.raises(ServiceError, match="already rejected"):
            application_reject(application=pipeline["application"], reason=RejectionReason.objects.first(),
                               note="different", actor=tenant.recruiter)


def test_rejecting_at_final_makes_a_silver_medalist_and_undo_restores(pipeline):
    move(pipeline, "final")
    tenant = pipeline["tenant"]
    with tenant.scope():
        application = application_reject(application=pipeline["application"], reason=pipeline["reason"],
                                         note="Close call", actor=tenant.recruiter)
        assert application.stage == "rejected" and application.decider_label == tenant.recruiter.email
        candidate = Candidate.objects.get(pk=pipeline["candidate"].pk)
        assert candidate.silver_medalist and "final" in candidate.silver_medalist_note
        application = application_undo_rejection(application=application, actor=tenant.recruiter)
        assert application.stage == "final" and application.rejection_reason is None
        assert not Candidate.objects.get(pk=pipeline["candidate"].pk).silver_medalist


def test_rejecting_early_is_no_silver_medal(pipeline):
    move(pipeline, "screening")
    with pipeline["tenant"].scope():
        application_reject(application=pipeline["application"], reason=pipeline["reason"],
                           actor=pipeline["tenant"].recruiter)
        assert not Candidate.objects.get(pk=pipeline["candidate"].pk).silver_medalist


def test_declining_an_offer_needs_the_offer_stage_and_earns_the_medal(pipeline):
    tenant = pipeline["tenant"]
    with tenant.scope():
        with pytest.raises(ServiceError, match="offer stage"):
            application_decline_offer(application=pipeline["application"], reason="salary", actor=tenant.recruiter)
    move(pipeline, "offer")
    with tenant.scope():
        application = application_decline_offer(application=pipeline["application"], reason="counter_offer",
                                                 actor=tenant.recruiter)
        assert application.stage == "offer_declined"
        assert Candidate.objects.get(pk=pipeline["candidate"].pk).silver_medalist


def test_a_second_open_application_to_the_same_job_is_refused_until_closed(pipeline):
    tenant = pipeline["tenant"]
    with tenant.scope():
        with pytest.raises(ServiceError, match="already has an open application"):
            application_create(actor=tenant.recruiter, candidate=pipeline["candidate"], job=pipeline["job"])
        application_withdraw(application=pipeline["application"], actor=tenant.recruiter)
        again = application_create(actor=tenant.recruiter, candidate=pipeline["candidate"], job=pipeline["job"])
        assert again.stage == "applied"
        # The old rejection cannot be undone while the new application is open.
        assert Application.objects.filter(candidate=pipeline["candidate"]).count() == 2


def test_a_stale_form_says_so_and_changes_nothing(pipeline):
    tenant = pipeline["tenant"]
    url = f"/o/{tenant.slug}/applications/{pipeline['application'].pk}/"
    old_version = pipeline["application"].version
    move(pipeline, "screening")  # someone else moved it meanwhile
    response = tenant.recruiter_client.post(url + "reject/", {"reason": pipeline["reason"].pk, "version": old_version})
    assert response.status_code == 409
    assert "changed while you were looking" in response.content.decode()
    with tenant.scope():
        assert Application.objects.get(pk=pipeline["application"].pk).stage == "screening"


def test_decision_events_are_sent_once_inside_the_deciding_transaction(pipeline, django_capture_on_commit_callbacks):
    from django.db import connection

    received = []

    def listener(signal_name):
        # Subscribers write their rows (the notice's outbox row) in the decision's own transaction.
        return lambda sender, **kwargs: received.append((signal_name, kwargs["application_id"],
                                                         connection.in_atomic_block))

    receivers = [(application_rejected, listener("rejected")), (rejection_undone, listener("undone")),
                 (offer_declined, listener("declined"))]
    for signal, receiver in receivers:
        signal.connect(receiver, weak=False)
    tenant, app_id = pipeline["tenant"], pipeline["application"].pk
    try:
        with django_capture_on_commit_callbacks(execute=True), tenant.scope():
            application_reject(application=pipeline["application"], reason=pipeline["reason"], actor=tenant.recruiter)
            assert received == [("rejected", app_id, True)]
        with django_capture_on_commit_callbacks(execute=True), tenant.scope():
            # The same rejection repeated (an ATS retry) records nothing and sends nothing.
            application_reject(application=pipeline["application"], reason=pipeline["reason"], actor=tenant.recruiter)
        with django_capture_on_commit_callbacks(execute=True), tenant.scope():
            application_undo_rejection(application=pipeline["application"], actor=tenant.recruiter)
        assert received == [("rejected", app_id, True), ("undone", app_id, True)]
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


def test_a_rolled_back_rejection_leaves_neither_the_decision_nor_its_email(pipeline, django_capture_on_commit_callbacks):
    from django.db import transaction

    from outreach.models import Message

    tenant = pipeline["tenant"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks, tenant.scope():
        with pytest.raises(RuntimeError), transaction.atomic():
            application_reject(application=pipeline["application"], reason=pipeline["reason"],
                               actor=tenant.recruiter, notice_plan="now")
            assert Message.objects.filter(application=pipeline["application"]).exists()
            raise RuntimeError("the request failed after the rejection")
    assert callbacks == []  # no worker is nudged
    with tenant.scope():
        assert Application.objects.get(pk=pipeline["application"].pk).stage == "applied"
        assert not Message.objects.filter(application=pipeline["application"]).exists()


# --- Hiring managers --------------------------------------------------------------------

def test_a_hiring_manager_sees_only_assigned_jobs_and_their_applications(pipeline, tenant_a):
    with tenant_a.scope():
        other_job = job_save(actor=tenant_a.recruiter, title="Secret other job", status="open")
        other_app = application_create(actor=tenant_a.recruiter, candidate=CandidateFactory(
            organization=tenant_a.organization), job=other_job)
    hm = tenant_a.hiring_manager_client
    jobs = hm.get(f"/o/{tenant_a.slug}/jobs/").content.decode()
    assert "Robotics engineer" in jobs and "Secret other job" not in jobs
    assert hm.get(f"/o/{tenant_a.slug}/jobs/{other_job.pk}/").status_code == 404
    assert hm.get(f"/o/{tenant_a.slug}/applications/{other_app.pk}/").status_code == 404
    assert hm.post(f"/o/{tenant_a.slug}/applications/{other_app.pk}/feedback/",
                   {"strengths": "x", "shareable": "false"}).status_code == 404
    mine = hm.get(f"/o/{tenant_a.slug}/applications/mine/").content.decode()
    assert "Marie Curie" in mine
    assert hm.get(f"/o/{tenant_a.slug}/candidates/").status_code == 404


def test_a_hiring_manager_leaves_feedback_but_cannot_decide(pipeline, tenant_a):
    url = f"/o/{tenant_a.slug}/applications/{pipeline['application'].pk}/"
    hm = tenant_a.hiring_manager_client
    response = hm.post(url + "feedback/", {"strengths": "Great at ROS", "improvements": "System design",
                                           "shareable": "true"})
    assert response.status_code == 302
    page = hm.get(url).content.decode()
    assert "Great at ROS" in page and "Reject</button>" not in page
    assert hm.post(url + "reject/", {"reason": pipeline["reason"].pk, "version": 1}).status_code == 404
    assert hm.post(url + "move/", {"stage": "offer", "version": 1}).status_code == 404


def test_feedback_from_a_user_not_assigned_to_the_job_is_refused(pipeline, tenant_a, user_factory):
    from crm.models import Membership, Role

    outsider = user_factory()
    with tenant_a.scope():
        membership = Membership.objects.create(user=outsider, role=Role.HIRING_MANAGER)
        with pytest.raises(ServiceError, match="Only the job's hiring managers"):
            feedback_note_create(application=pipeline["application"], author=outsider, strengths="x",
                                 membership=membership)


def test_a_recruiter_rewords_shareable_feedback_and_the_original_is_kept(pipeline, tenant_a):
    with tenant_a.scope():
        note = feedback_note_create(application=pipeline["application"], author=tenant_a.hiring_manager,
                                    strengths="solid", improvements="bad at SQL", shareable=True)
    url = f"/o/{tenant_a.slug}/applications/{pipeline['application'].pk}/feedback/{note.pk}/edit/"
    tenant_a.recruiter_client.post(url, {"strengths": "Solid robotics fundamentals",
                                         "improvements": "Practise SQL joins"})
    note.refresh_from_db()
    assert note.improvements == "bad at SQL"
    assert note.candidate_improvements == "Practise SQL joins"
    with tenant_a.scope():
        internal = feedback_note_create(application=pipeline["application"], author=tenant_a.hiring_manager,
                                        note="internal only", shareable=False)
    edit_internal = url.replace(f"/{note.pk}/", f"/{internal.pk}/")
    assert tenant_a.recruiter_client.get(edit_internal).status_code == 404


# --- API ----------------------------------------------------------------------------------

def test_api_decisions_behave_like_the_ui_and_are_idempotent(pipeline, tenant_a):
    app_id = pipeline["application"].pk
    api = tenant_a.api
    assert api.post(f"/api/v1/applications/{app_id}/advance/", {"stage": "final"}, format="json").status_code == 200
    body = {"reason": "another candidate chosen", "note": "Close call"}
    first = api.post(f"/api/v1/applications/{app_id}/reject/", body, format="json")
    second = api.post(f"/api/v1/applications/{app_id}/reject/", body, format="json")
    assert first.status_code == second.status_code == 200
    assert first.json()["decided_by"].startswith("API key")
    with tenant_a.scope():
        assert StageChange.objects.filter(application_id=app_id, to_stage="rejected").count() == 1
        assert Candidate.objects.get(pk=pipeline["candidate"].pk).silver_medalist
    other = api.post(f"/api/v1/applications/{app_id}/reject/", {"reason": "Skills gap"}, format="json")
    assert other.status_code == 409 and "already rejected" in other.json()["stage"][0]
    undo = api.post(f"/api/v1/applications/{app_id}/undo-rejection/", format="json")
    undo_again = api.post(f"/api/v1/applications/{app_id}/undo-rejection/", format="json")
    assert undo.json()["stage"] == undo_again.json()["stage"] == "final"


@pytest.mark.parametrize("body,field", [
    ({"stage": "limbo"}, "stage"),
    ({"stage": "hired"}, "stage"),
])
def test_api_bad_moves_name_the_field(pipeline, tenant_a, body, field):
    response = tenant_a.api.post(f"/api/v1/applications/{pipeline['application'].pk}/advance/", body, format="json")
    assert response.status_code in (400, 409) and field in response.json()


def test_api_reject_with_an_unknown_reason(pipeline, tenant_a):
    response = tenant_a.api.post(f"/api/v1/applications/{pipeline['application'].pk}/reject/",
                                 {"reason": "vibes"}, format="json")
    assert response.status_code == 400 and "reason" in response.json()


def test_api_upserts_jobs_and_applications_by_external_id(tenant_a):
    api = tenant_a.api
    job = api.put("/api/v1/jobs/by-external-id/gh-1/", {"title": "SRE", "status": "open",
                                                          "hiring_managers": [tenant_a.hiring_manager.email]},
                  format="json")
    job_again = api.put("/api/v1/jobs/by-external-id/gh-1/", {"title": "Senior SRE"}, format="json")
    assert (job.status_code, job_again.status_code) == (201, 200)
    assert job_again.json()["id"] == job.json()["id"] and job_again.json()["title"] == "Senior SRE"
    with tenant_a.scope():
        assert JobAssignment.objects.filter(job_id=job.json()["id"], user=tenant_a.hiring_manager).exists()
    candidate = api.post("/api/v1/candidates/", {"first_name": "Al", "email": "al@x.test"}, format="json").json()
    body = {"candidate": candidate["id"], "job": job.json()["id"], "stage": "screening"}
    first = api.put("/api/v1/applications/by-external-id/app-9/", body, format="json")
    second = api.put("/api/v1/applications/by-external-id/app-9/", body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    listed = api.get("/api/v1/applications/", {"job": job.json()["id"], "stage": "screening"}).json()
    assert [a["id"] for a in listed] == [first.json()["id"]]
    assert api.get("/api/v1/applications/", {"stage": "limbo"}).status_code == 400
    assert api.get("/api/v1/applications/", {"decided_after": "tomorrow"}).status_code == 400


def test_api_feedback_roundtrip(pipeline, tenant_a):
    url = f"/api/v1/applications/{pipeline['application'].pk}/feedback/"
    created = tenant_a.api.post(url, {"strengths": "Curious", "shareable": True}, format="json")
    assert created.status_code == 201
    assert [n["strengths"] for n in tenant_a.api.get(url).json()] == ["Curious"]
    assert tenant_a.api.post(url, {"shareable": True}, format="json").status_code == 400


# --- Pages ----------------------------------------------------------------------------------

def test_the_board_moves_a_card_and_the_waiting_list_shows_quiet_applications(pipeline, tenant_a):
    job_url = f"/o/{tenant_a.slug}/jobs/{pipeline['job'].pk}/"
    board = tenant_a.recruiter_client.get(job_url).content.decode()
    assert "Marie Curie" in board
    app = pipeline["application"]
    tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/applications/{app.pk}/move/",
                                   {"stage": "interview", "version": app.version, "next": "board"})
    with tenant_a.scope():
        Application.objects.filter(pk=app.pk).update(moved_at=timezone.now() - timezone.timedelta(days=30))
    waiting = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/applications/waiting/").content.decode()
    assert "Marie Curie" in waiting and "Every open application moved recently" not in waiting


def test_working_days_skip_the_weekend(tenant_a):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crm.selectors import working_days_ago

    org = tenant_a.organization
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert working_days_ago(org, 1, now=monday).weekday() == 4  # Friday
    assert (monday - working_days_ago(org, 5, now=monday)).days == 7


def test_rejection_reasons_come_with_every_organization(tenant_a, tenant_b):
    with organization_scope(tenant_b.organization):
        assert RejectionReason.objects.count() == 8
    assert Stage.OFFER_DECLINED.label == "Offer declined"
