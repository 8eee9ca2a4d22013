
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..downloads import csv_download
from ..filters import SORTS, CandidateFilter, default_sort
from ..forms import ActivityNoteForm, AddToJobForm, CandidateForm, DoNotContactForm
from ..pagination import InvalidCursor
from ..panels import candidate_list_panels, candidate_panels
from ..permissions import RECRUITING, role_required
from ..services import DuplicateCandidate, ServiceError

PAGE_SIZES = (25, 50, 100)


def _page_size(request):
    try:
        size = int(request.GET.get("size", 25))
    except ValueError:
        return 25
    return size if size in PAGE_SIZES else 25


@require_GET
@role_required(RECRUITING)
def candidate_list(request, org_slug):
    filterset = CandidateFilter(request.GET, queryset=selectors.candidates())
    listing, cursor_error = None, None
    if filterset.is_valid():
        try:
            listing = selectors.candidate_listing(
                filterset.qs, sort=request.GET.get("sort") or default_sort(request.GET),
                cursor=request.GET.get("cursor") or None, size=_page_size(request),
            )
        except InvalidCursor as error:
            cursor_error = str(error)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "filter": filterset,
        "listing": listing,
        "cursor_error": cursor_error,
        "sorts": SORTS,
        "query_without_cursor": query.urlencode(),
        "query_without_sort": "&".join(f"{k}={v}" for k, v in query.items() if k != "sort"),
        "filtered": any(v for k, v in request.GET.items() if k not in ("sort", "cursor", "size")),
    }
    # Inside the results, so that htmx refreshes them with the filters (bulk "all matches" reads them).
    context["list_panels"] = candidate_list_panels(request, context)
    template = "crm/candidates/list.html#results" if request.htmx and not request.htmx.boosted else \
        "crm/candidates/list.html"
    status = 400 if filterset.errors or cursor_error else 200
    return render(request, template, context, status=status)


@require_GET
@role_required(RECRUITING)
def candidates_export(request, org_slug):
    filterset = CandidateFilter(request.GET, queryset=selectors.candidates())
    if not filterset.is_valid():
        messages.error(request, "The export needs valid filters; nothing was exported.")
        return redirect(reverse("candidate_list", kwargs={"org_slug": org_slug}) + "?" + request.GET.urlencode())

    description = {k: v for k, v in request.GET.items() if v}
    rows = services.candidates_export_rows(queryset=filterset.qs, actor=request.user, description=description)
    return csv_download(rows, f"candidates-{request.organization.slug}-{timezone.now():%Y%m%d-%H%M}.csv")


def _duplicate_error(form, error, org_slug):
    if isinstance(error, ValidationError):
        form.add_error(None, error)
    elif isinstance(error, DuplicateCandidate):
        url = reverse("candidate_detail", kwargs={"org_slug": org_slug, "candidate_id": error.existing.pk})
        form.add_error("email", format_html('{} <a href="{}">Open {}</a>', error.message, url,
                                            error.existing.full_name))
    else:
        form.add_error(error.field if error.field in form.fields else None, error.message)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def candidate_new(request, org_slug):
    form = CandidateForm(request.POST or None, initial={"source": "sourced"})
    if request.method == "POST" and form.is_valid():
        try:
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            candidate = services.candidate_create(actor=request.user, **data)
        except (ServiceError, ValidationError) as error:
            _duplicate_error(form, error, org_slug)
        else:
            messages.success(request, f"{candidate.full_name} is in your talent base.")
            return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)
    return render(request, "crm/candidates/form.html", {"form": form, "candidate": None},
                  status=400 if form.errors else 200)


def _candidate(candidate_id):
    return get_object_or_404(selectors.candidates(), pk=candidate_id)


@require_http_methods(["GET", "POST"])
@role_required(RECRUITING)
def candidate_edit(request, org_slug, candidate_id):
    candidate = _candidate(candidate_id)
    form = CandidateForm(request.POST or None, instance=candidate)
    if request.method == "POST" and form.is_valid():
        try:
            data = {name: form.cleaned_data[name] for name in form.Meta.fields}
            candidate, changed = services.candidate_update(candidate=candidate, actor=request.user, data=data)
        except (ServiceError, ValidationError) as error:
            _duplicate_error(form, error, org_slug)
        else:
            messages.success(request, "Profile saved." if changed else "Nothing changed.")
            return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)
    return render(request, "crm/candidates/form.html", {"form": form, "candidate": candidate},
                  status=400 if form.errors else 200)


@require_GET
@role_required(RECRUITING)
def candidate_detail(request, org_slug, candidate_id):
    candidate = _candidate(candidate_id)
    context = {
        "candidate": candidate,
        "timeline": selectors.timeline(candidate),
        "dnc_form": DoNotContactForm(),
        "note_form": ActivityNoteForm(),
        "panels": candidate_panels(request, candidate),
        "applications": candidate.applications.select_related("job", "rejection_reason").order_by("-applied_at"),
        "add_to_job_form": AddToJobForm(),
    }
    return render(request, "crm/candidates/detail.html", context)


@require_GET
@role_required(RECRUITING)
def candidate_timeline(request, org_slug, candidate_id):
    candidate = _candidate(candidate_id)
    try:
        page = selectors.timeline(candidate, cursor=request.GET.get("cursor") or None)
    except InvalidCursor as error:
        return render(request, "crm/candidates/detail.html#timeline-error", {"error": str(error)}, status=400)
    template = "crm/candidates/detail.html#timeline-page" if request.htmx else "crm/candidates/timeline.html"
    return render(request, template, {"candidate": candidate, "timeline": page})


@require_POST
@role_required(RECRUITING)
def candidate_do_not_contact(request, org_slug, candidate_id):
    candidate = _candidate(candidate_id)
    form = DoNotContactForm(request.POST)
    if form.is_valid():
        try:
            services.candidate_set_do_not_contact(
                candidate=candidate, actor=request.user,
                do_not_contact=form.cleaned_data["do_not_contact"], reason=form.cleaned_data["reason"],
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Marked do not contact: no campaign will reach this person."
                             if form.cleaned_data["do_not_contact"] else "Do-not-contact flag cleared.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


@require_POST
@role_required(RECRUITING)
def candidate_note(request, org_slug, candidate_id):
    candidate = _candidate(candidate_id)
    form = ActivityNoteForm(request.POST)
    if form.is_valid():
        try:
            services.candidate_add_note(candidate=candidate, actor=request.user, kind=form.cleaned_data["kind"],
                                        text=form.cleaned_data["text"])
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Added to the timeline.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


