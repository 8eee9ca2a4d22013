"""Rejection reasons have a wording per language: the default ones come in every language, an email names its
reason in the language it is written in (or not at all), and admins edit each language's wording."""

import importlib
from urllib.parse import quote_plus

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm.models import Organization, RejectionReason
from crm.services import DEFAULT_REJECTION_REASON_TEXTS, rejection_reason_add

LANGUAGES = [code for code, _ in settings.LANGUAGES]


def post_as_sent(client, url, data):
    """A form posted the way a browser sends it: a lone surrogate travels as the malformed UTF-8 bytes ED A0 80."""
    body = "&".join(f"{quote_plus(k)}={quote_plus(v.encode('utf-8', 'surrogatepass'))}" for k, v in data.items())
    return client.generic("POST", url, body, content_type="application/x-www-form-urlencoded")


def edit_url(tenant, reason):
    return f"/o/{tenant.slug}/settings/rejection-reasons/{reason.pk}/"


def test_a_new_organizations_default_reasons_are_worded_in_every_language(tenant_a):
    with tenant_a.scope():
        reasons = list(RejectionReason.objects.all())
    assert len(reasons) == len(DEFAULT_REJECTION_REASON_TEXTS)
    for reason in reasons:
        assert sorted(reason.candidate_texts) == sorted(LANGUAGES), reason.label
        assert reason.candidate_texts["en"] == reason.candidate_text
    skills = next(r for r in reasons if r.label == "Skills gap")
    assert skills.text_for("fr", default_language="en").startswith("nous recherchions un profil")
    assert skills.text_for("de", default_language="en").startswith("wir haben ein Profil gesucht")


def test_a_reason_without_a_wording_in_the_emails_language_is_left_out_rather_than_in_another_language(tenant_a):
    with tenant_a.scope():
        reason = rejection_reason_add(label="Visa", candidate_text="we cannot sponsor a visa for this role",
                                      actor=tenant_a.admin)
    assert reason.text_for("en", default_language="en") == "we cannot sponsor a visa for this role"
    assert reason.text_for("fr", default_language="en") == ""
    # An organization writing in French writes its reasons in French: the main wording is French.
    assert reason.text_for("fr", default_language="fr") == "we cannot sponsor a visa for this role"


def test_an_admin_words_a_reason_in_each_language(tenant_a):
    with tenant_a.scope():
        reason = rejection_reason_add(label="Visa", candidate_text="we cannot sponsor a visa for this role",
                                      actor=tenant_a.admin)
    form = tenant_a.admin_client.get(edit_url(tenant_a, reason)).content.decode()
    assert 'name="text_fr"' in form and 'name="text_nl"' in form
    response = tenant_a.admin_client.post(edit_url(tenant_a, reason), {
        "candidate_text": "we cannot sponsor a visa for this role",
        "text_fr": "  nous ne pouvons pas   parrainer de visa pour ce poste ", "text_de": ""})
    assert response.status_code == 302
    reason.refresh_from_db()
    assert reason.candidate_texts == {"fr": "nous ne pouvons pas parrainer de visa pour ce poste"}
    assert reason.text_for("fr", default_language="en") == "nous ne pouvons pas parrainer de visa pour ce poste"
    listing = tenant_a.admin_client.get(f"/o/{tenant_a.slug}/settings/rejection-reasons/").content.decode()
    assert edit_url(tenant_a, reason) in listing
    # Emptying a language removes it.
    tenant_a.admin_client.post(edit_url(tenant_a, reason), {"candidate_text": "we cannot sponsor a visa",
                                                             "text_fr": ""})
    reason.refresh_from_db()
    assert reason.candidate_texts == {} and reason.candidate_text == "we cannot sponsor a visa"


def test_only_admins_of_the_organization_edit_the_wording(tenant_a, tenant_b):
    with tenant_a.scope():
        reason = RejectionReason.objects.get(label="Skills gap")
    before = dict(reason.candidate_texts)
    assert tenant_a.recruiter_client.post(edit_url(tenant_a, reason), {"text_fr": "x"}).status_code == 404
    assert tenant_b.admin_client.get(f"/o/{tenant_b.slug}/settings/rejection-reasons/{reason.pk}/").status_code == 404
    reason.refresh_from_db()
    assert reason.candidate_texts == before


def test_a_wording_too_long_is_refused_on_the_page_and_nothing_is_written(tenant_a):
    with tenant_a.scope():
        reason = RejectionReason.objects.get(label="Skills gap")
    before = (reason.candidate_text, dict(reason.candidate_texts))
    response = tenant_a.admin_client.post(edit_url(tenant_a, reason), {"candidate_text": "fine",
                                                                        "text_fr": "x" * 301})
    assert response.status_code == 400
    assert "at most 300 characters" in response.content.decode()
    reason.refresh_from_db()
    assert (reason.candidate_text, reason.candidate_texts) == before


HOSTILE = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(["\x00", "\ud800", "a", " ", "é", "\n"]), max_size=20),
    st.text(min_size=290, max_size=400),
)


@pytest.mark.django_db
@hypothesis_settings(max_examples=40, derandomize=True, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(main=HOSTILE, french=HOSTILE)
def test_any_wording_is_saved_as_given_or_refused_whole_never_a_server_error(tenant_a, main, french):
    with tenant_a.scope():
        reason = RejectionReason.objects.get(label="Skills gap")
    before = (reason.candidate_text, dict(reason.candidate_texts))
    response = post_as_sent(tenant_a.admin_client, edit_url(tenant_a, reason), {"candidate_text": main,
                                                                                "text_fr": french})
    assert response.status_code < 500
    reason.refresh_from_db()
    if response.status_code == 302:
        assert reason.candidate_text == " ".join(main.split())
        assert reason.candidate_texts.get("fr", "") == " ".join(french.split())
    else:
        assert response.status_code == 400
        assert (reason.candidate_text, reason.candidate_texts) == before
    RejectionReason.all_tenants.filter(pk=reason.pk).update(candidate_text=before[0], candidate_texts=before[1])


def test_the_migration_words_untouched_default_reasons_and_leaves_reworded_ones(tenant_a):
    migration = importlib.import_module("crm.migrations.0018_rejection_reason_labels")
    with tenant_a.scope():
        RejectionReason.objects.update(candidate_texts={})  # as before the migration
        RejectionReason.objects.filter(label="Position closed").update(candidate_text="the team was reorganized")
    migration.add_default_texts(django_apps, None)
    with tenant_a.scope():
        skills = RejectionReason.objects.get(label="Skills gap")
        reworded = RejectionReason.objects.get(label="Position closed")
    assert skills.candidate_texts["fr"].startswith("nous recherchions")
    assert reworded.candidate_texts == {}
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()
