"""A provider that answers too slowly, or not at all: real HTTP to 127.0.0.1 through anymail's Postmark backend.

Then the provider's webhook settles what the slow answer left uncertain.
"""

import base64
import json
import smtplib
import socket
import time
import uuid
from datetime import timedelta

import pytest
import requests
from django.test import Client
from django.utils import timezone

from crm.models import Candidate
from crm.provider_outcome import FAILED, RETRY, UNKNOWN, provider_outcome
from outreach import dispatch
from outreach.fake_provider import FakeProvider
from outreach.models import EmailTemplate, Message, MessageEvent, MessageStatus
from outreach.services import queue_email
from outreach.tasks import send_due_messages

from ..factories import CandidateFactory


@pytest.fixture
def postmark(settings):
    """anymail's Postmark backend pointed at `url`, with a short HTTP timeout."""

    def point_at(url, timeout=0.5):
        settings.OUTBOX_EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "token", "POSTMARK_API_URL": url, "REQUESTS_TIMEOUT": timeout,
                            "WEBHOOK_SECRET": "hook:secret"}
        dispatch.forget_email_connection()

    yield point_at
    dispatch.forget_email_connection()


def queue_three(tenant):
    with tenant.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
        messages = []
        for i in range(3):
            candidate = CandidateFactory(organization=tenant.organization, email=f"slow{i}@example.test")
            messages.append(queue_email(unique_key=f"slow:{i}", kind="generic", to_email=candidate.email,
                                        candidate=candidate, template=template)[0])
    return messages


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_provider_slower_than_the_timeout_gets_each_email_once_and_it_waits_for_review(tenant_a, postmark):
    provider = FakeProvider(latency=2.0).start()
    try:
        postmark(provider.url, timeout=0.4)
        messages = queue_three(tenant_a)
        started = time.monotonic()
        send_due_messages()
        assert time.monotonic() - started < 5, "each call gave up at the client's timeout"
        assert len(provider.received) == 3
        for message in messages:
            message.refresh_from_db()
            assert message.status == MessageStatus.NEEDS_REVIEW
            assert "no answer from the provider" in message.status_reason
            assert message.attempts == 1
        # The beat's next ticks, and the reaper past any timeout, send nothing again.
        send_due_messages()
        dispatch.reap_stale(now=messages[0].updated_at + timedelta(hours=1))
        send_due_messages()
        time.sleep(0.2)
        assert sorted(int(r[0]) for r in provider.received) == sorted(m.pk for m in messages)
        assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/").content.decode().count(
            "3 emails need a decision") == 1
    finally:
        provider.stop()

    # The provider did take them: its delivery webhooks (carrying our message id as metadata) settle them.
    for message in messages:
        assert webhook(delivery(message)).status_code == 200
        message.refresh_from_db()
        assert message.status == MessageStatus.DELIVERED
        assert message.status_reason.startswith("settled by the provider's “delivered” event")
        assert message.provider_message_id and message.sent_at is not None
        assert MessageEvent.all_tenants.filter(message=message, event_type="delivered").count() == 1
    assert "need a decision" not in tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/").content.decode()


def webhook(payload):
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()
    return Client().post("/webhooks/anymail/postmark/tracking/", json.dumps(payload), content_type="application/json",
                         HTTP_AUTHORIZATION=auth)


def delivery(message, recipient=None):
    """Postmark's Delivery webhook, as it posts it."""
    return {"RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": str(uuid.uuid4()),
            "Recipient": recipient or message.to_email, "Tag": "generic", "DeliveredAt": "2026-11-24T10:00:01.907Z",
            "Details": "smtp;250 2.0.0 OK", "Metadata": {"silverpool_message": str(message.pk)}}


def flagged(tenant):
    """Messages a worker left uncertain (killed in the provider call, or the provider never answered)."""
    messages = queue_three(tenant)
    Message.all_tenants.filter(pk__in=[m.pk for m in messages]).update(
        status=MessageStatus.NEEDS_REVIEW, provider_call_started_at=timezone.now(), attempts=1,
        status_reason="the worker stopped during the provider call: it may or may not have been sent")
    return messages


