"""Personal links are built on SITE_URL whatever Host a request came with, and the outbox hides them."""

import re

import pytest
from django.core import mail
from django.test import Client

from consent import tokens
from crm.services import candidate_create
from outreach.models import Message

from .test_public import JOIN, join, send_all

SITE = "https://crm.example.com"
OTHER_HOST = "inner.example.net"


@pytest.fixture
def other_host(settings):
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, OTHER_HOST]
    return Client(HTTP_HOST=OTHER_HOST)


def links(message):
    return re.findall(r"https?://[^\s\"'<>]+/p/[^\s\"'<>]+", message.alternatives[0][0] + message.body)


def test_a_confirmation_asked_through_another_host_links_to_site_url_and_the_outbox_hides_it(tenant_a,
                                                                                               other_host):
    assert join(tenant_a, JOIN, client=other_host).status_code == 200
    send_all()
    sent = links(mail.outbox[-1])
    assert sent and all(link.startswith(f"{SITE}/p/confirm/") for link in sent), sent
    message = Message.all_tenants.get(kind="consent_confirmation")
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/{message.pk}/").content.decode()
    assert "[personal link]" in page
    assert "/p/confirm/" not in page and OTHER_HOST not in page


def test_a_data_copy_asked_through_another_host_links_to_site_url(tenant_a, other_host):
    with tenant_a.scope():
        candidate = candidate_create(actor=tenant_a.recruiter, first_name="Kim", email="kim@x.test")
    page = other_host.post(f"/p/prefs/{tokens.preferences_token(candidate)}/", {"copy": "1"})
    assert page.status_code == 200
    send_all()
    sent = links(mail.outbox[-1])
    assert sent and all(link.startswith(f"{SITE}/p/") for link in sent), sent
    message = Message.all_tenants.get(kind="data_export_ready")
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/{message.pk}/").content.decode()
    assert "/p/copy/" not in page and "[personal link]" in page


def test_the_outbox_hides_a_personal_link_written_on_another_host(tenant_a):
    from outreach.views import redact

    text = f"Confirm: https://{OTHER_HOST}/p/confirm/abc:def/ and {SITE}/p/u/xyz/ - see https://example.org/jobs/"
    assert redact(text) == "Confirm: [personal link] and [personal link] - see https://example.org/jobs/"
