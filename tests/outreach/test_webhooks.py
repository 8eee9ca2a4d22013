"""The provider webhooks as the outside world posts to them: documented bodies, broken bodies, wrong credentials.

Bodies follow the providers' documented tracking events (the fields anymail's webhook modules read). Whatever
arrives, the answer is never a 5xx, and a body that is not a valid event changes no row.
"""

import base64
import copy
import hashlib
import hmac
import json
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import ConsentRecord
from crm.models import Candidate
from outreach import sns
from outreach.models import EmailTemplate, Message, MessageEvent, MessageStatus
from outreach.services import queue_email

from ..factories import CandidateFactory
from .test_campaigns import audience, grant, launch_and_send, make_campaign  # noqa: F401  (fixtures)

SECRET = "hook:secret"
MAILGUN_KEY = "mailgun-signing-key"
URLS = {"postmark": "/webhooks/anymail/postmark/tracking/", "sendgrid": "/webhooks/anymail/sendgrid/tracking/",
        "mailgun": "/webhooks/anymail/mailgun/tracking/", "amazon_ses": "/webhooks/anymail/amazon_ses/tracking/"}
PROVIDER_IDS = {"postmark": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817", "sendgrid": "2b3c2f4a-7a8f-4d6e-9a63-1c5e0e2b7e10",
                "mailgun": "<20261124100000.1.ABCDEF@mg.example.test>", "amazon_ses": "0100016a-ses-message-id"}


# --- Amazon SNS signatures --------------------------------------------------------------------------

SNS_TOPIC = "arn:aws:sns:us-east-1:123456789012:silverpool-ses-events"
SNS_CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"


class SnsKey:
    """An RSA key and its self-signed certificate, standing in for Amazon SNS's signing certificate."""

    def __init__(self, url=SNS_CERT_URL):
        self.url, self.fetched = url, []
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(self.private.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
                       .sign(self.private, hashes.SHA256()))
        self.pem = certificate.public_bytes(serialization.Encoding.PEM)

    def fetch(self, url):
        """What sns.fetch_certificate gets from Amazon: this certificate at its URL, a 404 anywhere else."""
        self.fetched.append(url)
        if url != self.url:
            raise sns.InvalidMessage("the certificate URL answered 404")
        return self.pem


SNS_KEY = SnsKey()


def sns_string_to_sign(message):
    """Amazon's documented canonical form: "Name\nvalue\n" for each signed field present, in this order."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{name}\n{message[name]}\n" for name in names if name in message).encode()


def sns_signed(message, *, key=SNS_KEY, version="1"):
    """The message as Amazon SNS posts it: SignatureVersion 1 is SHA1 with RSA, 2 is SHA256 with RSA."""
    message = {"SigningCertURL": key.url, **message, "SignatureVersion": version}
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(
        key.private.sign(sns_string_to_sign(message), padding.PKCS1v15(), digest)).decode()
    return message


@pytest.fixture
def hooks(settings, monkeypatch):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    settings.SNS_TOPIC_ARNS = []
    SNS_KEY.fetched.clear()
    sns.forget_certificates()
    monkeypatch.setattr(sns, "fetch_certificate", SNS_KEY.fetch)  # no network: the test's certificate
    yield settings
    sns.forget_certificates()


def sent(tenant, provider, email="ada@byron.test"):
    """A campaign-free email the provider accepted, with the provider's id for it."""
    with tenant.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
        candidate = CandidateFactory(organization=tenant.organization, email=email)
        message = queue_email(unique_key=f"hook:{provider}:{email}", kind="generic", to_email=email,
                              candidate=candidate, template=template)[0]
    Message.all_tenants.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=timezone.now(),
                                                     provider_message_id=PROVIDER_IDS[provider])
    message.refresh_from_db()
    return message


def post(provider, body, *, auth=SECRET, raw=None, content_type="application/json", **headers):
    if auth:
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(auth.encode()).decode()
    if provider == "amazon_ses" and isinstance(body, dict):  # SNS names the message in its headers too
        headers.setdefault("HTTP_X_AMZ_SNS_MESSAGE_TYPE", str(body.get("Type")))
        headers.setdefault("HTTP_X_AMZ_SNS_MESSAGE_ID", str(body.get("MessageId")))
        content_type = "text/plain; charset=UTF-8"  # SNS posts its JSON as text
    data = raw if raw is not None else json.dumps(body)
    return Client().post(URLS[provider], data, content_type=content_type, **headers)


def mailgun_signature(key=MAILGUN_KEY, timestamp="1764000000", token="a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f"):
    digest = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


# --- Documented event bodies ---------------------------------------------------------------------------

