"""Replies come back: each provider's inbound post, as its documentation shows it, lands on the candidate's timeline.

Emails are sent through the real outbox (anymail's test backend keeps them), so the reply address and the
Message-ID a reply answers are the ones a candidate's mail client would see.
"""

import base64
import copy
import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from email.utils import parseaddr

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.models import ConsentRecord
from consent.rights import candidate_erase
from crm.models import AccountEmail, AccountEmailStatus, Activity, ActivityKind, Candidate, Organization
from outreach import campaign_stats
from outreach.inbound import erase_replies_for
from outreach.models import CampaignRun, EmailTemplate, Message, MessageEvent, MessageStatus, Reply
from outreach.services import queue_email

from ..factories import CandidateFactory
from .test_campaigns import audience, grant, launch_and_send, make_campaign, send_all  # noqa: F401  (fixtures)

DOMAIN = "replies.silverpool.test"
SECRET = "hook:secret"
MAILGUN_KEY = "mailgun-signing-key"
PROVIDERS = ["postmark", "sendgrid", "mailgun", "amazon_ses"]
URLS = {provider: f"/webhooks/anymail/{provider}/inbound/" for provider in PROVIDERS}


@pytest.fixture
def replies(settings, tenant_a, tenant_b, monkeypatch):
    settings.INBOUND_REPLY_DOMAIN = DOMAIN
    settings.INBOUND_REPLY_LOCAL_PART = "replies"
    settings.INBOUND_FORWARD_REPLIES = True
    settings.INBOUND_REPLY_TEXT_LIMIT = 10_000
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    Organization.objects.filter(pk=tenant_a.organization.pk).update(reply_to_email="jobs@acme.test")
    Organization.objects.filter(pk=tenant_b.organization.pk).update(reply_to_email="talent@bluebird.test")
    for tenant in (tenant_a, tenant_b):
        tenant.organization.refresh_from_db()
    # SNS signatures are checked by outreach.sns (tested in test_ses.py); these posts are unsigned examples.
    from outreach import sns

    monkeypatch.setattr(sns, "verify", lambda message: None)
    return settings


def sent(tenant, email="ada@byron.test", first_name="Ada"):
    """A generic email to a new candidate, sent through the outbox; (message, the email as it left)."""
    with tenant.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
        candidate = CandidateFactory(organization=tenant.organization, email=email, first_name=first_name,
                                     last_name="Byron")
        message = queue_email(unique_key=f"reply-test:{email}", kind="generic", to_email=email,
                              candidate=candidate, template=template)[0]
        mail.outbox.clear()
        assert send_all() == {"sent": 1}
    message.refresh_from_db()
    return message, mail.outbox[-1]


def reply_address(email):
    return parseaddr(email.reply_to[0])[1]


def sent_message_id(email):
    return email.extra_headers["Message-ID"]


class Inbound:
    """One inbound email, the way each provider posts it."""

    def __init__(self, *, to, sender="ada@byron.test", subject="Re: Hello", text="Yes, I am interested!",
                 headers=None, message_id=None, html=None):
        self.to, self.sender, self.subject, self.text, self.html = to, sender, subject, text, html
        self.headers = dict(headers or {})
        self.message_id = message_id or f"<reply-{hashlib.sha1(repr((to, subject, text)).encode()).hexdigest()[:12]}" \
                                        "@mail.byron.test>"

    def all_headers(self):
        return {"From": f"Ada Byron <{self.sender}>", "To": self.to, "Subject": self.subject,
                "Date": "Tue, 24 Nov 2026 10:00:00 +0000", "Message-ID": self.message_id, **self.headers}

    def mime(self):
        """Raw MIME as a mail server hands it over (written by hand: generated headers may be malformed)."""
        headers = "".join(f"{name}: {value}\r\n" for name, value in self.all_headers().items())
        return (f"{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: 8bit\r\n\r\n{self.text}\r\n")


