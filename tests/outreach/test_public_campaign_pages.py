"""Public pages of campaigns: answering an event invitation, the page of an open job, referrals to the join form."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from consent import tokens
from consent.models import ConsentPurpose, PendingOptIn, Source
from consent.services import record
from crm.models import Activity, Candidate
from crm.services import job_save
from outreach import campaigns, dispatch
from outreach.models import Campaign, EmailTemplate, Rsvp
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory

# What a strict CSP blocks: inline scripts, style elements and attributes, event handlers.
INLINE = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)
JOIN = {"first_name": "Lin", "last_name": "Wei", "email": "lin@wei.test", "consent_talent_pool": "on",
        "consent_events": "on", "frequency_events": "quarterly", "frequency_job_offers": "monthly",
        "frequency_company_news": "monthly", "frequency_testimonials": "monthly", "frequency_job_market": "monthly"}


def send_all():
    while ids := dispatch.claim_due():
        dispatch.send_batch(ids)


def make_event(tenant, starts_at=None, **candidate_fields):
    """A candidate in a pool, and a draft events campaign to that pool."""
    with tenant.scope():
        candidate = CandidateFactory(organization=tenant.organization, **candidate_fields)
        pool = pool_create(name="Meet-up guests", kind="static", actor=tenant.recruiter)
        pool_add_members(pool=pool, candidate_ids=[candidate.pk], actor=tenant.recruiter)
        template = EmailTemplate.objects.filter(kind="event_invitation", language="en", active=True).first()
        campaign = campaigns.campaign_save(
            actor=tenant.recruiter, name="Summer meet-up", topic="events", pool_ids=[pool.pk], template=template,
            event_name="Summer meet-up", event_place="Rooftop, 5 Main Street",
            event_starts_at=starts_at or timezone.now() + timedelta(days=10))
    return candidate, campaign


def rsvp_url(organization, candidate, campaign):
    return f"/p/rsvp/{tokens.make('rsvp', o=organization.pk, c=candidate.pk, k=campaign.pk)}/"


def rsvp_lines(candidate):
    return list(Activity.all_tenants.filter(candidate_id=candidate.pk, kind="rsvp").order_by("id").values_list(
        "summary", "details"))


def test_answering_yes_then_no_keeps_one_answer_and_tells_the_timeline_each_time(tenant_a):
    organization = tenant_a.organization
    organization.time_zone = "America/New_York"
    organization.save()
    starts = datetime(timezone.now().year + 1, 6, 15, 17, 30, tzinfo=UTC)
    month_ago = timezone.now() - timedelta(days=30)
    candidate, campaign = make_event(tenant_a, starts_at=starts, last_activity_at=month_ago)
    url = rsvp_url(organization, candidate, campaign)
    client = Client()

    page = client.get(url).content.decode()
    assert "Summer meet-up" in page and "Rooftop, 5 Main Street" in page
    assert "15 June" in page and "13:30" in page and "17:30" not in page  # the organization's time, not UTC
    assert "I'll be there" in page and "I can't make it" in page
    assert 'name="answer" value="yes"' in page and 'name="answer" value="no"' in page

    yes = client.post(url, {"answer": "yes"})
    assert yes.status_code == 200 and "see you there" in yes.content.decode()
    rsvp = Rsvp.all_tenants.get()
    assert (rsvp.campaign_id, rsvp.candidate_id, rsvp.answer) == (campaign.pk, candidate.pk, "yes")
    after_yes = Candidate.all_tenants.get(pk=candidate.pk).last_activity_at
    assert after_yes > month_ago + timedelta(days=29)
    assert "told us you will be there" in client.get(url).content.decode()

    no = client.post(url, {"answer": "no"})
    assert no.status_code == 200 and "Thank you for letting us know" in no.content.decode()
    rsvp_now = Rsvp.all_tenants.get()
    assert rsvp_now.pk == rsvp.pk and rsvp_now.answer == "no" and rsvp_now.answered_at > rsvp.answered_at
    assert Candidate.all_tenants.get(pk=candidate.pk).last_activity_at > after_yes
    client.post(url, {"answer": "no"})  # the same answer again: nothing new to tell
    assert rsvp_lines(candidate) == [
        ("Answered the invitation to Summer meet-up: coming", {"campaign_id": campaign.pk}),
        ("Answered the invitation to Summer meet-up: not coming", {"campaign_id": campaign.pk}),
    ]
    assert Rsvp.all_tenants.count() == 1


def test_the_link_in_the_sent_invitation_opens_the_page(tenant_a, django_capture_on_commit_callbacks):
    candidate, campaign = make_event(tenant_a)
    with tenant_a.scope():
        record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="events"), action="confirmed",
               source=Source.RECRUITER, frequency="monthly")
        with django_capture_on_commit_callbacks(execute=True):
            campaigns.campaign_launch(campaign=campaign, actor=tenant_a.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    send_all()
    assert [m.to[0] for m in mail.outbox] == [candidate.email]
    link = re.search(r"https?://[^/\"]+(/p/rsvp/[^/\"]+/)", mail.outbox[0].alternatives[0][0]).group(1)
    assert Client().post(link, {"answer": "yes"}).status_code == 200
    assert Rsvp.all_tenants.get().answer == "yes"


@pytest.mark.parametrize("make", [
    pytest.param(lambda a, b: rsvp_url(a["org"], a["candidate"], a["campaign"])[:-4] + "abc/", id="tampered"),
    pytest.param(lambda a, b: f"/p/rsvp/{tokens.make('ref', o=a['org'].pk, c=a['candidate'].pk)}/",
                 id="another kind of token"),
    pytest.param(lambda a, b: rsvp_url(a["org"], b["candidate"], a["campaign"]), id="other org's candidate"),
    pytest.param(lambda a, b: rsvp_url(a["org"], a["candidate"], b["campaign"]), id="other org's campaign"),
    pytest.param(lambda a, b: rsvp_url(b["org"], a["candidate"], a["campaign"]), id="other org named"),
])
def test_tampered_and_mixed_tokens_are_refused_and_record_nothing(tenant_a, tenant_b, make):
    ours, theirs = ({"org": t.organization, **dict(zip(("candidate", "campaign"), make_event(t), strict=True))}
                    for t in (tenant_a, tenant_b))
    url = make(ours, theirs)
    for response in (Client().get(url), Client().post(url, {"answer": "yes"})):
        assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    assert not Rsvp.all_tenants.exists()
    assert not Activity.all_tenants.filter(kind="rsvp").exists()


@pytest.mark.parametrize("remove", ["candidate", "campaign"])
def test_a_link_to_a_deleted_candidate_or_campaign_is_refused(tenant_a, remove):
    candidate, campaign = make_event(tenant_a)
    url = rsvp_url(tenant_a.organization, candidate, campaign)
    {"candidate": candidate, "campaign": campaign}[remove].delete()
    response = Client().post(url, {"answer": "yes"})
    assert response.status_code == 404 and "This link is not valid" in response.content.decode()
    assert not Rsvp.all_tenants.exists()


@pytest.mark.parametrize(("change", "wording"), [
    ({"status": "cancelled"}, "This event was cancelled"),
    ({"event_starts_at": timezone.now() - timedelta(hours=1)}, "This event has taken place"),
])
def test_a_cancelled_or_past_event_takes_no_answer(tenant_a, change, wording):
    candidate, campaign = make_event(tenant_a)
    Campaign.all_tenants.filter(pk=campaign.pk).update(**change)
    url = rsvp_url(tenant_a.organization, candidate, campaign)
    for response in (Client().get(url), Client().post(url, {"answer": "yes"})):
        assert response.status_code == 410 and wording in response.content.decode()
    assert not Rsvp.all_tenants.exists() and rsvp_lines(candidate) == []


def test_a_missing_answer_and_too_many_answers_are_refused(tenant_a):
    candidate, campaign = make_event(tenant_a)
    url = rsvp_url(tenant_a.organization, candidate, campaign)
    client = Client()
    bad = client.post(url, {"answer": "maybe"})
    assert bad.status_code == 400 and "Choose one of the two answers" in bad.content.decode()
    assert not Rsvp.all_tenants.exists()
    for i in range(20):
        assert client.post(url, {"answer": "yes" if i % 2 else "no"}).status_code == 200
    assert client.post(url, {"answer": "no"}).status_code == 429
    assert Rsvp.all_tenants.get().answer == "yes" and len(rsvp_lines(candidate)) == 20


def test_the_pages_work_without_javascript_under_the_csp(tenant_a):
    candidate, campaign = make_event(tenant_a)
    url = rsvp_url(tenant_a.organization, candidate, campaign)
    client = Client(enforce_csrf_checks=True)
    page = client.get(url)
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert "style-src 'self'" in page["Content-Security-Policy"]
    html = page.content.decode()
    assert not INLINE.search(html)
    assert '<form method="post">' in html and f'href="/p/{tenant_a.slug}/brand.css"' in html
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    thanks = client.post(url, {"answer": "yes", "csrfmiddlewaretoken": csrf})
    assert thanks.status_code == 200 and not INLINE.search(thanks.content.decode())
    assert Client(enforce_csrf_checks=True).post(url, {"answer": "no"}).status_code == 403  # no CSRF token
    assert Rsvp.all_tenants.get().answer == "yes"
    for other in (f"/p/rsvp/{'x' * 40}/", f"/p/{tenant_a.slug}/jobs/999999/"):
        assert not INLINE.search(Client().get(other).content.decode())


# --- The public page of a job -------------------------------------------------------------

def make_job(tenant, status="open"):
    with tenant.scope():
        return job_save(actor=tenant.recruiter, title="Platform engineer", status=status, department="Infrastructure",
                        location="Lyon", remote=True, seniority="senior", required_skills=["kubernetes", "go"],
                        description="You will run our clusters.\nOn call one week in six.")


def test_an_open_job_has_a_public_page(tenant_a):
    job = make_job(tenant_a)
    response = Client().get(f"/p/{tenant_a.slug}/jobs/{job.pk}/")
    html = response.content.decode()
    assert response.status_code == 200 and not INLINE.search(html)
    for text in ("Platform engineer", "Infrastructure", "Lyon · Remote", "Senior", '<span class="chip">kubernetes</span>', '<span class="chip">go</span>',
                 "You will run our clusters.<br>On call one week in six.", "Acme Robotics",
                 "Reply to the email you received to apply", f'href="/p/{tenant_a.slug}/join/"'):
        assert text in html


@pytest.mark.parametrize("status", ["draft", "on_hold", "closed"])
def test_a_job_that_is_not_open_or_not_theirs_is_not_found(tenant_a, tenant_b, status):
    hidden = make_job(tenant_a, status=status)
    theirs = make_job(tenant_b)
    answers = [Client().get(f"/p/{tenant_a.slug}/jobs/{job_id}/") for job_id in (hidden.pk, theirs.pk, 2_000_000)]
    assert {a.status_code for a in answers} == {404}
    assert len({a.content.decode().replace(str(hidden.pk), "") for a in answers}) == 1  # one answer for all
    assert "Platform engineer" not in answers[0].content.decode()
    assert Client().get(f"/p/no-such-org/jobs/{theirs.pk}/").status_code == 404
    assert Client().get(f"/p/{tenant_b.slug}/jobs/{theirs.pk}/").status_code == 200


# --- Referrals on the join form ----------------------------------------------------------

def confirm_last_request():
    send_all()
    link = re.search(r"(/p/confirm/[^/\"\s]+/)", mail.outbox[-1].alternatives[0][0]).group(1)
    assert Client().post(link).status_code == 200


@pytest.fixture
def referrer(tenant_a):
    with tenant_a.scope():
        return CandidateFactory(organization=tenant_a.organization, first_name="Ana", last_name="Quintero",
                                email="ana@quintero.test", headline="Staff engineer at Initech",
                                last_activity_at=timezone.now() - timedelta(days=30))


def test_a_referral_is_named_by_first_name_and_confirmed_by_the_person_themselves(tenant_a, referrer):
    token = tokens.make("ref", o=tenant_a.organization.pk, c=referrer.pk)
    page = Client().get(f"/p/{tenant_a.slug}/join/?ref={token}").content.decode()
    assert "Recommended by Ana" in page
    assert "Quintero" not in page and "ana@quintero.test" not in page and "Initech" not in page
    assert f'type="hidden" name="ref" value="{token}"' in page
    # The hidden field carries the token, whatever the address the form is posted to.
    assert "Check your inbox" in Client().post(f"/p/{tenant_a.slug}/join/", {**JOIN, "ref": token}).content.decode()
    assert PendingOptIn.all_tenants.get().data["referrer_id"] == referrer.pk
    assert not Candidate.all_tenants.filter(email="lin@wei.test").exists()  # nobody added without their consent
    confirm_last_request()
    new = Candidate.all_tenants.get(email="lin@wei.test")
    assert new.source == "referral"
    notes = {c: list(Activity.all_tenants.filter(candidate_id=c, kind="note").values_list("summary", flat=True))
             for c in (new.pk, referrer.pk)}
    assert notes == {new.pk: ["Referred by Ana Quintero"], referrer.pk: ["Referred Lin Wei"]}
    assert Candidate.all_tenants.get(pk=referrer.pk).last_activity_at == referrer.last_activity_at


@pytest.mark.parametrize("make", [
    pytest.param(lambda a, b, r: tokens.make("ref", o=a.pk, c=r.pk)[:-3] + "abc", id="tampered"),
    pytest.param(lambda a, b, r: tokens.make("stay", o=a.pk, c=r.pk), id="another kind of token"),
    pytest.param(lambda a, b, r: tokens.make("ref", o=b.pk, c=r.pk), id="other org named"),
    pytest.param(lambda a, b, r: tokens.make("ref", o=a.pk, c=2_000_000), id="no such candidate"),
])
def test_a_bad_or_foreign_referral_is_ignored(tenant_a, tenant_b, referrer, make):
    with tenant_b.scope():
        theirs = CandidateFactory(organization=tenant_b.organization, first_name="Bruno")
    token = make(tenant_a.organization, tenant_b.organization, referrer)
    foreign = tokens.make("ref", o=tenant_b.organization.pk, c=theirs.pk)
    for ref in (token, foreign):
        page = Client().get(f"/p/{tenant_a.slug}/join/?ref={ref}")
        assert page.status_code == 200 and "Recommended by" not in page.content.decode()
    answer = Client().post(f"/p/{tenant_a.slug}/join/?ref={token}", {**JOIN, "ref": foreign})
    assert "Check your inbox" in answer.content.decode()
    assert "referrer_id" not in PendingOptIn.all_tenants.get().data
    confirm_last_request()
    assert Candidate.all_tenants.get(email="lin@wei.test").source == "public_form"
    assert not Activity.all_tenants.filter(summary__startswith="Referred").exists()


def test_someone_already_known_who_comes_through_a_referral_keeps_their_source(tenant_a, referrer):
    with tenant_a.scope():
        known = CandidateFactory(organization=tenant_a.organization, email="lin@wei.test", source="applied")
    token = tokens.make("ref", o=tenant_a.organization.pk, c=referrer.pk)
    Client().post(f"/p/{tenant_a.slug}/join/?ref={token}", {**JOIN, "ref": token})
    confirm_last_request()
    assert Candidate.all_tenants.get(pk=known.pk).source == "applied"
    assert Candidate.all_tenants.filter(email="lin@wei.test").count() == 1
