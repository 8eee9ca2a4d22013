"""An invitation's email is written with the invitation and sent by a worker, once, whatever is down."""

import re
import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.account_emails import claim_due
from crm.models import AccountEmail, AccountEmailStatus, Invitation, Role
from crm.services import invitation_create, invitation_revoke
from crm.tasks import send_account_emails
from crm.tenancy import organization_scope

pytestmark = pytest.mark.django_db
THIS = "tests.crm.test_invitation_emails"


class RefusingBackend(LocmemBackend):
    """An SMTP server that is down: the connection is refused before anything is sent."""

    def open(self):
        raise ConnectionRefusedError(111, "Connection refused")


class TemporarilyFailingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPSenderRefused(451, b"4.3.0 Try again later", "no-reply@silverpool.localhost")


class RejectingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPDataError(554, b"5.7.1 Message rejected")


class DroppingBackend(LocmemBackend):
    """The connection drops after the message went out: it may or may not have been delivered."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def _invite(tenant, email="new.person@example.test"):
    with organization_scope(tenant.organization):
        return invitation_create(organization=tenant.organization, email=email, role=Role.RECRUITER,
                                 actor=tenant.admin)


def _members_page(tenant):
    return tenant.admin_client.get(f"/o/{tenant.slug}/settings/members/").content.decode()


def _make_due():
    AccountEmail.all_tenants.update(send_after=timezone.now() - timedelta(seconds=1))


def test_the_invitation_and_its_email_are_written_together(tenant_a):
    invitation, token = _invite(tenant_a)
    email = AccountEmail.all_tenants.get()
    assert email.invitation == invitation and email.organization_id == tenant_a.organization.pk
    assert email.status == AccountEmailStatus.QUEUED and email.to_email == "new.person@example.test"
    assert f"/invite/{token}/" in email.body
    # Nothing is sent from the request itself: the commit nudges a worker.
    assert mail.outbox == []


def test_a_rollback_leaves_neither_the_invitation_nor_its_email(tenant_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        _invite(tenant_a)
        raise RuntimeError("the request failed after the invitation")
    assert not Invitation.all_tenants.exists() and not AccountEmail.all_tenants.exists()


def test_an_email_that_cannot_be_written_saves_no_invitation(tenant_a):
    with mock.patch("crm.services.organizations.render_to_string", side_effect=RuntimeError("template")):
        with pytest.raises(RuntimeError):
            _invite(tenant_a)
    assert not Invitation.all_tenants.exists() and not AccountEmail.all_tenants.exists()


def test_with_the_broker_down_the_invitation_is_kept_and_the_beat_sends_its_email(
        tenant_a, django_capture_on_commit_callbacks):
    with mock.patch.object(send_account_emails, "delay", side_effect=OperationalError("Error 111 connecting")), \
            django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/settings/members/",
                                              {"email": "late@example.test", "role": "recruiter"})
    assert response.status_code == 200
    assert mail.outbox == []
    assert AccountEmail.all_tenants.get().status == AccountEmailStatus.QUEUED

    assert send_account_emails() == {"sent": 1}  # the beat's run
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["late@example.test"]
    link = re.search(r"(/invite/[^\s]+/)", mail.outbox[0].body).group(1)
    assert "Create your account" in Client().get(link).content.decode()
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.SENT and email.sent_at is not None
    # The one-time link no longer lingers in the database; the record stays.
    assert email.body == "" and email.subject.startswith("You are invited") and email.to_email == "late@example.test"
    assert "Sent" in _members_page(tenant_a)


def test_with_the_smtp_server_down_the_email_waits_and_goes_out_later(tenant_a):
    _invite(tenant_a)
    with override_settings(EMAIL_BACKEND=f"{THIS}.RefusingBackend"):
        assert send_account_emails() == {"retry": 1}
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.QUEUED and email.attempts == 1
    assert email.send_after > timezone.now() and "Connection refused" in email.last_error
    assert "/invite/" in email.body
    page = _members_page(tenant_a)
    assert "Email not delivered yet: retrying" in page and "Connection refused" in page

    assert send_account_emails() == {}  # not due yet
    assert mail.outbox == []
    _make_due()
    assert send_account_emails() == {"sent": 1}
    assert len(mail.outbox) == 1 and "/invite/" in mail.outbox[0].body
    email.refresh_from_db()
    assert email.status == AccountEmailStatus.SENT and email.attempts == 2 and email.body == ""


def test_a_temporary_smtp_answer_is_retried_and_a_permanent_one_is_shown_as_failed(tenant_a):
    _invite(tenant_a)
    with override_settings(EMAIL_BACKEND=f"{THIS}.TemporarilyFailingBackend"):
        assert send_account_emails() == {"retry": 1}
    _make_due()
    with override_settings(EMAIL_BACKEND=f"{THIS}.RejectingBackend"):
        assert send_account_emails() == {"failed": 1}
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.FAILED and email.attempts == 2 and email.body == ""
    assert "Failed: SMTPDataError" in _members_page(tenant_a)
    _make_due()
    assert send_account_emails() == {} and mail.outbox == []


def test_an_email_that_keeps_failing_is_given_up_after_eight_attempts(tenant_a):
    _invite(tenant_a)
    with override_settings(EMAIL_BACKEND=f"{THIS}.RefusingBackend"):
        for _ in range(8):
            _make_due()
            send_account_emails()
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.FAILED and email.attempts == 8
    assert email.last_error.startswith("gave up after 8 attempts") and email.body == ""
    assert "Failed: gave up after 8 attempts" in _members_page(tenant_a)


def test_an_email_that_may_have_gone_out_is_never_sent_again(tenant_a):
    _invite(tenant_a)
    with override_settings(EMAIL_BACKEND=f"{THIS}.DroppingBackend"):
        assert send_account_emails() == {"needs_review": 1}
    _make_due()
    assert send_account_emails() == {} and mail.outbox == []
    assert AccountEmail.all_tenants.get().status == AccountEmailStatus.NEEDS_REVIEW
    assert "Failed: no answer after the email went out" in _members_page(tenant_a)


def test_an_email_is_sent_once_however_often_the_task_runs(tenant_a):
    _invite(tenant_a)
    assert claim_due() != [] and claim_due() == []  # a second claimer gets nothing
    AccountEmail.all_tenants.update(status=AccountEmailStatus.QUEUED)
    for _ in range(3):
        send_account_emails()
    _make_due()
    send_account_emails()
    assert len(mail.outbox) == 1


def test_a_row_left_sending_by_a_stopped_worker_is_flagged_not_resent(tenant_a):
    _invite(tenant_a)
    claim_due()
    AccountEmail.all_tenants.update(claimed_at=timezone.now() - timedelta(minutes=4))
    assert send_account_emails() == {}
    assert AccountEmail.all_tenants.get().status == AccountEmailStatus.SENDING  # maybe still at work
    AccountEmail.all_tenants.update(claimed_at=timezone.now() - timedelta(minutes=6))
    assert send_account_emails() == {}
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.NEEDS_REVIEW and email.body == "" and mail.outbox == []
    assert "Failed: the sending stopped midway" in _members_page(tenant_a)


def test_a_revoked_invitation_s_waiting_email_is_not_sent(tenant_a):
    invitation, _ = _invite(tenant_a)
    with organization_scope(tenant_a.organization):
        invitation_revoke(invitation=invitation, actor=tenant_a.admin)
    assert send_account_emails() == {} and mail.outbox == []
    email = AccountEmail.all_tenants.get()
    assert email.status == AccountEmailStatus.FAILED and email.body == ""


def test_the_eager_nudge_sends_at_commit(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(tenant_a, "quick@example.test")
    assert [m.to for m in mail.outbox] == [["quick@example.test"]]
    assert AccountEmail.all_tenants.get().status == AccountEmailStatus.SENT