def postmark_events(message):
    common = {"MessageID": message.provider_message_id, "ServerID": 23, "MessageStream": "outbound",
              "Tag": "generic", "Metadata": {"silverpool_message": str(message.pk)}}
    return {
        "delivered": {**common, "RecordType": "Delivery", "Recipient": message.to_email,
                      "DeliveredAt": "2026-11-24T10:00:01.907Z", "Details": "smtp;250 2.0.0 OK"},
        "bounced": {**common, "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce",
                    "TypeCode": 1, "Name": "Hard bounce", "Email": message.to_email,
                    "Description": "The server was unable to deliver your message.",
                    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
                    "From": "no-reply@silverpool.localhost", "BouncedAt": "2026-11-24T10:00:00Z",
                    "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Hello"},
        "opened": {**common, "RecordType": "Open", "FirstOpen": True, "Recipient": message.to_email,
                   "ReceivedAt": "2026-11-24T10:02:00Z", "Platform": "WebMail", "ReadSeconds": 5,
                   "UserAgent": "Mozilla/5.0", "OS": {"Name": "OS X 10.7 Lion", "Family": "OS X"},
                   "Client": {"Name": "Chrome 35.0", "Family": "Chrome"}, "Geo": {"Country": "Denmark"}},
        "clicked": {**common, "RecordType": "Click", "ClickLocation": "HTML", "Recipient": message.to_email,
                    "ReceivedAt": "2026-11-24T10:05:00Z", "OriginalLink": "https://acme.test/jobs",
                    "Platform": "Desktop", "UserAgent": "Mozilla/5.0"},
        "complained": {**common, "RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 512,
                       "Email": message.to_email, "BouncedAt": "2026-11-24T10:10:00Z", "Subject": "Hello"},
        "unsubscribed": {**common, "RecordType": "SubscriptionChange", "Recipient": message.to_email,
                         "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": "ManualSuppression",
                         "ChangedAt": "2026-11-24T10:20:00Z"},
    }


def sendgrid_events(message):
    common = {"email": message.to_email, "timestamp": 1764000000, "anymail_id": message.provider_message_id,
              "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>", "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001",
              "category": ["generic"], "silverpool_message": str(message.pk)}
    return {
        "delivered": {**common, "event": "delivered", "sg_event_id": "sg-delivered-1", "response": "250 OK"},
        "bounced": {**common, "event": "bounce", "sg_event_id": "sg-bounce-1", "type": "bounce", "status": "5.0.0",
                    "reason": "550 5.1.1 The email account that you tried to reach does not exist."},
        "opened": {**common, "event": "open", "sg_event_id": "sg-open-1", "useragent": "Mozilla/5.0",
                   "ip": "255.255.255.255"},
        "clicked": {**common, "event": "click", "sg_event_id": "sg-click-1", "url": "https://acme.test/jobs",
                    "useragent": "Mozilla/5.0", "ip": "255.255.255.255"},
        "complained": {**common, "event": "spamreport", "sg_event_id": "sg-spam-1"},
        "unsubscribed": {**common, "event": "unsubscribe", "sg_event_id": "sg-unsub-1"},
    }


def mailgun_events(message):
    def body(event, **data):
        token = hashlib.sha256(event.encode()).hexdigest()[:50]  # Mailgun signs each post with a fresh token
        return {"signature": mailgun_signature(token=token), "event-data": {
            "event": event, "timestamp": 1764000000.908181, "id": f"CPgfbmQMTCKtHW6uIWtuVe-{event}",
            "recipient": message.to_email, "tags": ["generic"], "user-variables": {"silverpool_message": str(message.pk)},
            "message": {"headers": {"to": message.to_email, "message-id": message.provider_message_id.strip("<>"),
                                    "from": "no-reply@silverpool.localhost", "subject": "Hello"},
                        "attachments": [], "size": 111}, **data}}

    return {
        "delivered": body("delivered", **{"delivery-status": {"code": 250, "message": "OK", "description": ""}}),
        "bounced": body("failed", severity="permanent", reason="bounce", **{"delivery-status": {
            "code": 550, "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": ""}}),
        "opened": body("opened", ip="50.56.129.169", **{"client-info": {"user-agent": "Mozilla/5.0"}}),
        "clicked": body("clicked", url="https://acme.test/jobs"),
        "complained": body("complained"),
        "unsubscribed": body("unsubscribed"),
    }


def ses_event(message, event_type, **objects):
    """An Amazon SES event record as SES publishes it to SNS (event publishing through a configuration set)."""
    headers = [{"name": "From", "value": "no-reply@silverpool.localhost"}, {"name": "To", "value": message.to_email},
               {"name": "Subject", "value": "Hello"}, {"name": "MIME-Version", "value": "1.0"},
               {"name": "X-Metadata", "value": json.dumps({"silverpool_message": str(message.pk)})},
               {"name": "X-Tag", "value": "generic"}]
    mail = {"timestamp": "2026-11-24T10:00:00.000Z", "source": "no-reply@silverpool.localhost",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/silverpool.localhost",
            "sendingAccountId": "123456789012", "messageId": message.provider_message_id,
            "destination": [message.to_email], "headersTruncated": False, "headers": headers,
            "commonHeaders": {"from": ["no-reply@silverpool.localhost"], "to": [message.to_email],
                              "messageId": message.provider_message_id, "subject": "Hello"},
            "tags": {"ses:configuration-set": ["silverpool"], "ses:caller-identity": ["silverpool"]}}
    return {"eventType": event_type, "mail": mail, **objects}


def ses_notification(record, sns_id, *, timestamp="2026-11-24T10:00:02.000Z", **signing):
    """An SES record in the signed SNS Notification that carries it."""
    return sns_signed({
        "Type": "Notification", "MessageId": sns_id, "TopicArn": SNS_TOPIC,
        "Subject": "Amazon SES Email Event Notification", "Message": json.dumps(record), "Timestamp": timestamp,
        "UnsubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={SNS_TOPIC}:1"},
        **signing)


