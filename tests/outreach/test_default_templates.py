"""The default templates as candidates read them: in their language, with what the campaign's options add,
feedback mentioned only when there is some, and every campaign email's footer (preferences, unsubscribe)."""

import re

import pytest
from django.core import mail
from django.core.management import call_command

from consent.models import Action, ConsentPurpose, Source
from consent.services import record
from crm.models import RejectionReason
from crm.services import application_create, application_reject, feedback_note_create, job_save
from outreach import campaigns, dispatch
from outreach.defaults import DEFAULTS, PREVIOUS_DEFAULTS, default_name
from outreach.models import EmailTemplate, Message, TemplateKind
from outreach.rendering import check_template, template_fields
from outreach.services import template_save
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory

CAMPAIGN_KINDS = [TemplateKind.RE_ENGAGEMENT, TemplateKind.JOB_OFFERS_DIGEST, TemplateKind.EVENT_INVITATION,
                  TemplateKind.COMPANY_NEWS]


def send_all():
    outcomes = {}
    while ids := dispatch.claim_due():
        for key, n in dispatch.send_batch(ids).items():
            outcomes[key] = outcomes.get(key, 0) + n
    return outcomes


def visible_text(html):
    """What a reader sees: tags and merge-field escaping gone."""
    import html as html_module

    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- The defaults themselves ----------------------------------------------------------------------

@pytest.mark.parametrize("key", list(DEFAULTS), ids=lambda key: f"{key[0]}-{key[1]}")
def test_every_default_passes_the_restricted_language_check(key):
    subject, html = DEFAULTS[key]
    check_template(subject)
    check_template(html)


@pytest.mark.parametrize("kind", CAMPAIGN_KINDS)
@pytest.mark.parametrize("language", ["en", "fr"])
def test_campaign_defaults_carry_the_referral_link_and_we_remembered_you(kind, language):
    subject, html = DEFAULTS[(kind, language)]
    fields = template_fields(subject, html)
    assert "links.referral" in fields
    assert "remembered.job_title" in fields


def _french_prose(source):
    """The words of a French template: tags, merge fields and attributes removed."""
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "X", source)
    return re.sub(r"<[^>]+>", " ", text)


@pytest.mark.parametrize("kind", list(TemplateKind))
def test_french_defaults_say_vous_and_space_their_punctuation_the_same_way(kind):
    subject, html = DEFAULTS[(kind, "fr")]
    for part in (subject, html):
        prose = _french_prose(part)
        assert not re.search(r"\b(tu|toi|ton|ta|tes)\b", prose, re.IGNORECASE), prose
        for match in re.finditer(r"[:;?!]", prose):
            assert prose[match.start() - 1] == " ", f"no space before “{match.group()}” in: {prose}"
    # What reviewers flagged: a contraction left out, an anglicism, a gendered greeting.
    assert "jusqu'à les" not in html and "Suite à" not in subject and "invité :" not in subject


# --- Rejection emails -----------------------------------------------------------------------------

@pytest.fixture
def french_candidate(tenant_a):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Ingénieure données", status="open",
                       hiring_managers=[tenant_a.hiring_manager])
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Camille", language="fr",
                                     email="camille@example.test")
    return {"job": job, "candidate": candidate}


def _reject(tenant, application, reason_label, capture):
    with capture(execute=True), tenant.scope():
        application_reject(application=application, reason=RejectionReason.objects.get(label=reason_label),
                           actor=tenant.recruiter, notice_plan="now")
        return Message.objects.get(application=application)


def _render(tenant, message):
    with tenant.scope():
        message = Message.objects.select_related("organization", "candidate", "application__job",
                                                 "application__rejection_reason", "template").get(pk=message.pk)
        rendered, _ = dispatch.render_message(message)
    return rendered


