from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from crm.models import Candidate
from crm.permissions import RECRUITING, role_required
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
