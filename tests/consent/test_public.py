import re

import pytest
from django.core import mail
from django.test import Client

from consent import tokens
from consent.models import ConsentRecord, ConsentState, PendingOptIn
from crm.models import Candidate, Suppression
from outreach import dispatch

JOIN = {"first_name": "Lin", "last_name": "Wei", "email": "lin@wei.test", "headline": "SRE",
        "skills": "go, kubernetes", "consent_talent_pool": "on", "consent_job_offers": "on",
        "frequency_job_offers": "weekly", "consent_events": "on", "frequency_events": "quarterly",
        "frequency_company_news": "monthly", "frequency_testimonials": "monthly", "frequency_job_market": "monthly"}


def send_all():
    ids = dispatch.claim_due()
    return dispatch.send_batch(ids) if ids else {}


def join(tenant, data=JOIN, client=None, **headers):
    return (client or Client()).post(f"/p/{tenant.slug}/join/", data, **headers)


def confirmation_link():
    return re.search(r"(/p/confirm/[^/\"\s]+/)", mail.outbox[-1].alternatives[0][0]).group(1)


def test_double_opt_in_counts_only_after_the_link_is_followed(tenant_a):
    page = join(tenant_a)
    assert page.status_code == 200 and "Check your inbox" in page.content.decode()
    assert not Candidate.all_tenants.filter(email="lin@wei.test").exists()  # nothing before confirmation
    send_all()
    link = confirmation_link()
    client = Client()
    assert "Confirm your choice" in client.get(link).content.decode()  # a GET (a link scanner) changes nothing
    assert not Candidate.all_tenants.filter(email="lin@wei.test").exists()
    done = client.post(link)
    assert "Thank you" in done.content.decode()
    candidate = Candidate.all_tenants.get(email="lin@wei.test")
    assert candidate.source == "public_form" and candidate.skills == ["go", "kubernetes"]
    states = dict(ConsentState.all_tenants.filter(candidate=candidate).values_list("purpose__key", "frequency"))
    assert states == {"talent_pool": "", "job_offers": "weekly", "events": "quarterly"}
    actions = list(ConsentRecord.all_tenants.filter(candidate=candidate, purpose__key="job_offers").values_list(
        "action", "source", "text__version"))
    assert actions == [("requested", "public_form", 1), ("confirmed", "public_form", 1)]
    again = client.post(link)
    assert again.status_code == 410 and "Already confirmed" in again.content.decode()


def test_nothing_is_pre_ticked_and_at_least_one_box_is_needed(tenant_a):
    page = Client().get(f"/p/{tenant_a.slug}/join/").content.decode()
    assert "checked" not in page
    data = {k: v for k, v in JOIN.items() if not k.startswith("consent_")}
    response = join(tenant_a, data)
    assert response.status_code == 400 and "Tick at least one box" in response.content.decode()


def test_a_stranger_cannot_rewrite_a_known_profile_without_the_confirmation(tenant_a):
    from ..factories import CandidateFactory

    with tenant_a.scope():
        CandidateFactory(organization=tenant_a.organization, email="lin@wei.test", headline="Original title")
    unknown = join(tenant_a, {**JOIN, "email": "nobody@else.test"}).content.decode()
    known = join(tenant_a, {**JOIN, "headline": "Hacked"}).content.decode()
    assert unknown.replace("nobody@else.test", "") == known.replace("lin@wei.test", "")  # same answer
    assert Candidate.all_tenants.get(email="lin@wei.test").headline == "Original title"


