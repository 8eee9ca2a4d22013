"""What a campaign needs before it goes: the organization's postal address (refused without it, on the page
and in the API), and templates that carry what the chosen options add (the builder warns)."""

import pytest

from crm.models import Organization
from crm.services import ServiceError
from outreach import campaigns
from outreach.models import Campaign, CampaignRun, EmailTemplate
from outreach.services import template_save
from talentpools.services import pool_create


@pytest.fixture
def draft(tenant_a):
    with tenant_a.scope():
        pool = pool_create(name="Everyone with Python", kind="smart", definition={"skills_all": ["python"]},
                           actor=tenant_a.recruiter)
        template = EmailTemplate.objects.get(kind="company_news", language="en")
        campaign = campaigns.campaign_save(actor=tenant_a.recruiter, name="News", topic="company_news",
                                           pool_ids=[pool.pk], template=template)
    return campaign


def without_postal_address(tenant, value=""):
    Organization.objects.filter(pk=tenant.organization.pk).update(postal_address=value)
    tenant.organization.refresh_from_db()


def page(tenant, client, campaign, suffix=""):
    return client.get(f"/o/{tenant.slug}/campaigns/{campaign.pk}/{suffix}")


@pytest.mark.parametrize("address", ["", "  \n  "])
def test_the_service_refuses_a_launch_without_a_postal_address(tenant_a, draft, address):
    without_postal_address(tenant_a, address)
    with tenant_a.scope(), pytest.raises(ServiceError) as refused:
        campaigns.campaign_launch(campaign=draft, actor=tenant_a.recruiter)
    assert refused.value.field == "postal_address" and "postal address" in refused.value.message
    with tenant_a.scope():
        assert Campaign.objects.get(pk=draft.pk).status == "draft"
        assert not CampaignRun.objects.exists()


def test_the_page_refuses_the_launch_and_points_to_the_settings(tenant_a, draft):
    without_postal_address(tenant_a)
    response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/campaigns/{draft.pk}/action/",
                                          {"action": "launch"}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Add your organization&#x27;s postal address in Settings before launching" in body
    assert f'href="/o/{tenant_a.slug}/settings/"' in body
    with tenant_a.scope():
        assert Campaign.objects.get(pk=draft.pk).status == "draft"
    # Once the address is there, the same button launches it.
    Organization.objects.filter(pk=tenant_a.organization.pk).update(postal_address="2 Quai de Seine, Paris")
    tenant_a.admin_client.post(f"/o/{tenant_a.slug}/campaigns/{draft.pk}/action/", {"action": "launch"})
    with tenant_a.scope():
        assert Campaign.objects.get(pk=draft.pk).status != "draft"


def test_the_api_answers_400_naming_the_postal_address(tenant_a, draft):
    without_postal_address(tenant_a)
    response = tenant_a.api.post(f"/api/v1/campaigns/{draft.pk}/launch/")
    assert response.status_code == 400
    assert list(response.json()) == ["postal_address"]
    assert "postal address" in response.json()["postal_address"][0]
    with tenant_a.scope():
        assert Campaign.objects.get(pk=draft.pk).status == "draft"


def test_the_builder_warns_before_the_launch_when_the_address_is_missing(tenant_a, draft):
    without_postal_address(tenant_a)
    detail = page(tenant_a, tenant_a.recruiter_client, draft).content.decode()
    assert 'data-testid="postal-address-warning"' in detail
    new = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/campaigns/new/").content.decode()
    assert 'data-testid="postal-address-warning"' in new
    Organization.objects.filter(pk=tenant_a.organization.pk).update(postal_address="2 Quai de Seine, Paris")
    assert 'data-testid="postal-address-warning"' not in page(tenant_a, tenant_a.recruiter_client,
                                                               draft).content.decode()


def test_referrals_on_with_a_template_without_the_referral_link_is_warned_about(tenant_a, draft):
    with tenant_a.scope():
        bare = template_save(actor=tenant_a.recruiter, kind="company_news", language="en", name="Bare news",
                             subject="News", html_body="<p>Hello {{ candidate.first_name }}.</p>", text_body="")
        campaigns.campaign_save(actor=tenant_a.recruiter, campaign=draft, template=bare, referral=True)
    for suffix in ("", "edit/"):
        body = page(tenant_a, tenant_a.recruiter_client, draft, suffix).content.decode()
        assert 'data-testid="template-warning"' in body, suffix
        assert "Referrals are on, but the template “Bare news”" in body and "links.referral" in body
    # The default template carries the link: no warning.
    with tenant_a.scope():
        default = EmailTemplate.objects.get(kind="company_news", language="en", name="Default (en)")
        campaigns.campaign_save(actor=tenant_a.recruiter, campaign=draft, template=default, referral=True)
    assert 'data-testid="template-warning"' not in page(tenant_a, tenant_a.recruiter_client, draft).content.decode()
    # Referrals off: a template without the link is fine.
    with tenant_a.scope():
        campaigns.campaign_save(actor=tenant_a.recruiter, campaign=draft, template=bare, referral=False)
    assert 'data-testid="template-warning"' not in page(tenant_a, tenant_a.recruiter_client, draft).content.decode()


def test_a_language_template_without_the_link_is_named_too(tenant_a, draft):
    with tenant_a.scope():
        french = template_save(actor=tenant_a.recruiter, kind="company_news", language="fr", name="Brève",
                               subject="Nouvelles", html_body="<p>Bonjour {{ candidate.first_name }}.</p>",
                               text_body="")
        campaigns.campaign_save(actor=tenant_a.recruiter, campaign=draft, referral=True,
                                language_templates={"fr": french.pk})
        warnings = campaigns.campaign_warnings(Campaign.objects.get(pk=draft.pk))
    assert len(warnings) == 1 and "“Brève” (Français)" in warnings[0]


def test_an_event_template_without_the_answer_link_is_warned_about(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    with tenant_a.scope():
        pool = pool_create(name="Anyone", kind="static", actor=tenant_a.recruiter)
        no_rsvp = template_save(actor=tenant_a.recruiter, kind="event_invitation", language="en", name="Meetup",
                                subject="Meetup", html_body="<p>Come to {{ event.name }} on {{ event.date }}.</p>",
                                text_body="")
        campaign = campaigns.campaign_save(
            actor=tenant_a.recruiter, name="Meetup", topic="events", pool_ids=[pool.pk], template=no_rsvp,
            event_name="Meetup", event_starts_at=timezone.now() + timedelta(days=9), event_place="Lyon")
    body = page(tenant_a, tenant_a.recruiter_client, campaign).content.decode()
    assert "An event invitation carries each person&#x27;s answer link" in body and "event.rsvp_link" in body


def test_the_builder_form_warns_when_it_is_sent_back_with_errors(tenant_a):
    with tenant_a.scope():
        bare = template_save(actor=tenant_a.recruiter, kind="company_news", language="en", name="Bare news",
                             subject="News", html_body="<p>Hello.</p>", text_body="")
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/campaigns/new/", {
        "name": "News", "topic": "company_news", "template": bare.pk, "schedule": "now", "max_jobs": 5,
        "referral": "on"})  # no pool: refused, and the form comes back
    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose at least one pool" in body and 'data-testid="template-warning"' in body
    with tenant_a.scope():
        assert not Campaign.objects.exists()
