"""Campaigns through the API and the pages: drafts, launching once, states, stats, preview."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from outreach.models import Campaign, CampaignRun, EmailTemplate
from outreach.tasks import run_due_campaigns

from .test_campaigns import audience, grant  # noqa: F401  (fixtures)


@pytest.fixture
def draft(audience):  # noqa: F811
    tenant = audience["tenant"]
    response = tenant.api.post("/api/v1/campaigns/", {
        "name": "Python jobs", "topic": "job_offers", "pool_ids": [audience["pool"].pk],
        "template": audience["template"].pk}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_launch_twice_and_read_the_stats(audience, draft, django_capture_on_commit_callbacks):  # noqa: F811
    api = audience["tenant"].api
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(f"/api/v1/campaigns/{draft['id']}/launch/")
        second = api.post(f"/api/v1/campaigns/{draft['id']}/launch/")
    assert first.status_code == second.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    run_due_campaigns()
    stats = api.get(f"/api/v1/campaigns/{draft['id']}/stats/").json()
    assert len(stats["runs"]) == 1 and stats["total"]["sent"] == 2 and stats["status"] == "finished"
    assert stats["runs"][0]["progress"]["percent"] == 100
    assert len(mail.outbox) == 2
    # A finished campaign cannot be changed, paused or resumed: 409 with the reason.
    assert api.patch(f"/api/v1/campaigns/{draft['id']}/", {"name": "New"}, format="json").status_code == 409
    assert api.post(f"/api/v1/campaigns/{draft['id']}/pause/").status_code == 409
    assert api.post(f"/api/v1/campaigns/{draft['id']}/resume/").status_code == 409


@pytest.mark.parametrize("body, field", [
    ({"scheduled_at": "2020-01-01T09:00:00Z", "schedule": "once"}, "scheduled_at"),
    ({"pool_ids": []}, "pool_ids"),
    ({"topic": "events"}, "template"),
    ({"schedule": "monthly", "day_of_month": 30, "send_time": "09:00"}, "day_of_month"),
    ({"schedule": "fortnightly"}, "schedule"),
])
def test_bad_campaigns_through_the_api(audience, body, field):  # noqa: F811
    base = {"name": "Bad", "topic": "job_offers", "pool_ids": [audience["pool"].pk],
            "template": audience["template"].pk}
    response = audience["tenant"].api.post("/api/v1/campaigns/", {**base, **body}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    with audience["tenant"].scope():
        assert not Campaign.objects.exists()


def test_audience_preview_at_once_and_exact(audience, draft, django_capture_on_commit_callbacks):  # noqa: F811
    api = audience["tenant"].api
    assert api.get(f"/api/v1/campaigns/{draft['id']}/audience-preview/").json() == {
        "audience": 7, "audience_capped": False, "eligible": 2, "eligible_capped": False}
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/campaigns/{draft['id']}/audience-preview/")
    assert response.status_code == 202
    operation = api.get(response.json()["operation"]["url"]).json()
    assert operation["status"] == "done"
    assert operation["result"]["excluded"] == {"No consent for this topic": 2, "Do not contact": 1,
                                               "Address bounced or complained": 1, "Consent expired": 1}


def test_the_builder_page_shows_errors_and_the_detail_page_the_exclusions(
        audience, django_capture_on_commit_callbacks):  # noqa: F811
    tenant = audience["tenant"]
    client, slug = tenant.recruiter_client, tenant.slug
    assert "No campaign yet" in client.get(f"/o/{slug}/campaigns/").content.decode()
    response = client.post(f"/o/{slug}/campaigns/new/", {
        "name": "Meetup", "topic": "events", "pool_ids": [audience["pool"].pk], "template": audience["template"].pk,
        "schedule": "once", "scheduled_at": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "max_jobs": 5})
    assert response.status_code == 400
    body = response.content.decode()
    assert "needs a “Event invitation” template" in body and "This moment has passed" in body
    response = client.post(f"/o/{slug}/campaigns/new/", {
        "name": "Python jobs", "topic": "job_offers", "pool_ids": [audience["pool"].pk],
        "template": audience["template"].pk, "schedule": "now", "max_jobs": 5})
    assert response.status_code == 302
    detail = response["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(detail + "action/", {"action": "preview"})
    page = client.get(response["Location"]).content.decode()
    assert "2 of 7 may receive it." in page and "Consent expired" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(detail + "action/", {"action": "launch"})
    with django_capture_on_commit_callbacks(execute=True):
        run_due_campaigns()
    run_due_campaigns()
    page = client.get(detail).content.decode()
    assert 'data-testid="run-percent">100<' in page and "results-chart" in page
    with tenant.scope():
        assert CampaignRun.objects.get().queued == 2
    assert tenant.hiring_manager_client.get(detail).status_code == 404


def test_language_templates_must_match_kind_and_language(audience):  # noqa: F811
    tenant = audience["tenant"]
    with tenant.scope():
        french_digest = EmailTemplate.objects.get(kind="job_offers_digest", language="fr")
        english_news = EmailTemplate.objects.filter(kind="company_news", language="en").first()
    base = {"name": "Bilingual", "topic": "job_offers", "pool_ids": [audience["pool"].pk],
            "template": audience["template"].pk}
    ok = tenant.api.post("/api/v1/campaigns/", {**base, "language_templates": {"fr": french_digest.pk}},
                         format="json")
    assert ok.status_code == 201
    wrong = tenant.api.post("/api/v1/campaigns/", {**base, "name": "x", "language_templates": {"fr": english_news.pk}},
                            format="json")
    assert wrong.status_code == 400 and "language_templates" in wrong.json()
