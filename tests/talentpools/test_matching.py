"""Matching a job: silver medalists first, then skills and tags in common, seniority and how far they got."""

import pytest

from crm.models import RejectionReason
from crm.services import application_create, application_reject, candidate_set_silver_medalist, job_save
from talentpools.matching import job_matches
from talentpools.services import job_tags_set, tag_candidates, tag_create

from ..factories import CandidateFactory


@pytest.fixture
def opening(tenant_a):
    org = tenant_a.organization
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Senior backend engineer", status="open",
                       required_skills=["python", "django", "postgresql"], seniority="senior")
        other_job = job_save(actor=tenant_a.recruiter, title="Platform engineer", status="open")
        aws = tag_create(name="Cloud")
        job_tags_set(job=job, tag_ids=[aws.pk])
        people = {
            "all_skills": CandidateFactory(organization=org, first_name="Alma", seniority="senior",
                                           skills=["python", "django", "postgresql"]),
            "silver": CandidateFactory(organization=org, first_name="Silva", seniority="mid", skills=["python"]),
            "two_skills_lead": CandidateFactory(organization=org, first_name="Lea", seniority="lead",
                                                skills=["python", "django"]),
            "two_skills_final": CandidateFactory(organization=org, first_name="Fin", seniority="junior",
                                                 skills=["python", "django"]),
            "tag_only": CandidateFactory(organization=org, first_name="Tad", seniority="intern", skills=["excel"]),
            "nothing": CandidateFactory(organization=org, first_name="Nob", skills=["cooking"]),
            "dnc": CandidateFactory(organization=org, first_name="Dee", seniority="senior",
                                    skills=["python", "django", "postgresql"], do_not_contact=True,
                                    do_not_contact_reason="asked"),
            "in_pipeline": CandidateFactory(organization=org, first_name="Pip", seniority="senior",
                                            skills=["python", "django", "postgresql"]),
        }
        tag_candidates(tag=aws, candidate_ids=[people["tag_only"].pk], actor=tenant_a.recruiter)
        candidate_set_silver_medalist(candidate=people["silver"], actor=tenant_a.recruiter, value=True,
                                      note="Final interview for Data engineer")
        reason = RejectionReason.objects.first()
        earlier = application_create(actor=tenant_a.recruiter, candidate=people["two_skills_final"], job=other_job,
                                     stage="interview")
        application_reject(application=earlier, reason=reason, actor=tenant_a.recruiter, notice_plan="none",
                           notice_skip_reason="test")
        application_create(actor=tenant_a.recruiter, candidate=people["in_pipeline"], job=job, stage="screening")
    return {"job": job, "people": people, "tenant": tenant_a}


def test_the_order_and_who_is_left_out(opening):
    with opening["tenant"].scope():
        matches = job_matches(opening["job"])
    names = [m.candidate.first_name for m in matches]
    # Silver first; then 3 skills + seniority (11); 2 skills + a level away (7); 2 skills + interview (7, but
    # less seniority fit: 6 + 1 = 7, then by activity); a job tag (2).
    assert names[0] == "Silva"
    assert names[1] == "Alma"
    assert set(names[2:4]) == {"Lea", "Fin"}
    assert names[4] == "Tad"
    assert "Dee" not in names and "Pip" not in names and "Nob" not in names
    scores = {m.candidate.first_name: m.score for m in matches}
    assert scores["Alma"] == 3 * 3 + 2 and scores["Lea"] == 2 * 3 + 1 and scores["Fin"] == 2 * 3 + 1
    assert scores["Tad"] == 2


def test_each_match_says_why(opening):
    with opening["tenant"].scope():
        why = {m.candidate.first_name: m.why for m in job_matches(opening["job"])}
    assert why["Silva"].startswith("Silver medalist: Final interview for Data engineer")
    assert "1 of 3 skills: python" in why["Silva"]
    assert "3 of 3 skills: django, postgresql, python" in why["Alma"] and "Senior, as the job" in why["Alma"]
    assert "Lead, one level from the job" in why["Lea"]
    assert "Reached interview for Platform engineer" in why["Fin"]
    assert why["Tad"] == "Tagged Cloud"


def test_a_job_without_skills_or_tags_matches_nobody_and_says_what_to_do(tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Mystery role", status="open")
        CandidateFactory(organization=tenant_a.organization, skills=["python"])
        assert job_matches(job) == []
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/jobs/{job.pk}/matches/").content.decode()
    assert "Give the job its required skills" in page


def test_the_job_page_and_the_api_show_the_same_ranking(opening):
    tenant, job = opening["tenant"], opening["job"]
    page = tenant.recruiter_client.get(f"/o/{tenant.slug}/jobs/{job.pk}/")
    assert "Candidates to reconnect with" in page.content.decode()
    panel = tenant.recruiter_client.get(f"/o/{tenant.slug}/jobs/{job.pk}/matches/", HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert html.index("Silva") < html.index("Alma") < html.index("Tad")
    response = tenant.api.get(f"/api/v1/jobs/{job.pk}/matches/", {"limit": 2})
    body = response.json()
    assert [m["candidate"]["first_name"] for m in body] == ["Silva", "Alma"]
    assert body[0]["silver_medalist"] is True and body[0]["reasons"][0].startswith("Silver medalist")
    assert tenant.api.get(f"/api/v1/jobs/{job.pk}/matches/", {"limit": 0}).status_code == 400
    # Hiring managers do not get the talent base through a job page.
    assert tenant.hiring_manager_client.get(f"/o/{tenant.slug}/jobs/{job.pk}/matches/").status_code == 404


def test_adding_a_match_to_the_pipeline_takes_them_out_of_the_matches(opening):
    tenant, job = opening["tenant"], opening["job"]
    alma = opening["people"]["all_skills"]
    response = tenant.recruiter_client.post(f"/o/{tenant.slug}/candidates/{alma.pk}/add-to-job/",
                                            {"job": job.pk, "next": f"/o/{tenant.slug}/jobs/{job.pk}/"})
    assert response["Location"] == f"/o/{tenant.slug}/jobs/{job.pk}/"
    with tenant.scope():
        assert "Alma" not in [m.candidate.first_name for m in job_matches(job)]
