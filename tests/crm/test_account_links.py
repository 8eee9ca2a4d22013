import re

import pytest
from django.core import mail
from django.test import Client, override_settings

from ..factories import UserFactory

SIGNUP = {
    "first_name": "Nadia", "last_name": "Okafor", "organization_name": "Northwind Talent",
    "organization_slug": "northwind", "email": "nadia@northwind.test",
    "password1": "a-long-and-unusual-passphrase", "password2": "a-long-and-unusual-passphrase",
}


@pytest.mark.django_db
@override_settings(SITE_URL="http://crm.example.test:8000", ACCOUNT_DEFAULT_HTTP_PROTOCOL="https",
                   ALLOWED_HOSTS=["inner-name", "crm.example.test"])
def test_account_email_links_are_on_site_url_whatever_the_request_host_and_scheme():
    Client(HTTP_HOST="inner-name").post("/accounts/signup/", SIGNUP)
    link = re.search(r"\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    assert link.startswith("http://crm.example.test:8000/accounts/confirm-email/")

    UserFactory(email="rita@northwind.test")
    Client(HTTP_HOST="inner-name").post("/accounts/password/reset/", {"email": "rita@northwind.test"})
    link = re.search(r"\S+/accounts/password/reset/key/\S+/", mail.outbox[-1].body).group(0)
    assert link.startswith("http://crm.example.test:8000/accounts/password/reset/key/")