def test_the_form_escapes_what_it_is_given(tenant_a):
    join(tenant_a, {**JOIN, "first_name": "<script>alert(1)</script>"})
    send_all()
    Client().post(confirmation_link())
    candidate = Candidate.all_tenants.get(email="lin@wei.test")
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/candidates/{candidate.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in page


def test_the_honeypot_and_the_rate_limits(tenant_a):
    bot = join(tenant_a, {**JOIN, "website": "http://spam.test"})
    assert "Check your inbox" in bot.content.decode() and not PendingOptIn.all_tenants.exists()
    client = Client()
    for _ in range(3):
        join(tenant_a, client=client, REMOTE_ADDR="198.51.100.1")
    assert PendingOptIn.all_tenants.count() == 3
    join(tenant_a, client=client, REMOTE_ADDR="198.51.100.1")  # a fourth for the same address: silently dropped
    assert PendingOptIn.all_tenants.count() == 3
    for i in range(7):
        join(tenant_a, {**JOIN, "email": f"other{i}@x.test"}, REMOTE_ADDR="198.51.100.1")
    limited = join(tenant_a, {**JOIN, "email": "late@x.test"}, REMOTE_ADDR="198.51.100.1")
    assert limited.status_code == 429


def test_an_erased_person_who_opts_in_themselves_is_allowed_back(tenant_a):
    with tenant_a.scope():
        Suppression.objects.create(email_hash=Suppression.hash_email("lin@wei.test"))
    join(tenant_a)
    send_all()
    assert mail.outbox, "the confirmation goes out: they asked for it"
    Client().post(confirmation_link())
    assert Candidate.all_tenants.filter(email="lin@wei.test").exists()
    assert not Suppression.all_tenants.exists()
    from crm.models import AuditEvent

    assert AuditEvent.objects.filter(action="suppression.lifted_by_opt_in").exists()


def _confirmed(tenant_a):
    join(tenant_a)
    send_all()
    Client().post(confirmation_link())
    return Candidate.all_tenants.get(email="lin@wei.test")


def test_one_click_unsubscribe_needs_no_csrf_and_withdraws_the_topic(tenant_a):
    candidate = _confirmed(tenant_a)
    url = f"/p/u/{tokens.unsubscribe_token(candidate, 'job_offers')}/"
    client = Client(enforce_csrf_checks=True)
    assert "Unsubscribe" in client.get(url).content.decode()
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    states = dict(ConsentState.all_tenants.filter(candidate=candidate).values_list("purpose__key", "state"))
    assert states["job_offers"] == "withdrawn" and states["events"] == "granted"
    client.post(url, {"everything": "1"})  # replayed, and everything
    states = dict(ConsentState.all_tenants.filter(candidate=candidate).values_list("purpose__key", "state"))
    assert states["events"] == "withdrawn" and states["talent_pool"] == "withdrawn"  # no check-ins either


def test_the_preference_centre_changes_frequencies_and_withdraws(tenant_a):
    candidate = _confirmed(tenant_a)
    url = f"/p/prefs/{tokens.preferences_token(candidate)}/"
    client = Client()
    assert 'name="frequency_job_offers"' in client.get(url).content.decode()
    client.post(url, {"frequency_job_offers": "monthly", "frequency_events": ""})
    states = {k: (s, f) for k, s, f in ConsentState.all_tenants.filter(candidate=candidate).values_list(
        "purpose__key", "state", "frequency")}
    assert states["job_offers"] == ("granted", "monthly") and states["events"][0] == "withdrawn"
    assert ConsentRecord.all_tenants.filter(candidate=candidate, action="frequency_changed",
                                            source="preference_centre").exists()


@pytest.mark.parametrize("make", [
    lambda c, other: f"/p/prefs/{tokens.preferences_token(c)[:-3]}abc/",  # tampered
    lambda c, other: f"/p/prefs/{tokens.unsubscribe_token(c, 'events')}/",  # another kind of token
    lambda c, other: f"/p/u/{tokens.make('unsub', o=other.pk, c=c.pk, p='events')}/",  # other org
])
def test_tampered_cross_kind_and_cross_organization_tokens_are_refused(tenant_a, tenant_b, make):
    candidate = _confirmed(tenant_a)
    assert Client().get(make(candidate, tenant_b.organization)).status_code == 404


def test_the_rejection_email_carries_a_working_stay_in_touch_link_redacted_for_recruiters(
        tenant_a, django_capture_on_commit_callbacks):
    from crm.services import application_create, job_save
    from outreach.models import Message

    from ..factories import CandidateFactory

    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="QA", status="open")
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Rosa", email="rosa@x.test",
                                     headline="Tester")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job)
    with django_capture_on_commit_callbacks(execute=True):
        tenant_a.api.post(f"/api/v1/applications/{application.pk}/reject/",
                          {"reason": "Skills gap", "send_email": "now"}, format="json")
    send_all()
    html = mail.outbox[-1].alternatives[0][0]
    link = re.search(r'href="http://[^/]+(/p/s/[^"]+/)"', html).group(1)
    form = Client().get(link).content.decode()
    assert 'value="rosa@x.test"' in form and "Stay in touch" in form and "checked" not in form
    with tenant_a.scope():
        message = Message.objects.get(application=application)
    outbox_page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/outbox/{message.pk}/").content.decode()
    assert "/p/s/" not in outbox_page and "[personal link]" in outbox_page


def test_the_preference_centre_sends_a_copy_and_erases_after_a_second_confirmation(tenant_a):
    candidate = _confirmed(tenant_a)
    url = f"/p/prefs/{tokens.preferences_token(candidate)}/"
    client = Client()
    assert "On its way" in client.post(url, {"copy": "1"}).content.decode()
    send_all()
    link = re.search(r'(/p/copy/[^"/]+/)', mail.outbox[-1].alternatives[0][0]).group(1)
    data = client.get(link)
    assert b"lin@wei.test" in data.content and data["Content-Type"] == "application/json"
    asked = client.post(url, {"erase": "1"}).content.decode()
    assert "Erase your data?" in asked and Candidate.all_tenants.filter(pk=candidate.pk).exists()
    assert "erased" in client.post(url, {"erase": "confirm"}).content.decode()
    assert not Candidate.all_tenants.filter(pk=candidate.pk).exists()
    assert Client().get(url).status_code == 404  # the personal link dies with the data


def test_a_new_text_version_keeps_old_agreements_and_can_ask_for_renewal(tenant_a,
                                                                         django_capture_on_commit_callbacks):
    from consent.models import ConsentPurpose

    candidate = _confirmed(tenant_a)
    with tenant_a.scope():
        pool = ConsentPurpose.objects.get(key="talent_pool")
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/consent/texts/", {
            "purpose": pool.pk, "language": "en", "text": "New words about keeping your profile.",
            "ask_renewal": "on"})
    assert response.status_code == 302
    first = ConsentRecord.all_tenants.filter(candidate=candidate, purpose__key="talent_pool", action="confirmed").first()
    assert first.text.version == 1
    assert ConsentRecord.all_tenants.filter(candidate=candidate, action="renewal_requested").exists()
    page = Client().get(f"/p/{tenant_a.slug}/join/").content.decode()
    assert "New words about keeping your profile." in page
    assert tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/consent/texts/").status_code == 404


def test_the_consent_dashboard(tenant_a):
    _confirmed(tenant_a)
    page = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/consent/").content.decode()
    assert "Job offers matching my profile: 1." in page and "opt-in rate from rejection emails" in page
