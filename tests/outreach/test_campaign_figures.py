"""A campaign's results against a small fixture computed by hand (definitions in the README).

One run, nine people. Emails: Ada delivered, Ben clicked, Cid opened, Dee bounced, Eve complained,
Fay delivered, Gus delivered, Hal still queued, Ivy failed.
After the email: Fay withdrew the topic herself (unsubscribed), Eve's complaint withdrew it too (a
  complaint, not an unsubscribe), Gus applied 10 days later (applied again), Ada applied 40 days later
  (outside 30 days), Ben replied twice (one person), Cid sent an out-of-office (not a reply).
"""

from datetime import timedelta

from django.utils import timezone

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import Application
from crm.services import job_save
from outreach import campaign_stats
from outreach.models import Campaign, CampaignRun, EmailTemplate, Message, Reply

from ..factories import CandidateFactory

NOW = timezone.now()
SENT_AT = NOW - timedelta(days=50)
STATUSES = {"Ada": "delivered", "Ben": "clicked", "Cid": "opened", "Dee": "bounced", "Eve": "complained",
            "Fay": "delivered", "Gus": "delivered", "Hal": "queued", "Ivy": "failed"}


def _reply(message, key, *, auto=False):
    Reply.objects.create(message=message, candidate=message.candidate, received_at=SENT_AT + timedelta(days=1),
                         from_email=message.to_email, provider="postmark", dedupe_key=key, auto_reply=auto)


def test_a_runs_figures_match_the_hand_count(tenant_a):
    with tenant_a.scope():
        template = EmailTemplate.objects.filter(kind="company_news").first()
        campaign = Campaign.objects.create(name="News", topic="company_news", template=template)
        run = CampaignRun.objects.create(campaign=campaign, planned_for=SENT_AT)
        job = job_save(actor=tenant_a.recruiter, title="Any", status="open")
        news = ConsentPurpose.objects.get(key="company_news")
        emails = {}
        for name, status in STATUSES.items():
            person = CandidateFactory(organization=tenant_a.organization, first_name=name)
            record(candidate=person, purpose=news, action=Action.CONFIRMED, source=Source.PUBLIC_FORM,
                   now=SENT_AT - timedelta(days=30))
            emails[name] = Message.objects.create(
                unique_key=f"run:{name}", kind="company_news", purpose="marketing", topic="company_news",
                to_email=person.email, candidate=person, campaign_run=run, status=status,
                sent_at=None if status in ("queued", "failed") else SENT_AT)
        record(candidate=emails["Fay"].candidate, purpose=news, action=Action.WITHDRAWN,
               source=Source.PREFERENCE_CENTRE, now=SENT_AT + timedelta(days=2))
        record(candidate=emails["Eve"].candidate, purpose=news, action=Action.WITHDRAWN,
               source=Source.PROVIDER_COMPLAINT, now=SENT_AT + timedelta(days=1))
        Application.objects.create(candidate=emails["Gus"].candidate, job=job, applied_at=SENT_AT + timedelta(days=10))
        Application.objects.create(candidate=emails["Ada"].candidate, job=job, applied_at=SENT_AT + timedelta(days=40))
        _reply(emails["Ben"], "ben-1")
        _reply(emails["Ben"], "ben-2")
        _reply(emails["Cid"], "cid-ooo", auto=True)
        figures = campaign_stats.results(Message.objects.filter(campaign_run=run), topic="company_news",
                                         open_tracking=True)
        without_opens = campaign_stats.results(Message.objects.filter(campaign_run=run), topic="company_news",
                                               open_tracking=False)
    assert {key: figures[key] for key in ("sent", "delivered", "clicked", "opened", "bounced", "complained",
                                          "unsubscribed", "reapplied", "replied")} == {
        "sent": 7,          # Ada Ben Cid Dee Eve Fay Gus
        "delivered": 5,     # Ada Ben Cid Fay Gus (delivered, opened, clicked)
        "clicked": 1,       # Ben
        "opened": 2,        # Cid, and Ben's click proves an open
        "bounced": 1,       # Dee
        "complained": 1,    # Eve
        "unsubscribed": 1,  # Fay; Eve's complaint is not an unsubscribe
        "reapplied": 1,     # Gus within 30 days; Ada after 40 days is not
        "replied": 1,       # Ben once for two replies; Cid's out-of-office is not a reply
    }
    assert figures["delivered_rate"] == 71.4 and figures["replied_rate"] == 14.3
    assert without_opens["opened"] is None and without_opens["opened_rate"] is None