def test_a_french_early_rejection_names_its_reason_in_french(tenant_a, french_candidate,
                                                               django_capture_on_commit_callbacks):
    with tenant_a.scope():
        application = application_create(actor=tenant_a.recruiter, candidate=french_candidate["candidate"],
                                         job=french_candidate["job"])
    message = _reject(tenant_a, application, "Skills gap", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    text = visible_text(mail.outbox[0].alternatives[0][0])
    assert "Bonjour Camille" in text
    assert ("de ne pas y donner suite : nous recherchions un profil plus proche de certaines des compétences que "
            "le poste exige.") in text
    assert "we were looking" not in text
    assert message.language == "fr"


@pytest.mark.parametrize("stage, words", [("interview", "jusqu'à l'étape des entretiens"),
                                          ("final", "jusqu'à l'entretien final")])
def test_a_french_rejection_after_interviews_reads_right(tenant_a, french_candidate, stage, words,
                                                          django_capture_on_commit_callbacks):
    with tenant_a.scope():
        application = application_create(actor=tenant_a.recruiter, candidate=french_candidate["candidate"],
                                         job=french_candidate["job"], stage=stage)
    message = _reject(tenant_a, application, "Another candidate chosen", django_capture_on_commit_callbacks)
    rendered = _render(tenant_a, message)
    text = visible_text(rendered.html)
    assert rendered.subject == "À la suite de vos entretiens pour le poste de Ingénieure données"
    assert words in text and "jusqu'à les" not in text
    assert "nous avons retenu une autre candidature" in text and "another candidate" not in text


@pytest.mark.parametrize("language, feedback_words, closing", [
    ("en", "We hope this feedback helps", "We would be glad to hear from you again."),
    ("fr", "Nous espérons que ces retours vous seront utiles", "Nous serions heureux d'avoir de nouveau de vos "
                                                                 "nouvelles."),
])
def test_after_interview_emails_mention_feedback_only_when_there_is_some(
        tenant_a, language, feedback_words, closing, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="QA lead", status="open",
                       hiring_managers=[tenant_a.hiring_manager])
        without, with_feedback = (CandidateFactory(organization=tenant_a.organization, language=language)
                                  for _ in range(2))
        plain = application_create(actor=tenant_a.recruiter, candidate=without, job=job, stage="final")
        noted = application_create(actor=tenant_a.recruiter, candidate=with_feedback, job=job, stage="final")
        feedback_note_create(application=noted, author=tenant_a.hiring_manager, strengths="Clear test plans",
                             shareable=True)
        # Internal notes are not feedback the candidate receives.
        feedback_note_create(application=plain, author=tenant_a.hiring_manager, note="internal only",
                             shareable=False)
    text_without = visible_text(_render(tenant_a, _reject(tenant_a, plain, "Skills gap",
                                                          django_capture_on_commit_callbacks)).html)
    text_with = visible_text(_render(tenant_a, _reject(tenant_a, noted, "Skills gap",
                                                       django_capture_on_commit_callbacks)).html)
    assert feedback_words not in text_without and closing in text_without
    assert feedback_words in text_with and "Clear test plans" in text_with


# --- Campaign emails ------------------------------------------------------------------------------

@pytest.fixture
def news_audience(tenant_a):
    """Two people who agreed to company news, one writing in French, each remembered from an application."""
    org = tenant_a.organization
    with tenant_a.scope():
        job = job_save(actor=tenant_a.recruiter, title="Backend developer", status="closed")
        people = [CandidateFactory(organization=org, first_name="Ada", email="ada@example.test", language="en"),
                  CandidateFactory(organization=org, first_name="Jeanne", email="jeanne@example.test", language="fr")]
        for person in people:
            record(candidate=person, purpose=ConsentPurpose.objects.get(key="company_news"), action=Action.CONFIRMED,
                   source=Source.RECRUITER, frequency="monthly")
            application = application_create(actor=tenant_a.recruiter, candidate=person, job=job, stage="interview")
            application_reject(application=application, reason=RejectionReason.objects.get(label="Skills gap"),
                               actor=tenant_a.recruiter, notice_plan="none", notice_skip_reason="told by phone")
        pool = pool_create(name="News", kind="static", actor=tenant_a.recruiter)
        pool_add_members(pool=pool, candidate_ids=[p.pk for p in people], actor=tenant_a.recruiter)
    return {"pool": pool, "people": people}


def _run_campaign(tenant, capture, **fields):
    with tenant.scope():
        english = EmailTemplate.objects.get(kind="company_news", language="en", name=default_name("en"))
        french = EmailTemplate.objects.get(kind="company_news", language="fr", name=default_name("fr"))
        fields.setdefault("template", english)
        fields.setdefault("language_templates", {"fr": french.pk})
        campaign = campaigns.campaign_save(actor=tenant.recruiter, name="Autumn news", topic="company_news",
                                           **fields)
    mail.outbox.clear()
    with capture(execute=True), tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
    with capture(execute=True):
        run_due_campaigns()
    with tenant.scope():
        send_all()
    return {email.to[0]: email for email in mail.outbox}


def test_a_referral_campaign_with_the_default_templates_carries_the_link_and_we_remembered_you(
        tenant_a, news_audience, django_capture_on_commit_callbacks):
    sent = _run_campaign(tenant_a, django_capture_on_commit_callbacks, pool_ids=[news_audience["pool"].pk],
                         referral=True)
    assert sorted(sent) == ["ada@example.test", "jeanne@example.test"]
    english, french = sent["ada@example.test"], sent["jeanne@example.test"]
    for email in (english, french):
        html = email.alternatives[0][0]
        assert re.search(rf'href="http[^"]*/p/{tenant_a.slug}/join/\?ref=[^"]+"', html), "no referral link"
        assert "/join/?ref=" in email.body
    assert "We remembered you from the interviews for the Backend developer role." in visible_text(
        english.alternatives[0][0])
    assert "Nous nous souvenons de votre candidature au poste de Backend developer." in visible_text(
        french.alternatives[0][0])
    assert "Transmettez-lui ce lien" in visible_text(french.alternatives[0][0])


def test_without_referral_the_default_templates_show_no_referral_paragraph(tenant_a, news_audience,
                                                                           django_capture_on_commit_callbacks):
    sent = _run_campaign(tenant_a, django_capture_on_commit_callbacks, pool_ids=[news_audience["pool"].pk])
    assert len(sent) == 2
    for email in sent.values():
        assert "/join/?ref=" not in email.alternatives[0][0]
        assert "Know someone" not in email.body and "Vous connaissez quelqu'un" not in email.body


def test_every_campaign_email_shows_unsubscribe_beside_the_preferences_whatever_the_template(
        tenant_a, news_audience, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        bare = template_save(actor=tenant_a.recruiter, kind="company_news", language="en", name="Bare",
                             subject="News", html_body="<p>Hello {{ candidate.first_name }}.</p>", text_body="")
    for template, language_templates in ((None, None), (bare, {})):
        fields = {"pool_ids": [news_audience["pool"].pk]}
        if template is not None:
            fields.update(template=template, language_templates=language_templates)
            with tenant_a.scope():  # the cap would keep everyone out of a second campaign this week
                Message.objects.filter(purpose="marketing").update(sent_at=None)
        sent = _run_campaign(tenant_a, django_capture_on_commit_callbacks, **fields)
        assert len(sent) == 2
        for to, email in sent.items():
            html = email.alternatives[0][0]
            unsubscribe = email.extra_headers["List-Unsubscribe"].strip("<>")  # the header stays
            french = to == "jeanne@example.test" and template is None
            label, preferences = ("Se désinscrire", "Vos préférences d'e-mail") if french else (
                "Unsubscribe", "Your email preferences")
            assert re.search(rf'<a href="{re.escape(unsubscribe)}"[^>]*>{label}</a>', html), html
            assert preferences in visible_text(html)
            assert label in email.body and unsubscribe in email.body


def test_transactional_emails_get_no_unsubscribe_footer(tenant_a, french_candidate,
                                                         django_capture_on_commit_callbacks):
    with tenant_a.scope():
        application = application_create(actor=tenant_a.recruiter, candidate=french_candidate["candidate"],
                                         job=french_candidate["job"])
    _reject(tenant_a, application, "Skills gap", django_capture_on_commit_callbacks)
    html = mail.outbox[0].alternatives[0][0]
    assert "Se désinscrire" not in html and "Unsubscribe" not in html and "/p/u/" not in html


# --- Existing organizations -----------------------------------------------------------------------

def test_the_command_updates_untouched_old_defaults_and_leaves_edited_ones(tenant_a, tenant_b):
    """Templates are stored per organization: an organization created before keeps the old wording until the
    command brings its untouched defaults up to date; a template someone edited is never overwritten."""
    from outreach.defaults import fingerprint

    # Tenant A's English news template as organizations got it before (its footer, no referral, no memory).
    subject = "News from {{ company.name }}"
    html = ("<p>Hello {{ candidate.first_name }},</p><p>Here is what is new at {{ company.name }}.</p>"
            '<p style="color:#6b7280;font-size:12px">{% if links.preferences %}<a href="{{ links.preferences }}">'
            "Your email preferences</a>{% endif %}</p>")
    assert fingerprint(subject, html) in PREVIOUS_DEFAULTS[("company_news", "en")]
    with tenant_a.scope():
        EmailTemplate.objects.filter(kind="company_news", language="en").update(subject=subject, html_body=html)
        EmailTemplate.objects.filter(kind="company_news", language="fr").update(
            html_body="<p>Bonjour {{ candidate.first_name }}, notre texte à nous.</p>")
    call_command("update_default_templates", "--org", tenant_a.slug, "--dry-run")
    with tenant_a.scope():
        assert EmailTemplate.objects.get(kind="company_news", language="en").html_body == html
    call_command("update_default_templates")
    with tenant_a.scope():
        news = EmailTemplate.objects.get(kind="company_news", language="en")
        assert news.html_body == DEFAULTS[(TemplateKind.COMPANY_NEWS, "en")][1] and news.version == 2
        assert "links.referral" in template_fields(news.html_body)
        assert "notre texte à nous" in EmailTemplate.objects.get(kind="company_news", language="fr").html_body
    with tenant_b.scope():  # already current: nothing to do
        assert not EmailTemplate.objects.filter(version__gt=1).exists()