def ses_records(message):
    """Every event type SES documents, as its record shows it (the SES docs' examples, for this message)."""
    to = message.to_email
    return {
        "sent": ses_event(message, "Send", send={}),
        "delivered": ses_event(message, "Delivery", delivery={
            "timestamp": "2026-11-24T10:00:01.000Z", "processingTimeMillis": 546, "recipients": [to],
            "smtpResponse": "250 ok:  Message 64111812 accepted", "reportingMTA": "a8-70.smtp-out.amazonses.com"}),
        "bounced": ses_event(message, "Bounce", bounce={
            "bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-11-24T10:00:03.000Z",
            "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
            "reportingMTA": "dsn; mta.example.com"}),
        "soft bounce": ses_event(message, "Bounce", bounce={
            "bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": "2026-11-24T10:00:03.000Z",
            "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "4.2.2",
                                   "diagnosticCode": "smtp; 452 4.2.2 mailbox full"}],
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000001"}),
        "opened": ses_event(message, "Open", open={"ipAddress": "192.0.2.1", "timestamp": "2026-11-24T10:02:00.000Z",
                                                   "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3)"}),
        "clicked": ses_event(message, "Click", click={
            "ipAddress": "192.0.2.1", "link": "https://acme.test/jobs", "timestamp": "2026-11-24T10:05:00.000Z",
            "linkTags": {"samplekey0": ["samplevalue0"]}, "userAgent": "Mozilla/5.0"}),
        "complained": ses_event(message, "Complaint", complaint={
            "complainedRecipients": [{"emailAddress": to}], "timestamp": "2026-11-24T10:10:00.000Z",
            "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000002",
            "userAgent": "Mozilla/5.0", "complaintFeedbackType": "abuse", "arrivalDate": "2026-11-24T10:09:00.000Z"}),
        "rejected": ses_event(message, "Reject", reject={"reason": "Bad content"}),
        "rendering failure": ses_event(message, "Rendering Failure", failure={
            "errorMessage": "Attribute 'attributeName' is not present in the rendering data.",
            "templateName": "MyTemplate"}),
        "delivery delay": ses_event(message, "DeliveryDelay", deliveryDelay={
            "timestamp": "2026-11-24T10:25:40.095Z", "delayType": "TransientCommunicationFailure",
            "expirationTime": "2026-11-25T10:25:40.914Z", "delayedRecipients": [{
                "emailAddress": to, "status": "4.4.1",
                "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host"}]}),
        "unsubscribed": ses_event(message, "Subscription", subscription={
            "contactList": "ContactListName", "timestamp": "2026-11-24T10:20:00.000Z", "source": "UnsubscribeHeader",
            "newTopicPreferences": {"unsubscribeAll": True, "topicSubscriptionStatus": [
                {"topicName": "ExampleTopicName", "subscriptionStatus": "OptOut"}]},
            "oldTopicPreferences": {"unsubscribeAll": False, "topicSubscriptionStatus": [
                {"topicName": "ExampleTopicName", "subscriptionStatus": "OptIn"}]}}),
    }


SES_CORE = ["delivered", "bounced", "opened", "clicked", "complained", "unsubscribed"]


def ses_events(message, names=SES_CORE):
    """The signed SNS notifications of the SES events the other providers have too (each with its own SNS id)."""
    records = ses_records(message)
    return {name: ses_notification(records[name], f"sns-{message.pk}-{name.replace(' ', '-')}") for name in names}


EVENTS = {"postmark": postmark_events, "sendgrid": lambda m: {k: [v] for k, v in sendgrid_events(m).items()},
          "mailgun": mailgun_events, "amazon_ses": ses_events}


def state(message):
    """What a webhook can change: rows, the message's status, the address, consent."""
    message = Message.all_tenants.get(pk=message.pk)
    return (Message.all_tenants.count(), MessageEvent.all_tenants.count(), ConsentRecord.all_tenants.count(),
            message.status, message.last_event_at, Candidate.all_tenants.get(pk=message.candidate_id).email_status)


# --- Documented bodies are taken ---------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "amazon_ses"])
def test_each_documented_event_is_taken_once(tenant_a, hooks, provider):
    message = sent(tenant_a, provider)
    for name, body in EVENTS[provider](message).items():
        assert post(provider, body).status_code == 200, name
        assert post(provider, body).status_code == 200, f"{name} replayed"
    recorded = sorted(MessageEvent.all_tenants.filter(message=message).values_list("event_type", flat=True))
    assert recorded == sorted(["delivered", "bounced", "opened", "clicked", "complained", "unsubscribed"])


def test_a_sendgrid_event_id_sent_as_a_number_is_stored_as_text(tenant_a, hooks):
    message = sent(tenant_a, "sendgrid")
    event = {**sendgrid_events(message)["delivered"], "sg_event_id": 123456789}
    assert post("sendgrid", [event]).status_code == 200
    assert MessageEvent.all_tenants.get(message=message).event_id == "123456789"
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.DELIVERED


# --- Broken bodies are refused, and change nothing ------------------------------------------------

