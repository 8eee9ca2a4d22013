import pytest
from django.urls import reverse

from crm.models import ApiKey, AuditEvent, Organization
from crm.tenancy import organization_scope

ADMIN_PAGES = ["organization_settings", "members", "api_keys", "organization_delete", "audit_log",
               "rejection_reasons"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admins_open_every_admin_page(tenant_a, name):
    response = tenant_a.admin_client.get(reverse(name, kwargs={"org_slug": tenant_a.slug}))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES)
@pytest.mark.parametrize("who", ["recruiter_client", "hiring_manager_client"])
def test_other_roles_are_told_the_admin_pages_do_not_exist(tenant_a, name, who):
    response = getattr(tenant_a, who).get(reverse(name, kwargs={"org_slug": tenant_a.slug}))
    assert response.status_code == 404


def test_settings_form_errors_show_on_the_page_and_save_nothing(tenant_a):
    url = reverse("organization_settings", kwargs={"org_slug": tenant_a.slug})
    response = tenant_a.admin_client.post(url, {"name": "", "time_zone": "Mars/Olympus", "working_days": [],
                                                "default_language": "en", "retention_months": 0,
                                                "brand_colour": "red"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "nothing was saved" in page
    assert "Choose at least one working day" in page
    assert Organization.objects.get(pk=tenant_a.organization.pk).name == "Acme Robotics"


def test_settings_are_saved_and_audited(tenant_a):
    url = reverse("organization_settings", kwargs={"org_slug": tenant_a.slug})
    response = tenant_a.admin_client.post(url, {
        "name": "Acme Robotics GmbH", "time_zone": "Europe/Berlin", "working_days": [0, 1, 2, 3],
        "default_language": "de", "sender_name": "Acme Talent", "sender_email": "talent@acme.test",
        "reply_to_email": "", "postal_address": "Street 1, Berlin", "privacy_notice_url": "",
        "retention_months": 18, "stale_after_working_days": 3, "brand_colour": "#112233",
        "notice_limit_working_days": 5, "message_retention_days": 90, "marketing_cap_days": 14,
        "campaign_rate_per_minute": 300,
    })
    assert response.status_code == 302
    organization = Organization.objects.get(pk=tenant_a.organization.pk)
    assert organization.name == "Acme Robotics GmbH"
    assert organization.working_days == [0, 1, 2, 3]
    assert str(organization.time_zone) == "Europe/Berlin"
    assert (organization.marketing_cap_days, organization.campaign_rate_per_minute) == (14, 300)
    assert AuditEvent.objects.filter(organization=organization, action="organization.updated").exists()


def test_html_in_names_is_shown_escaped(tenant_a):
    tenant_a.admin.first_name = "<script>alert(1)</script>"
    tenant_a.admin.save()
    page = tenant_a.admin_client.get(reverse("members", kwargs={"org_slug": tenant_a.slug})).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_api_key_is_shown_once_and_stored_hashed(tenant_a):
    url = reverse("api_keys", kwargs={"org_slug": tenant_a.slug})
    page = tenant_a.admin_client.post(url, {"name": "Greenhouse sync", "scope": "read_write"}).content.decode()
    import re

    secret = re.search(r'value="(sp_[^"]+)"', page).group(1)
    with organization_scope(tenant_a.organization):
        key = ApiKey.objects.get(name="Greenhouse sync")
    assert secret not in key.key_hash and key.key_hash != secret
    assert secret not in tenant_a.admin_client.get(url).content.decode()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/me/").json()["api_key"]["scope"] == "read_write"


def test_deleting_the_organization_needs_the_typed_slug(tenant_a):
    url = reverse("organization_delete", kwargs={"org_slug": tenant_a.slug})
    response = tenant_a.admin_client.post(url, {"confirmation": "acme robotics"})
    assert response.status_code == 400
    assert f"Type “{tenant_a.slug}” exactly" in response.content.decode()
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()


def test_deleting_the_organization_removes_its_data_in_the_background_and_is_audited(
    tenant_a, tenant_b, django_capture_on_commit_callbacks
):
    from consent.models import Action, ConsentPurpose, Source
    from consent.services import record
    from crm.models import RejectionReason
    from crm.services import application_create, application_reject, job_save

    from ..factories import CandidateFactory

    with organization_scope(tenant_a.organization):  # data of every kind, with the references between them
        candidate = CandidateFactory(organization=tenant_a.organization)
        job = job_save(actor=tenant_a.admin, title="Anything", status="open")
        application_reject(application=application_create(actor=tenant_a.admin, candidate=candidate, job=job),
                           reason=RejectionReason.objects.first(), actor=tenant_a.admin)
        record(candidate=candidate, purpose=ConsentPurpose.objects.first(), action=Action.CONFIRMED,
               source=Source.RECRUITER)
    url = reverse("organization_delete", kwargs={"org_slug": tenant_a.slug})
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.admin_client.post(url, {"confirmation": tenant_a.slug})
    assert response.status_code == 302
    assert not Organization.objects.filter(slug=tenant_a.slug).exists()
    assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").status_code == 404
    # The platform keeps the fact; the organization's own log went with it.
    fact = AuditEvent.objects.get(action="organization.deletion_requested")
    assert fact.organization_id is None and fact.details["slug"] == tenant_a.slug
    assert tenant_b.admin_client.get(f"/o/{tenant_b.slug}/").status_code == 200


def test_audit_log_lists_sensitive_actions_newest_first(tenant_a):
    tenant_a.admin_client.post(reverse("api_keys", kwargs={"org_slug": tenant_a.slug}), {"name": "Zapier", "scope": "read"})
    page = tenant_a.admin_client.get(reverse("audit_log", kwargs={"org_slug": tenant_a.slug})).content.decode()
    assert page.index("api_key.created") < page.index("organization") or "api_key.created" in page
    assert tenant_a.admin.email in page


def test_mfa_can_be_required_of_admins(tenant_a):
    Organization.objects.filter(pk=tenant_a.organization.pk).update(require_admin_mfa=True)
    response = tenant_a.admin_client.get(f"/o/{tenant_a.slug}/")
    assert response.status_code == 302
    assert response["Location"] == f"/o/{tenant_a.slug}/mfa-required/"
    page = tenant_a.admin_client.get(response["Location"]).content.decode()
    assert "two-factor" in page.lower()
    # Recruiters are not concerned.
    assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").status_code == 200


def test_a_user_switches_between_organizations(tenant_a, tenant_b):
    from crm.models import Membership, Role

    Membership.all_tenants.create(organization=tenant_b.organization, user=tenant_a.recruiter, role=Role.RECRUITER)
    chooser = tenant_a.recruiter_client.get("/").content.decode()
    assert "Acme Robotics" in chooser and "Bluebird Labs" in chooser
    page = tenant_a.recruiter_client.get(f"/o/{tenant_b.slug}/").content.decode()
    assert f'href="/o/{tenant_a.slug}/"' in page  # the switcher links back


def test_admins_keep_their_rejection_reasons(tenant_a):
    from crm.models import RejectionReason

    url = reverse("rejection_reasons", kwargs={"org_slug": tenant_a.slug})
    assert tenant_a.admin_client.post(url, {"label": "Visa sponsorship", "candidate_text": "we cannot sponsor"}
                                      ).status_code == 302
    duplicate = tenant_a.admin_client.post(url, {"label": "visa SPONSORSHIP"})
    assert duplicate.status_code == 400 and "already" in duplicate.content.decode()
    with organization_scope(tenant_a.organization):
        reason = RejectionReason.objects.get(label="Visa sponsorship")
    tenant_a.admin_client.post(reverse("rejection_reason_toggle", kwargs={"org_slug": tenant_a.slug,
                                                                          "reason_id": reason.pk}))
    reason.refresh_from_db()
    assert not reason.active
    # Retired reasons are no longer offered to recruiters.
    with organization_scope(tenant_a.organization):
        from crm.forms import RejectForm

        assert reason not in RejectForm().fields["reason"].queryset


def test_the_dashboard_charts_the_talent_base_growth(tenant_a):
    from django.core.cache import cache

    from ..factories import CandidateFactory

    with organization_scope(tenant_a.organization):
        for _ in range(3):
            CandidateFactory(organization=tenant_a.organization)
    cache.clear()
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").content.decode()
    assert "3 candidates added in the last 12 months" in page
    growth = page[page.index("Talent base growth"):page.index("</svg>", page.index("Talent base growth"))]
    assert growth.count('class="bar"') == 12  # a bar a month
    hm_page = tenant_a.hiring_manager_client.get(f"/o/{tenant_a.slug}/").content.decode()
    assert 'class="bar"' not in hm_page