def postmark_body(inbound):
    """Postmark's inbound webhook JSON (developer docs, "Inbound webhook")."""
    token = inbound.to.partition("+")[2].partition("@")[0]
    extra = [{"Name": name, "Value": value} for name, value in inbound.headers.items()]
    return {
        "FromName": "Ada Byron", "MessageStream": "inbound", "From": inbound.sender,
        "FromFull": {"Email": inbound.sender, "Name": "Ada Byron", "MailboxHash": ""},
        "To": inbound.to, "ToFull": [{"Email": inbound.to, "Name": "", "MailboxHash": token}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": inbound.to,
        "Subject": inbound.subject, "MessageID": "22c74902-a0c1-4511-804f-341342852c90", "ReplyTo": "",
        "MailboxHash": token, "Date": "Tue, 24 Nov 2026 10:00:00 +0000", "TextBody": inbound.text,
        "HtmlBody": inbound.html or "", "StrippedTextReply": "", "Tag": "",
        "Headers": [{"Name": "X-Spam-Checker-Version", "Value": "SpamAssassin 3.3.1 (2010-03-16) on rs-01"},
                    {"Name": "X-Spam-Status", "Value": "No"}, {"Name": "MIME-Version", "Value": "1.0"},
                    {"Name": "Message-ID", "Value": inbound.message_id}, *extra],
        "Attachments": [],
    }


def sendgrid_fields(inbound):
    """SendGrid's Inbound Parse multipart fields (the default, parsed mode)."""
    raw_headers = "".join(f"{name}: {value}\n" for name, value in {
        "Received": "by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Wed, 27 Jul 2026 20:53:06 +0000 (UTC)",
        "MIME-Version": "1.0", **inbound.all_headers()}.items())
    return {
        "headers": raw_headers, "dkim": "{@byron.test : pass}", "to": inbound.to, "from": f"Ada Byron <{inbound.sender}>",
        "subject": inbound.subject, "text": inbound.text, "html": inbound.html or "", "sender_ip": "209.85.223.175",
        "spam_report": "Spam detection software ... 0.0 points", "spam_score": "0.011",
        "envelope": json.dumps({"to": [inbound.to], "from": inbound.sender}),
        "charsets": json.dumps({"to": "UTF-8", "html": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}),
        "SPF": "pass", "attachments": "0",
    }


def mailgun_signature(timestamp=None, token="b6d1ad22b0e2c0c36e62cda3c7d8de9d7d01d1ef4b6ab46ff5"):
    timestamp = timestamp or str(int(time.time()))  # Mailgun's timestamp is when it received the email
    digest = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": digest}


def mailgun_fields(inbound):
    """Mailgun's route forward() form fields (parsed mode), signed with the webhook signing key."""
    token = hashlib.sha256(inbound.message_id.encode()).hexdigest()[:50]
    headers = list(inbound.all_headers().items())
    return {
        "recipient": inbound.to, "sender": inbound.sender, "from": f"Ada Byron <{inbound.sender}>",
        "subject": inbound.subject, "body-plain": inbound.text, "stripped-text": "", "stripped-signature": "",
        "body-html": inbound.html or "", "stripped-html": "", "message-headers": json.dumps(headers),
        "Message-Id": inbound.message_id, **mailgun_signature(token=token),
    }


def ses_body(inbound):
    """An SNS notification of an SES receipt rule's SNS action, the email as base64 raw MIME."""
    receipt = {
        "notificationType": "Received",
        "mail": {"timestamp": timezone.now().isoformat(), "source": inbound.sender,
                 "messageId": f"ses-{hashlib.sha1(inbound.message_id.encode()).hexdigest()[:20]}",
                 "destination": [inbound.to], "headersTruncated": False,
                 "headers": [{"name": k, "value": v} for k, v in inbound.all_headers().items()],
                 "commonHeaders": {"returnPath": inbound.sender, "from": [inbound.sender], "to": [inbound.to],
                                   "messageId": inbound.message_id, "subject": inbound.subject}},
        "receipt": {"timestamp": "2026-11-24T10:00:00.000Z", "processingTimeMillis": 222,
                    "recipients": [inbound.to], "spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"},
                    "spfVerdict": {"status": "PASS"}, "dkimVerdict": {"status": "PASS"},
                    "dmarcVerdict": {"status": "PASS"},
                    "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
                               "encoding": "BASE64"}},
        "content": base64.b64encode(inbound.mime().encode()).decode(),
    }
    return {"Type": "Notification", "MessageId": "sns-inbound-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
            "Subject": "Amazon SES Email Receipt Notification", "Message": json.dumps(receipt),
            "Timestamp": "2026-11-24T10:00:01.000Z", "SignatureVersion": "1", "Signature": "EXAMPLEpH+..",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}