BROKEN = {
    "empty": b"", "empty list": b"[]", "null": b"null", "a JSON string": b'"Delivery"', "a number": b"12",
    "not JSON": b"RecordType=Delivery", "invalid UTF-8": b'{"RecordType": "\xff\xfe"}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000, "truncated": b'{"RecordType": "Deliv',
}


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "amazon_ses"])
def test_a_body_that_cannot_be_events_is_a_400_and_writes_nothing(tenant_a, hooks, provider):
    message = sent(tenant_a, provider)
    before = state(message)
    for what, raw in BROKEN.items():
        response = post(provider, None, raw=raw, HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification")
        expected = 200 if provider == "sendgrid" and what == "empty list" else 400  # SendGrid posts lists
        assert response.status_code == expected, what
        assert state(message) == before, what


@pytest.mark.parametrize("provider, field, value", [
    ("postmark", "DeliveredAt", 1764000001),  # a number where a date is documented
    ("postmark", "DeliveredAt", "2026-02-30T10:00:00Z"),
    ("postmark", "Metadata", ["silverpool_message"]),
    ("postmark", "MessageID", {"id": "x"}),
    ("sendgrid", "timestamp", "1764000000"),  # a string where a Unix time is documented
    ("sendgrid", "timestamp", 10**20),
    ("sendgrid", "event", ["delivered"]),
    ("sendgrid", "anymail_id", ["id"]),
    ("mailgun", "event-data", None),
    ("mailgun", "signature", "signed"),
])
def test_wrong_field_types_are_a_400_and_write_nothing(tenant_a, hooks, provider, field, value):
    message = sent(tenant_a, provider)
    body = copy.deepcopy(EVENTS[provider](message)["delivered"])
    target = body[0] if provider == "sendgrid" else body
    target[field] = value
    before = state(message)
    assert post(provider, body).status_code == 400
    assert state(message) == before


def test_mailgun_without_event_data_is_a_400(tenant_a, hooks):
    message = sent(tenant_a, "mailgun")
    before = state(message)
    assert post("mailgun", {"signature": mailgun_signature()}).status_code == 400
    assert state(message) == before


def test_a_batch_with_one_broken_event_writes_none_of_it(tenant_a, hooks):
    message = sent(tenant_a, "sendgrid")
    events = sendgrid_events(message)
    before = state(message)
    broken = {**events["opened"], "timestamp": "yesterday"}
    assert post("sendgrid", [events["delivered"], events["clicked"], broken]).status_code == 400
    assert state(message) == before


def test_a_body_over_the_limit_is_a_413(tenant_a, hooks):
    message = sent(tenant_a, "postmark")
    before = state(message)
    body = {**postmark_events(message)["delivered"], "Details": "x" * 3_000_000}
    assert post("postmark", body).status_code == 413
    assert state(message) == before


def test_a_refusal_is_logged_once_with_the_provider_and_not_the_body(tenant_a, hooks, caplog):
    message = sent(tenant_a, "postmark")
    body = {**postmark_events(message)["delivered"], "DeliveredAt": 17640, "Details": "SECRET-BODY-TEXT"}
    with caplog.at_level(logging.INFO):
        assert post("postmark", body).status_code == 400
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "postmark" in lines[0] and "400" in lines[0], lines
    assert "SECRET-BODY-TEXT" not in lines[0]



# --- Database errors the body did not cause -------------------------------------------------------------

def test_a_table_missing_until_migrate_is_a_503_and_the_retry_after_migrate_is_taken(tenant_a, hooks):
    """Code deployed before `migrate`: the provider must keep the event and deliver it again, never drop it."""
    from django.db import connection

    message = sent(tenant_a, "postmark")
    before = state(message)
    body = postmark_events(message)["delivered"]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE outreach_webhookevent RENAME TO outreach_webhookevent_not_yet")
    response = post("postmark", body)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE outreach_webhookevent_not_yet RENAME TO outreach_webhookevent")
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert state(message) == before
    assert post("postmark", body).status_code == 200  # the provider's retry, once migrated
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.DELIVERED
    assert MessageEvent.all_tenants.filter(message=message).count() == 1


@pytest.mark.parametrize("error, status", [
    ("ProgrammingError", 503), ("InternalError", 503), ("NotSupportedError", 503), ("DatabaseError", 503),
    ("OperationalError", 503), ("InterfaceError", 503), ("DataError", 400), ("IntegrityError", 400),
])
def test_only_a_database_error_the_body_caused_is_a_400(tenant_a, hooks, error, status):
    """A value refused by the database (DataError, IntegrityError) is the body's fault; any other database
    error is ours, a 503 the provider retries. Either way the post's rows are rolled back."""
    from anymail.signals import tracking
    from django import db

    message = sent(tenant_a, "sendgrid")
    before = state(message)
    events = sendgrid_events(message)

    def fail_on_click(sender, event, **kwargs):
        if event.event_type == "clicked":
            raise getattr(db, error)("simulated")

    tracking.connect(fail_on_click, weak=False)
    try:
        response = post("sendgrid", [events["delivered"], events["opened"], events["clicked"]])
    finally:
        tracking.disconnect(fail_on_click)
    assert response.status_code == status
    assert (response.get("Retry-After") == "60") is (status == 503)
    assert state(message) == before


def test_webhook_routes_run_in_the_guards_transaction_alone():
    """Not inside ATOMIC_REQUESTS as well: the guard's block is the post's one transaction."""
    from django.urls import get_resolver

    routes = [pattern for pattern in get_resolver().url_patterns if "webhooks" in str(pattern.pattern)]
    views = []
    for route in routes:
        for pattern in getattr(route, "url_patterns", [route]):
            views.append((str(pattern.pattern), pattern.callback))
    tracking = [path for path, _ in views if "tracking" in path]
    inbound = [path for path, _ in views if "inbound" in path]
    assert "postmark/tracking/" in tracking and any("postmark/inbound" in path for path in inbound)
    for path, view in views:
        assert getattr(view, "_non_atomic_requests", set()) == {"default"}, path


# --- Generated bodies ----------------------------------------------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                           | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)
MUTATIONS = ["drop", "null", "anything", "in a list", "in an object", "huge string", "number", "as text"]


def _paths(value, prefix=()):
    if prefix:
        yield prefix
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutated(data, base):
    """The documented body with one to three of its fields dropped, nulled, retyped, wrapped or blown up."""
    body = copy.deepcopy(base)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(body))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = body
        for key in path[:-1]:
            parent = parent[key]
        key, old = path[-1], parent[path[-1]]
        kind = data.draw(st.sampled_from(MUTATIONS))
        if kind == "drop":
            del parent[key]
        elif kind == "anything":
            parent[key] = data.draw(json_values)
        elif kind == "huge string":
            parent[key] = "x" * data.draw(st.integers(min_value=1_000, max_value=300_000))
        elif kind == "number":
            parent[key] = data.draw(st.one_of(st.integers(min_value=-(2**70), max_value=2**70),
                                              st.floats(allow_nan=False, allow_infinity=False)))
        else:
            parent[key] = {"null": None, "in a list": [old], "in an object": {"value": old}, "as text": str(old)}[kind]
    return body


