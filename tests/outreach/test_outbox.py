import base64
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from crm.models import Candidate, Organization, RejectionReason
from crm.services import application_advance, application_create, feedback_note_create, job_save
from outreach import dispatch
from outreach.models import Message, MessageEvent, MessageStatus
from outreach.services import next_working_morning, queue_email, review_approve

from ..factories import CandidateFactory


@pytest.fixture
def outbox_settings(settings):
    settings.OUTBOX_EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.OUTBOX_SEND_CONCURRENCY = 1
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    return settings


@pytest.fixture
def rejected(tenant_a, outbox_settings):
    """A candidate rejected at the final interview through the API, with shareable and internal feedback."""
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Data engineer", status="open",
                       hiring_managers=[tenant_a.hiring_manager])
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Ada", last_name="Byron",
                                     email="ada@byron.test")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job, stage="final")
        feedback_note_create(application=application, author=tenant_a.hiring_manager,
                             strengths="Brilliant modelling of the pipeline", improvements="Test more", shareable=True)
        feedback_note_create(application=application, author=tenant_a.hiring_manager,
                             note="INTERNAL: salary too high", shareable=False)
    return {"candidate": candidate, "application": application, "job": job}


def send_all():
    ids = dispatch.claim_due()
    return dispatch.send_batch(ids) if ids else {}


def reject_via_api(tenant, application, **body):
    return tenant.api.post(f"/api/v1/applications/{application.pk}/reject/",
                           {"reason": "Another candidate chosen", **body}, format="json")


def test_a_rejection_after_interview_waits_for_review_then_sends_the_reviewed_feedback(
        tenant_a, rejected, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = reject_via_api(tenant_a, rejected["application"], send_email="now")
    assert response.status_code == 200
    with tenant_a.scope():
        message = Message.objects.get(application=rejected["application"])
    assert message.status == MessageStatus.REVIEW and message.kind == "rejection_after_interview"
    assert send_all() == {}  # nothing goes before the review
    queue = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/review/").content.decode()
    assert "Brilliant modelling of the pipeline" in queue and "INTERNAL" not in queue
    with tenant_a.scope(), django_capture_on_commit_callbacks(execute=True):
        # Approving nudges a sender at once (here, eagerly, in this process).
        review_approve(message=message, actor=tenant_a.recruiter, strengths="Your modelling of the pipeline was "
                       "excellent", improvements="More tests would make your work even stronger")
    assert len(mail.outbox) == 1
    email = mail.outbox[-1]
    html = email.alternatives[0][0]
    assert email.to == ["ada@byron.test"]
    assert "Your modelling of the pipeline was excellent" in html and "INTERNAL" not in html + email.body
    assert "the final interview" in html and "another candidate" in html
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_message_id
    # The recruiter's wording was kept apart from the original.
    from crm.models import FeedbackNote

    note = FeedbackNote.all_tenants.get(application=rejected["application"], shareable=True)
    assert note.strengths == "Brilliant modelling of the pipeline"


def test_an_early_rejection_goes_the_next_working_morning_without_review(tenant_a, outbox_settings,
                                                                         django_capture_on_commit_callbacks):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="QA", status="open")
        candidate = CandidateFactory(organization=tenant_a.organization)
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, application)
    with tenant_a.scope():
        message = Message.objects.get(application=application)
    assert message.kind == "rejection_early" and message.status == MessageStatus.QUEUED
    local = message.send_after.astimezone(tenant_a.organization.time_zone)
    assert local.hour == 9 and local.weekday() in tenant_a.organization.working_days and message.send_after > timezone.now()
    assert send_all() == {}  # not due yet


def test_next_working_morning_in_the_organizations_time_zone(tenant_a):
    org = tenant_a.organization
    paris = ZoneInfo("Europe/Paris")
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=paris)
    assert next_working_morning(org, friday_evening) == datetime(2026, 11, 30, 9, 0, tzinfo=paris)
    tuesday_dawn = datetime(2026, 11, 24, 7, 0, tzinfo=paris)
    assert next_working_morning(org, tuesday_dawn) == datetime(2026, 11, 24, 9, 0, tzinfo=paris)


