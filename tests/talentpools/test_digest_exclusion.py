"""A job-offer digest never offers a job the person applied to, was rejected from or is in the pipeline for:
the Matches page and the digest leave out the same pairs (talentpools.matching.already_applied)."""

import re

import pytest
from django.core import mail

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import RejectionReason
from crm.services import application_create, application_reject, job_save
from outreach import campaigns, dispatch
from outreach.models import EmailTemplate, Message, MessageStatus
from outreach.tasks import run_due_campaigns
from talentpools.matching import job_matches
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory


def send_all():
    while ids := dispatch.claim_due():
        dispatch.send_batch(ids)


@pytest.fixture
def digest(tenant_a):
    org, recruiter = tenant_a.organization, tenant_a.recruiter
    with tenant_a.scope():
        jobs = {
            "django": job_save(actor=recruiter, title="Django developer", status="open", required_skills=["python"]),
            "data": job_save(actor=recruiter, title="Data engineer", status="open", required_skills=["python"]),
            "go": job_save(actor=recruiter, title="Go developer", status="open", required_skills=["go"]),
        }
        people = {name: CandidateFactory(organization=org, first_name=name.title(), email=f"{name}@example.test",
                                         skills=skills)
                  for name, skills in (("rejected", ["python"]), ("screening", ["python"]), ("fresh", ["python"]),
                                       ("gopher", ["go"]))}
        purpose = ConsentPurpose.objects.get(key="job_offers")
        for person in people.values():
            record(candidate=person, purpose=purpose, action=Action.CONFIRMED, source=Source.RECRUITER,
                   frequency="monthly")
        reason = RejectionReason.objects.first()
        for name, job in (("rejected", "django"), ("gopher", "go")):
            application = application_create(actor=recruiter, candidate=people[name], job=jobs[job], stage="interview")
            application_reject(application=application, reason=reason, actor=recruiter, notice_plan="none",
                               notice_skip_reason="test")
        application_create(actor=recruiter, candidate=people["screening"], job=jobs["data"], stage="screening")
        pool = pool_create(name="Everyone", kind="static", actor=recruiter)
        pool_add_members(pool=pool, candidate_ids=[p.pk for p in people.values()], actor=recruiter)
        campaign = campaigns.campaign_save(
            actor=recruiter, name="Jobs for you", topic="job_offers", pool_ids=[pool.pk],
            template=EmailTemplate.objects.get(kind="job_offers_digest", language="en"))
    return {"tenant": tenant_a, "jobs": jobs, "people": people, "campaign": campaign}


def offered_jobs(html):
    """The titles of the jobs the digest links to (the "we remembered you" line names a job without a link)."""
    from crm.models import Job

    ids = {int(pk) for pk in re.findall(r'href="[^"]*/jobs/(\d+)/"', html)}
    return set(Job.all_tenants.filter(pk__in=ids).values_list("title", flat=True))


def test_the_digest_offers_no_job_the_person_applied_to(digest, django_capture_on_commit_callbacks):
    tenant = digest["tenant"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=digest["campaign"], actor=tenant.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    with tenant.scope():
        send_all()
    sent = {email.to[0]: email.alternatives[0][0] for email in mail.outbox}
    assert set(sent) == {"rejected@example.test", "screening@example.test", "fresh@example.test"}
    assert offered_jobs(sent["fresh@example.test"]) == {"Django developer", "Data engineer"}
    # Rejected after the interviews for the Django job: offered the other Python job only.
    assert offered_jobs(sent["rejected@example.test"]) == {"Data engineer"}
    # Still in the pipeline for the data job: not offered it again.
    assert offered_jobs(sent["screening@example.test"]) == {"Django developer"}
    with tenant.scope():
        # The Go developer was rejected from the one Go job: nothing to offer, not even a queued email.
        assert not Message.objects.filter(candidate=digest["people"]["gopher"]).exists()


def test_the_preview_counts_only_people_with_a_job_to_offer(digest):
    with digest["tenant"].scope():
        preview = campaigns.preview_run(type("Op", (), {"params": {"campaign": digest["campaign"].pk}})(),
                                        lambda *a: None)
    assert preview["eligible"] == 3 and preview["audience"] == 3


def test_the_matches_page_and_the_digest_leave_out_the_same_people(digest):
    tenant, jobs = digest["tenant"], digest["jobs"]
    with tenant.scope():
        django_matches = {m.candidate.first_name for m in job_matches(jobs["django"])}
        data_matches = {m.candidate.first_name for m in job_matches(jobs["data"])}
    assert django_matches == {"Screening", "Fresh"}
    assert data_matches == {"Rejected", "Fresh"}
    page = tenant.recruiter_client.get(f"/o/{tenant.slug}/jobs/{jobs['django'].pk}/matches/").content.decode()
    assert "Fresh" in page and "Rejected" not in page


def test_a_withdrawn_application_also_keeps_the_job_out(digest, django_capture_on_commit_callbacks):
    from crm.services import application_withdraw

    tenant = digest["tenant"]
    with tenant.scope():
        application = application_create(actor=tenant.recruiter, candidate=digest["people"]["fresh"],
                                         job=digest["jobs"]["data"])
        application_withdraw(application=application, actor=tenant.recruiter, note="took another job")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=digest["campaign"], actor=tenant.recruiter)
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    with tenant.scope():
        send_all()
        assert Message.objects.get(candidate=digest["people"]["fresh"]).status == MessageStatus.SENT
    sent = {email.to[0]: email.alternatives[0][0] for email in mail.outbox}
    assert offered_jobs(sent["fresh@example.test"]) == {"Django developer"}