def auth_headers(auth=SECRET):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}


def post(provider, inbound, *, auth=SECRET):
    headers = auth_headers(auth)
    if provider == "postmark":
        return Client().post(URLS[provider], json.dumps(postmark_body(inbound)), content_type="application/json",
                             **headers)
    if provider == "sendgrid":
        return Client().post(URLS[provider], sendgrid_fields(inbound), **headers)  # multipart/form-data
    if provider == "mailgun":
        return Client().post(URLS[provider], mailgun_fields(inbound), **headers)
    return post_ses(ses_body(inbound), **headers)


def post_ses(body, raw=None, **headers):
    data = raw if raw is not None else json.dumps(body)
    # SNS posts text/plain in UTF-8 (spelled in lower case: the test client re-encodes bytes for other spellings).
    return Client().post(URLS["amazon_ses"], data, content_type="text/plain; charset=utf-8",
                         HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification", HTTP_X_AMZ_SNS_MESSAGE_ID="sns-inbound-1",
                         **headers)


def written():
    """What an inbound post can write."""
    return (Reply.all_tenants.count(), Activity.all_tenants.count(), MessageEvent.all_tenants.count(),
            AccountEmail.all_tenants.count(), Message.all_tenants.count(), ConsentRecord.all_tenants.count())


# --- The reply address -------------------------------------------------------------------------------

def test_each_sent_email_carries_its_own_unguessable_reply_address(tenant_a, replies):
    first, first_email = sent(tenant_a, "ada@byron.test")
    second, second_email = sent(tenant_a, "grace@hopper.test")
    name, address = parseaddr(first_email.reply_to[0])
    assert name == "Acme Robotics"
    local, _, domain = address.partition("@")
    assert domain == DOMAIN and local == f"replies+{first.reply_token}"
    assert len(first.reply_token) == 24 and str(first.pk) not in first.reply_token
    assert reply_address(second_email) != address and second.reply_token != first.reply_token
    assert f".r-{first.reply_token}@" in sent_message_id(first_email)


def test_without_an_inbound_domain_the_reply_to_stays_the_organizations(tenant_a, replies):
    replies.INBOUND_REPLY_DOMAIN = ""
    message, email = sent(tenant_a)
    assert email.reply_to == ["jobs@acme.test"]
    assert message.reply_token == ""


# --- Each provider's documented post -------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_reply_lands_on_the_timeline_in_the_message_events_and_is_forwarded_once(
        tenant_a, replies, provider, django_capture_on_commit_callbacks):
    message, email = sent(tenant_a)
    an_hour_ago = timezone.now() - timedelta(hours=1)  # Mailgun's timestamp is in whole seconds
    Candidate.all_tenants.filter(pk=message.candidate_id).update(created_at=an_hour_ago, last_activity_at=an_hour_ago)
    inbound = Inbound(to=reply_address(email), text="Yes, I am interested in the new role!\n\nAda",
                      headers={"In-Reply-To": sent_message_id(email)})
    assert post(provider, inbound).status_code == 200
    assert post(provider, inbound).status_code == 200, "a replayed post"
    reply = Reply.all_tenants.get()
    assert (reply.organization_id, reply.message_id, reply.candidate_id) == (
        tenant_a.organization.pk, message.pk, message.candidate_id)
    assert reply.from_email == "ada@byron.test" and reply.subject == "Re: Hello"
    assert "interested in the new role" in reply.text and not reply.auto_reply and not reply.stop_request
    assert reply.provider == {"postmark": "Postmark", "sendgrid": "SendGrid", "mailgun": "Mailgun",
                              "amazon_ses": "Amazon SES"}[provider]
    page = tenant_a.recruiter_client.get(f"/o/acme/candidates/{message.candidate_id}/").content.decode()
    assert "Replied to “" in page and "interested in the new role" in page
    assert Candidate.all_tenants.get(pk=message.candidate_id).last_activity_at > an_hour_ago
    assert list(MessageEvent.all_tenants.filter(message=message).values_list("event_type", flat=True)) == ["replied"]
    assert "replied" in tenant_a.recruiter_client.get(f"/o/acme/outbox/{message.pk}/").content.decode()
    forward = AccountEmail.all_tenants.get()
    assert forward.to_email == "jobs@acme.test" and forward.organization_id == tenant_a.organization.pk
    assert "interested in the new role" in forward.body and f"/o/acme/candidates/{message.candidate_id}/" in forward.body
    assert reply.forward_email_id == forward.pk