def _mutated_sns(data, message):
    """An SES record mutated inside a notification Amazon signed (hostile contents reach anymail), or the signed
    notification mutated afterwards (refused by its signature), with SNS's headers as they would come."""
    records = ses_records(message)
    name = data.draw(st.sampled_from(sorted(records)))
    record = _mutated(data, records[name]) if data.draw(st.booleans()) else records[name]
    envelope = ses_notification(record, f"sns-generated-{data.draw(st.integers(0, 10**6))}",
                                version=data.draw(st.sampled_from(["1", "2"])))
    if record is records[name] or data.draw(st.booleans()):
        envelope = _mutated(data, envelope)
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": str(envelope.get("Type", "Notification")),
               "HTTP_X_AMZ_SNS_MESSAGE_ID": str(envelope.get("MessageId", "sns-1"))}
    return json.dumps(envelope).encode(), headers


PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "amazon_ses"])
@PROPERTY
@given(data=st.data())
def test_generated_bodies_never_get_a_5xx_and_a_refused_or_foreign_body_changes_nothing(
        tenant_a, hooks, provider, data):
    message = Message.all_tenants.filter(provider_message_id=PROVIDER_IDS[provider]).first() or sent(
        tenant_a, provider)
    documented = EVENTS[provider](message)
    source = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "json", "bytes"]))
    sns_headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "sns-1"}
    if source == "mutated" and provider == "amazon_ses":
        raw, sns_headers = _mutated_sns(data, message)
    elif source == "mutated":
        raw = json.dumps(_mutated(data, documented[data.draw(st.sampled_from(sorted(documented)))])).encode()
    elif source == "json":
        raw = json.dumps(data.draw(json_values)).encode()
    else:
        raw = data.draw(st.binary(max_size=200))
    before = state(message)
    response = post(provider, None, raw=raw, **sns_headers)
    assert response.status_code < 500, (source, raw[:300])
    if response.status_code >= 400 or source != "mutated":
        assert state(message) == before, (response.status_code, source, raw[:300])


# --- Credentials -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "amazon_ses"])
def test_missing_or_wrong_basic_auth_is_a_401_with_a_basic_challenge(tenant_a, hooks, provider):
    message = sent(tenant_a, provider)
    before = state(message)
    for auth, headers in [(None, {}), ("hook:wrong", {}), ("hook", {}), (None, {"HTTP_AUTHORIZATION": "Basic %%%"}),
                          (None, {"HTTP_AUTHORIZATION": "Bearer hook:secret"})]:
        response = post(provider, EVENTS[provider](message)["delivered"], auth=auth, **headers)
        assert response.status_code == 401, (auth, headers)
        assert response["WWW-Authenticate"].startswith("Basic ")
        assert state(message) == before


@pytest.mark.parametrize("signature", [mailgun_signature(key="another-key"), {**mailgun_signature(), "signature": ""},
                                       {"timestamp": "1764000000", "token": "t"}])
def test_a_mailgun_post_with_a_bad_signature_is_a_403(tenant_a, hooks, signature):
    message = sent(tenant_a, "mailgun")
    body = {**mailgun_events(message)["delivered"], "signature": signature}
    before = state(message)
    assert post("mailgun", body).status_code == 403
    assert state(message) == before


