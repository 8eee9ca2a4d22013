"""Undoing a rejection through the API says, like the page, whether its email had already gone."""

from crm.models import RejectionReason
from crm.services import application_create, application_reject, job_save
from outreach import dispatch
from outreach.models import Message

from ..factories import CandidateFactory


def _rejected(tenant, capture, plan):
    with tenant.scope():
        candidate = CandidateFactory(organization=tenant.organization, email=f"{plan}@undo.test")
        job = job_save(actor=tenant.recruiter, title=f"Job {plan}", status="open")
        application = application_create(actor=tenant.recruiter, candidate=candidate, job=job, stage="screening")
        with capture(execute=True):
            application_reject(application=application, reason=RejectionReason.objects.first(),
                               actor=tenant.recruiter, notice_plan=plan)
    return application


def test_undo_says_the_email_had_gone(tenant_a, django_capture_on_commit_callbacks):
    application = _rejected(tenant_a, django_capture_on_commit_callbacks, "now")
    dispatch.send_batch(dispatch.claim_due())
    with tenant_a.scope():
        assert Message.objects.get(application=application).status == "sent"
    response = tenant_a.api.post(f"/api/v1/applications/{application.pk}/undo-rejection/")
    body = response.json()
    assert response.status_code == 200 and body["stage"] == "screening"
    assert body["notice"] == {"status": "sent", "label": "Sent", "gone": True}
    assert "already gone" in body["warning"]


def test_undo_before_the_email_went_cancels_it_and_warns_of_nothing(tenant_a, django_capture_on_commit_callbacks):
    application = _rejected(tenant_a, django_capture_on_commit_callbacks, "morning")
    response = tenant_a.api.post(f"/api/v1/applications/{application.pk}/undo-rejection/")
    body = response.json()
    assert response.status_code == 200
    assert body["notice"]["status"] == "cancelled" and body["notice"]["gone"] is False
    assert body["warning"] is None


def test_undo_of_a_rejection_without_email(tenant_a, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        job = job_save(actor=tenant_a.recruiter, title="No email", status="open")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job, stage="screening")
        application_reject(application=application, reason=RejectionReason.objects.first(), actor=tenant_a.recruiter,
                           notice_plan="none", notice_skip_reason="told them in person")
    body = tenant_a.api.post(f"/api/v1/applications/{application.pk}/undo-rejection/").json()
    assert body["notice"] is None and body["warning"] is None and body["stage"] == "screening"
