"""Campaigns: the audience, the marketing rule at preview and at send time, runs, schedules, pause and cancel."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import Action, ConsentPurpose, ConsentState, Source
from consent.services import record
from crm.models import Candidate
from crm.services import job_save
from outreach import campaigns, dispatch
from outreach.models import Campaign, CampaignRun, EmailTemplate, Message, MessageStatus, RunStatus
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory


def send_all():
    outcomes = {}
    while ids := dispatch.claim_due():
        for key, n in dispatch.send_batch(ids).items():
            outcomes[key] = outcomes.get(key, 0) + n
    return outcomes


def grant(candidate, topic="job_offers", frequency="monthly"):
    purpose = ConsentPurpose.objects.get(key=topic)
    record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=Source.RECRUITER,
           frequency=frequency if topic != "talent_pool" else "")


@pytest.fixture
def audience(tenant_a):
    """A smart pool of Python people: who among them may hear about job offers differs one way each."""
    org = tenant_a.organization
    with tenant_a.scope():
        job_save(actor=tenant_a.recruiter, title="Django developer", status="open", required_skills=["python"],
                 location="Lyon")
        people = {name: CandidateFactory(organization=org, first_name=name.title(), email=f"{name}@example.test",
                                         skills=["python"])
                  for name in ("ok", "ok2", "none", "expired", "withdrawn", "dnc", "bounced")}
        for name in ("ok", "ok2", "expired", "withdrawn", "dnc", "bounced"):
            grant(people[name])
        record(candidate=people["withdrawn"], purpose=ConsentPurpose.objects.get(key="job_offers"),
               action=Action.WITHDRAWN, source=Source.UNSUBSCRIBE_LINK)
        ConsentState.objects.filter(candidate=people["expired"]).update(expires_at=timezone.now() - timedelta(days=1))
        Candidate.objects.filter(pk=people["dnc"].pk).update(do_not_contact=True, do_not_contact_reason="asked")
        Candidate.objects.filter(pk=people["bounced"].pk).update(email_status="bounced")
        pool = pool_create(name="Pythonistas", kind="static", actor=tenant_a.recruiter)
        pool_add_members(pool=pool, candidate_ids=[p.pk for p in people.values()], actor=tenant_a.recruiter)
        template = EmailTemplate.objects.filter(kind="job_offers_digest", language="en").first()
    return {"people": people, "pool": pool, "template": template, "tenant": tenant_a}


@pytest.fixture
def no_nudge(monkeypatch):
    """Sending waits for the test to call it (with eager tasks, the nudge would send during the run)."""
    from outreach import services

    monkeypatch.setattr(services, "nudge_dispatch", lambda: None)


def make_campaign(audience, **fields):
    tenant = audience["tenant"]
    with tenant.scope():
        return campaigns.campaign_save(actor=tenant.recruiter, name="Python jobs", topic="job_offers",
                                       pool_ids=[audience["pool"].pk], template=audience["template"], **fields)


def launch_and_send(audience, campaign, capture):
    tenant = audience["tenant"]
    with capture(execute=True):
        with tenant.scope():
            campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    with capture(execute=True):
        run_due_campaigns()
    with tenant.scope():
        send_all()


def test_the_run_reaches_exactly_the_eligible_with_unsubscribe_headers(audience, django_capture_on_commit_callbacks):
    campaign = make_campaign(audience)
    with audience["tenant"].scope():
        preview = campaigns.preview_run(type("Op", (), {"params": {"campaign": campaign.pk}})(), lambda *a: None)
    assert preview["eligible"] == 2 and preview["audience"] == 7
    assert preview["excluded"] == {"Do not contact": 1, "Address bounced or complained": 1,
                                   "No consent for this topic": 2, "Consent expired": 1}
    mail.outbox.clear()
    launch_and_send(audience, campaign, django_capture_on_commit_callbacks)
    assert sorted(m.to[0] for m in mail.outbox) == ["ok2@example.test", "ok@example.test"]
    for email in mail.outbox:
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert email.extra_headers["List-Unsubscribe"].startswith("<http")
        assert "Django developer" in email.alternatives[0][0]
    with audience["tenant"].scope():
        run = CampaignRun.objects.get()
        assert run.queued == 2 and run.audience == 7
        assert run.excluded == {"do_not_contact": 1, "undeliverable": 1, "no_consent": 2, "consent_expired": 1}
    run_due_campaigns()
    with audience["tenant"].scope():
        assert CampaignRun.objects.get().status == RunStatus.DONE
        assert Campaign.objects.get().status == "finished"


def test_launching_twice_runs_once_and_a_second_tick_adds_nothing(audience, django_capture_on_commit_callbacks):
    campaign = make_campaign(audience)
    tenant = audience["tenant"]
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        _, first = campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
        _, second = campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    assert first is True and second is False
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
        run_due_campaigns()
    with tenant.scope():
        assert CampaignRun.objects.count() == 1
        assert Message.objects.filter(campaign_run__isnull=False).count() == 2


def test_a_candidate_who_withdraws_before_their_send_gets_nothing(audience, no_nudge, django_capture_on_commit_callbacks):
    campaign = make_campaign(audience)
    tenant = audience["tenant"]
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    with tenant.scope():
        record(candidate=audience["people"]["ok"], purpose=ConsentPurpose.objects.get(key="job_offers"),
               action=Action.WITHDRAWN, source=Source.PREFERENCE_CENTRE)
        mail.outbox.clear()
        send_all()
        assert [m.to[0] for m in mail.outbox] == ["ok2@example.test"]
        assert Message.objects.get(candidate=audience["people"]["ok"]).status == MessageStatus.SUPPRESSED


def test_frequency_and_cap_hold_back_a_second_campaign(audience, django_capture_on_commit_callbacks):
    tenant = audience["tenant"]
    launch_and_send(audience, make_campaign(audience), django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with tenant.scope():
        news = EmailTemplate.objects.filter(kind="company_news", language="en").first()
        for person in (audience["people"]["ok"], audience["people"]["ok2"]):
            grant(person, "company_news", "quarterly")
        second = campaigns.campaign_save(actor=tenant.recruiter, name="News", topic="company_news",
                                         pool_ids=[audience["pool"].pk], template=news)
    launch_and_send(audience, second, django_capture_on_commit_callbacks)
    assert mail.outbox == []  # both had a campaign email less than 7 days ago
    with tenant.scope():
        assert CampaignRun.objects.get(campaign=second).excluded == {
            "cap": 2, "no_consent": 3, "do_not_contact": 1, "undeliverable": 1}


def test_pause_holds_resume_sends_and_cancel_stops(audience, no_nudge, django_capture_on_commit_callbacks):
    tenant = audience["tenant"]
    campaign = make_campaign(audience)
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    mail.outbox.clear()
    with tenant.scope():
        campaigns.campaign_pause(campaign=campaign, actor=tenant.recruiter)
        assert send_all() == {}
        assert set(Message.objects.filter(campaign_run__isnull=False).values_list("status", flat=True)) == {"held"}
        campaigns.campaign_resume(campaign=campaign, actor=tenant.recruiter)
        assert send_all() == {"sent": 2}
    assert len(mail.outbox) == 2
    run_due_campaigns()  # the beat closes the run: every email has an outcome
    with tenant.scope():
        assert Campaign.objects.get().status == "finished"
        with pytest.raises(campaigns.ServiceError):
            campaigns.campaign_pause(campaign=Campaign.objects.get(), actor=tenant.recruiter)


def test_cancel_mid_run(audience, no_nudge, django_capture_on_commit_callbacks):
    tenant = audience["tenant"]
    campaign = make_campaign(audience)
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    with tenant.scope():
        campaigns.campaign_cancel(campaign=campaign, actor=tenant.recruiter)
        mail.outbox.clear()
        assert send_all() == {}
        assert set(Message.objects.filter(campaign_run__isnull=False).values_list("status", flat=True)) == {
            "cancelled"}
        assert CampaignRun.objects.get().status == RunStatus.CANCELLED


def test_weekly_schedule_runs_once_per_slot_even_after_downtime(audience, django_capture_on_commit_callbacks):
    tenant = audience["tenant"]
    campaign = make_campaign(audience, schedule="weekly", weekday=0, send_time=time(9, 0))
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaign, _ = campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter, now=now)
    first = campaign.next_run_at
    assert first > now and first.astimezone(tenant.organization.time_zone).weekday() == 0
    # The workers were down for three weeks: one run when they return, the next one planned after now.
    later = first + timedelta(days=21, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.start_due_runs(now=later)
        campaigns.start_due_runs(now=later)
    with tenant.scope():
        assert CampaignRun.objects.count() == 1
        campaign.refresh_from_db()
        assert campaign.next_run_at > later and campaign.status == "scheduled"


@pytest.mark.parametrize("fields, field", [
    ({"schedule": "once", "scheduled_at": timezone.now() - timedelta(hours=1)}, "scheduled_at"),
    ({"schedule": "monthly", "day_of_month": 31, "send_time": time(9)}, "day_of_month"),
    ({"schedule": "weekly", "weekday": 9, "send_time": time(9)}, "weekday"),
    ({"schedule": "weekly", "weekday": 1}, "send_time"),
    ({"pool_ids": []}, "pool_ids"),
    ({"pool_ids": [2_000_000_000]}, "pool_ids"),
    ({"topic": "events"}, "template"),
    ({"filters": {"seniority": "wizard"}}, "filters"),
    ({"language_templates": {"fr": 2_000_000_000}}, "language_templates"),
    ({"max_jobs": 0}, "max_jobs"),
])
def test_bad_campaigns_are_refused_with_the_field(audience, fields, field):
    tenant = audience["tenant"]
    with tenant.scope():
        data = {"name": "Bad", "topic": "job_offers", "pool_ids": [audience["pool"].pk],
                "template": audience["template"], **fields}
        with pytest.raises(campaigns.ServiceError) as caught:
            campaigns.campaign_save(actor=tenant.recruiter, **data)
        assert field in caught.value.errors
        assert not Campaign.objects.exists()


def test_the_send_rate_is_shared_and_holds_the_excess_back(audience, django_capture_on_commit_callbacks):
    from outreach.ratelimit import take_send_slot

    organization = audience["tenant"].organization
    organization.campaign_rate_per_minute = 120  # two a second
    assert take_send_slot(organization, now=1000.1) is None
    assert take_send_slot(organization, now=1000.2) is None
    wait = take_send_slot(organization, now=1000.3)
    assert wait is not None and 0 < wait.total_seconds() <= 0.7
    assert take_send_slot(organization, now=1001.0) is None


def test_a_run_whose_preparation_was_lost_is_prepared_again_once(audience, no_nudge,
                                                                 django_capture_on_commit_callbacks):
    """The broker restarted between the run's creation and its task: the beat prepares it later, once."""
    tenant = audience["tenant"]
    campaign = make_campaign(audience)
    with tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    campaigns.start_due_runs()  # on-commit tasks never run here: the preparation task is lost
    with tenant.scope():
        run = CampaignRun.objects.get()
        assert run.status == RunStatus.PREPARING
    assert campaigns.retry_stalled_runs() == 0  # too early to call it lost
    later = timezone.now() + timedelta(minutes=6)
    assert campaigns.retry_stalled_runs(now=later) == 1
    assert campaigns.retry_stalled_runs(now=later) == 0
    with tenant.scope():
        run.refresh_from_db()
        assert run.status == RunStatus.SENDING and run.queued == 2
        assert Message.objects.filter(campaign_run=run).count() == 2


def test_we_remembered_you_names_their_furthest_job_and_the_sender(audience, django_capture_on_commit_callbacks):
    from crm.models import RejectionReason
    from crm.services import application_create, application_reject

    tenant = audience["tenant"]
    ok = audience["people"]["ok"]
    with tenant.scope():
        job = job_save(actor=tenant.recruiter, title="Robotics engineer", status="open")
        application = application_create(actor=tenant.recruiter, candidate=ok, job=job, stage="final")
        application_reject(application=application, reason=RejectionReason.objects.first(), actor=tenant.recruiter,
                           notice_plan="none", notice_skip_reason="test")
        grant(ok, "talent_pool")
        template = EmailTemplate.objects.get(kind="re_engagement", language="en")
        campaign = campaigns.campaign_save(actor=tenant.recruiter, name="Hello again", topic="re_engagement",
                                           pool_ids=[audience["pool"].pk], template=template,
                                           sender_name="Rita at Acme")
    mail.outbox.clear()
    launch_and_send(audience, campaign, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [ok.email] and email.from_email.startswith("Rita at Acme")
    assert "the final interview for Robotics engineer" in email.alternatives[0][0]