def test_the_forward_goes_out_through_the_account_email_queue(tenant_a, replies, settings):
    from crm.account_emails import send_due

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message, email = sent(tenant_a)
    assert post("postmark", Inbound(to=reply_address(email), text="Count me in.")).status_code == 200
    mail.outbox.clear()
    assert send_due() == {"sent": 1}
    (forward,) = mail.outbox
    assert forward.to == ["jobs@acme.test"] and "Count me in." in forward.body
    assert forward.subject == "Reply from Ada Byron: Re: Hello"
    assert AccountEmail.all_tenants.get().body == ""  # the reply's text is not kept in the queue once sent


def test_a_reply_that_lost_its_address_is_found_by_the_message_it_answers(tenant_a, replies):
    message, email = sent(tenant_a)
    inbound = Inbound(to="jobs@acme.test, someone@else.test", text="Replying from my phone",
                      headers={"In-Reply-To": sent_message_id(email), "References": sent_message_id(email)})
    # The organization forwarded it to the inbound address by hand: the recipient carries no token.
    inbound.to = f"replies@{DOMAIN}"
    assert post("mailgun", inbound).status_code == 200
    assert Reply.all_tenants.get().message_id == message.pk


def test_personal_links_quoted_back_are_redacted(tenant_a, replies):
    message, email = sent(tenant_a)
    quoted = "Sure!\n\nOn Tue, 24 Nov 2026, Acme wrote:\n> Stay in touch: https://sp.test/p/s/abc123.sig/\n"
    assert post("postmark", Inbound(to=reply_address(email), text=quoted)).status_code == 200
    reply = Reply.all_tenants.get()
    assert "/p/s/abc123" not in reply.text and "[personal link]" in reply.text
    assert "/p/s/abc123" not in AccountEmail.all_tenants.get().body


def test_a_huge_reply_is_kept_trimmed_to_the_bound(tenant_a, replies):
    replies.INBOUND_REPLY_TEXT_LIMIT = 5_000
    message, email = sent(tenant_a)
    assert post("sendgrid", Inbound(to=reply_address(email), text="word " * 100_000)).status_code == 200
    reply = Reply.all_tenants.get()
    assert len(reply.text) == 5_000
    assert len(Activity.all_tenants.get(kind=ActivityKind.REPLY).body) == 5_000


# --- Automatic answers -----------------------------------------------------------------------------

AUTOMATIC = [
    ({"Auto-Submitted": "auto-replied"}, "Re: Hello"),
    ({"Auto-Submitted": "auto-generated; type=vacation"}, "Re: Hello"),
    ({"X-Autoreply": "yes"}, "Re: Hello"),
    ({"X-Autorespond": "Vacation"}, "Re: Hello"),
    ({"Precedence": "bulk"}, "Re: Hello"),
    ({"Precedence": "auto_reply"}, "Re: Hello"),
    ({}, "Out of Office: Hello"),
    ({}, "Automatic reply: Hello"),
    ({}, "Réponse automatique : Hello"),
    ({}, "Absence du bureau"),
    ({}, "Abwesenheitsnotiz: Hello"),
    ({}, "Automatische Antwort: Hello"),
    ({}, "Respuesta automática: Hello"),
    ({}, "Fuera de la oficina"),
]


