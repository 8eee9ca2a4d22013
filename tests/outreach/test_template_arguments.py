"""Filter arguments are merge fields too: nothing outside the documented fields reaches a template, and a
template that fails while rendering fails its message with a short reason, never the merge context."""

import pytest
from django.conf import settings

from outreach import dispatch
from outreach.models import EmailTemplate, Message, MessageStatus
from outreach.rendering import TemplateProblem, check_template
from outreach.services import send_test

from ..factories import CandidateFactory

SECRET_ARGUMENT = "<p>Hi {{ candidate.first_name|default:settings.SECRET_KEY }}</p>"


@pytest.mark.parametrize("source,message", [
    (SECRET_ARGUMENT, "Unknown merge field “settings.SECRET_KEY”"),
    ("{{ candidate.first_name|default:request.user.email }}", "Unknown merge field “request.user.email”"),
    ("{{ candidate.first_name|default_if_none:candidate.email }}", "Unknown merge field “candidate.email”"),
    ("{% if candidate.first_name|default:settings.DEBUG %}x{% endif %}", "Unknown merge field “settings.DEBUG”"),
    ("{% for job in matching_jobs|default:settings.ADMINS %}{% endfor %}", "Unknown merge field “settings.ADMINS”"),
    ("{% for job in matching_jobs %}{{ job.title|default:job.salary }}{% endfor %}", "items of matching_jobs have"),
    ("Hello\n{{ company.name|join:True }}", "Line 2: Unknown merge field “True”"),
])
def test_filter_arguments_are_checked_like_merge_fields(source, message):
    with pytest.raises(TemplateProblem, match=message):
        check_template(source)


def test_literal_and_documented_filter_arguments_are_accepted():
    check_template("{{ candidate.first_name|default:'friend' }} {{ candidate.first_name|default:\"x\" }}"
                   "{{ job.title|truncatewords:5 }}{{ candidate.first_name|default:candidate.full_name }}"
                   "{{ event.date|date:'j F Y' }}{% for job in matching_jobs %}{{ job.title|default:job.location }}"
                   "{% endfor %}{{ stage_reached|default:_('soon') }}")


def test_saving_a_filter_argument_outside_the_merge_fields_is_refused_on_the_field(tenant_a):
    with tenant_a.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
    body = {"name": template.name, "kind": template.kind, "language": "en", "subject": "Hi",
            "html_body": SECRET_ARGUMENT, "text_body": "", "active": "on"}
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/{template.pk}/", body)
    assert response.status_code == 400
    assert "Unknown merge field “settings.SECRET_KEY”" in response.context["form"].errors["html_body"][0]
    template.refresh_from_db()
    assert template.version == 1 and "settings" not in template.html_body

    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/new/", {
        **body, "name": "Sneaky", "html_body": "<p>x</p>", "subject": "{{ company.name|default:settings.DEBUG }}"})
    assert response.status_code == 400
    assert "settings.DEBUG" in response.context["form"].errors["subject"][0]
    with tenant_a.scope():
        assert not EmailTemplate.objects.filter(name="Sneaky").exists()


def test_the_preview_answers_a_clear_error_for_a_filter_argument(tenant_a):
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/preview/", {
        "subject": "s", "html_body": SECRET_ARGUMENT, "text_body": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unknown merge field “settings.SECRET_KEY”" in page
    assert settings.SECRET_KEY not in page


def test_a_template_that_fails_at_render_fails_its_message_with_a_short_reason(tenant_a, settings):
    settings.OUTBOX_EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    with tenant_a.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="", last_name="Lovelace",
                                     email="ada.lovelace@example.test")
        # Saved before filter arguments were checked (or written behind the pages' back).
        EmailTemplate.objects.filter(pk=template.pk).update(html_body=SECRET_ARGUMENT)
        template.refresh_from_db()
        message = send_test(template=template, actor=tenant_a.recruiter, candidate=candidate)
    ids = dispatch.claim_due()
    assert dispatch.send_batch(ids) == {"failed": 1}
    message = Message.all_tenants.get(pk=message.pk)
    assert message.status == MessageStatus.FAILED
    reason = message.status_reason
    assert reason == "template error: the merge field “settings” does not exist"
    for leaked in (settings.SECRET_KEY, "Lovelace", tenant_a.organization.name, tenant_a.recruiter.email,
                   "Failed lookup", "{'"):
        assert leaked not in reason


def test_the_preview_of_a_template_that_fails_at_render_answers_its_reason(tenant_a, monkeypatch):
    from django.template.defaultfilters import stringfilter

    from outreach import rendering

    @stringfilter
    def upper(value):
        raise RuntimeError("the filter broke")

    # A filter that raises stands in for any failure the checks cannot foresee.
    monkeypatch.setitem(rendering._LIBRARY.filters, "upper", upper)
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/templates/preview/", {
        "subject": "s", "html_body": "{{ candidate.first_name|upper }}", "text_body": ""})
    assert response.status_code == 200
    assert "template error: RuntimeError: the filter broke" in response.content.decode()
