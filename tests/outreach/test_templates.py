import pytest

from outreach.models import EmailTemplate
from outreach.rendering import TemplateProblem, check_template, render_email


@pytest.mark.parametrize("source,message", [
    ("Hi {% load static %}", "tag “load” is not allowed"),
    ("{% include 'base.html' %}", "tag “include” is not allowed"),
    ("{% extends 'base.html' %}", "tag “extends” is not allowed"),
    ("{% url 'home' %}", "tag “url” is not allowed"),
    ("Hello\n{{ candidate.email }}", "Line 2: Unknown merge field “candidate.email”"),
    ("{{ candidate.first_name|safe }}", "filter “safe” is not allowed"),
    ("{% for x in candidate.first_name %}{% endfor %}", "Only lists"),
    ("{% for job in matching_jobs %}{{ job.salary }}{% endfor %}", "items of matching_jobs have"),
    ("{% if candidate.first_name %}unclosed", "Unclosed tag"),
    ("{{ settings.SECRET_KEY }}", "Unknown merge field"),
])
def test_the_restricted_language_refuses_with_a_line_and_a_reason(source, message):
    with pytest.raises(TemplateProblem, match=message):
        check_template(source)


def test_documented_fields_loops_and_filters_are_accepted():
    check_template("Dear {{ candidate.first_name|default:'friend'|title }},{% if feedback.strengths %}"
                   "{{ feedback.strengths|linebreaksbr }}{% endif %}{% for job in matching_jobs %}"
                   "<a href='{{ job.url }}'>{{ job.title }}</a>{% empty %}none{% endfor %}")


def test_rendering_sanitizes_html_and_flattens_the_subject():
    rendered = render_email(
        subject="Hello {{ candidate.first_name }}",
        html_body='<table style="width:100%"><tr><td onclick="steal()">{{ candidate.first_name }}</td></tr></table>'
                  '<script>alert(1)</script><a href="javascript:alert(1)">x</a><a href="https://ok.test">ok</a>',
        text_body="",
        context={"candidate": {"first_name": "<img src=x onerror=alert(1)>\nBcc: victim@x.test"}},
    )
    assert "\n" not in rendered.subject and "Bcc: victim" in rendered.subject  # one line, harmless
    assert "<script" not in rendered.html and "onclick" not in rendered.html and "javascript:" not in rendered.html
    assert 'style="width:100%"' in rendered.html and "<table" in rendered.html
    assert "&lt;img" in rendered.html  # the name is text, never markup
    assert "ok (https://ok.test)" in rendered.text


def test_every_organization_gets_default_templates_in_english_and_french(tenant_a):
    with tenant_a.scope():
        kinds = set(EmailTemplate.objects.values_list("kind", "language"))
    assert len(kinds) == 22
    for template in EmailTemplate.all_tenants.filter(organization=tenant_a.organization):
        check_template(template.html_body)


def test_saving_a_bad_template_shows_the_error_on_the_page(tenant_a):
    with tenant_a.scope():
        template = EmailTemplate.objects.get(kind="rejection_early", language="en")
    url = f"/o/{tenant_a.slug}/templates/{template.pk}/"
    body = {"name": template.name, "kind": template.kind, "language": "en", "subject": "Hi",
            "html_body": "<p>{{ candidate.first_name }}</p>\n{% load evil %}", "text_body": "", "active": "on"}
    response = tenant_a.recruiter_client.post(url, body)
    assert response.status_code == 400
    assert "Line 2: The tag “load” is not allowed" in response.content.decode()
    template.refresh_from_db()
    assert "evil" not in template.html_body and template.version == 1
    body["html_body"] = "<p>Hi {{ candidate.first_name }}</p>"
    assert tenant_a.recruiter_client.post(url, body).status_code == 302
    template.refresh_from_db()
    assert template.version == 2


def test_live_preview_renders_for_a_chosen_candidate(tenant_a):
    from ..factories import CandidateFactory

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Grace")
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/preview/", {
        "subject": "Hello {{ candidate.first_name }}", "html_body": "<p style='color:red'>{{ company.name }}</p>",
        "text_body": "", "preview_candidate": candidate.pk})
    page = response.content.decode()
    assert "Hello Grace" in page
    import re

    frame = re.search(r'src="(/o/acme/templates/preview/[^"]+)"', page).group(1)
    framed = tenant_a.recruiter_client.get(frame)
    assert "Acme Robotics" in framed.content.decode() and "color:red" in framed.content.decode()
    assert "sandbox" in framed["Content-Security-Policy"] and "script" not in framed["Content-Security-Policy"]
    broken = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/preview/", {
        "subject": "x", "html_body": "{% include 'x' %}", "text_body": ""})
    assert "not allowed" in broken.content.decode()