@pytest.mark.parametrize("headers, subject", AUTOMATIC)
def test_an_automatic_answer_is_shown_but_never_counted_moved_or_forwarded(tenant_a, replies, headers, subject):
    message, email = sent(tenant_a)
    before = Candidate.all_tenants.get(pk=message.candidate_id).last_activity_at
    inbound = Inbound(to=reply_address(email), subject=subject, headers=headers,
                      text="I am away until Monday. Please unsubscribe me from nothing.")
    assert post("postmark", inbound).status_code == 200
    reply = Reply.all_tenants.get()
    assert reply.auto_reply and not reply.stop_request
    assert not Activity.all_tenants.filter(kind=ActivityKind.REPLY).exists()
    assert Activity.all_tenants.filter(kind=ActivityKind.EMAIL, summary__startswith="Automatic reply").count() == 1
    assert Candidate.all_tenants.get(pk=message.candidate_id).last_activity_at == before
    assert not AccountEmail.all_tenants.exists()
    assert MessageEvent.all_tenants.get(message=message).event_type == "auto_replied"


def test_auto_submitted_no_is_a_person(tenant_a, replies):
    message, email = sent(tenant_a)
    inbound = Inbound(to=reply_address(email), headers={"Auto-Submitted": "no"}, text="Happy to talk.")
    assert post("postmark", inbound).status_code == 200
    assert not Reply.all_tenants.get().auto_reply


# --- Requests to stop ------------------------------------------------------------------------------

STOP_WORDS = ["Please unsubscribe me.", "STOP", "Remove me from your list, thanks", "Stop emailing me please",
              "Merci de me désinscrire.", "Je souhaite me désabonner", "Bitte abmelden.",
              "Quiero darme de baja de esta lista", "Please opt me out"]


@pytest.mark.parametrize("text", STOP_WORDS)
def test_a_reply_asking_to_stop_is_flagged_for_review_and_nothing_is_changed(tenant_a, replies, text):
    message, email = sent(tenant_a)
    with tenant_a.scope():
        grant(message.candidate)
    consent_before = ConsentRecord.all_tenants.count()
    quoted = f"{text}\n\nOn Tue, 24 Nov 2026, Acme Robotics wrote:\n> Hello Ada"
    assert post("postmark", Inbound(to=reply_address(email), text=quoted)).status_code == 200
    reply = Reply.all_tenants.get()
    assert reply.stop_request and not reply.auto_reply
    candidate = Candidate.all_tenants.get(pk=message.candidate_id)
    assert not candidate.do_not_contact and ConsentRecord.all_tenants.count() == consent_before
    page = tenant_a.recruiter_client.get("/o/acme/outbox/").content.decode()
    assert "Asked to stop — review" in page
    assert f'href="/o/acme/candidates/{candidate.pk}/"' in page
    assert AccountEmail.all_tenants.count() == 1  # a person wrote it: the recruiter gets it too


@pytest.mark.parametrize("text", [
    "Thanks, I would love to hear more.\n\nOn Tue, 24 Nov 2026, Acme wrote:\n> Unsubscribe: [link]\n> Stop by!",
    "Sounds good. I can't stop thinking about robots.",
    "Happy to chat.\n> To unsubscribe, click here",
])
def test_our_own_unsubscribe_footer_quoted_back_is_not_a_request_to_stop(tenant_a, replies, text):
    message, email = sent(tenant_a)
    assert post("postmark", Inbound(to=reply_address(email), text=text)).status_code == 200
    assert not Reply.all_tenants.get().stop_request
    assert "Asked to stop" not in tenant_a.recruiter_client.get("/o/acme/outbox/").content.decode()


def test_a_reviewed_request_leaves_the_list_and_another_tenant_cannot_review_it(tenant_a, tenant_b, replies):
    message, email = sent(tenant_a)
    assert post("postmark", Inbound(to=reply_address(email), text="unsubscribe")).status_code == 200
    reply = Reply.all_tenants.get()
    url_b = f"/o/bluebird/outbox/replies/{reply.pk}/reviewed/"
    assert tenant_b.recruiter_client.post(url_b).status_code == 404
    assert "Asked to stop" not in tenant_b.recruiter_client.get("/o/bluebird/outbox/").content.decode()
    assert tenant_a.hiring_manager_client.post(f"/o/acme/outbox/replies/{reply.pk}/reviewed/").status_code == 404
    response = tenant_a.recruiter_client.post(f"/o/acme/outbox/replies/{reply.pk}/reviewed/")
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.stop_reviewed_by == tenant_a.recruiter
    assert "Asked to stop" not in tenant_a.recruiter_client.get("/o/acme/outbox/").content.decode()


# --- Campaign results --------------------------------------------------------------------------------

