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


@require_GET
@role_required(RECRUITING)
def dashboard(request, org_slug):
    from datetime import timedelta

    from django.db.models import Count
    from django.shortcuts import render
    from django.utils import timezone

    from outreach.analytics import rejection_opt_in

    from .models import ConsentPurpose, ConsentState, RetentionRun, State

    now = timezone.now()
    granted = dict(ConsentState.objects.filter(state=State.GRANTED, expires_at__gt=now).values_list(
        "purpose__key").annotate(n=Count("id")).values_list("purpose__key", "n"))
    purposes = list(ConsentPurpose.objects.filter(active=True))
    top = max([granted.get(p.key, 0) for p in purposes] + [1])
    bars = [{"label": str(p), "count": granted.get(p.key, 0), "width": round(360 * granted.get(p.key, 0) / top),
             "y": 10 + i * 30} for i, p in enumerate(purposes)]
    # The dashboard's definition (people emailed, by the email's send date), not a second one.
    opt_in = rejection_opt_in(now - timedelta(days=90))
    expiring = ConsentState.objects.filter(state=State.GRANTED, expires_at__gt=now,
                                           expires_at__lte=now + timedelta(days=30)).select_related(
        "candidate", "purpose").order_by("expires_at")
    return render(request, "consent/dashboard.html", {
        "bars": bars, "chart_height": 20 + 30 * len(bars), "notices": opt_in["emailed"], "joined": opt_in["joined"],
        "opt_in_rate": "—" if opt_in["rate"] is None else f"{opt_in['rate']}%",
        "expiring_count": expiring.count(), "expiring": expiring[:20],
        "runs": RetentionRun.objects.all()[:10], "tab": None,
    })


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def texts(request, org_slug):
    from django import forms
    from django.conf import settings
    from django.shortcuts import render

    from .models import ConsentPurpose, ConsentText

    class TextForm(forms.Form):
        purpose = forms.ModelChoiceField(queryset=ConsentPurpose.objects.filter(active=True))
        language = forms.ChoiceField(choices=settings.LANGUAGES)
        text = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
        ask_renewal = forms.BooleanField(required=False, label="Ask everyone in the talent pool to renew",
                                         help_text="Only for the talent-pool text: they agreed to the old words.")

    form = TextForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.text_new_version(actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, f"Version {version.version} of “{version.purpose}” ({version.language}) is "
                                      "what candidates see from now on; earlier agreements keep their version.")
            return redirect("consent:texts", org_slug=org_slug)
    current = {}
    for text in ConsentText.objects.select_related("purpose").order_by("purpose__position", "language", "-version"):
        current.setdefault((text.purpose_id, text.language), text)
    return render(request, "consent/texts.html", {"form": form, "texts": list(current.values())},
                  status=400 if form.errors else 200)
