import re

from playwright.sync_api import expect

from consent.tokens import unsubscribe_token
from crm.models import Candidate, RejectionReason
from crm.services import application_create, application_reject, job_save
from outreach import dispatch

from ..factories import PASSWORD, CandidateFactory
from .conftest import login


def send_all():
    ids = dispatch.claim_due()
    if ids:
        dispatch.send_batch(ids)


def test_a_rejected_candidate_opts_in_confirms_tunes_and_unsubscribes(new_page, tenant_a, mailoutbox):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Data analyst", status="open")
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Noor", last_name="Haddad",
                                     email="noor@haddad.test")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
        application_reject(application=application, reason=RejectionReason.objects.first(), actor=tenant_a.recruiter,
                           notice_plan="now")
    from outreach.services import queue_decision_notice

    with tenant_a.scope():
        queue_decision_notice(application_id=application.pk)
    send_all()
    stay_link = re.search(r'href="(http[^"]+/p/s/[^"]+/)"', mailoutbox[-1].alternatives[0][0]).group(1)

    # The candidate follows the personal link of the rejection email and opts in to two topics.
    page = new_page()
    page.goto(stay_link)
    expect(page.locator("#id_email")).to_have_value("noor@haddad.test")
    page.check("#id_consent_job_offers")
    page.select_option("#id_frequency_job_offers", "monthly")
    page.check("#id_consent_events")
    page.select_option("#id_frequency_events", "quarterly")
    page.click("text=Send me the confirmation email")
    expect(page.locator("h1")).to_have_text("Check your inbox")

    # She confirms from the email, then changes a frequency in the preference centre.
    send_all()
    confirm_link = re.search(r'href="(http[^"]+/p/confirm/[^"]+/)"', mailoutbox[-1].alternatives[0][0]).group(1)
    page.goto(confirm_link)
    page.click("button:text('Confirm')")
    expect(page.locator("h1")).to_have_text("Thank you")
    page.click("text=Your preferences")
    page.select_option("#id_frequency_job_offers", "weekly")
    page.click("button:text('Save')")
    expect(page.locator("[role=status]")).to_have_text("Saved.")

    # One click on the unsubscribe link of a newsletter about events.
    page.goto(f"/p/u/{unsubscribe_token(Candidate.all_tenants.get(pk=candidate.pk), 'events')}/")
    page.click("button:text-is('Unsubscribe')")
    expect(page.locator("h1")).to_have_text("Done")

    # The recruiter sees every step in the ledger, with the text version and the source.
    recruiter = new_page()
    login(recruiter, tenant_a.recruiter.email, PASSWORD)
    recruiter.goto(f"/o/{tenant_a.slug}/candidates/{candidate.pk}/")
    panel = recruiter.locator("#consent-panel")
    panel.locator("summary", has_text="Ledger").click()
    ledger = panel.locator("ol.timeline")
    expect(ledger).to_contain_text("Job offers matching my profile: confirmed (monthly) text v1 en")
    expect(ledger).to_contain_text("Rejection-email link")
    expect(ledger).to_contain_text("Job offers matching my profile: frequency changed (weekly)")
    expect(ledger).to_contain_text("Preference centre")
    expect(ledger).to_contain_text("Events and meet-ups: withdrawn")
    expect(ledger).to_contain_text("Unsubscribe link")
