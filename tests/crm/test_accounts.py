import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client, override_settings

from crm.models import Membership, Organization, Role, User
from crm.tenancy import organization_scope

from ..factories import PASSWORD

SIGNUP = {
    "first_name": "Nadia", "last_name": "Okafor", "organization_name": "Northwind Talent",
    "organization_slug": "northwind", "email": "nadia@northwind.test",
    "password1": "a-long-and-unusual-passphrase", "password2": "a-long-and-unusual-passphrase",
}


@pytest.mark.django_db
def test_signup_creates_the_organization_and_its_admin_and_asks_to_verify_the_email():
    response = Client().post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    organization = Organization.objects.get(slug="northwind")
    user = User.objects.get(email="nadia@northwind.test")
    with organization_scope(organization):
        assert Membership.objects.get(user=user).role == Role.ADMIN
    assert not EmailAddress.objects.get(user=user).verified
    assert "nadia@northwind.test" in mail.outbox[0].to


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["api", "p", "admin", "static", "accounts", "o"])
def test_reserved_slugs_are_refused_with_a_form_error(slug):
    response = Client().post("/accounts/signup/", {**SIGNUP, "organization_slug": slug})
    assert response.status_code == 200
    assert "reserved" in response.content.decode()
    assert not User.objects.exists() and not Organization.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["Bad Slug", "-dash", "x" * 51, "émile"])
def test_malformed_slugs_are_refused(slug):
    response = Client().post("/accounts/signup/", {**SIGNUP, "organization_slug": slug})
    assert response.status_code == 200
    assert not Organization.objects.exists()


def test_a_taken_slug_is_refused_and_nothing_is_written(tenant_a):
    users_before = User.objects.count()
    response = Client().post("/accounts/signup/", {**SIGNUP, "organization_slug": tenant_a.slug})
    assert "already taken" in response.content.decode()
    assert User.objects.count() == users_before


@pytest.mark.django_db
@override_settings(SIGNUP_OPEN=False)
def test_signup_can_be_turned_off():
    response = Client().post("/accounts/signup/", SIGNUP)
    assert not Organization.objects.exists()
    assert "closed" in response.content.decode().lower()


