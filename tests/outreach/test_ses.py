"""Amazon SES end to end: the outbox sends through SES, and SES's events come back through signed SNS posts.

No request leaves the machine: every boto3 client the code makes is stubbed with botocore's Stubber (the test
queues SES's and SNS's answers), and the SNS signing certificate is the test's own, served by the one function
of outreach/sns.py that downloads.
"""

import http.server
import json
import logging
import runpy
import threading

import pytest
from django.core.cache import cache
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm.models import Candidate
from outreach import dispatch, sns
from outreach.models import Message, MessageEvent, MessageStatus
from outreach.sns import fetch_certificate as download  # the real one: `hooks` patches the module's name
from outreach.tasks import send_due_messages

from .test_send_faults import queue_three
from .test_webhooks import (
    PROPERTY,
    SECRET,
    SNS_CERT_URL,
    SNS_KEY,
    SNS_TOPIC,
    SnsKey,
    hooks,  # noqa: F401  (a fixture: every test here runs with it)
    post,
    sent,
    ses_events,
    ses_notification,
    ses_records,
    sns_signed,
    state,
)

pytestmark = pytest.mark.usefixtures("hooks")


@pytest.fixture
def aws(monkeypatch):
    """Each boto3 client made takes the next answer queued for its service, through a Stubber."""
    import boto3
    from botocore.stub import Stubber

    planned, calls, stubbers = {}, [], []
    original = boto3.session.Session.client

    def client(self, service_name, *args, **kwargs):
        made = original(self, service_name, *args, **kwargs)
        stubber = Stubber(made)
        if planned.get(service_name):
            method, kind, value, expected = planned[service_name].pop(0)
            if kind == "answer":
                stubber.add_response(method, value, expected)
            else:
                stubber.add_client_error(method, **value)
        made.meta.events.register("provide-client-params",
                                  lambda params, model, **_: calls.append((service_name, model.name, params)))
        stubber.activate()
        stubbers.append(stubber)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)

    class Aws:
        def answer(self, service, method, response, expected=None):
            planned.setdefault(service, []).append((method, "answer", response, expected))

        def error(self, service, method, code, status, message="error"):
            planned.setdefault(service, []).append((method, "error", {
                "service_error_code": code, "service_message": message, "http_status_code": status}, None))

        calls = None

    aws = Aws()
    aws.calls = calls
    yield aws
    assert not any(planned.values()), f"answers never asked for: {planned}"
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


# --- Signatures ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2"])
def test_a_notification_signed_with_either_signature_version_is_taken(tenant_a, version):
    message = sent(tenant_a, "amazon_ses")
    body = ses_notification(ses_records(message)["delivered"], "sns-signed", version=version)
    assert post("amazon_ses", body).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == "valid"
    assert SNS_KEY.fetched == [SNS_CERT_URL]


def _forged(message):
    """Posts Amazon did not sign as they are: tampered after signing, signed by another key, or not signed."""
    good = ses_notification(ses_records(message)["bounced"], "sns-forged")
    other_key = SnsKey()  # a key whose certificate is not the one at the URL the message names
    delivered = json.dumps(ses_records(message)["delivered"])
    return {
        "tampered Message": {**good, "Message": delivered},
        "tampered MessageId": {**good, "MessageId": "sns-forged-2"},
        "Subject added": {**good, "Subject": "Hello"},
        "Subject dropped": {key: value for key, value in good.items() if key != "Subject"},
        "another key": sns_signed({key: value for key, value in good.items() if key != "Signature"}, key=other_key)
        | {"SigningCertURL": SNS_CERT_URL},
        "version 1 claimed, signed with SHA256": {**sns_signed(good, version="2"), "SignatureVersion": "1"},
        "no Signature": {key: value for key, value in good.items() if key != "Signature"},
        "empty Signature": {**good, "Signature": ""},
        "Signature not base64": {**good, "Signature": "%%%not-base64%%%"},
        "Signature a number": {**good, "Signature": 12},
        "SignatureVersion 3": {**good, "SignatureVersion": "3"},
        "SignatureVersion a number": {**good, "SignatureVersion": 1},
        "no SignatureVersion": {key: value for key, value in good.items() if key != "SignatureVersion"},
        "no SigningCertURL": {key: value for key, value in good.items() if key != "SigningCertURL"},
        "TopicArn of no region": sns_signed({**good, "TopicArn": "arn:aws:sns:xx-nowhere-9:123456789012:t"}),
        "TopicArn not SNS": sns_signed({**good, "TopicArn": "arn:aws:sqs:us-east-1:123456789012:t"}),
        "TopicArn of another partition": sns_signed({**good, "TopicArn": "arn:aws-cn:sns:us-east-1:123456789012:t"}),
        "Message a JSON object": sns_signed({**good, "Message": {"eventType": "Bounce"}}),
    }