def test_campaign_results_count_each_person_who_replied_once(audience, replies,  # noqa: F811
                                                             django_capture_on_commit_callbacks):
    """Hand-computed: run 1 went to ok and ok2; ok answers twice and ok2 only automatically; a second run
    to ok is answered again. Run 1: 1 replied, run 2: 1 replied, the campaign: 1 person."""
    tenant, people = audience["tenant"], audience["people"]
    campaign = make_campaign(audience)
    mail.outbox.clear()
    launch_and_send(audience, campaign, django_capture_on_commit_callbacks)
    by_person = {email.to[0]: email for email in mail.outbox}
    ok, ok2 = by_person["ok@example.test"], by_person["ok2@example.test"]
    assert post("postmark", Inbound(to=reply_address(ok), text="Interested!")).status_code == 200
    assert post("sendgrid", Inbound(to=reply_address(ok), text="Also: when can we talk?")).status_code == 200
    assert post("mailgun", Inbound(to=reply_address(ok2), subject="Out of office: Python jobs",
                                   text="Back on Monday")).status_code == 200
    run1 = CampaignRun.all_tenants.get(campaign=campaign)
    with tenant.scope():
        run2 = CampaignRun.objects.create(campaign=campaign, planned_for=timezone.now(), status="done")
        second = Message.objects.create(unique_key="run2:ok", kind="job_offers_digest", purpose="marketing",
                                        to_email="ok@example.test", candidate=people["ok"], campaign_run=run2,
                                        status=MessageStatus.SENT, sent_at=timezone.now(),
                                        reply_token="abcdefghijklmnopqrstuvwx", subject="Python jobs")
    assert post("postmark", Inbound(to=f"replies+{second.reply_token}@{DOMAIN}", text="Yes again")).status_code == 200
    assert Reply.all_tenants.filter(auto_reply=False).count() == 3
    with tenant.scope():
        per_run = campaign_stats.runs_results([run1, run2], topic=campaign.purpose_key, open_tracking=False)
        total = campaign_stats.results(Message.objects.filter(campaign_run__campaign=campaign),
                                       topic=campaign.purpose_key, open_tracking=False)
    assert per_run[run1.pk]["replied"] == 1 and per_run[run2.pk]["replied"] == 1
    assert total["replied"] == 1 and total["sent"] == 3 and total["replied_rate"] == round(100 / 3, 1)
    stats = tenant.api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()
    assert stats["total"]["replied"] == 1
    assert sorted(run["results"]["replied"] for run in stats["runs"]) == [1, 1]
    page = tenant.recruiter_client.get(f"/o/acme/campaigns/{campaign.pk}/").content.decode()
    assert '<dd data-testid="results-replied">1 <small>(33.3%)</small></dd>' in page


# --- Dropped: unknown, erased, another organization's ------------------------------------------------------

@pytest.mark.parametrize("to", [f"replies+{'a' * 24}@{DOMAIN}", f"replies@{DOMAIN}", "someone@else.test",
                                f"replies+{'9' * 24}@{DOMAIN}"])
def test_an_email_for_no_message_of_ours_is_dropped_with_one_log_line(tenant_a, replies, caplog, to):
    sent(tenant_a)
    before = written()
    with caplog.at_level(logging.INFO, logger="outreach.inbound"):
        assert post("postmark", Inbound(to=to)).status_code == 200
    assert written() == before
    assert [r.getMessage() for r in caplog.records if r.name == "outreach.inbound"] == [
        f"inbound email from Postmark dropped: {'an unknown reply token' if '+a' in to else 'no reply address of ours'}"]


def test_a_reply_from_an_erased_person_is_dropped(tenant_a, replies, caplog):
    message, email = sent(tenant_a)
    with tenant_a.scope():
        candidate_erase(candidate=message.candidate, actor=tenant_a.admin, reason="their request")
    before = written()
    with caplog.at_level(logging.INFO, logger="outreach.inbound"):
        assert post("mailgun", Inbound(to=reply_address(email))).status_code == 200
    assert written() == before
    assert "dropped: the person was erased" in caplog.text


