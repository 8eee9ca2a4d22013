"""Every tracking event each provider documents, posted as the provider shows it, and what a recruiter then sees.

For Postmark, SendGrid, Mailgun and Amazon SES (the providers the README lists), each documented event type
(including the bounce kinds and suppression reasons anymail reads apart) is posted to an email the provider took,
from a person with the job-offers topic granted. The test asserts the message's status, the event row, the
address's status and the consent: what the outbox, the candidate page and the consent ledger show.
test_webhooks.py covers replays, broken bodies, credentials, soft-bounce sequences and resubscribes.
"""

import copy

import pytest

from consent.models import ConsentState
from crm.models import Candidate, Organization
from outreach.models import Message, MessageEvent, MessageStatus

from .test_campaigns import audience, grant, launch_and_send, make_campaign  # noqa: F401  (fixtures)
from .test_webhooks import (
    hooks,  # noqa: F401  (a fixture)
    mailgun_events,
    mailgun_signature,
    post,
    postmark_events,
    sendgrid_events,
    sent,
    ses_notification,
    ses_records,
)

pytestmark = pytest.mark.usefixtures("hooks")

SENT, DELIVERED, OPENED, CLICKED = MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED
BOUNCED, COMPLAINED, FAILED = MessageStatus.BOUNCED, MessageStatus.COMPLAINED, MessageStatus.FAILED


def _postmark(message, name):
    events = postmark_events(message)
    bounce = events["bounced"]
    bounces = {  # Postmark's bounce Type, with its TypeCode, as its bounce-types reference lists them
        "Bounce HardBounce": bounce,
        "Bounce SoftBounce": {**bounce, "Type": "SoftBounce", "TypeCode": 4096, "Name": "Soft bounce"},
        "Bounce Transient": {**bounce, "Type": "Transient", "TypeCode": 2, "Name": "Message delayed"},
        "Bounce DnsError": {**bounce, "Type": "DnsError", "TypeCode": 4194304, "Name": "DNS error"},
        "Bounce SpamNotification": {**bounce, "Type": "SpamNotification", "TypeCode": 512, "Name": "Spam notification"},
        "Bounce Blocked": {**bounce, "Type": "Blocked", "TypeCode": 100000, "Name": "ISP block"},
        "Bounce BadEmailAddress": {**bounce, "Type": "BadEmailAddress", "TypeCode": 100000,
                                   "Name": "Invalid email address"},
    }
    others = {
        "Delivery": events["delivered"], "Open": events["opened"], "Click": events["clicked"],
        "SpamComplaint": events["complained"],
        "SubscriptionChange ManualSuppression": events["unsubscribed"],
        "SubscriptionChange HardBounce": {**events["unsubscribed"], "SuppressionReason": "HardBounce",
                                          "Origin": "Recipient"},
        "SubscriptionChange SpamComplaint": {**events["unsubscribed"], "SuppressionReason": "SpamComplaint"},
    }
    return {**bounces, **others}[name]


def _sendgrid(message, name):
    events = sendgrid_events(message)
    common = {key: events["delivered"][key] for key in ("email", "timestamp", "anymail_id", "smtp-id",
                                                         "sg_message_id", "category", "silverpool_message")}
    bodies = {
        "processed": {**common, "event": "processed", "sg_event_id": "sg-processed-1"},
        "deferred": {**common, "event": "deferred", "sg_event_id": "sg-deferred-1", "attempt": "5",
                     "response": "400 try again later"},
        "delivered": events["delivered"],
        "bounce": events["bounced"],
        "bounce blocked": {**events["bounced"], "type": "blocked", "sg_event_id": "sg-blocked-1",
                           "reason": "421 4.7.0 try again later"},
        "dropped Bounced Address": {**common, "event": "dropped", "sg_event_id": "sg-dropped-1",
                                    "reason": "Bounced Address", "status": "5.0.0"},
        "dropped Invalid": {**common, "event": "dropped", "sg_event_id": "sg-dropped-2", "reason": "Invalid",
                            "status": "5.0.0"},
        "open": events["opened"],
        "click": events["clicked"],
        "spamreport": events["complained"],
        "unsubscribe": events["unsubscribed"],
        "group_unsubscribe": {**events["unsubscribed"], "event": "group_unsubscribe", "asm_group_id": 10,
                              "sg_event_id": "sg-group-unsub-1"},
    }
    return [bodies[name]]


def _mailgun(message, name):
    events = mailgun_events(message)

    def variant(base, token, **data):
        body = copy.deepcopy(events[base])
        body["signature"] = mailgun_signature(token=token)
        body["event-data"].update(data)
        return body

    return {
        "accepted": variant("delivered", "accepted-1", event="accepted", id="mg-accepted-1", method="HTTP"),
        "delivered": events["delivered"],
        "failed permanent": events["bounced"],
        "failed temporary": variant("bounced", "temporary-1", severity="temporary", reason="generic",
                                    id="mg-temporary-1"),
        "rejected": variant("delivered", "rejected-1", event="rejected", id="mg-rejected-1",
                            reject={"reason": "Sandbox subdomains are for test purposes only", "description": ""}),
        "opened": events["opened"],
        "clicked": events["clicked"],
        "complained": events["complained"],
        "unsubscribed": events["unsubscribed"],
    }[name]


