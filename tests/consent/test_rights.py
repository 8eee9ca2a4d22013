import csv
import io
import json

from django.core import mail

from consent.models import Action, ConsentPurpose, ConsentRecord, Source
from consent.services import record
from crm.models import (
    Activity,
    Application,
    AuditEvent,
    Candidate,
    FeedbackNote,
    RejectionReason,
    Suppression,
)
from crm.services import (
    ServiceError,
    application_create,
    application_reject,
    candidate_create,
    feedback_note_create,
    job_save,
)
from outreach import dispatch
from outreach.models import Message, MessageEvent

from ..factories import CandidateFactory


def _rich_candidate(tenant, django_capture_on_commit_callbacks):
    with tenant.scope():
        candidate = CandidateFactory(organization=tenant.organization, first_name="Erin", email="erin@x.test",
                                     headline="=cmd|' /C calc'!A0")
        job = job_save(actor=tenant.recruiter, title="SRE", status="open")
        application = application_create(actor=tenant.recruiter, candidate=candidate, job=job, stage="screening")
        feedback_note_create(application=application, author=tenant.hiring_manager, strengths="Clear thinker",
                             shareable=True)
        feedback_note_create(application=application, author=tenant.hiring_manager, note="INTERNAL do not share",
                             shareable=False)
        record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="job_offers"), action=Action.CONFIRMED,
               source=Source.RECRUITER, note="phone call")
        with django_capture_on_commit_callbacks(execute=True):
            application_reject(application=application, reason=RejectionReason.objects.first(),
                               actor=tenant.recruiter, notice_plan="now")
    ids = dispatch.claim_due()
    dispatch.send_batch(ids)
    return candidate, application


def test_export_has_everything_they_may_read_and_no_internal_note(tenant_a, django_capture_on_commit_callbacks):
    candidate, _ = _rich_candidate(tenant_a, django_capture_on_commit_callbacks)
    response = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/candidates/{candidate.pk}/export/")
    data = json.loads(response.content)
    assert data["profile"]["email"] == "erin@x.test"
    assert data["applications"][0]["feedback"] == [{"strengths": "Clear thinker", "areas_to_improve": ""}]
    assert "INTERNAL" not in response.content.decode()
    assert data["consent"][0]["purpose"] == "job_offers" and data["consent"][0]["text_version"] == 1
    assert data["emails"][0]["status"] == "sent"
    rows = list(csv.reader(io.StringIO(tenant_a.recruiter_client.get(
        f"/o/{tenant_a.slug}/candidates/{candidate.pk}/export/?format=csv").content.decode())))
    headline = [r for r in rows if r[2] == "headline"][0][3]
    assert headline.startswith("'=")  # formula-safe
    assert AuditEvent.objects.filter(action="candidate.exported", actor_user=tenant_a.recruiter).count() == 2


def test_erasure_removes_every_trace_and_keeps_the_suppression_and_the_fact(tenant_a,
                                                                           django_capture_on_commit_callbacks):
    candidate, application = _rich_candidate(tenant_a, django_capture_on_commit_callbacks)
    url = f"/o/{tenant_a.slug}/candidates/{candidate.pk}/erase/"
    assert tenant_a.recruiter_client.get(url).status_code == 404  # admins only
    wrong = tenant_a.admin_client.post(url, {"reason": "Their request", "confirmation": "someone@else"})
    assert wrong.status_code == 400 and Candidate.all_tenants.filter(pk=candidate.pk).exists()
    done = tenant_a.admin_client.post(url, {"reason": "Their request of 3 May", "confirmation": "ERIN@x.test"})
    assert done.status_code == 302
    assert not Candidate.all_tenants.filter(pk=candidate.pk).exists()
    assert not Application.all_tenants.filter(pk=application.pk).exists()
    assert not FeedbackNote.all_tenants.filter(application_id=application.pk).exists()
    assert not ConsentRecord.all_tenants.filter(candidate_id=candidate.pk).exists()
    assert not Activity.all_tenants.filter(candidate_id=candidate.pk).exists()
    message = Message.all_tenants.get()
    assert (message.to_email, message.html, message.text, message.subject) == ("erased@invalid", "", "", "")
    assert not MessageEvent.all_tenants.exists()
    for event in AuditEvent.objects.filter(object_type="Candidate", object_id=str(candidate.pk)):
        assert "erin" not in json.dumps(event.details).lower() and "Erin" not in event.object_repr
    assert AuditEvent.objects.filter(action="candidate.erased", details__reason="Their request of 3 May").exists()
    with tenant_a.scope():
        assert Suppression.objects.filter(email_hash=Suppression.hash_email("erin@x.test")).exists()
        # Nobody brings them back by hand, import or API.
        try:
            candidate_create(actor=tenant_a.recruiter, first_name="Erin", email="erin@x.test")
        except ServiceError as error:
            assert "erased" in error.message
        else:
            raise AssertionError("an erased address came back")
    assert len(mail.outbox) >= 1


def test_the_api_exports_and_erases_with_the_key_in_the_audit_log(tenant_a, django_capture_on_commit_callbacks):
    candidate, _ = _rich_candidate(tenant_a, django_capture_on_commit_callbacks)
    exported = tenant_a.api_read.get(f"/api/v1/candidates/{candidate.pk}/export/")
    assert exported.json()["profile"]["email"] == "erin@x.test"
    assert tenant_a.api_read.post(f"/api/v1/candidates/{candidate.pk}/erase/", {"reason": "x"}).status_code == 403
    assert tenant_a.api.post(f"/api/v1/candidates/{candidate.pk}/erase/", {}, format="json").status_code == 400
    assert tenant_a.api.post(f"/api/v1/candidates/{candidate.pk}/erase/", {"reason": "Request by email"},
                             format="json").status_code == 204
    event = AuditEvent.objects.get(action="candidate.erased")
    assert event.actor_api_key is not None and not Candidate.all_tenants.filter(pk=candidate.pk).exists()