def test_a_mailgun_post_signed_without_basic_auth_is_taken_when_only_the_signing_key_is_set(tenant_a, settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    message = sent(tenant_a, "mailgun")
    assert post("mailgun", mailgun_events(message)["delivered"], auth=None).status_code == 200
    assert post("mailgun", {**mailgun_events(message)["opened"], "signature": mailgun_signature(key="x")},
                auth=None).status_code == 403


@pytest.fixture
def sendgrid_key(settings):
    """SendGrid's signed event webhook: an ECDSA key pair, the public half in anymail's setting."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET,
                        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": base64.b64encode(public).decode()}

    def sign(raw, timestamp="1764000000"):
        signature = private.sign(timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
        return {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
                "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp}

    return sign


def test_sendgrid_signed_webhooks_take_a_good_signature_and_refuse_a_bad_one_with_403(tenant_a, sendgrid_key):
    message = sent(tenant_a, "sendgrid")
    raw = json.dumps([sendgrid_events(message)["delivered"]]).encode()
    before = state(message)
    assert post("sendgrid", None, raw=raw, **sendgrid_key(raw + b" ")).status_code == 403  # signed another body
    assert post("sendgrid", None, raw=raw, **sendgrid_key(raw, timestamp="1")
                | {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": "2"}).status_code == 403
    assert post("sendgrid", None, raw=raw).status_code == 403  # unsigned
    assert post("sendgrid", None, raw=raw, **sendgrid_key(raw)
                | {"HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": "%%%"}).status_code == 403
    assert state(message) == before
    assert post("sendgrid", None, raw=raw, **sendgrid_key(raw)).status_code == 200
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.DELIVERED


# --- What events mean ----------------------------------------------------------------------------------

def soft_bounces(message):
    """Three Postmark SoftBounce events, as Postmark documents them."""
    postmark = {**postmark_events(message)["bounced"], "Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce",
                "Description": "The server could not temporarily deliver your message (ex: Message is delayed "
                               "due to network troubles)."}
    return [("postmark", {**postmark, "ID": n, "BouncedAt": f"2026-11-24T10:0{n}:00Z"}) for n in (1, 2, 3)]


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "amazon_ses"])
def test_soft_bounces_never_end_a_message_and_a_later_delivery_is_its_state(tenant_a, hooks, provider):
    message = sent(tenant_a, provider)
    if provider == "postmark":
        bodies = [body for _, body in soft_bounces(message)]
    elif provider == "sendgrid":
        bounce = sendgrid_events(message)["bounced"]
        bodies = [[{**bounce, "type": "blocked", "sg_event_id": f"sg-blocked-{n}", "reason": "421 try later"}]
                  for n in (1, 2, 3)]
    elif provider == "amazon_ses":
        bounce = ses_records(message)["soft bounce"]
        bodies = [ses_notification(bounce, f"sns-transient-{n}") for n in (1, 2, 3)]
    else:
        bounce = mailgun_events(message)["bounced"]
        bodies = []
        for n in (1, 2, 3):
            body = copy.deepcopy(bounce)
            body["signature"] = mailgun_signature(token=f"temporary-{n}")
            body["event-data"]["severity"] = "temporary"
            bodies.append(body)
    for body in bodies:
        assert post(provider, body).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert MessageEvent.all_tenants.filter(message=message).count() == 3
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "unknown"
    assert post(provider, EVENTS[provider](message)["delivered"]).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "valid"
    # A hard bounce afterwards still ends it, and marks the address.
    assert post(provider, EVENTS[provider](message)["bounced"]).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "bounced"


def test_a_soft_bounce_settles_a_message_waiting_for_review_as_sent(tenant_a, hooks):
    message = sent(tenant_a, "postmark")
    Message.all_tenants.filter(pk=message.pk).update(status=MessageStatus.NEEDS_REVIEW, provider_message_id="",
                                                     sent_at=None, provider_call_started_at=timezone.now())
    (_, bounce), *_ = soft_bounces(message)
    assert post("postmark", {**bounce, "MessageID": "pm-soft-1"}).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_message_id == "pm-soft-1"
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "unknown"


def test_campaign_results_count_complaints_and_unsubscribes_apart(audience, hooks,  # noqa: F811
                                                                  django_capture_on_commit_callbacks):
    """Two campaign emails: Ok complains, Ok2 soft-bounces, is delivered, then unsubscribes by the link.

    By hand: sent 2, delivered 1 (a complained email is not counted delivered), bounced 0, complained 1,
    unsubscribed 1 (the complaint withdrew Ok's consent too, but that is a complaint, not an unsubscribe).
    """
    from consent.services import unsubscribe

    campaign = make_campaign(audience)
    launch_and_send(audience, campaign, django_capture_on_commit_callbacks)
    tenant, people = audience["tenant"], audience["people"]
    emails = {m.candidate_id: m for m in Message.all_tenants.filter(campaign_run__campaign=campaign)}
    complained, unsubscribed = emails[people["ok"].pk], emails[people["ok2"].pk]
    assert post("postmark", postmark_events(complained)["complained"]).status_code == 200
    (_, soft), *_ = soft_bounces(unsubscribed)
    assert post("postmark", soft).status_code == 200
    assert post("postmark", postmark_events(unsubscribed)["delivered"]).status_code == 200
    with tenant.scope():
        unsubscribe(candidate=Candidate.objects.get(pk=people["ok2"].pk), topic_key="job_offers")
    expected = {"sent": 2, "delivered": 1, "bounced": 0, "complained": 1, "unsubscribed": 1}
    total = tenant.api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["total"]
    assert {key: total[key] for key in expected} == expected
    page = tenant.recruiter_client.get(f"/o/{tenant.slug}/campaigns/{campaign.pk}/").content.decode()
    assert "<dt>Complained</dt><dd>1</dd>" in page and "<dt>Unsubscribed</dt><dd>1</dd>" in page
    assert "<dt>Bounced</dt><dd>0</dd>" in page
    dashboard = tenant.recruiter_client.get(f"/o/{tenant.slug}/").content.decode()
    assert "(1 of 2)" in dashboard  # complaint rate of campaign emails


# --- Provider unsubscribes ---------------------------------------------------------------------------

def unsubscribe_bodies(message):
    """Each provider's unsubscribe as its documentation shows it, and a resubscribe where it has one."""
    postmark = postmark_events(message)["unsubscribed"]
    sendgrid = sendgrid_events(message)["unsubscribed"]
    return {
        "Postmark SubscriptionChange": ("postmark", postmark),
        "SendGrid unsubscribe": ("sendgrid", [sendgrid]),
        "SendGrid group_unsubscribe": ("sendgrid", [{**sendgrid, "event": "group_unsubscribe", "asm_group_id": 10,
                                                     "sg_event_id": "sg-group-unsub-1", "useragent": "Mozilla/5.0",
                                                     "ip": "255.255.255.255", "url": "https://sendgrid.test/u"}]),
        "Mailgun unsubscribed": ("mailgun", mailgun_events(message)["unsubscribed"]),
        "Amazon SES Subscription": ("amazon_ses", ses_events(message)["unsubscribed"]),
    }


UNSUBSCRIBE_PROVIDERS = {"Postmark SubscriptionChange": "postmark", "SendGrid unsubscribe": "sendgrid",
                         "SendGrid group_unsubscribe": "sendgrid", "Mailgun unsubscribed": "mailgun",
                         "Amazon SES Subscription": "amazon_ses"}


def resubscribe_bodies(message):
    postmark = {**postmark_events(message)["unsubscribed"], "SuppressSending": False, "SuppressionReason": None,
                "ChangedAt": "2026-11-24T11:00:00Z"}
    sendgrid = {**sendgrid_events(message)["unsubscribed"], "event": "group_resubscribe", "asm_group_id": 10,
                "sg_event_id": "sg-group-resub-1"}
    return {"postmark": postmark, "sendgrid": [sendgrid]}


def consent_of(message):
    from consent.models import ConsentState

    return dict(ConsentState.all_tenants.filter(candidate_id=message.candidate_id)
                .values_list("purpose__key", "state"))


@pytest.mark.parametrize("name", sorted(UNSUBSCRIBE_PROVIDERS))
def test_a_provider_unsubscribe_withdraws_every_marketing_topic_in_the_ledger(tenant_a, hooks, name):
    from consent.models import ConsentRecord as Ledger

    provider = UNSUBSCRIBE_PROVIDERS[name]
    message = sent(tenant_a, provider)
    with tenant_a.scope():
        candidate = Candidate.objects.get(pk=message.candidate_id)
        for topic in ("talent_pool", "job_offers", "events"):
            grant(candidate, topic)
    _, body = unsubscribe_bodies(message)[name]
    assert post(provider, body).status_code == 200
    assert post(provider, body).status_code == 200  # replayed: withdrawn once
    assert consent_of(message) == {"talent_pool": "granted", "job_offers": "withdrawn", "events": "withdrawn"}
    withdrawals = Ledger.all_tenants.filter(candidate_id=message.candidate_id, action="withdrawn")
    assert sorted(withdrawals.values_list("purpose__key", "source")) == [("events", "provider"),
                                                                         ("job_offers", "provider")]
    provider_name, event_name = name.rsplit(" ", 1)
    assert all(provider_name in entry.evidence.note and event_name in entry.evidence.note for entry in withdrawals)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "unknown"


@pytest.mark.parametrize("provider", ["postmark", "sendgrid"])
def test_a_provider_resubscribe_grants_nothing(tenant_a, hooks, provider):
    message = sent(tenant_a, provider)
    with tenant_a.scope():
        grant(Candidate.objects.get(pk=message.candidate_id), "job_offers")
    unsubscribe = next(body for p, body in unsubscribe_bodies(message).values() if p == provider)
    assert post(provider, unsubscribe).status_code == 200
    assert post(provider, resubscribe_bodies(message)[provider]).status_code == 200
    assert consent_of(message) == {"job_offers": "withdrawn"}
    assert ConsentRecord.all_tenants.filter(candidate_id=message.candidate_id).count() == 2  # granted, withdrawn


# --- Development ids -------------------------------------------------------------------------------------

def test_development_sends_get_ids_no_other_worker_process_gives(tenant_a, hooks, settings):
    """Two workers each start with an empty in-memory outbox; anymail's test backend would give both "0"."""
    from django.core import mail

    from config import settings as project_settings
    from outreach.tasks import send_due_messages

    from .test_send_faults import queue_three

    if not any(os.environ.get(name) for name in ("OUTBOX_EMAIL_BACKEND", "EMAIL_PROVIDER", "EMAIL_URL")):
        assert project_settings.OUTBOX_EMAIL_BACKEND == "outreach.fake_provider.EmailBackend"
    settings.OUTBOX_EMAIL_BACKEND = "outreach.fake_provider.EmailBackend"
    messages = queue_three(tenant_a)
    for message in messages:  # one send per fresh worker process, each with its own empty outbox
        mail.outbox = []
        Message.all_tenants.filter(pk__in=[m.pk for m in messages if m.pk != message.pk],
                                   status=MessageStatus.QUEUED).update(send_after=timezone.now() + timedelta(hours=1))
        Message.all_tenants.filter(pk=message.pk).update(send_after=timezone.now())
        send_due_messages()
    ids = [Message.all_tenants.get(pk=m.pk).provider_message_id for m in messages]
    assert all(ids) and len(set(ids)) == 3, ids
    second = Message.all_tenants.get(pk=messages[1].pk)
    assert post("postmark", {**postmark_events(second)["bounced"], "Metadata": {}}).status_code == 200
    assert [Message.all_tenants.get(pk=m.pk).status for m in messages] == [MessageStatus.SENT, MessageStatus.BOUNCED,
                                                                           MessageStatus.SENT]


# --- The inbox: taken at the door, applied by a worker ----------------------------------------------------

def inbox():
    from outreach.models import WebhookEvent

    return list(WebhookEvent.objects.order_by("id").values("provider", "fields", "applied_at", "attempts", "error"))


@pytest.fixture
def broker_down(monkeypatch):
    """Nudges are lost (the broker is unreachable): only the beat's run applies the events."""
    from kombu.exceptions import OperationalError

    from outreach import tasks

    def lost(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(tasks.apply_webhook_events, "delay", lost)


def test_a_lost_nudge_leaves_the_events_for_the_beat_and_nothing_is_lost(tenant_a, hooks, broker_down, caplog):
    from outreach.tasks import apply_webhook_events

    message = sent(tenant_a, "sendgrid")
    events = sendgrid_events(message)
    with caplog.at_level(logging.WARNING):
        assert post("sendgrid", [events["delivered"], events["opened"], events["clicked"]]).status_code == 200
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.SENT  # not applied yet
    assert [row["applied_at"] for row in inbox()] == [None, None, None]
    assert any("could not queue" in record.getMessage() for record in caplog.records)
    assert apply_webhook_events.apply().get() == 3  # the beat's run
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.CLICKED
    assert MessageEvent.all_tenants.filter(message=message).count() == 3
    assert all(row["applied_at"] is not None and row["fields"] == {} for row in inbox())  # no address kept
    assert apply_webhook_events.apply().get() == 0


def test_a_replay_waiting_in_the_inbox_is_dropped_at_the_door(tenant_a, hooks, broker_down):
    from outreach.tasks import apply_webhook_events

    message = sent(tenant_a, "postmark")
    body = postmark_events(message)["clicked"]
    for _ in range(3):
        assert post("postmark", body).status_code == 200
    assert len(inbox()) == 1
    apply_webhook_events.apply()
    with tenant_a.scope():
        clicks = message.candidate.activities.filter(kind="click").count()
    assert clicks == 1 and Message.all_tenants.get(pk=message.pk).status == MessageStatus.CLICKED


def test_a_replay_of_an_applied_event_is_one_statement_and_asks_no_worker(tenant_a, hooks, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outreach import tasks

    message = sent(tenant_a, "sendgrid")
    body = [sendgrid_events(message)["delivered"], sendgrid_events(message)["clicked"]]
    assert post("sendgrid", body).status_code == 200
    before = state(message)
    nudges = []
    monkeypatch.setattr(tasks.apply_webhook_events, "delay", lambda: nudges.append(1))
    with CaptureQueriesContext(connection) as queries:
        assert post("sendgrid", body).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1 and statements[0].lstrip().startswith("INSERT INTO outreach_webhookevent")
    assert nudges == [] and state(message) == before


def test_a_posts_events_are_taken_in_one_statement(tenant_a, hooks, broker_down):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    message = sent(tenant_a, "sendgrid")
    events = sendgrid_events(message)
    with CaptureQueriesContext(connection) as queries:
        assert post("sendgrid", [events[name] for name in ("delivered", "opened", "clicked", "bounced")]
                    ).status_code == 200
    inserts = [q["sql"] for q in queries.captured_queries if "outreach_webhookevent" in q["sql"]]
    assert len(inserts) == 1 and len(inbox()) == 4


def test_an_event_that_cannot_be_applied_is_kept_with_its_error_and_holds_back_no_other(
        tenant_a, hooks, broker_down, monkeypatch, caplog):
    from outreach import receivers
    from outreach.tasks import apply_webhook_events

    first, second = sent(tenant_a, "postmark"), sent(tenant_a, "sendgrid", email="grace@hopper.test")
    assert post("postmark", postmark_events(first)["delivered"]).status_code == 200
    assert post("sendgrid", [sendgrid_events(second)["delivered"]]).status_code == 200
    original = receivers.apply_event

    def broken_for_postmark(event, *args, **kwargs):
        if event.esp_name == "Postmark":
            raise ValueError("a rule that does not hold")
        return original(event, *args, **kwargs)

    monkeypatch.setattr(receivers, "apply_event", broken_for_postmark)
    for _ in range(receivers.MAX_ATTEMPTS + 1):
        apply_webhook_events.apply()
    assert Message.all_tenants.get(pk=second.pk).status == MessageStatus.DELIVERED
    assert Message.all_tenants.get(pk=first.pk).status == MessageStatus.SENT
    failed = next(row for row in inbox() if row["provider"] == "Postmark")
    assert failed["applied_at"] is None and failed["attempts"] == receivers.MAX_ATTEMPTS
    assert "a rule that does not hold" in failed["error"]
    assert sum("could not be applied" in r.getMessage() for r in caplog.records) == receivers.MAX_ATTEMPTS
    monkeypatch.setattr(receivers, "apply_event", original)  # fixed: an operator resets the count
    from outreach.models import WebhookEvent

    WebhookEvent.objects.update(attempts=0)
    apply_webhook_events.apply()
    assert Message.all_tenants.get(pk=first.pk).status == MessageStatus.DELIVERED


def test_applied_keys_are_purged_after_a_week_and_a_later_replay_still_changes_nothing(tenant_a, hooks):
    from outreach.models import WebhookEvent
    from outreach.tasks import purge_webhook_events

    message = sent(tenant_a, "postmark")
    body = postmark_events(message)["clicked"]
    assert post("postmark", body).status_code == 200
    WebhookEvent.objects.update(applied_at=timezone.now() - timedelta(days=6))
    assert purge_webhook_events.apply().get() == 0
    WebhookEvent.objects.update(applied_at=timezone.now() - timedelta(days=8))
    assert purge_webhook_events.apply().get() == 1
    before = state(message)
    assert post("postmark", body).status_code == 200  # taken again, and its application finds the event row
    assert state(message) == before
    with tenant_a.scope():
        assert message.candidate.activities.filter(kind="click").count() == 1


@pytest.mark.parametrize("raw", [
    b'{"RecordType": "Delivery", "MessageID": "x", "Recipient": "a\\u0000@b.test"}',
    b'{"RecordType": "Delivery", "MessageID": "x", "Recipient": "a\\ud800@b.test"}',
    b'{"RecordType": "Delivery", "MessageID": "x", "Recipient": "a\xed\xa0\x80@b.test"}',
    b'{"RecordType": "Delivery", "MessageID": "x", "Metadata": {"k\\u0000": "v"}}',
])
def test_text_that_cannot_be_stored_is_a_400_naming_nothing_of_the_body_and_takes_nothing(tenant_a, hooks, raw):
    message = sent(tenant_a, "postmark")
    before = state(message)
    assert post("postmark", None, raw=raw).status_code == 400
    assert state(message) == before and inbox() == []