def test_a_token_of_one_organization_never_attaches_to_another(tenant_a, tenant_b, replies):
    message_a, email_a = sent(tenant_a, "same@person.test")
    message_b, email_b = sent(tenant_b, "same@person.test")
    assert post("postmark", Inbound(to=reply_address(email_a), sender="same@person.test",
                                    text="For Acme only")).status_code == 200
    reply = Reply.all_tenants.get()
    assert (reply.organization_id, reply.candidate_id) == (tenant_a.organization.pk, message_a.candidate_id)
    assert not Activity.all_tenants.filter(candidate_id=message_b.candidate_id, kind=ActivityKind.REPLY).exists()
    page_b = tenant_b.recruiter_client.get(f"/o/bluebird/candidates/{message_b.candidate_id}/").content.decode()
    assert "For Acme only" not in page_b
    assert AccountEmail.all_tenants.get().to_email == "jobs@acme.test"
    # One email naming both organizations' messages belongs to neither.
    before = written()
    mixed = Inbound(to=reply_address(email_a), headers={"In-Reply-To": sent_message_id(email_b)}, text="Both?")
    assert post("postmark", mixed).status_code == 200
    assert written() == before


# --- Erasure -------------------------------------------------------------------------------------------

def test_erasing_a_person_removes_their_replies_and_an_unsent_forward(tenant_a, replies):
    message, email = sent(tenant_a)
    assert post("postmark", Inbound(to=reply_address(email), text="My secret answer")).status_code == 200
    with tenant_a.scope():
        assert erase_replies_for(message.candidate) == 1
    assert not Reply.all_tenants.exists()
    assert not Activity.all_tenants.filter(kind=ActivityKind.REPLY).exists()
    assert not MessageEvent.all_tenants.filter(event_type="replied").exists()
    forward = AccountEmail.all_tenants.get()
    assert forward.status == AccountEmailStatus.FAILED and forward.body == ""


def test_the_erasure_of_a_candidate_leaves_no_reply(tenant_a, replies):
    message, email = sent(tenant_a)
    assert post("sendgrid", Inbound(to=reply_address(email), text="My secret answer")).status_code == 200
    with tenant_a.scope():
        candidate_erase(candidate=message.candidate, actor=tenant_a.admin, reason="their request")
    assert not Reply.all_tenants.exists()
    assert not Activity.all_tenants.filter(body__contains="My secret answer").exists()


# --- Credentials ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_inbound_post_without_the_basic_auth_is_a_401_and_writes_nothing(tenant_a, replies, provider):
    message, email = sent(tenant_a)
    before = written()
    response = post(provider, Inbound(to=reply_address(email)), auth="hook:wrong")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")
    assert written() == before


def test_a_mailgun_inbound_post_with_a_bad_signature_is_a_403(tenant_a, replies):
    message, email = sent(tenant_a)
    fields = {**mailgun_fields(Inbound(to=reply_address(email))), "signature": "0" * 64}
    before = written()
    assert Client().post(URLS["mailgun"], fields, **auth_headers()).status_code == 403
    assert written() == before


@pytest.mark.parametrize("provider, content_type, raw", [
    ("sendgrid", "application/json", b'{"to": "x"}'), ("mailgun", "text/plain", b'{"to": "x"}'),
    ("postmark", "application/x-www-form-urlencoded", b"To=x&Subject=y"), ("postmark", "application/json", b"[]")])
def test_a_body_of_the_wrong_kind_is_a_400(tenant_a, replies, provider, content_type, raw):
    before = written()
    response = Client().post(URLS[provider], raw, content_type=content_type, **auth_headers())
    assert response.status_code == 400
    assert written() == before


# --- Whatever arrives: no 5xx, and a refused post writes nothing --------------------------------------------

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
NASTY_TEXT = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "é" * 10, "\r\n.\r\n", "=?utf-8?b?////?=",
                     "<a@b>" * 20, "@" * 300]),
    st.integers(min_value=1_000, max_value=300_000).map(lambda n: "x" * n),
)
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | NASTY_TEXT,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                     max_size=3), max_leaves=8)


