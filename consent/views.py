from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.models import Candidate
from crm.permissions import ADMIN, RECRUITING, role_required
from crm.services import ServiceError

from . import selectors, services
from .forms import RecordConsentForm


def consent_panel(request, candidate):
    if request.membership is None or not request.membership.can_recruit:
        return None
    return render_to_string("consent/_panel.html", {
        "candidate": candidate, "states": selectors.states_for(candidate), "ledger": selectors.ledger_for(candidate),
        "form": RecordConsentForm(),
    }, request=request)


@require_POST
@role_required(RECRUITING)
def record_consent(request, org_slug, candidate_id):
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    form = RecordConsentForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    else:
        grants = {key: (form.cleaned_data["frequency"] if key != "talent_pool" else "")
                  for key in form.cleaned_data["purposes"]}
        try:
            services.record_on_behalf(candidate=candidate, grants=grants, note=form.cleaned_data["note"],
                                      actor=request.user)
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Consent recorded in the ledger with your evidence note.")
    return redirect("candidate_detail", org_slug=org_slug, candidate_id=candidate.pk)


@require_GET
@role_required(RECRUITING)
def export_candidate(request, org_slug, candidate_id):
    import json

    from django.http import HttpResponse

    from crm.audit import audit

    from .rights import candidate_export, export_csv

    candidate = get_object_or_404(Candidate, pk=candidate_id)
    data = candidate_export(candidate)
    fmt = "csv" if request.GET.get("format") == "csv" else "json"
    audit("candidate.exported", actor=request.user, obj=candidate, details={"format": fmt})
    if fmt == "csv":
        response = HttpResponse(export_csv(data), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="candidate-{candidate.pk}.{fmt}"'
    return response


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def erase_candidate(request, org_slug, candidate_id):
    from django.shortcuts import render

    from .rights import candidate_erase

    candidate = get_object_or_404(Candidate, pk=candidate_id)
    error = None
    if request.method == "POST":
        if request.POST.get("confirmation", "").strip().lower() != candidate.email.lower():
            error = "Type the candidate's email address exactly to confirm."
        else:
            try:
                candidate_erase(candidate=candidate, actor=request.user, reason=request.POST.get("reason", ""))
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, "The candidate is erased. Their address is on the suppression list.")
                return redirect("candidate_list", org_slug=org_slug)
    return render(request, "consent/erase.html", {"candidate": candidate, "error": error},
                  status=400 if error else 200)