def _ses(message, name):
    key = {"Send": "sent", "Delivery": "delivered", "Bounce Permanent": "bounced", "Bounce Transient": "soft bounce",
           "Complaint": "complained", "Open": "opened", "Click": "clicked", "Reject": "rejected",
           "Rendering Failure": "rendering failure", "DeliveryDelay": "delivery delay",
           "Subscription": "unsubscribed"}[name]
    return ses_notification(ses_records(message)[key], f"sns-{message.pk}-{key.replace(' ', '-')}")


BODIES = {"postmark": _postmark, "sendgrid": _sendgrid, "mailgun": _mailgun, "amazon_ses": _ses}

# (provider, documented event) -> (event row, message status, address, job-offers consent)
EXPECTED = {
    ("postmark", "Delivery"): ("delivered", DELIVERED, "valid", "granted"),
    ("postmark", "Bounce HardBounce"): ("bounced", BOUNCED, "bounced", "granted"),
    ("postmark", "Bounce SoftBounce"): ("bounced", SENT, "unknown", "granted"),
    ("postmark", "Bounce Transient"): ("deferred", SENT, "unknown", "granted"),
    ("postmark", "Bounce DnsError"): ("deferred", SENT, "unknown", "granted"),
    ("postmark", "Bounce SpamNotification"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("postmark", "Bounce Blocked"): ("rejected", BOUNCED, "unknown", "granted"),
    ("postmark", "Bounce BadEmailAddress"): ("rejected", BOUNCED, "unknown", "granted"),
    ("postmark", "Open"): ("opened", OPENED, "unknown", "granted"),
    ("postmark", "Click"): ("clicked", CLICKED, "unknown", "granted"),
    ("postmark", "SpamComplaint"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("postmark", "SubscriptionChange ManualSuppression"): ("unsubscribed", SENT, "unknown", "withdrawn"),
    ("postmark", "SubscriptionChange HardBounce"): ("bounced", BOUNCED, "bounced", "granted"),
    ("postmark", "SubscriptionChange SpamComplaint"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("sendgrid", "processed"): ("queued", SENT, "unknown", "granted"),
    ("sendgrid", "deferred"): ("deferred", SENT, "unknown", "granted"),
    ("sendgrid", "delivered"): ("delivered", DELIVERED, "valid", "granted"),
    ("sendgrid", "bounce"): ("bounced", BOUNCED, "bounced", "granted"),
    ("sendgrid", "bounce blocked"): ("bounced", SENT, "unknown", "granted"),
    ("sendgrid", "dropped Bounced Address"): ("rejected", BOUNCED, "bounced", "granted"),
    ("sendgrid", "dropped Invalid"): ("rejected", BOUNCED, "unknown", "granted"),
    ("sendgrid", "open"): ("opened", OPENED, "unknown", "granted"),
    ("sendgrid", "click"): ("clicked", CLICKED, "unknown", "granted"),
    ("sendgrid", "spamreport"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("sendgrid", "unsubscribe"): ("unsubscribed", SENT, "unknown", "withdrawn"),
    ("sendgrid", "group_unsubscribe"): ("unsubscribed", SENT, "unknown", "withdrawn"),
    ("mailgun", "accepted"): ("queued", SENT, "unknown", "granted"),
    ("mailgun", "delivered"): ("delivered", DELIVERED, "valid", "granted"),
    ("mailgun", "failed permanent"): ("bounced", BOUNCED, "bounced", "granted"),
    ("mailgun", "failed temporary"): ("deferred", SENT, "unknown", "granted"),
    ("mailgun", "rejected"): ("rejected", BOUNCED, "unknown", "granted"),
    ("mailgun", "opened"): ("opened", OPENED, "unknown", "granted"),
    ("mailgun", "clicked"): ("clicked", CLICKED, "unknown", "granted"),
    ("mailgun", "complained"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("mailgun", "unsubscribed"): ("unsubscribed", SENT, "unknown", "withdrawn"),
    ("amazon_ses", "Send"): ("sent", SENT, "unknown", "granted"),
    ("amazon_ses", "Delivery"): ("delivered", DELIVERED, "valid", "granted"),
    ("amazon_ses", "Bounce Permanent"): ("bounced", BOUNCED, "bounced", "granted"),
    ("amazon_ses", "Bounce Transient"): ("bounced", SENT, "unknown", "granted"),
    ("amazon_ses", "Complaint"): ("complained", COMPLAINED, "complained", "withdrawn"),
    ("amazon_ses", "Open"): ("opened", OPENED, "unknown", "granted"),
    ("amazon_ses", "Click"): ("clicked", CLICKED, "unknown", "granted"),
    ("amazon_ses", "Reject"): ("rejected", BOUNCED, "unknown", "granted"),
    ("amazon_ses", "Rendering Failure"): ("failed", FAILED, "unknown", "granted"),
    ("amazon_ses", "DeliveryDelay"): ("deferred", SENT, "unknown", "granted"),
    ("amazon_ses", "Subscription"): ("unsubscribed", SENT, "unknown", "withdrawn"),
}


@pytest.mark.parametrize("provider, name", sorted(EXPECTED))
def test_each_documented_event_does_what_its_provider_means(tenant_a, provider, name):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(open_tracking=True)
    message = sent(tenant_a, provider)
    with tenant_a.scope():
        grant(Candidate.objects.get(pk=message.candidate_id), "job_offers")
    row, status, address, consent = EXPECTED[provider, name]
    assert post(provider, BODIES[provider](message, name)).status_code == 200
    message.refresh_from_db()
    assert list(MessageEvent.all_tenants.filter(message=message).values_list("event_type", flat=True)) == [row]
    assert message.status == status
    assert Candidate.all_tenants.get(pk=message.candidate_id).email_status == address
    assert ConsentState.all_tenants.get(candidate_id=message.candidate_id, purpose__key="job_offers").state == consent
    if status == FAILED:
        assert message.status_reason.startswith("the provider could not send it: Attribute 'attributeName'")


def test_a_later_delivery_never_undoes_a_provider_failure_or_a_bounce(tenant_a):
    """Events come out of order: a Rendering Failure or a Permanent bounce stays what the message shows."""
    message = sent(tenant_a, "amazon_ses")
    assert post("amazon_ses", _ses(message, "Rendering Failure")).status_code == 200
    assert post("amazon_ses", _ses(message, "Delivery")).status_code == 200
    assert Message.all_tenants.get(pk=message.pk).status == FAILED
    other = sent(tenant_a, "postmark", email="grace@hopper.test")
    assert post("postmark", _postmark(other, "Bounce HardBounce")).status_code == 200
    assert post("postmark", _postmark(other, "Open")).status_code == 200
    assert Message.all_tenants.get(pk=other.pk).status == BOUNCED


CAMPAIGN_IDS = {"postmark": "pm-{pk}", "sendgrid": "sg-{pk}", "mailgun": "<{pk}.CAMPAIGN@mg.example.test>",
                "amazon_ses": "0100016a-campaign-{pk}"}
CAMPAIGN_EVENTS = {"postmark": ("Delivery", "Bounce HardBounce", "SpamComplaint"),
                   "sendgrid": ("delivered", "bounce", "spamreport"),
                   "mailgun": ("delivered", "failed permanent", "complained"),
                   "amazon_ses": ("Delivery", "Bounce Permanent", "Complaint")}


@pytest.mark.parametrize("provider", sorted(BODIES))
def test_campaign_results_count_each_providers_bounce_and_complaint(audience, provider,  # noqa: F811
                                                                     django_capture_on_commit_callbacks):
    """Two campaign emails: Ok's is delivered then bounces for good, Ok2 complains. By hand: sent 2, delivered 0,
    bounced 1, complained 1, unsubscribed 0 (a complaint withdraws consent but is not counted an unsubscribe)."""
    campaign = make_campaign(audience)
    launch_and_send(audience, campaign, django_capture_on_commit_callbacks)
    tenant, people = audience["tenant"], audience["people"]
    for message in Message.all_tenants.filter(campaign_run__campaign=campaign):
        Message.all_tenants.filter(pk=message.pk).update(provider_message_id=CAMPAIGN_IDS[provider].format(
            pk=message.pk))
    emails = {m.candidate_id: m for m in Message.all_tenants.filter(campaign_run__campaign=campaign)}
    bounced, complained = emails[people["ok"].pk], emails[people["ok2"].pk]
    delivery, bounce, complaint = CAMPAIGN_EVENTS[provider]
    for message, name in ((bounced, delivery), (bounced, bounce), (complained, complaint)):
        assert post(provider, BODIES[provider](message, name)).status_code == 200, name
    expected = {"sent": 2, "delivered": 0, "bounced": 1, "complained": 1, "unsubscribed": 0}
    total = tenant.api.get(f"/api/v1/campaigns/{campaign.pk}/stats/").json()["total"]
    assert {key: total[key] for key in expected} == expected
    assert ConsentState.all_tenants.get(candidate=people["ok2"], purpose__key="job_offers").state == "withdrawn"
    assert ConsentState.all_tenants.get(candidate=people["ok"], purpose__key="job_offers").state == "granted"
    assert Candidate.all_tenants.get(pk=people["ok"].pk).email_status == "bounced"