def test_login_with_email_and_password_lands_on_the_dashboard(tenant_a):
    client = Client()
    response = client.post("/accounts/login/", {"login": tenant_a.recruiter.email, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == f"/o/{tenant_a.slug}/"
    assert "You are recruiter here" in response.content.decode()


def test_repeated_wrong_passwords_cool_off_then_recover(tenant_a):
    client = Client()
    for _ in range(5):
        response = client.post("/accounts/login/", {"login": tenant_a.recruiter.email, "password": "wrong"})
        assert response.status_code == 200
    # Even the right password is refused while cooling off, with a message saying so.
    response = client.post("/accounts/login/", {"login": tenant_a.recruiter.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert "_auth_user_id" not in client.session
    assert "too many" in response.content.decode().lower()


@override_settings(ALLAUTH_TRUSTED_PROXY_COUNT=1)
def test_behind_a_proxy_the_rate_limit_reads_the_forwarded_client_address(tenant_a):
    client = Client()
    for _ in range(11):  # ten failures a minute per IP
        client.post("/accounts/login/", {"login": "nobody@x.test", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR="203.0.113.7")
    blocked = client.post("/accounts/login/", {"login": tenant_a.admin.email, "password": PASSWORD},
                          HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert "too many" in blocked.content.decode().lower()
    other = client.post("/accounts/login/", {"login": tenant_a.admin.email, "password": PASSWORD},
                        HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert other.status_code == 302


def test_a_post_without_csrf_token_is_refused_with_an_explanation(tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.admin)
    response = client.post(f"/o/{tenant_a.slug}/settings/api-keys/", {"name": "k", "scope": "read"})
    assert response.status_code == 403
    assert "expired" in response.content.decode()


def test_anonymous_visitors_are_sent_to_login(tenant_a):
    response = Client().get(f"/o/{tenant_a.slug}/settings/members/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_invitation_mail_link_creates_an_account_once(tenant_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/settings/members/",
                                              {"email": "New.Person@Example.test", "role": "recruiter"})
    assert response.status_code == 200
    link = re.search(r"(/invite/[^\s]+/)", mail.outbox[-1].body).group(1)
    # Only the invitee's inbox holds the link: the admin's page does not show it (it would tell the
    # admin whether the address has an account, and let them make one in its name).
    assert link not in response.content.decode() and "/invite/" not in response.content.decode()
    newcomer = Client()
    page = newcomer.get(link)
    assert "Create your account" in page.content.decode()
    joined = newcomer.post(link, {"first_name": "New", "last_name": "Person",
                                  "password1": "another-long-passphrase", "password2": "another-long-passphrase"})
    assert joined.status_code == 302 and joined["Location"] == f"/o/{tenant_a.slug}/"
    user = User.objects.get(email="new.person@example.test")
    with organization_scope(tenant_a.organization):
        assert Membership.objects.get(user=user).role == Role.RECRUITER
    # The link works once.
    again = Client().get(link)
    assert again.status_code == 410
    assert "used already" in again.content.decode()


def test_expired_and_unknown_invitation_links_explain_themselves(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Invitation
    from crm.services import invitation_create

    with organization_scope(tenant_a.organization):
        invitation, token = invitation_create(organization=tenant_a.organization, email="late@x.test",
                                              role=Role.RECRUITER, actor=tenant_a.admin)
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = Client().get(f"/invite/{token}/")
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    unknown = Client().get("/invite/not-a-real-token/")
    assert unknown.status_code == 404


def test_an_invitation_for_someone_else_is_refused(tenant_a, tenant_b):
    from crm.services import invitation_create

    with organization_scope(tenant_a.organization):
        _, token = invitation_create(organization=tenant_a.organization, email="someone@x.test",
                                     role=Role.RECRUITER, actor=tenant_a.admin)
    response = tenant_b.admin_client.post(f"/invite/{token}/", follow=True)
    assert "sent to someone@x.test" in response.content.decode()
    with organization_scope(tenant_a.organization):
        assert not Membership.objects.filter(user=tenant_b.admin).exists()


def test_a_removed_member_loses_access_on_the_next_request(tenant_a):
    membership_id = Membership.all_tenants.get(user=tenant_a.recruiter).pk
    assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").status_code == 200
    response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/settings/members/{membership_id}/remove/")
    assert response.status_code == 302
    assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/").status_code == 404


def test_the_last_admin_cannot_leave_or_be_demoted(tenant_a):
    membership_id = Membership.all_tenants.get(user=tenant_a.admin).pk
    url = f"/o/{tenant_a.slug}/settings/members/{membership_id}/"
    response = tenant_a.admin_client.post(url + "role/", {"role": "recruiter"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "at least one admin" in response.content.decode()
    tenant_a.admin_client.post(url + "remove/")
    assert Membership.all_tenants.get(pk=membership_id).role == Role.ADMIN


def test_role_change_with_htmx_returns_the_updated_row(tenant_a):
    membership_id = Membership.all_tenants.get(user=tenant_a.recruiter).pk
    response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/settings/members/{membership_id}/role/",
                                          {"role": "hiring_manager"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith(f'<tr id="member-{membership_id}"')
    assert 'value="hiring_manager" selected' in body
    assert Membership.all_tenants.get(pk=membership_id).role == Role.HIRING_MANAGER


def test_an_unknown_role_is_refused(tenant_a):
    membership_id = Membership.all_tenants.get(user=tenant_a.recruiter).pk
    response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/settings/members/{membership_id}/role/",
                                          {"role": "owner"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert Membership.all_tenants.get(pk=membership_id).role == Role.RECRUITER