def test_do_not_send_needs_a_reason_and_queues_nothing(tenant_a, rejected, django_capture_on_commit_callbacks):
    assert reject_via_api(tenant_a, rejected["application"], send_email="none").status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        ok = reject_via_api(tenant_a, rejected["application"], send_email="none", skip_reason="Told by phone")
    assert ok.status_code == 200
    with tenant_a.scope():
        assert not Message.objects.exists()


def test_a_template_of_the_wrong_kind_is_refused(tenant_a, rejected):
    from outreach.models import EmailTemplate

    with tenant_a.scope():
        wrong = EmailTemplate.objects.get(kind="company_news", language="en")
    response = reject_via_api(tenant_a, rejected["application"], template=wrong.pk)
    assert response.status_code == 400 and "template" in response.json()


def test_undo_cancels_the_queued_notice_and_a_new_rejection_brings_it_back(tenant_a, rejected,
                                                                          django_capture_on_commit_callbacks):
    app = rejected["application"]
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, app)
    with django_capture_on_commit_callbacks(execute=True):
        tenant_a.api.post(f"/api/v1/applications/{app.pk}/undo-rejection/")
    with tenant_a.scope():
        message = Message.objects.get(application=app)
    assert message.status == MessageStatus.CANCELLED
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, app, note="second time")
    with tenant_a.scope():
        assert Message.objects.filter(application=app).count() == 1
        assert Message.objects.get(application=app).status == MessageStatus.REVIEW


def test_undo_after_the_email_went_warns_the_recruiter(tenant_a, outbox_settings, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="QA", status="open")
        application = application_create(actor=tenant_a.recruiter, job=job,
                                         candidate=CandidateFactory(organization=tenant_a.organization))
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, application, send_email="now")
    send_all()
    application.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        page = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/applications/{application.pk}/undo/",
                                              {"version": application.version}, follow=True)
    assert "had already gone" in page.content.decode()


def test_the_unique_key_makes_a_second_queueing_impossible(tenant_a):
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        first, created = queue_email(unique_key="k:1", kind="generic", to_email=candidate.email, candidate=candidate)
        second, created_again = queue_email(unique_key="k:1", kind="generic", to_email=candidate.email,
                                            candidate=candidate)
        assert created and not created_again and first.pk == second.pk
        assert Message.objects.count() == 1


def test_eligibility_is_checked_again_just_before_sending(tenant_a, outbox_settings):
    from outreach.models import EmailTemplate

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        template = EmailTemplate.objects.get(kind="generic", language="en")
        message, _ = queue_email(unique_key="t:1", kind="generic", to_email=candidate.email, candidate=candidate,
                                 template=template)
        Candidate.objects.filter(pk=candidate.pk).update(email_status="bounced")
    assert send_all() == {"suppressed": 1}
    message.refresh_from_db()
    assert message.status == MessageStatus.SUPPRESSED and "bounced" in message.status_reason


class ProviderError(Exception):
    def __init__(self, status_code):
        super().__init__(f"provider answered {status_code}")
        self.status_code = status_code


@pytest.mark.parametrize("status_code,expected,retries", [(422, MessageStatus.FAILED, False),
                                                          (503, MessageStatus.QUEUED, True),
                                                          ("refused", MessageStatus.QUEUED, True),
                                                          ("reset", MessageStatus.NEEDS_REVIEW, False)])
def test_provider_errors_fail_or_retry_with_backoff(tenant_a, outbox_settings, monkeypatch, status_code, expected,
                                                    retries):
    from outreach.models import EmailTemplate

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        template = EmailTemplate.objects.get(kind="generic", language="en")
        message, _ = queue_email(unique_key="t:2", kind="generic", to_email=candidate.email, candidate=candidate,
                                 template=template)

    def refuse(*args, **kwargs):
        if status_code == "refused":
            raise ConnectionRefusedError(111, "Connection refused")
        if status_code == "reset":
            raise ConnectionResetError(104, "Connection reset by peer")
        raise ProviderError(status_code)

    monkeypatch.setattr(dispatch, "deliver", refuse)
    send_all()
    message.refresh_from_db()
    assert message.status == expected
    if retries:
        assert message.send_after > timezone.now() + timedelta(seconds=20)
        assert message.provider_call_started_at is None


