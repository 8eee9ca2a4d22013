"""Public pages that show or change personal data tell browsers and proxies to keep no copy."""

import pytest
from django.test import Client
from django.urls import reverse

from consent import tokens
from consent.models import PendingOptIn
from crm.services import invitation_create
from tests.isolation.routes import ROUTES, NotTenant
from tests.outreach.test_public_campaign_pages import make_event, rsvp_url

from .test_public import JOIN

# Routes outside organizations that show no one's personal data, and why.
NOT_PERSONAL = {
    "home": "signed-in page listing the user's own organizations, behind login",
    "organization_new": "signed-in form to create an organization, behind login",
    "healthz": "liveness probe",
    "consent:brand_css": "the organization's public colour, cached on purpose",
    "outreach_public_job": "an organization's open job, public by design",
}


PERSONAL = ["consent:join", "consent:stay_in_touch", "consent:confirm", "consent:preferences",
            "consent:unsubscribe", "consent:data_copy", "outreach_public_rsvp", "invitation_accept"]


def personal_requests(tenant):
    """{route name: [(method, url, body)]} reaching each personal public page with a valid link."""
    candidate, campaign = make_event(tenant, email="kim@x.test", first_name="Kim")
    organization = tenant.organization
    Client().post(f"/p/{tenant.slug}/join/", {**JOIN, "email": "pending@x.test"})
    pending = PendingOptIn.all_tenants.get(email="pending@x.test")
    with tenant.scope():
        _, invitation_token = invitation_create(organization=organization, email="new@x.test", role="recruiter",
                                          actor=tenant.admin)
    stay = f"/p/s/{tokens.stay_in_touch_token(candidate)}/"
    prefs = f"/p/prefs/{tokens.preferences_token(candidate)}/"
    unsub = f"/p/u/{tokens.unsubscribe_token(candidate, 'events')}/"
    confirm = f"/p/confirm/{tokens.confirm_token(pending)}/"
    rsvp = rsvp_url(organization, candidate, campaign)
    return {
        "consent:join": [("get", f"/p/{tenant.slug}/join/", None),
                         ("post", f"/p/{tenant.slug}/join/", {**JOIN, "email": "answer@x.test"})],
        "consent:stay_in_touch": [("get", stay, None), ("post", stay, {**JOIN, "email": "kim@x.test"})],
        "consent:confirm": [("get", confirm, None), ("post", confirm, {})],
        "consent:preferences": [("get", prefs, None), ("post", prefs, {"frequency_events": "monthly"})],
        "consent:unsubscribe": [("get", unsub, None), ("post", unsub, {})],
        "consent:data_copy": [("get", f"/p/copy/{tokens.make('copy', o=organization.pk, c=candidate.pk)}/", None)],
        "outreach_public_rsvp": [("get", rsvp, None), ("post", rsvp, {"answer": "yes"})],
        "invitation_accept": [("get", reverse("invitation_accept", kwargs={"token": invitation_token}), None)],
    }


def test_every_public_route_is_classified(tenant_a):
    public = {name for name, entry in ROUTES.items() if isinstance(entry, NotTenant)}
    personal = set(personal_requests(tenant_a))
    assert personal == set(PERSONAL)
    unknown = sorted(public - personal - set(NOT_PERSONAL))
    assert not unknown, f"Public routes this test does not know (personal data? add them): {unknown}"


@pytest.mark.parametrize("name", PERSONAL)
def test_personal_public_pages_are_never_stored(name, tenant_a):
    for method, url, body in personal_requests(tenant_a)[name]:
        response = getattr(Client(), method)(url, body) if body is not None else getattr(Client(), method)(url)
        assert response.status_code in {200, 302}, (method, url, response.status_code)
        assert "no-store" in response.get("Cache-Control", ""), (method, url, response.get("Cache-Control"))
