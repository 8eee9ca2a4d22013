import re

from playwright.sync_api import expect

from consent.services import record_on_behalf
from crm.models import RejectionReason
from crm.services import application_create, application_reject, job_save
from talentpools.services import tag_create

from ..factories import PASSWORD, CandidateFactory
from .conftest import login


def test_smart_pool_with_consent_topic_then_bulk_tag_and_find_by_tag(new_page, tenant_a):
    with tenant_a.scope():
        def candidate(first_name, last_name, seniority, skills, *, job_offers=False, **fields):
            person = CandidateFactory(organization=tenant_a.organization, first_name=first_name,
                                      last_name=last_name, seniority=seniority, skills=skills, **fields)
            if job_offers:
                record_on_behalf(candidate=person, grants={"job_offers": "monthly"},
                                 note="Agreed by phone after the meet-up", actor=tenant_a.recruiter)
            return person

        candidate("Ada", "Lovelace", "senior", ["python", "django"], job_offers=True)
        candidate("Grace", "Hopper", "senior", ["python"], job_offers=True)
        candidate("Barbara", "Liskov", "senior", ["python"])  # never agreed to job offers
        candidate("Ken", "Thompson", "junior", ["python"], job_offers=True)
        candidate("Dennis", "Ritchie", "senior", ["c"], job_offers=True)
        candidate("Margaret", "Hamilton", "senior", ["python"], job_offers=True, do_not_contact=True,
                  do_not_contact_reason="Asked never to be contacted again")
        tag_create(name="Reconnect Q1")
    wanted = ["Ada Lovelace", "Grace Hopper"]
    left_out = ["Barbara Liskov", "Ken Thompson", "Dennis Ritchie", "Margaret Hamilton"]

    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)
    page.click("nav.mainnav >> text=Pools")
    page.click("text=New smart pool")
    page.fill("#id_name", "Python seniors open to offers")
    page.select_option("#id_seniority", label=["Senior"])
    page.get_by_label("Has all these skills").fill("python")
    page.get_by_label("Consent: job offers matching my profile").select_option(
        label="Has given it (confirmed, not expired)")

    # The live preview counts before anything is saved.
    preview = page.locator("#preview")
    expect(preview.get_by_test_id("preview-count")).to_have_text("2")
    for name in wanted:
        expect(preview).to_contain_text(name)
    page.click("button:text('Create pool')")

    expect(page.locator(".flash")).to_contain_text("Pool “Python seniors open to offers” created.")
    expect(page.get_by_test_id("pool-count")).to_have_text("2")
    results = page.locator("#results")
    for name in wanted:
        expect(results).to_contain_text(name)
    for name in left_out:
        expect(results).not_to_contain_text(name)

    # Tag every member at once from the bulk bar.
    bulk = page.locator("#bulk-form")
    bulk.get_by_label("All 2 members").check()
    bulk.locator("#bulk-action").select_option(label="Add the tag")
    bulk.locator("#bulk-tag").select_option(label="Reconnect Q1")
    bulk.get_by_role("button", name="Apply").click()
    expect(page.locator(".flash")).to_contain_text("Done: 2 candidates newly tagged.")

    # The tag finds them again in the candidate list.
    page.click("nav.mainnav >> text=Candidates")
    page.select_option("#filter-tag", label="Reconnect Q1")
    page.click("form.tag-filter >> button:text('Show')")
    expect(page).to_have_url(re.compile(r"[?&]tags_all=\d+"))
    expect(page.get_by_test_id("candidate-count")).to_have_text("2")
    results = page.locator("#results")
    for name in wanted:
        expect(results).to_contain_text(name)
    for name in left_out:
        expect(results).not_to_contain_text(name)

    # A tagged candidate's page shows the tag and the smart pool she is in.
    results.get_by_role("link", name="Ada Lovelace").click()
    expect(page.locator("h1")).to_contain_text("Ada Lovelace")
    expect(page.locator("#tags-panel")).to_contain_text("Reconnect Q1")
    expect(page.locator("#pools-panel")).to_contain_text("Python seniors open to offers")


def test_job_page_shows_silver_medalist_first_with_the_reason(new_page, tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Backend engineer", status="open",
                       required_skills=["python", "django", "postgres"], seniority="senior")
        earlier_job = job_save(actor=tenant_a.recruiter, title="Platform engineer", status="open")

        def candidate(first_name, last_name, seniority, skills, **fields):
            return CandidateFactory(organization=tenant_a.organization, first_name=first_name,
                                    last_name=last_name, seniority=seniority, skills=skills, **fields)

        # Fewer skills in common than Alan, but she reached the final interview elsewhere.
        grace = candidate("Grace", "Hopper", "mid", ["python", "django", "cobol"])
        earlier = application_create(actor=tenant_a.recruiter, candidate=grace, job=earlier_job, stage="final")
        application_reject(application=earlier, reason=RejectionReason.objects.first(), actor=tenant_a.recruiter)
        candidate("Alan", "Turing", "senior", ["python", "django", "postgres"])
        candidate("Linus", "Torvalds", "senior", ["postgres", "c"])
        candidate("Margaret", "Hamilton", "senior", ["python", "django", "postgres"], do_not_contact=True,
                  do_not_contact_reason="Asked never to be contacted again")
        barbara = candidate("Barbara", "Liskov", "senior", ["python", "django", "postgres"])
        application_create(actor=tenant_a.recruiter, candidate=barbara, job=job)

    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)
    page.goto(f"/o/{tenant_a.slug}/jobs/{job.pk}/")
    panel = page.locator("#job-matches-panel")
    matches = panel.get_by_test_id("match")
    expect(matches).to_have_count(3)
    first = matches.nth(0)
    expect(first).to_contain_text("Grace Hopper")
    expect(first.get_by_test_id("match-why")).to_contain_text("Silver medalist")
    expect(first.get_by_test_id("match-why")).to_contain_text("2 of 3 skills: django, python")
    expect(matches.nth(1)).to_contain_text("Alan Turing")
    expect(matches.nth(1).get_by_test_id("match-why")).to_contain_text("3 of 3 skills")
    expect(panel).not_to_contain_text("Margaret Hamilton")  # do not contact
    expect(panel).not_to_contain_text("Barbara Liskov")  # already in this pipeline

    matches.nth(1).get_by_role("button", name="Add to pipeline").click()
    expect(page.locator(".flash")).to_contain_text("Alan Turing added to the pipeline of Backend engineer.")
    expect(page.locator("h1")).to_contain_text("Backend engineer")
    expect(page.locator("#col-applied").locator("..")).to_contain_text("Alan Turing")
    matches = page.locator("#job-matches-panel").get_by_test_id("match")
    expect(matches).to_have_count(2)
    expect(matches.nth(0)).to_contain_text("Grace Hopper")
    expect(page.locator("#job-matches-panel")).not_to_contain_text("Alan Turing")