def test_a_worker_that_died_mid_send_leaves_rows_requeued_or_flagged_never_resent(tenant_a, outbox_settings):
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        before_call, _ = queue_email(unique_key="r:1", kind="generic", to_email="a@x.test", candidate=candidate)
        during_call, _ = queue_email(unique_key="r:2", kind="generic", to_email="b@x.test", candidate=candidate)
    long_ago = timezone.now() - timedelta(hours=1)
    Message.all_tenants.filter(pk=before_call.pk).update(status="sending", claimed_at=long_ago)
    Message.all_tenants.filter(pk=during_call.pk).update(status="sending", claimed_at=long_ago,
                                                         provider_call_started_at=long_ago)
    assert dispatch.reap_stale() == (1, 1)
    before_call.refresh_from_db()
    during_call.refresh_from_db()
    assert before_call.status == MessageStatus.QUEUED
    assert during_call.status == MessageStatus.NEEDS_REVIEW
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/").content.decode()
    assert "1 email needs a decision" in page
    tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/outbox/{during_call.pk}/resolve/", {"action": "dismiss"})
    during_call.refresh_from_db()
    assert during_call.status == MessageStatus.SENT


def test_from_and_reply_to_follow_the_organizations_sender(tenant_a, settings):
    org = Organization.objects.get(pk=tenant_a.organization.pk)
    org.sender_name, org.sender_email, org.reply_to_email = "Acme Talent", "talent@acme.test", "jobs@acme.test"
    assert dispatch.sender_addresses(org) == ("Acme Talent via Silverpool <no-reply@silverpool.localhost>",
                                              ["jobs@acme.test"])
    org.sender_email_verified = True
    assert dispatch.sender_addresses(org)[0] == "Acme Talent <talent@acme.test>"


def _postmark(client, payload, auth="hook:secret"):
    headers = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}
    return client.post("/webhooks/anymail/postmark/tracking/", json.dumps(payload), content_type="application/json",
                       **headers)


def _sent_message(tenant_a, rejected, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, rejected["application"], send_email="now")
    with tenant_a.scope():
        message = Message.objects.get(application=rejected["application"])
        review_approve(message=message, actor=tenant_a.recruiter)
    send_all()
    message.refresh_from_db()
    return message


def test_a_hard_bounce_webhook_marks_the_candidate_bounced(tenant_a, rejected, django_capture_on_commit_callbacks):
    message = _sent_message(tenant_a, rejected, django_capture_on_commit_callbacks)
    bounce = {"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
              "Name": "Hard bounce", "Tag": "rejection_after_interview", "MessageID": message.provider_message_id,
              "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
              "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
              "Email": "ada@byron.test", "From": "no-reply@silverpool.localhost",
              "BouncedAt": "2026-11-24T10:00:00Z", "DumpAvailable": True, "Inactive": True, "CanActivate": True,
              "Subject": message.subject, "ServerID": 23, "MessageStream": "outbound", "Metadata": {}}
    client = Client()
    assert _postmark(client, bounce, auth="hook:wrong").status_code in (400, 401, 403)
    assert Candidate.all_tenants.get(pk=rejected["candidate"].pk).email_status == "unknown"
    assert _postmark(client, bounce).status_code == 200
    assert _postmark(client, bounce).status_code == 200  # replayed
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert MessageEvent.all_tenants.filter(message=message).count() == 1
    assert Candidate.all_tenants.get(pk=rejected["candidate"].pk).email_status == "bounced"


