"""An email that has an account and one that has none cost the same password hashing and get the same answer.

The delays themselves are measured by bench/account_timing.py with the production hasher; here the
suite counts the hashing (any hasher encodes once per hash or check) and compares the answers.
"""

import re

import pytest
from django.contrib.auth.hashers import BasePasswordHasher, get_hashers
from django.core import mail
from django.test import Client, override_settings

from crm.models import Organization, User
from crm.services import invitation_create

from ..factories import PASSWORD

NEW_PASSWORD = "a-long-and-unusual-passphrase"


@pytest.fixture
def hashes(monkeypatch):
    """Counts password hashes (a check hashes too), whichever hashers the settings name."""
    count = {"n": 0, "depth": 0}

    def counting(original):
        def encode(self, *args, **kwargs):
            count["n"] += count["depth"] == 0  # a subclass calling its parent's encode is one hash
            count["depth"] += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                count["depth"] -= 1
        return encode

    for hasher in get_hashers():
        for cls in type(hasher).__mro__:
            if "encode" in cls.__dict__ and cls is not BasePasswordHasher:
                monkeypatch.setattr(cls, "encode", counting(cls.__dict__["encode"]))
    return count


def counted(hashes, request):
    before = hashes["n"]
    response = request()
    return response, hashes["n"] - before


def page(response, *personal):
    """The page's text without what differs by request: the form token, the script nonce, the address."""
    text = re.sub(r'nonce="[^"]*"|\b[A-Za-z0-9]{64}\b', "", response.content.decode())
    for value in personal:
        text = text.replace(value, "PERSONAL")
    return text


def signup(email, slug):
    return Client().post("/accounts/signup/", {
        "first_name": "Nadia", "last_name": "Okafor", "organization_name": "Northwind", "organization_slug": slug,
        "email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})


@override_settings(ACCOUNT_RATE_LIMITS=False)
def test_sign_up_with_a_known_email_hashes_and_answers_like_a_new_one_and_keeps_nothing(tenant_a, hashes):
    users, organizations = User.objects.count(), Organization.objects.count()
    known, known_hashes = counted(hashes, lambda: signup(tenant_a.recruiter.email, "rehearsal"))
    assert User.objects.count() == users and Organization.objects.count() == organizations
    assert not Organization.objects.filter(slug="rehearsal").exists()
    new, new_hashes = counted(hashes, lambda: signup("nadia@northwind.test", "northwind"))
    assert Organization.objects.filter(slug="northwind").exists()
    assert known_hashes == new_hashes >= 1
    assert known.status_code == new.status_code == 302 and known["Location"] == new["Location"]
    # The account holder is told by email, not by the page.
    assert [m.to for m in mail.outbox] == [[tenant_a.recruiter.email], ["nadia@northwind.test"]]


@override_settings(ACCOUNT_RATE_LIMITS=False)
def test_a_failed_login_hashes_as_often_for_a_known_email_as_for_an_unknown_one(tenant_a, hashes):
    def login(email):
        return Client().post("/accounts/login/", {"login": email, "password": PASSWORD + "-wrong"})

    known, known_hashes = counted(hashes, lambda: login(tenant_a.recruiter.email))
    unknown, unknown_hashes = counted(hashes, lambda: login("nobody@nowhere.test"))
    assert known_hashes == unknown_hashes >= 1
    assert known.status_code == unknown.status_code == 200
    assert page(known, tenant_a.recruiter.email) == page(unknown, "nobody@nowhere.test")


@override_settings(ACCOUNT_RATE_LIMITS=False)
def test_a_password_reset_answers_the_same_for_a_known_email_and_an_unknown_one(tenant_a, hashes):
    def reset(email):
        return Client().post("/accounts/password/reset/", {"email": email})

    known, known_hashes = counted(hashes, lambda: reset(tenant_a.recruiter.email))
    unknown, unknown_hashes = counted(hashes, lambda: reset("nobody@nowhere.test"))
    assert known_hashes == unknown_hashes
    assert known.status_code == unknown.status_code == 302 and known["Location"] == unknown["Location"]


def test_an_invitation_page_does_not_tell_whether_the_address_has_an_account(tenant_a, tenant_b, hashes):
    with tenant_a.scope():
        _, known_token = invitation_create(organization=tenant_a.organization, email=tenant_b.recruiter.email,
                                           role="recruiter", actor=tenant_a.admin)
        _, new_token = invitation_create(organization=tenant_a.organization, email="newcomer@example.org",
                                         role="recruiter", actor=tenant_a.admin)
    known = page(Client().get(f"/invite/{known_token}/"), tenant_b.recruiter.email, known_token)
    new = page(Client().get(f"/invite/{new_token}/"), "newcomer@example.org", new_token)
    assert "Create account and join" in known and known == new

    form = {"first_name": "Ada", "last_name": "Lovelace", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    _, known_hashes = counted(hashes, lambda: Client().post(f"/invite/{known_token}/", form))
    created, new_hashes = counted(hashes, lambda: Client().post(f"/invite/{new_token}/", form))
    assert known_hashes == new_hashes == 1
    assert created.status_code == 302 and User.objects.filter(email="newcomer@example.org").exists()
    assert User.objects.get(email=tenant_b.recruiter.email).check_password(PASSWORD)  # untouched
