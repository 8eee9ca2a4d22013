import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from consent.models import Action, ConsentPurpose, ConsentState, Source
from consent.services import record
from crm.models import Candidate
from crm.services import job_save
from outreach import dispatch
from outreach import services as outreach_services
from outreach.models import Campaign
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_add_members, pool_create

from ..factories import PASSWORD, CandidateFactory
from .conftest import login


def send(limit=dispatch.BATCH_SIZE):
    """What the `send_due_messages` worker does: claim due emails and send them."""
    ids = dispatch.claim_due(limit)
    assert ids, "nothing was due"
    return dispatch.send_batch(ids)


def test_build_preview_launch_watch_progress_and_read_results(new_page, tenant_a, mailoutbox, monkeypatch,
                                                              live_server):
    with tenant_a.scope():
        # An open Python job, so that the job-offers digest has something to show everyone.
        job_save(actor=tenant_a.recruiter, title="Django developer", status="open",
                 required_skills=["python"])
        job_offers = ConsentPurpose.objects.get(key="job_offers")

        def candidate(first_name, last_name, *, consent=True):
            person = CandidateFactory(organization=tenant_a.organization, first_name=first_name,
                                      last_name=last_name, email=f"{first_name.lower()}@example.test",
                                      skills=["python"])
            if consent:
                record(candidate=person, purpose=job_offers, action=Action.CONFIRMED, source=Source.RECRUITER,
                       frequency="monthly")
            return person

        eligible = [candidate("Ada", "Lovelace"), candidate("Grace", "Hopper"), candidate("Alan", "Turing")]
        never_agreed = candidate("Barbara", "Liskov", consent=False)
        expired = candidate("Ken", "Thompson")
        ConsentState.objects.filter(candidate=expired).update(expires_at=timezone.now() - timedelta(days=1))
        do_not_contact = candidate("Margaret", "Hamilton")
        Candidate.objects.filter(pk=do_not_contact.pk).update(
            do_not_contact=True, do_not_contact_reason="Asked never to be contacted again")
        pool = pool_create(name="Pythonistas to reconnect", kind="static", actor=tenant_a.recruiter)
        members = [*eligible, never_agreed, expired, do_not_contact]
        pool_add_members(pool=pool, candidate_ids=[p.pk for p in members], actor=tenant_a.recruiter)
    mailoutbox.clear()

    page = new_page()
    login(page, tenant_a.recruiter.email, PASSWORD)

    # 1. Build the campaign.
    page.click("nav.mainnav >> text=Campaigns")
    expect(page.locator("h1")).to_have_text("Campaigns")
    expect(page.locator(".empty")).to_contain_text("No campaign yet.")
    page.click("text=New campaign")
    expect(page.locator("h1")).to_have_text("New campaign")
    page.fill("#id_name", "Python jobs in March")
    page.select_option("#id_topic", label="Job offers")
    page.get_by_label("Pythonistas to reconnect").check()
    digest = page.locator("#id_template option", has_text=re.compile(r"^Job offers digest · English · "))
    expect(digest).to_have_count(1)
    page.select_option("#id_template", label=digest.inner_text())
    expect(page.get_by_label("As soon as it is launched")).to_be_checked()
    page.click("button:text('Save draft and check the audience')")

    # 2. The audience: the quick counts at once, then the exact count with the reasons.
    expect(page.locator(".flash")).to_contain_text("Draft saved. Check the audience, then launch it.")
    expect(page.locator("h1")).to_contain_text("Python jobs in March")
    expect(page.get_by_test_id("campaign-status")).to_have_text("Draft")
    audience = page.locator("#audience")
    expect(audience.get_by_test_id("audience-count")).to_have_text("6")
    expect(audience.get_by_test_id("eligible-count")).to_have_text("3")
    audience.get_by_role("button", name="Count exactly, with the reasons for each exclusion").click()
    # The count runs as a Celery task enqueued on commit: tasks are eager in tests and the live server
    # commits for real, so it has run by the time the page loads; the page would poll it otherwise.
    expect(page).to_have_url(re.compile(r"\?preview=\d+#audience$"))
    audience = page.locator("#audience")
    expect(audience.get_by_test_id("exact-summary")).to_have_text("3 of 6 may receive it.")
    exclusions = audience.get_by_test_id("exclusions")
    for reason in ("No consent for this topic", "Consent expired", "Do not contact"):
        row = exclusions.locator("tr", has=page.locator("th", has_text=reason))
        expect(row.locator("td")).to_have_text("1")
    expect(exclusions.locator("tr")).to_have_count(3)
    expect(audience.get_by_role("button", name="Count again")).to_be_visible()

    # 3. Launch. Launching enqueues the beat's task `run_due_campaigns` on commit; tasks are eager in tests
    # and the live server commits for real, so the launch request itself starts the run and writes its
    # recipients to the outbox. Preparing then nudges `send_due_messages`, which would send all three
    # emails within that same request too: the page would only ever show a finished run. The nudge is
    # held back here (as `no_nudge` does in tests/outreach/test_campaigns.py) so that the test sends
    # the emails itself, a few at a time, and watches the polled progress bar move.
    monkeypatch.setattr(outreach_services, "nudge_dispatch", lambda: None)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Launch").click()
    expect(page.locator(".flash")).to_contain_text("Launched: the first run starts now.")
    expect(page.get_by_test_id("campaign-status")).to_have_text("Sending")
    runs = page.get_by_test_id("run")
    expect(runs).to_have_count(1)
    run = runs.first
    expect(run.get_by_test_id("run-status")).to_have_text("Sending")
    expect(run.get_by_test_id("run-percent")).to_have_text("0")
    expect(run.get_by_test_id("run-progress")).to_have_attribute("value", "0")
    expect(run.get_by_test_id("run-sent")).to_have_text("0")
    expect(run).to_contain_text("Audience 6, queued 3")
    expect(page.locator("#runs[hx-trigger='every 2s']")).to_have_count(1)  # under way: the section polls
    assert mailoutbox == []

    # The worker sends one email, then the other two: the bar follows without a reload.
    send(limit=1)
    expect(run.get_by_test_id("run-percent")).to_have_text("33", timeout=15_000)
    expect(run.get_by_test_id("run-progress")).to_have_attribute("value", "33")
    expect(run.get_by_test_id("run-sent")).to_have_text("1")
    send()
    expect(run.get_by_test_id("run-percent")).to_have_text("100", timeout=15_000)
    expect(run.get_by_test_id("run-progress")).to_have_attribute("value", "100")
    expect(run.get_by_test_id("run-sent")).to_have_text("3")
    expect(run.get_by_test_id("run-status")).to_have_text("Sending")  # until the beat sees every outcome
    # The beat's next tick closes the run (every email has an outcome), which finishes the campaign.
    run_due_campaigns()
    expect(run.get_by_test_id("run-status")).to_have_text("Done", timeout=15_000)
    expect(page.locator("#runs[hx-trigger]")).to_have_count(0)  # nothing under way: polling stops
    expect(run.get_by_test_id("run-percent")).to_have_text("100")
    expect(run.get_by_test_id("run-sent")).to_have_text("3")
    page.reload()  # the status badge is outside the polled section
    expect(page.get_by_test_id("campaign-status")).to_have_text("Finished")
    expect(page.get_by_role("button", name="Launch")).to_have_count(0)
    with tenant_a.scope():
        assert Campaign.objects.get().status == "finished"

    # 4. The results, with a bar for today in the chart.
    results = page.get_by_test_id("results")
    sent = results.locator("div", has=page.locator("dt", has_text=re.compile("^Sent$")))
    expect(sent.locator("dd")).to_have_text("3")
    chart = page.get_by_test_id("results-chart")
    expect(chart).to_be_visible()
    today = timezone.now().astimezone(tenant_a.organization.time_zone).strftime("%d %b")
    expect(chart.locator("rect.bar:not(.alt)")).to_have_count(1)
    expect(chart.locator("rect.bar:not(.alt) title")).to_have_text(f"{today}: 3 sent")
    expect(chart.locator("desc")).to_contain_text(f"{today}: 3 sent, 0 clicked.")

    # 5. Exactly the eligible got it, each with one-click unsubscribe.
    assert sorted(email.to[0] for email in mailoutbox) == sorted(p.email for p in eligible)
    for email in mailoutbox:
        assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert email.extra_headers["List-Unsubscribe"].startswith(f"<{live_server.url}/p/u/")
        assert "Django developer" in email.alternatives[0][0]