FORGED = ["tampered Message", "tampered MessageId", "Subject added", "Subject dropped", "another key",
          "version 1 claimed, signed with SHA256", "no Signature", "empty Signature", "Signature not base64",
          "Signature a number", "SignatureVersion 3", "SignatureVersion a number", "no SignatureVersion",
          "no SigningCertURL", "TopicArn of no region", "TopicArn not SNS", "TopicArn of another partition",
          "Message a JSON object"]


@pytest.mark.parametrize("case", FORGED)
def test_a_post_amazon_did_not_sign_is_a_403_logged_once_and_writes_nothing(tenant_a, caplog, case):
    message = sent(tenant_a, "amazon_ses")
    forged = _forged(message)
    assert sorted(forged) == sorted(FORGED)
    body = forged[case]
    before = state(message)
    with caplog.at_level(logging.INFO):
        response = post("amazon_ses", body, HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
                        HTTP_X_AMZ_SNS_MESSAGE_ID=str(body.get("MessageId")))
    assert response.status_code == 403
    assert state(message) == before
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and "amazon_ses" in lines[0] and "403" in lines[0] and "SNS" in lines[0], lines
    assert "Bounce" not in lines[0]  # the reason, never the body


@pytest.mark.parametrize("url", [
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",  # not https
    "https://sns.us-east-1.amazonaws.com.attacker.test/SimpleNotificationService-1.pem",
    "https://attacker.test/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem",  # not the topic's region
    "https://sns.xx-nowhere-9.amazonaws.com/SimpleNotificationService-1.pem",
    "https://s3.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://user:pw@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem?redirect=https://attacker.test/",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.txt",
    "https://sns.us-east-1.amazonaws.com\\@attacker.test/a.pem",
    "https://[::1/a.pem",
    "file:///etc/ssl/certs/ca-certificates.pem",
])
def test_a_certificate_url_off_amazon_sns_is_refused_without_a_fetch(tenant_a, url):
    message = sent(tenant_a, "amazon_ses")
    own_key = SnsKey(url=url)  # signed correctly, with a certificate at the URL it names
    body = ses_notification(ses_records(message)["bounced"], "sns-elsewhere", key=own_key)
    before = state(message)
    assert post("amazon_ses", body).status_code == 403
    assert state(message) == before
    assert SNS_KEY.fetched == [] and own_key.fetched == []


def test_the_certificate_is_fetched_once_then_kept_in_the_cache_and_the_process(tenant_a):
    message = sent(tenant_a, "amazon_ses")
    bodies = ses_events(message)
    for name in ("delivered", "opened", "clicked"):
        assert post("amazon_ses", bodies[name]).status_code == 200
    assert SNS_KEY.fetched == [SNS_CERT_URL]
    sns.forget_certificates()  # another process: the shared cache has it
    assert post("amazon_ses", ses_notification(ses_records(message)["sent"], "sns-send")).status_code == 200
    assert SNS_KEY.fetched == [SNS_CERT_URL]
    sns.forget_certificates()
    cache.clear()
    assert post("amazon_ses", bodies["complained"]).status_code == 200
    assert SNS_KEY.fetched == [SNS_CERT_URL, SNS_CERT_URL]
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.COMPLAINED


def test_a_certificate_that_cannot_be_fetched_now_is_a_503_and_the_retry_is_taken(tenant_a, monkeypatch):
    message = sent(tenant_a, "amazon_ses")
    body = ses_events(message)["delivered"]

    def unreachable(url):
        raise sns.CertificateUnavailable("the certificate could not be fetched (TimeoutError)")

    monkeypatch.setattr(sns, "fetch_certificate", unreachable)
    before = state(message)
    response = post("amazon_ses", body)
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert state(message) == before
    monkeypatch.setattr(sns, "fetch_certificate", SNS_KEY.fetch)  # Amazon is back; SNS delivers it again
    assert post("amazon_ses", body).status_code == 200
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.DELIVERED


