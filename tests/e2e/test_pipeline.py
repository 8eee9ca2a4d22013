from playwright.sync_api import expect

from crm.services import application_create, job_save

from ..factories import PASSWORD, CandidateFactory
from .conftest import login


def test_feedback_rejection_silver_medal_waiting_and_undo(new_page, tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Flight software engineer", status="open",
                       hiring_managers=[tenant_a.hiring_manager])
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Margaret", last_name="Hamilton")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job, stage="interview")
    application_url = f"/o/{tenant_a.slug}/applications/{application.pk}/"

    # The hiring manager leaves shareable feedback from "My applications".
    manager = new_page()
    login(manager, tenant_a.hiring_manager.email, PASSWORD)
    manager.click("nav.mainnav >> text=My applications")
    manager.click("text=Margaret Hamilton")
    manager.fill("#id_strengths", "Rigorous, calm under pressure")
    manager.fill("#id_improvements", "Could delegate more")
    manager.check("input[name=shareable][value=true]")
    manager.click("text=Save feedback")
    expect(manager.locator(".flash")).to_contain_text("A recruiter will review it")

    # The recruiter moves her to the final interview on the board, with the keyboard controls.
    recruiter = new_page()
    login(recruiter, tenant_a.recruiter.email, PASSWORD)
    recruiter.goto(f"/o/{tenant_a.slug}/jobs/{job.pk}/")
    card = recruiter.locator(f"#application-{application.pk}")
    card.locator("select").select_option("final")
    card.get_by_role("button", name="Move").click()
    expect(recruiter.locator("#col-final").locator("..")).to_contain_text("Margaret Hamilton")

    # She rejects with a reason: a silver medalist, waiting for a notice.
    recruiter.goto(application_url)
    expect(recruiter.locator("main")).to_contain_text("Rigorous, calm under pressure")
    recruiter.select_option("#id_reason", label="Another candidate chosen")
    recruiter.click("button:text('Reject')")
    expect(recruiter.get_by_test_id("stage")).to_have_text("Rejected")
    expect(recruiter.get_by_test_id("silver-badge")).to_be_visible()
    recruiter.click("nav.mainnav >> text=Waiting")
    expect(recruiter.locator("main")).to_contain_text("Margaret Hamilton")

    # Undo restores the final stage and the flag goes.
    recruiter.goto(application_url)
    recruiter.click("text=Undo the rejection")
    expect(recruiter.get_by_test_id("stage")).to_have_text("Final interview")
    expect(recruiter.get_by_test_id("silver-badge")).to_have_count(0)
