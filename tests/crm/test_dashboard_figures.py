"""Every dashboard figure against a small fixture computed by hand, edge cases included.

The definitions are in crm/selectors.py (the core's counts) and outreach/analytics.py (the talent pool panel).
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import Application, Candidate, RejectionReason, Stage, StageChange
from crm.services import application_advance, application_create, application_reject, job_save
from outreach import analytics
from outreach.models import Campaign, CampaignRun, EmailTemplate, Message, MessageEvent, Rsvp

from ..factories import CandidateFactory

NOW = timezone.now()


def days_ago(days, hours=0):
    return NOW - timedelta(days=days, hours=hours)


def person(tenant, **fields):
    return CandidateFactory(organization=tenant.organization, **fields)


def notice(candidate, key, *, sent_at, kind="rejection_early", application=None):
    return Message.objects.create(unique_key=f"notice:{key}", kind=kind, purpose="transactional",
                                  to_email=candidate.email, candidate=candidate, application=application,
                                  status="sent", sent_at=sent_at)


def join_through_rejection_link(candidate, at):
    record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="talent_pool"), action=Action.CONFIRMED,
           source=Source.REJECTION_LINK, now=at)


def panel(tenant):
    return tenant.recruiter_client.get(f"/o/{tenant.slug}/").content.decode()


# --- Silver medalists hired: a hire records its decision, on the page and through the API ----------

@pytest.fixture
def two_offers(tenant_a):
    """Two silver medalists (rejected at the final interview elsewhere), each now at the offer stage."""
    with tenant_a.scope():
        reason = RejectionReason.objects.first()
        old_job = job_save(actor=tenant_a.recruiter, title="Old role", status="open")
        job = job_save(actor=tenant_a.recruiter, title="Robotics engineer", status="open")
        offers = []
        for name in ("Ada", "Grace"):
            candidate = person(tenant_a, first_name=name)
            earlier = application_create(actor=tenant_a.recruiter, candidate=candidate, job=old_job)
            application_advance(application=earlier, to_stage=Stage.FINAL, actor=tenant_a.recruiter)
            application_reject(application=earlier, reason=reason, actor=tenant_a.recruiter, notice_plan="none",
                               notice_skip_reason="told in person")
            application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
            offers.append(application_advance(application=application, to_stage=Stage.OFFER,
                                              actor=tenant_a.recruiter))
    return offers


def test_hiring_on_the_page_and_through_the_api_records_the_decision_and_counts(tenant_a, two_offers):
    by_page, by_api = two_offers
    assert 'data-testid="silver-hired">0<' in panel(tenant_a)
    answer = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/applications/{by_page.pk}/move/",
                                            {"stage": "hired", "version": by_page.version})
    assert answer.status_code == 302
    answer = tenant_a.api.post(f"/api/v1/applications/{by_api.pk}/advance/", {"stage": "hired"}, format="json")
    assert answer.status_code == 200 and answer.json()["decided_at"] is not None
    with tenant_a.scope():
        hired = {a.pk: a for a in Application.objects.filter(stage=Stage.HIRED)}
    assert set(hired) == {by_page.pk, by_api.pk}
    assert hired[by_page.pk].decided_at is not None and hired[by_page.pk].decided_by == tenant_a.recruiter
    assert hired[by_api.pk].decider_label  # the API key is named as the decider
    assert hired[by_page.pk].stage_before_close == ""  # hired is not a close
    from django.core.cache import cache

    cache.clear()
    assert 'data-testid="silver-hired">2<' in panel(tenant_a)


def test_silver_medalists_hired_counts_people_once_within_twelve_months(tenant_a):
    with tenant_a.scope():
        jobs = [job_save(actor=tenant_a.recruiter, title=f"Job {i}", status="open") for i in range(4)]
        silver, plain, long_ago = (person(tenant_a, silver_medalist=True), person(tenant_a),
                                   person(tenant_a, silver_medalist=True))
        for job, candidate, decided in zip(jobs, (silver, silver, plain, long_ago),
                                           (days_ago(10), days_ago(20), days_ago(10), days_ago(400)), strict=True):
            Application.objects.create(candidate=candidate, job=job, stage=Stage.HIRED, decided_at=decided)
        assert analytics.silver_medalists_hired(days_ago(365)) == 1


def test_the_migration_gives_hired_applications_their_hire_time(tenant_a, two_offers):
    from importlib import import_module

    backfill = import_module("crm.migrations.0017_hired_decided_at").BACKFILL
    application = two_offers[0]
    with tenant_a.scope():
        application_advance(application=application, to_stage=Stage.HIRED, actor=tenant_a.recruiter)
        hire = StageChange.objects.get(application=application, to_stage=Stage.HIRED)
        StageChange.objects.filter(pk=hire.pk).update(at=days_ago(40))
        # As moves to hired used to leave it.
        Application.objects.filter(pk=application.pk).update(decided_at=None, decided_by=None, decider_label="")
        untouched = Application.objects.get(pk=two_offers[1].pk)
    with connection.cursor() as cursor:
        cursor.execute(backfill)
    with tenant_a.scope():
        application = Application.objects.get(pk=application.pk)
        assert application.decided_at == days_ago(40)
        assert application.decided_by == tenant_a.recruiter and application.decider_label
        assert Application.objects.get(pk=untouched.pk).decided_at is None  # still at offer


# --- Opt-in rate from rejection emails --------------------------------------------------------------

def test_opt_in_rate_is_people_who_joined_over_people_emailed_by_send_date(tenant_a):
    with tenant_a.scope():
        joined, silent, before, old = (person(tenant_a) for _ in range(4))
        notice(joined, "a", sent_at=days_ago(10))
        join_through_rejection_link(joined, days_ago(5))
        notice(silent, "b", sent_at=days_ago(10))
        notice(before, "c", sent_at=days_ago(10))
        join_through_rejection_link(before, days_ago(20))  # joined before this email: not from it
        notice(old, "d", sent_at=days_ago(200))  # outside the window: not in the cohort
        join_through_rejection_link(old, days_ago(5))
        # Fifty people joined through links of old emails: none of them was emailed in the window.
        for _ in range(50):
            join_through_rejection_link(person(tenant_a), days_ago(3))
        figures = analytics.rejection_opt_in(days_ago(90))
    assert figures == {"emailed": 3, "joined": 1, "rate": 33.3}
    page = panel(tenant_a)
    assert 'data-testid="opt-in-rate">33.3%' in page and "1 of 3 people emailed joined" in page
    # The consent dashboard shows the same figure, by the same definition.
    consent_page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/consent/").content.decode()
    assert 'data-testid="consent-opt-in-rate">33.3%' in consent_page
    assert "1 of 3 people emailed joined" in consent_page


def test_opt_in_rate_never_exceeds_everyone(tenant_a):
    with tenant_a.scope():
        emailed = person(tenant_a)
        notice(emailed, "one", sent_at=days_ago(1))
        notice(emailed, "two", sent_at=days_ago(2), kind="rejection_after_interview")
        for _ in range(3):
            join_through_rejection_link(emailed, days_ago(0, hours=1))
        for _ in range(5):
            join_through_rejection_link(person(tenant_a), days_ago(0, hours=1))
        assert analytics.rejection_opt_in(days_ago(90)) == {"emailed": 1, "joined": 1, "rate": 100.0}


# --- Re-engagement after a campaign email ----------------------------------------------------------

@pytest.fixture
def campaign(tenant_a):
    with tenant_a.scope():
        template = EmailTemplate.objects.filter(kind="company_news").first() or EmailTemplate.objects.create(
            kind="company_news", name="News", subject="News", html_body="<p>News</p>")
        campaign = Campaign.objects.create(name="Spring event", topic="events", template=template,
                                           event_name="Open day")
        return CampaignRun.objects.create(campaign=campaign, planned_for=days_ago(30))


def campaign_email(candidate, run, key, sent_at):
    return Message.objects.create(unique_key=f"campaign:{key}", kind="company_news", purpose="marketing",
                                  to_email=candidate.email, candidate=candidate, campaign_run=run,
                                  topic="company_news", status="delivered", sent_at=sent_at)


def click(message, url, at):
    MessageEvent.objects.create(message=message, event_type="clicked", event_id=f"click-{message.pk}-{url}",
                                occurred_at=at, payload={"click_url": url})


def test_reengagement_counts_only_actions_that_keep_a_person_in_touch(tenant_a, campaign):
    from consent.services import unsubscribe

    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Any", status="open")
        news = ConsentPurpose.objects.get(key="company_news")
        people = {name: person(tenant_a) for name in (
            "unsubscribed", "clicked", "applied", "frequency", "withdrew", "applied_before", "rsvp")}
        for candidate in people.values():
            record(candidate=candidate, purpose=news, action=Action.CONFIRMED, source=Source.PUBLIC_FORM,
                   frequency="monthly", now=days_ago(60))
        emails = {name: campaign_email(candidate, campaign, name, days_ago(30)) for name, candidate in people.items()}
        # Unsubscribed through the email's one-click link (the provider tracked that click too): never counts.
        click(emails["unsubscribed"], "https://example.test/p/u/token/", days_ago(29))
        unsubscribe(candidate=people["unsubscribed"], topic_key="company_news")
        click(emails["clicked"], "https://example.test/jobs/42", days_ago(29))
        application_create(actor=tenant_a.recruiter, candidate=people["applied"], job=job)
        record(candidate=people["frequency"], purpose=news, action=Action.FREQUENCY_CHANGED,
               source=Source.PREFERENCE_CENTRE, frequency="quarterly", now=days_ago(20))
        record(candidate=people["withdrew"], purpose=news, action=Action.WITHDRAWN, source=Source.PREFERENCE_CENTRE,
               now=days_ago(20))
        Application.objects.create(candidate=people["applied_before"], job=job, applied_at=days_ago(40))
        Rsvp.objects.create(campaign=campaign.campaign, candidate=people["rsvp"], answer="no", answered_at=days_ago(2))
        # Emailed before the window and active since: not in the cohort.
        outside = person(tenant_a)
        click(campaign_email(outside, campaign, "outside", days_ago(120)), "https://example.test/jobs/1", days_ago(1))
        figures = analytics.reengagement(days_ago(90))
    assert figures == {"reached": 7, "reengaged": 4, "rate": 57.1}
    page = panel(tenant_a)
    assert 'data-testid="reengagement-rate">57.1%' in page and "4 of 7" in page


def test_a_reply_of_their_own_reengages_an_automatic_one_or_a_stop_request_does_not(tenant_a, campaign):
    reply_model = getattr(__import__("outreach.models", fromlist=["Reply"]), "Reply", None)
    if reply_model is None:
        pytest.skip("this outbox records no replies")
    with tenant_a.scope():
        for name, automatic, stop in (("replied", False, False), ("auto", True, False), ("stop", False, True)):
            candidate = person(tenant_a)
            email = campaign_email(candidate, campaign, name, days_ago(30))
            reply_model.objects.create(message=email, candidate=candidate, received_at=days_ago(28),
                                       auto_reply=automatic, stop_request=stop, provider="test",
                                       dedupe_key=f"reply-{name}")
        assert analytics.reengagement(days_ago(90)) == {"reached": 3, "reengaged": 1, "rate": 33.3}


# --- Median time to a decision's email, complaint rate, charts ---------------------------------------

def test_median_hours_from_decision_to_its_email(tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Any", status="open")
        for key, (decided, delay_hours) in enumerate([(days_ago(5), 2), (days_ago(6), 4), (days_ago(7), 30),
                                                      (days_ago(200), 1)]):
            candidate = person(tenant_a)
            application = Application.objects.create(candidate=candidate, job=job, stage=Stage.REJECTED,
                                                     decided_at=decided)
            notice(candidate, key, sent_at=decided + timedelta(hours=delay_hours), application=application,
                   kind="offer_declined" if key == 1 else "rejection_early")
        # An email still waiting is not in the median.
        Message.objects.create(unique_key="notice:waiting", kind="rejection_early", purpose="transactional",
                               to_email="w@example.test", candidate=candidate, status="queued")
        assert analytics.median_hours_to_notice(days_ago(90)) == (4.0, 3)
    assert 'data-testid="median-notice">4.0 h' in panel(tenant_a)


def test_complaint_rate_of_campaign_emails_leaves_test_sends_out(tenant_a, campaign):
    with tenant_a.scope():
        people = [person(tenant_a) for _ in range(4)]
        for i, candidate in enumerate(people):
            message = campaign_email(candidate, campaign, i, days_ago(3))
            if i == 0:
                Message.objects.filter(pk=message.pk).update(status="complained")
        campaign_email(person(tenant_a), campaign, "old", days_ago(100))  # outside the window
        Message.objects.create(unique_key="test:1", kind="company_news", purpose="marketing",
                               to_email="recruiter@example.test", status="complained", sent_at=days_ago(1),
                               context={"test": True})
        figures = analytics.complaints(days_ago(90))
    assert figures == {"sent": 4, "complaints": 1, "rate": 25.0, "warning": True}


def test_charts_count_joins_not_renewals_and_clicks_of_the_month_sent(tenant_a, campaign):
    with tenant_a.scope():
        pool = ConsentPurpose.objects.get(key="talent_pool")
        joined, renewed = person(tenant_a), person(tenant_a)
        record(candidate=joined, purpose=pool, action=Action.CONFIRMED, source=Source.PUBLIC_FORM)
        record(candidate=renewed, purpose=pool, action=Action.RENEWED, source=Source.PREFERENCE_CENTRE)
        sent = [campaign_email(person(tenant_a), campaign, i, timezone.now()) for i in range(3)]
        click(sent[0], "https://example.test/jobs/1", timezone.now())
        Message.objects.filter(pk=sent[0].pk).update(status="complained")  # clicked, then marked as spam
        click(sent[1], "https://example.test/jobs/2", timezone.now())
        click(sent[1], "https://example.test/jobs/3", timezone.now())  # two clicks, one email
        growth = analytics.talent_pool_growth(tenant_a.organization)
        months = analytics.campaign_months(tenant_a.organization)
    assert growth[-1]["joined"] == 1 and sum(p["joined"] for p in growth) == 1
    assert (months[-1]["sent"], months[-1]["clicked"]) == (3, 2)


# --- The core's counts -------------------------------------------------------------------------------

def test_core_counts_open_jobs_silver_medalists_and_growth(tenant_a):
    with tenant_a.scope():
        job_save(actor=tenant_a.recruiter, title="Open, assigned", status="open",
                 hiring_managers=[tenant_a.hiring_manager])
        job_save(actor=tenant_a.recruiter, title="Open", status="open")
        job_save(actor=tenant_a.recruiter, title="Draft", status="draft")
        person(tenant_a, silver_medalist=True)
        person(tenant_a)
        Candidate.objects.filter(pk=person(tenant_a).pk).update(created_at=days_ago(400))  # before the 12 months
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").content.decode()
    assert 'data-testid="open-jobs">2<' in page and 'data-testid="silver-count">1<' in page
    assert "2 candidates added in the last 12 months" in page
    manager_page = tenant_a.hiring_manager_client.get(f"/o/{tenant_a.slug}/").content.decode()
    assert 'data-testid="open-jobs">1<' in manager_page