def test_out_of_order_and_unknown_events_change_nothing_they_should_not(tenant_a, rejected,
                                                                        django_capture_on_commit_callbacks):
    message = _sent_message(tenant_a, rejected, django_capture_on_commit_callbacks)
    click = {"RecordType": "Click", "MessageID": message.provider_message_id, "Recipient": "ada@byron.test",
             "ReceivedAt": "2026-11-24T10:05:00Z", "OriginalLink": "https://acme.test/jobs", "Metadata": {}}
    delivery = {"RecordType": "Delivery", "MessageID": message.provider_message_id, "Recipient": "ada@byron.test",
                "DeliveredAt": "2026-11-24T10:00:00Z", "Details": "ok", "Metadata": {}}
    unknown = {**delivery, "MessageID": "not-ours"}
    client = Client()
    for payload in (click, delivery, unknown):
        assert _postmark(client, payload).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.CLICKED  # the late delivery did not move it back
    from crm.models import Activity

    assert Activity.all_tenants.filter(candidate=rejected["candidate"], kind="click").exists()


def test_a_sent_notice_leaves_the_waiting_list_and_shows_on_the_candidate_page(tenant_a, rejected,
                                                                               django_capture_on_commit_callbacks):
    message = _sent_message(tenant_a, rejected, django_capture_on_commit_callbacks)
    waiting = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/applications/waiting/").content.decode()
    # The candidate has been told: nothing is left to do about this decision.
    assert f'data-testid="owed-{rejected["application"].pk}"' not in waiting
    assert 'data-testid="owed-empty"' in waiting
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/candidates/{rejected['candidate'].pk}/").content.decode()
    assert message.subject in page and 'id="messages-panel"' in page


def test_api_lists_messages_and_templates(tenant_a, rejected, django_capture_on_commit_callbacks):
    _sent_message(tenant_a, rejected, django_capture_on_commit_callbacks)
    listed = tenant_a.api_read.get("/api/v1/messages/", {"candidate": rejected["candidate"].pk, "status": "sent"})
    assert [m["kind"] for m in listed.json()] == ["rejection_after_interview"]
    assert tenant_a.api_read.get("/api/v1/messages/", {"status": "lost"}).status_code == 400
    templates = tenant_a.api_read.get("/api/v1/templates/").json()
    assert {"kind": "rejection_early", "purpose": "transactional"}.items() <= templates[0].items() or templates


def test_send_me_a_test_uses_dummy_links_and_the_recruiters_address(tenant_a, outbox_settings,
                                                                    django_capture_on_commit_callbacks):
    from outreach.models import EmailTemplate

    with tenant_a.scope():
        template = EmailTemplate.objects.get(kind="rejection_early", language="en")
    tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/{template.pk}/test/")
    send_all()
    assert mail.outbox[-1].to == [tenant_a.recruiter.email]


def test_reasons_are_in_the_candidates_words(tenant_a):
    with tenant_a.scope():
        assert RejectionReason.objects.get(label="Skills gap").candidate_text.startswith("we were looking")


def test_advance_keeps_working_with_the_engine_installed(tenant_a, rejected):
    with tenant_a.scope():
        application_advance(application=rejected["application"], to_stage="offer", actor=tenant_a.recruiter)


def test_due_rows_are_found_by_the_beat_tick_even_if_every_nudge_was_lost(tenant_a, outbox_settings):
    """Redis restarting mid-batch loses queued tasks, never rows: the next tick finds them."""
    from outreach.models import EmailTemplate
    from outreach.tasks import outbox_tick

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        template = EmailTemplate.objects.get(kind="generic", language="en")
        message, _ = queue_email(unique_key="tick:1", kind="generic", to_email=candidate.email, candidate=candidate,
                                 template=template)  # its on-commit nudge never runs in this test
    outbox_tick()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and len(mail.outbox) == 1


def test_the_application_page_shows_the_rejection_email_status(tenant_a, rejected, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reject_via_api(tenant_a, rejected["application"])
    page = tenant_a.recruiter_client.get(
        f"/o/{tenant_a.slug}/applications/{rejected['application'].pk}/").content.decode()
    assert 'data-testid="notice-status">Waiting for review<' in page and "review it" in page