def _mutate_json(data, body):
    """One documented field replaced with a wrong type, nasty text, a deep nest, or removed."""
    body = copy.deepcopy(body)
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + [key])
                walk(value, path + [key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                paths.append(path + [index])
                walk(value, path + [index])

    walk(body, [])
    path = data.draw(st.sampled_from(paths))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    kind = data.draw(st.sampled_from(["drop", "value", "nested", "number", "list"]))
    if kind == "drop":
        del parent[path[-1]]
    elif kind == "value":
        parent[path[-1]] = data.draw(JSON_VALUES)
    elif kind == "nested":
        value = "x"
        for _ in range(data.draw(st.integers(min_value=10, max_value=2_000))):
            value = [value]
        parent[path[-1]] = value
    elif kind == "number":
        parent[path[-1]] = data.draw(st.integers(min_value=-(2**70), max_value=2**70))
    else:
        parent[path[-1]] = [parent[path[-1]]]
    return body


def _inbound_drawn(data, to):
    return Inbound(to=data.draw(st.sampled_from([to, f"{to}, {'x' * 200}", "not an address", ""])),
                   sender=data.draw(st.sampled_from(["ada@byron.test", "", "no at sign", "a\x00@b.test"])),
                   subject=data.draw(NASTY_TEXT), text=data.draw(NASTY_TEXT),
                   message_id=data.draw(st.sampled_from([None, "", "<\x00@x>", "<" + "m" * 400 + "@x>"])),
                   headers=data.draw(st.sampled_from([{}, {"Auto-Submitted": "\ud800"}, {"In-Reply-To": "<" * 500},
                                                      {"Precedence": "bulk"}])))


def _raw_post(provider, raw, content_type):
    if provider == "amazon_ses":
        return post_ses(None, raw=raw, **auth_headers())
    return Client().post(URLS[provider], raw, content_type=content_type, **auth_headers())


@pytest.mark.parametrize("provider", PROVIDERS)
@PROPERTY
@given(data=st.data())
def test_generated_inbound_posts_never_get_a_5xx_and_a_refused_one_writes_nothing(tenant_a, replies, provider, data):
    message = Message.all_tenants.filter(to_email="ada@byron.test").first()
    to = f"replies+{message.reply_token}@{DOMAIN}" if message else None
    if message is None:
        message, email = sent(tenant_a)
        to = reply_address(email)
    source = data.draw(st.sampled_from(["fields", "fields", "mutated", "bytes", "json"]))
    before = written()
    if source == "fields":
        inbound = _inbound_drawn(data, to)
        try:
            response = post(provider, inbound)
        except UnicodeEncodeError:  # the test client cannot even encode a lone surrogate in a form
            return
    elif source == "mutated" and provider in ("postmark", "amazon_ses"):
        documented = postmark_body(Inbound(to=to)) if provider == "postmark" else ses_body(Inbound(to=to))
        raw = json.dumps(_mutate_json(data, documented)).encode()
        response = _raw_post(provider, raw, "application/json")
    elif source == "mutated":
        fields = (sendgrid_fields if provider == "sendgrid" else mailgun_fields)(Inbound(to=to))
        name = data.draw(st.sampled_from(sorted(fields)))
        value = data.draw(st.one_of(NASTY_TEXT, st.just(None)))
        if value is None:
            del fields[name]
        else:
            fields[name] = value
        try:
            response = Client().post(URLS[provider], fields, **auth_headers())
        except UnicodeEncodeError:
            return
    elif source == "bytes":
        raw = data.draw(st.one_of(st.binary(max_size=300), st.just(b"\xff\xfe" * 1000), st.just(b"[" * 50_000)))
        content_type = data.draw(st.sampled_from(["application/json", "multipart/form-data; boundary=zz",
                                                  "application/x-www-form-urlencoded", "text/plain"]))
        response = _raw_post(provider, raw, content_type)
    else:
        response = _raw_post(provider, json.dumps(data.draw(JSON_VALUES)).encode(), "application/json")
    assert response.status_code < 500, (source, response.status_code)
    after = written()
    if response.status_code >= 400 or source in ("bytes", "json"):
        assert after == before, (source, response.status_code)
    else:
        # Taken: at most the one reply, its timeline line, its event and its forward; no text PostgreSQL refuses.
        assert after[0] - before[0] <= 1 and after[4] == before[4] and after[5] == before[5]
        for reply in Reply.all_tenants.all():
            assert "\x00" not in reply.text + reply.subject + reply.from_email