def test_a_bounce_settles_a_message_flagged_for_review_and_marks_the_candidate(tenant_a, postmark):
    postmark("http://127.0.0.1:9/")
    bounced, stranger, _ = flagged(tenant_a)
    bounce = {"RecordType": "Bounce", "ID": 692560173, "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce",
              "MessageID": str(uuid.uuid4()), "ServerID": 23, "MessageStream": "outbound", "Tag": "generic",
              "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
              "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
              "Email": bounced.to_email, "From": "no-reply@silverpool.localhost", "BouncedAt": "2026-11-24T10:00:00Z",
              "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Hello",
              "Metadata": {"silverpool_message": str(bounced.pk)}}
    assert webhook(bounce).status_code == 200
    bounced.refresh_from_db()
    assert bounced.status == MessageStatus.BOUNCED and "“bounced” event" in bounced.status_reason
    assert Candidate.all_tenants.get(pk=bounced.candidate_id).email_status == "bounced"
    # An event naming our message but another recipient settles nothing.
    assert webhook(delivery(stranger, recipient="someone@else.test")).status_code == 200
    assert Message.all_tenants.get(pk=stranger.pk).status == MessageStatus.NEEDS_REVIEW


def test_a_provider_that_refuses_the_connection_is_retried_later_without_review(tenant_a, postmark):
    postmark(f"http://127.0.0.1:{closed_port()}/")
    messages = queue_three(tenant_a)
    send_due_messages()
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.QUEUED
        assert message.status_reason.startswith("retrying after")
        assert message.provider_call_started_at is None
        assert message.send_after > message.updated_at


def test_a_provider_answering_an_error_status_retries_or_fails(tenant_a, postmark):
    provider = FakeProvider().start()
    try:
        postmark(provider.url)
        messages = queue_three(tenant_a)
        original = provider.server.RequestHandlerClass._answer

        def answer(handler, status, body):
            original(handler, 503, {"ErrorCode": 100, "Message": "Maintenance"})

        provider.server.RequestHandlerClass._answer = answer
        send_due_messages()
        assert {Message.all_tenants.get(pk=m.pk).status for m in messages} == {MessageStatus.QUEUED}
    finally:
        provider.stop()


def _requests_error(url, timeout):
    from anymail.exceptions import AnymailRequestsAPIError

    try:
        requests.post(url, data=b"{}", timeout=timeout)
    except requests.RequestException as error:
        wrapped = type("AnymailRequestsAPIError", (AnymailRequestsAPIError, type(error)), {})("Error posting")
        wrapped.__cause__ = error
        return wrapped
    raise AssertionError("the request should have failed")


def test_errors_that_prove_the_email_was_not_taken_are_told_apart_from_unknown_outcomes():
    provider = FakeProvider(latency=1.0).start()
    try:
        assert provider_outcome(_requests_error(provider.url, timeout=0.2)) == UNKNOWN  # read timeout
        assert provider_outcome(_requests_error(f"http://127.0.0.1:{closed_port()}/", timeout=1)) == RETRY
        # A connect timeout: an address that drops packets never completes the handshake.
        connect_timeout = requests.exceptions.ConnectTimeout("timed out connecting")
        assert provider_outcome(connect_timeout) == RETRY
    finally:
        provider.stop()
    assert provider_outcome(smtplib.SMTPServerDisconnected("Connection unexpectedly closed")) == UNKNOWN
    assert provider_outcome(smtplib.SMTPServerDisconnected("please run connect() first")) == RETRY
    assert provider_outcome(smtplib.SMTPConnectError(421, b"busy")) == RETRY
    assert provider_outcome(smtplib.SMTPDataError(451, b"try later")) == RETRY
    assert provider_outcome(smtplib.SMTPDataError(554, b"rejected")) == FAILED
    assert provider_outcome(smtplib.SMTPRecipientsRefused({"a@b.test": (550, b"no such user")})) == FAILED
    assert provider_outcome(TimeoutError("timed out")) == UNKNOWN