class _Answers(http.server.BaseHTTPRequestHandler):
    routes = {}

    def do_GET(self):
        status, body, headers = self.routes.get(self.path, (404, b"no such file", {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_download_tells_a_missing_certificate_from_an_outage():
    """fetch_certificate itself, against a local server: a 4xx is final, a 5xx or no answer is for later."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    _Answers.routes = {"/ok.pem": (200, SNS_KEY.pem, {}), "/busy.pem": (503, b"", {}),
                       "/huge.pem": (200, b"x" * (sns.MAX_CERTIFICATE_BYTES + 10), {}),
                       "/moved.pem": (302, b"", {"Location": f"{base}/ok.pem"})}
    try:
        assert download(f"{base}/ok.pem") == SNS_KEY.pem
        with pytest.raises(sns.InvalidMessage, match="404"):
            download(f"{base}/missing.pem")
        with pytest.raises(sns.InvalidMessage, match="302"):
            download(f"{base}/moved.pem")  # never followed elsewhere
        with pytest.raises(sns.InvalidMessage, match="too large"):
            download(f"{base}/huge.pem")
        with pytest.raises(sns.CertificateUnavailable, match="503"):
            download(f"{base}/busy.pem")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(sns.CertificateUnavailable):
        download(base + "/ok.pem")  # nobody listens any more


def test_only_the_listed_topics_are_taken_when_a_list_is_set(tenant_a, settings):
    message = sent(tenant_a, "amazon_ses")
    body = ses_events(message)["delivered"]
    settings.SNS_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:another-topic"]
    before = state(message)
    assert post("amazon_ses", body).status_code == 403
    assert state(message) == before and SNS_KEY.fetched == []
    settings.SNS_TOPIC_ARNS = ["arn:aws:sns:us-east-1:123456789012:another-topic", SNS_TOPIC]
    assert post("amazon_ses", body).status_code == 200
    assert Message.all_tenants.get(pk=message.pk).status == MessageStatus.DELIVERED


# --- Subscriptions ---------------------------------------------------------------------------------------

def subscription_message(kind="SubscriptionConfirmation", subscribe_url=None, **signing):
    token = "2336412f37fb687f5d51e6e2425ba1f30a4fa1e1d3c7b4d0f7c0dbc7f2e1a8e9"
    return sns_signed({
        "Type": kind, "MessageId": f"sns-{kind}", "Token": token, "TopicArn": SNS_TOPIC,
        "Message": f"You have chosen to subscribe to the topic {SNS_TOPIC}.\nTo confirm the subscription, "
                   "visit the SubscribeURL included in this message.",
        "SubscribeURL": subscribe_url or ("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
                                          f"&TopicArn={SNS_TOPIC}&Token={token}"),
        "Timestamp": "2026-11-24T09:00:00.000Z"}, **signing)


def test_a_signed_subscription_confirmation_is_confirmed_with_amazon(tenant_a, aws):
    message = sent(tenant_a, "amazon_ses")
    body = subscription_message()
    aws.answer("sns", "confirm_subscription", {"SubscriptionArn": f"{SNS_TOPIC}:0d6e3f5c"},
               {"TopicArn": SNS_TOPIC, "Token": body["Token"], "AuthenticateOnUnsubscribe": "true"})
    before = state(message)
    assert post("amazon_ses", body).status_code == 200
    assert [(service, operation) for service, operation, _ in aws.calls] == [("sns", "ConfirmSubscription")]
    assert state(message) == before


@pytest.mark.parametrize("url", ["https://attacker.test/?Action=ConfirmSubscription",
                                 "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
                                 "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"])
def test_a_subscription_confirmation_pointing_off_amazon_sns_is_a_403_and_confirms_nothing(
        tenant_a, aws, url):
    assert post("amazon_ses", subscription_message(subscribe_url=url)).status_code == 403
    assert aws.calls == [] and SNS_KEY.fetched == []


def test_without_basic_auth_a_subscription_is_not_confirmed(tenant_a, settings, aws):
    """Anyone may point a topic of their own at the webhook; only a post with the secret is confirmed."""
    settings.ANYMAIL = {}
    assert post("amazon_ses", subscription_message(), auth=None).status_code == 403
    assert aws.calls == []


def test_an_unsubscribe_confirmation_and_the_topic_check_message_change_nothing(tenant_a, aws):
    message = sent(tenant_a, "amazon_ses")
    before = state(message)
    assert post("amazon_ses", subscription_message("UnsubscribeConfirmation")).status_code == 200
    check = sns_signed({"Type": "Notification", "MessageId": "sns-topic-check", "TopicArn": SNS_TOPIC,
                        "Message": "Successfully validated SNS topic for Amazon SES event publishing.",
                        "Timestamp": "2026-11-24T09:00:01.000Z"})
    assert post("amazon_ses", check).status_code == 200
    assert state(message) == before and aws.calls == []


def test_the_header_must_name_the_signed_message_type(tenant_a):
    message = sent(tenant_a, "amazon_ses")
    before = state(message)
    body = ses_events(message)["delivered"]
    assert post("amazon_ses", body, HTTP_X_AMZ_SNS_MESSAGE_TYPE="SubscriptionConfirmation").status_code == 403
    assert post("amazon_ses", body, HTTP_X_AMZ_SNS_MESSAGE_ID="sns-other").status_code == 403
    assert state(message) == before


# --- Hostile contents Amazon signed ----------------------------------------------------------------------

hostile_text = st.one_of(
    st.text(max_size=30), st.just("\x00"), st.just("\ud800"), st.just("x" * 200_000), st.just("\u202e\ufeff"),
    st.sampled_from(["Bounce", "Delivery", "Subscription", "DeliveryDelay", "Rendering Failure", "Received"]))
hostile_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), hostile_text),
                              lambda children: st.lists(children, max_size=3)
                              | st.dictionaries(hostile_text, children, max_size=3), max_leaves=10)


@pytest.mark.parametrize("field", ["eventType", "mail", "messageId", "destination", "bounce", "subscription",
                                   "deliveryDelay", "headers"])
@hypothesis_settings(PROPERTY, max_examples=12)
@given(value=hostile_values, nested=st.integers(min_value=0, max_value=60))
def test_hostile_contents_in_a_signed_message_are_never_a_5xx_and_a_refusal_writes_nothing(
        tenant_a, field, value, nested):
    message = Message.all_tenants.filter(provider_message_id="0100016a-ses-message-id").first() or sent(
        tenant_a, "amazon_ses")
    record = ses_records(message)["bounced" if field != "subscription" else "unsubscribed"]
    for _ in range(nested):
        value = [value]
    if field in ("messageId", "destination", "headers"):
        record["mail"][field] = value
    else:
        record[field] = value
    raw = json.dumps(ses_notification(record, "sns-hostile"))
    before = state(message)
    response = post("amazon_ses", None, raw=raw, content_type="text/plain; charset=UTF-8",
                    HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID="sns-hostile")
    assert response.status_code < 500, (field, raw[:300])
    if response.status_code >= 400:
        assert state(message) == before


# --- Sending through SES ---------------------------------------------------------------------------------

@pytest.fixture
def ses_outbox(settings):
    settings.OUTBOX_EMAIL_BACKEND = "outreach.ses_backend.EmailBackend"  # what EMAIL_PROVIDER=amazon_ses sets
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "AMAZON_SES_CONFIGURATION_SET_NAME": "silverpool-events",
                        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1", "aws_access_key_id": "AKIDTEST",
                                                     "aws_secret_access_key": "test-secret"}}
    dispatch.forget_email_connection()
    yield settings
    dispatch.forget_email_connection()


def _sent_to(aws):
    """Each SendEmail call's recipient, in call order, with the call's parameters."""
    return [(params["Destination"]["ToAddresses"][0], params) for service, operation, params in aws.calls
            if (service, operation) == ("sesv2", "SendEmail")]


def test_an_outbox_email_sent_through_ses_records_its_message_id_and_its_events_come_back(
        tenant_a, aws, ses_outbox):
    ids = [f"0102018c-{n:08d}-ses-{n}" for n in range(3)]
    for ses_id in ids:
        aws.answer("sesv2", "send_email", {"MessageId": ses_id})
    messages = queue_three(tenant_a)
    send_due_messages()
    calls = _sent_to(aws)
    assert len(calls) == 3, [(m.status, m.status_reason) for m in Message.all_tenants.filter(
        pk__in=[m.pk for m in messages])]
    by_email = {email: ses_id for (email, _), ses_id in zip(calls, ids, strict=True)}
    for message in messages:
        message.refresh_from_db()
        assert message.status == MessageStatus.SENT
        assert message.provider_message_id == by_email[message.to_email]
    email, params = calls[0]
    assert params["ConfigurationSetName"] == "silverpool-events"
    raw = params["Content"]["Raw"]["Data"]
    sent_message = next(m for m in messages if m.to_email == email)
    assert f'"silverpool_message": "{sent_message.pk}"'.encode() in raw.replace(b'":"', b'": "')
    # SES's Delivery event for it, through SNS, finds it by that id.
    sent_message.refresh_from_db()
    assert post("amazon_ses", ses_events(sent_message)["delivered"]).status_code == 200
    assert Message.all_tenants.get(pk=sent_message.pk).status == MessageStatus.DELIVERED
    assert {Message.all_tenants.get(pk=m.pk).status for m in messages if m.pk != sent_message.pk} == {
        MessageStatus.SENT}


def test_ses_throttling_is_retried_later_and_a_rejection_fails_for_good(tenant_a, aws, ses_outbox):
    aws.error("sesv2", "send_email", "TooManyRequestsException", 429, "Maximum sending rate exceeded.")
    aws.error("sesv2", "send_email", "MessageRejected", 400, "Email address is not verified.")
    aws.error("sesv2", "send_email", "Throttling", 400, "Daily message quota exceeded.")
    messages = queue_three(tenant_a)
    send_due_messages()
    calls = _sent_to(aws)
    outcome = {email: Message.all_tenants.get(to_email=email, pk__in=[m.pk for m in messages])
               for email, _ in calls}
    throttled, rejected, quota = (outcome[email] for email, _ in calls)
    for message in (throttled, quota):
        assert message.status == MessageStatus.QUEUED
        assert message.status_reason.startswith("retrying after")
        assert message.provider_call_started_at is None and message.send_after > message.updated_at
    assert rejected.status == MessageStatus.FAILED
    assert "MessageRejected" in rejected.status_reason or "not verified" in rejected.status_reason


def test_the_settings_for_amazon_ses(monkeypatch):
    """EMAIL_PROVIDER=amazon_ses: the region from the environment, one attempt per send, timeouts as for SMTP."""
    monkeypatch.setenv("EMAIL_PROVIDER", "amazon_ses")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("EMAIL_TIMEOUT", "12")
    monkeypatch.setenv("ANYMAIL_AMAZON_SES_CONFIGURATION_SET_NAME", "silverpool-events")
    monkeypatch.setenv("SNS_TOPIC_ARNS", f"{SNS_TOPIC}, arn:aws:sns:eu-west-1:123456789012:other")
    values = runpy.run_path("config/settings.py")
    assert values["EMAIL_BACKEND"] == values["OUTBOX_EMAIL_BACKEND"] == "outreach.ses_backend.EmailBackend"
    assert values["ANYMAIL"]["AMAZON_SES_CONFIGURATION_SET_NAME"] == "silverpool-events"
    assert values["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {
        "region_name": "eu-west-1",
        "config": {"retries": {"total_max_attempts": 1}, "connect_timeout": 12, "read_timeout": 12}}
    assert values["SNS_TOPIC_ARNS"] == [SNS_TOPIC, "arn:aws:sns:eu-west-1:123456789012:other"]
    monkeypatch.setenv("ANYMAIL_AMAZON_SES_CLIENT_PARAMS", '{"region_name": "us-west-2"}')
    assert runpy.run_path("config/settings.py")["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"] == {"region_name": "us-west-2"}


def test_production_refuses_amazon_ses_without_a_region(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AMAZON_SES_REGION", "ANYMAIL_AMAZON_SES_CLIENT_PARAMS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EMAIL_PROVIDER", "amazon_ses")
    monkeypatch.setenv("SILVERPOOL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 50)
    monkeypatch.setenv("SUPPRESSION_HASH_KEY", "s" * 40)
    monkeypatch.setenv("SITE_URL", "https://crm.example.test")
    monkeypatch.setenv("ALLOWED_HOSTS", "crm.example.test")
    monkeypatch.setenv("ANYMAIL_WEBHOOK_SECRET", SECRET)
    with pytest.raises(ImproperlyConfigured, match="AMAZON_SES_REGION"):
        runpy.run_path("config/settings.py")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert runpy.run_path("config/settings.py")["ANYMAIL"]["AMAZON_SES_CLIENT_PARAMS"]["region_name"] == "eu-west-1"


def test_a_signed_ses_post_is_not_read_as_any_other_provider(tenant_a):
    """The SNS check guards the SES routes only: another provider's post is judged by its own rules."""
    message = sent(tenant_a, "postmark")
    from .test_webhooks import postmark_events

    assert post("postmark", postmark_events(message)["delivered"]).status_code == 200
    assert SNS_KEY.fetched == []
    assert MessageEvent.all_tenants.filter(message=message).count() == 1
