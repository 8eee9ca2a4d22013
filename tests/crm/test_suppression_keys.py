"""An erased person stays suppressed across a rotation of SUPPRESSION_HASH_KEY, everywhere an address comes in."""

import io

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from consent.rights import candidate_erase
from crm.models import Candidate, Suppression
from crm.services import ServiceError, candidate_create
from outreach.selectors import marketing_refusal
from tests.consent.test_public import JOIN, confirmation_link, join, send_all
from tests.imports.test_imports import import_file
from tests.outreach.test_campaigns import grant

OLD_KEY = "old-suppression-key-" + "a1" * 16
NEW_KEY = "new-suppression-key-" + "b2" * 16


@pytest.fixture
def erased_then_rotated(tenant_a, settings):
    """Erin and Lin erased under the old key; then the key rotated, the old one kept as a fallback."""
    settings.SUPPRESSION_HASH_KEY, settings.SUPPRESSION_HASH_KEY_FALLBACKS = OLD_KEY, []
    with tenant_a.scope():
        for email in ("erin@x.test", "lin@wei.test"):
            candidate = candidate_create(actor=tenant_a.recruiter, first_name="Someone", email=email)
            candidate_erase(candidate=candidate, actor=tenant_a.admin, reason="their request")
    settings.SUPPRESSION_HASH_KEY, settings.SUPPRESSION_HASH_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
    return tenant_a


def rehash(*args):
    out = io.StringIO()
    call_command("rehash_suppressions", *args, stdout=out)
    return out.getvalue()


def test_after_a_rotation_nobody_brings_an_erased_person_back(erased_then_rotated):
    tenant = erased_then_rotated
    with tenant.scope(), pytest.raises(ServiceError, match="erased"):
        candidate_create(actor=tenant.recruiter, first_name="Erin", email="ERIN@x.test")
    put = tenant.api.put("/api/v1/candidates/by-email/erin@x.test/", {"first_name": "Erin"}, format="json")
    assert put.status_code == 400 and "erased" in put.content.decode()
    candidate_import, problems = import_file(tenant, "Name,Email\nErin Again,erin@x.test\n")
    assert candidate_import.result["suppressed"] == 1 and candidate_import.result["created"] == 0
    assert not Candidate.all_tenants.filter(email__iexact="erin@x.test").exists()


def test_a_campaign_send_refuses_an_address_suppressed_under_the_old_key(tenant_a, settings):
    settings.SUPPRESSION_HASH_KEY = OLD_KEY
    with tenant_a.scope():
        candidate = candidate_create(actor=tenant_a.recruiter, first_name="Kim", email="kim@x.test")
        grant(candidate)
        assert marketing_refusal(candidate, "job_offers") is None
        Suppression.objects.create(email_hash=Suppression.hash_email("kim@x.test"))
        settings.SUPPRESSION_HASH_KEY, settings.SUPPRESSION_HASH_KEY_FALLBACKS = NEW_KEY, [OLD_KEY]
        assert marketing_refusal(candidate, "job_offers") == "the address is suppressed"


def test_opting_in_again_lifts_the_old_key_entry(erased_then_rotated):
    join(erased_then_rotated, JOIN)
    send_all()
    assert mail.outbox
    Client().post(confirmation_link())
    assert Candidate.all_tenants.filter(email="lin@wei.test").exists()
    assert list(Suppression.all_tenants.values_list("key_id", flat=True)) == [Suppression.key_id_of(OLD_KEY)]


def test_rehash_moves_given_addresses_and_check_guards_dropping_the_old_key(erased_then_rotated, settings, tmp_path):
    assert "2 under fallback key 1" in rehash()
    with pytest.raises(CommandError, match="2 entries still need an older key"):
        rehash("--check")
    # An address that comes back (here through an import) moves on its own.
    import_file(erased_then_rotated, "Name,Email\nErin Again,erin@x.test\n")
    assert "1 under fallback key 1" in rehash()
    addresses = tmp_path / "erasure-requests.txt"
    addresses.write_text("LIN@wei.test\nnot an address\n")
    assert "Moved 1 entries" in rehash("--addresses", str(addresses))
    assert "2 under the current key: done." in rehash("--check")
    # Now the old key can go: the suppression still holds.
    settings.SUPPRESSION_HASH_KEY_FALLBACKS = []
    with erased_then_rotated.scope(), pytest.raises(ServiceError, match="erased"):
        candidate_create(actor=erased_then_rotated.recruiter, first_name="Lin", email="lin@wei.test")


def test_an_entry_whose_key_was_dropped_too_early_is_reported(erased_then_rotated, settings):
    settings.SUPPRESSION_HASH_KEY_FALLBACKS = []
    report = rehash()
    assert "2 under a key no longer configured" in report and "NOT suppressed" in report

