from playwright.sync_api import expect

from ..factories import PASSWORD, CandidateFactory
from .conftest import login


def test_a_recruiter_adds_finds_and_flags_a_candidate(new_page, tenant_a):
    with tenant_a.scope():
        for _ in range(30):
            CandidateFactory(organization=tenant_a.organization, headline="Accountant", seniority="mid",
                             skills=["excel"], location="Paris")
    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)
    page.click("nav.mainnav >> text=Candidates")
    expect(page.get_by_test_id("candidate-count")).to_have_text("30")

    page.click("text=Add candidate")
    page.fill("#id_first_name", "Katherine")
    page.fill("#id_last_name", "Johnson")
    page.fill("#id_email", "katherine@nasa.test")
    page.fill("#id_headline", "Orbital mechanics engineer")
    page.select_option("#id_seniority", "principal")
    page.fill("#id_location", "Hampton, Virginia")
    page.fill("#id_skills", "Fortran, trajectory analysis")
    page.click("main form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Katherine Johnson")

    # Found by search (htmx updates the results as she types)...
    page.click("nav.mainnav >> text=Candidates")
    page.fill("#id_q", "trajectory")
    expect(page.get_by_test_id("candidate-count")).to_have_text("1")
    expect(page.locator("#results")).to_contain_text("Katherine Johnson")
    # ...and by filters.
    page.fill("#id_q", "")
    page.select_option("#id_seniority", ["principal"])
    page.fill("#id_location", "hampton")
    page.click("form[role=search] button[type=submit]")
    expect(page.get_by_test_id("candidate-count")).to_have_text("1")
    page.click("#results >> text=Katherine Johnson")

    # A reason is required to mark do-not-contact; then it shows on the timeline.
    page.click("text=Mark do not contact")
    expect(page.locator(".flash")).to_contain_text("Say why")
    page.fill("#id_reason", "Asked by phone not to be contacted")
    page.click("text=Mark do not contact")
    expect(page.get_by_test_id("dnc-badge")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Marked do not contact: Asked by phone not to be contacted")


def test_a_duplicate_email_points_to_the_existing_candidate(new_page, tenant_a):
    with tenant_a.scope():
        existing = CandidateFactory(organization=tenant_a.organization, first_name="Ada", last_name="Lovelace",
                                    email="ada@engine.test")
    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)
    page.goto(f"/o/{tenant_a.slug}/candidates/new/")
    page.fill("#id_first_name", "Ada")
    page.fill("#id_email", "ADA@engine.test")
    page.click("main form button[type=submit]")
    expect(page.locator(".has-error")).to_contain_text("already exists")
    page.click("text=Open Ada Lovelace")
    expect(page).to_have_url(f"{page.url.split('/o/')[0]}/o/{tenant_a.slug}/candidates/{existing.pk}/")
