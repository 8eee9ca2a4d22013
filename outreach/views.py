import re
import secrets

from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.links import site_url
from crm.models import Candidate
from crm.permissions import RECRUITING, role_required
from crm.services import ServiceError

from . import selectors, services
from .context import build_context, shareable_feedback
from .forms import EmailTemplateForm, ReviewForm
from .models import EmailTemplate, Message, MessageStatus
from .rendering import MERGE_FIELDS, TemplateProblem, render_email

# A personal link on SITE_URL, or on any other host (a message written before SITE_URL was set right).
PERSONAL_LINK = re.compile(r"https?://[^\s\"'<>/]+/p/[^\s\"'<>]+")


def redact(text):
    """Personal links never work for a recruiter: the outbox shows them redacted."""
    return PERSONAL_LINK.sub("[personal link]", text or "")


def dashboard_panel(request):
    if request.membership is None or not request.membership.can_recruit:
        return None
    from .analytics import dashboard

    return render_to_string("outreach/_dashboard_panel.html", {"a": dashboard(request.organization)},
                            request=request)


def messages_panel(request, candidate):
    if request.membership is None or not request.membership.can_recruit:
        return None
    from .models import Rsvp

    return render_to_string("outreach/_messages_panel.html",
                            {"messages_sent": selectors.messages_for_candidate(candidate), "candidate": candidate,
                             "rsvps": Rsvp.objects.filter(candidate=candidate).select_related("campaign")},
                            request=request)


# --- The outbox -----------------------------------------------------------------------------

@require_GET
@role_required(RECRUITING)
def outbox(request, org_slug):
    status = request.GET.get("status") or None
    if status is not None and status not in MessageStatus.values:
        status = None
    from .inbound import stop_requests_to_review

    return render(request, "outreach/outbox.html", {
        "outbox_messages": selectors.outbox(status=status), "status": status, "statuses": MessageStatus.choices,
        "needs_review": Message.objects.filter(status=MessageStatus.NEEDS_REVIEW).count(),
        "in_review": Message.objects.filter(status=MessageStatus.REVIEW).count(),
        "stop_requests": stop_requests_to_review(),
    })


@require_POST
@role_required(RECRUITING)
def stop_request_reviewed(request, org_slug, reply_id):
    from .inbound import stop_request_reviewed as mark_reviewed
    from .models import Reply

    reply = get_object_or_404(Reply.objects.select_related("candidate"), pk=reply_id, stop_request=True)
    if mark_reviewed(reply=reply, actor=request.user):
        messages.success(request, f"The request of {reply.candidate.full_name} is marked as reviewed.")
    return redirect("outreach:outbox", org_slug=org_slug)


@require_GET
@role_required(RECRUITING)
def message_detail(request, org_slug, message_id):
    message = get_object_or_404(Message.objects.select_related("candidate", "application__job"), pk=message_id)
    return render(request, "outreach/message_detail.html", {
        "message": message, "events": message.events.all(),
        "html": redact(message.html), "text": redact(message.text),
    })


@require_POST
@role_required(RECRUITING)
def message_resolve(request, org_slug, message_id):
    message = get_object_or_404(Message, pk=message_id)
    resend = request.POST.get("action") == "resend"
    try:
        services.needs_review_resolve(message=message, actor=request.user, resend=resend)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The email is queued again." if resend else "Recorded as sent.")
    return redirect("outreach:message_detail", org_slug=org_slug, message_id=message.pk)


@require_GET
@role_required(RECRUITING)
def review_queue(request, org_slug):
    items = []
    for message in selectors.review_queue():
        feedback = shareable_feedback(message.application) if message.application_id else {}
        items.append({"message": message, "form": ReviewForm(initial=feedback), "feedback": feedback})
    return render(request, "outreach/review_queue.html", {"items": items})


@require_POST
@role_required(RECRUITING)
def review_approve(request, org_slug, message_id):
    message = get_object_or_404(Message, pk=message_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Keep each part under 5,000 characters.")
        return redirect("outreach:review_queue", org_slug=org_slug)
    try:
        services.review_approve(message=message, actor=request.user, **form.cleaned_data)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        name = message.candidate.full_name if message.candidate else message.to_email
        messages.success(request, f"Approved: the email to {name} is queued for {message.send_after:%d %b %H:%M}.")
    return redirect("outreach:review_queue", org_slug=org_slug)


# --- Templates ------------------------------------------------------------------------------

@require_GET
@role_required(RECRUITING)
def template_list(request, org_slug):
    return render(request, "outreach/templates.html", {"templates": EmailTemplate.objects.all()})


def _preview(request, form_data, candidate):
    """Render a draft for `candidate` (or sample data) and keep it for the preview frame."""
    organization = request.organization
    application = candidate.applications.select_related("job", "rejection_reason").order_by(
        "-applied_at").first() if candidate else None
    links = {key: site_url("/p/preview-link/") for key in ("stay_in_touch", "preferences", "unsubscribe")}
    context = build_context(organization=organization, candidate=candidate, application=application,
                            language=form_data.get("language", "en"), recruiter=request.user, links=links)
    if candidate is None:
        context["candidate"] = {"first_name": "Alex", "last_name": "Example", "full_name": "Alex Example"}
    rendered = render_email(subject=form_data.get("subject", ""), html_body=form_data.get("html_body", ""),
                            text_body=form_data.get("text_body", ""), context=context)
    key = secrets.token_urlsafe(16)
    cache.set(f"preview:{organization.pk}:{key}", rendered.html, 600)
    return rendered, key


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def template_edit(request, org_slug, template_id=None):
    template = get_object_or_404(EmailTemplate, pk=template_id) if template_id else None
    form = EmailTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            template = services.template_save(actor=request.user, template=template, **data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Template saved (version {template.version}).")
            return redirect("outreach:template_edit", org_slug=org_slug, template_id=template.pk)
    return render(request, "outreach/template_edit.html", {
        "form": form, "template": template, "merge_fields": MERGE_FIELDS,
        "candidates": Candidate.objects.order_by("-last_activity_at")[:20],
    }, status=400 if form.errors else 200)


@require_POST
@role_required(RECRUITING)
def template_preview(request, org_slug):
    candidate = Candidate.objects.filter(pk=request.POST.get("preview_candidate") or 0).first()
    errors = services.template_check(subject=request.POST.get("subject", ""),
                                     html_body=request.POST.get("html_body", ""),
                                     text_body=request.POST.get("text_body", ""))
    if errors:
        return render(request, "outreach/_preview.html", {"errors": errors})
    try:
        rendered, key = _preview(request, request.POST, candidate)
    except (TemplateProblem, ValueError) as error:
        return render(request, "outreach/_preview.html", {"errors": {"html_body": str(error)}})
    return render(request, "outreach/_preview.html", {"rendered": rendered, "key": key, "candidate": candidate})


@require_GET
@role_required(RECRUITING)
def template_preview_frame(request, org_slug, key):
    html = cache.get(f"preview:{request.organization.pk}:{key}")
    if html is None:
        raise Http404("This preview has expired.")
    response = HttpResponse(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{html}</body></html>")
    # Email HTML carries inline styles; the frame is sandboxed and runs no script.
    response["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
                                           "frame-ancestors 'self'; sandbox")
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@require_POST
@role_required(RECRUITING)
def template_send_test(request, org_slug, template_id):
    template = get_object_or_404(EmailTemplate, pk=template_id)
    services.send_test(template=template, actor=request.user)
    messages.success(request, f"A test is on its way to {request.user.email}, with dummy personal links.")
    return redirect("outreach:template_edit", org_slug=org_slug, template_id=template.pk)
