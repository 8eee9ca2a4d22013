from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..forms import (
    ApiKeyForm,
    InvitationForm,
    InvitationSignupForm,
    MemberRoleForm,
    OrganizationDeleteForm,
    OrganizationSettingsForm,
    validate_organization_slug,
)
from ..middleware import user_has_mfa
from ..models import ApiKey, Invitation, Membership, Role
from ..permissions import ADMIN, EVERYONE, role_required
from ..services import ServiceError


@never_cache
@transaction.non_atomic_requests  # the database being down is an answer here, not an error
def healthz(request):
    """Each dependency's state: 200 while the web can serve (ok, or degraded without Redis), 503 without the database."""
    from ..health import dependency_status

    report = dependency_status()
    return JsonResponse(report, status=503 if report["status"] == "down" else 200)


@login_required
def home(request):
    memberships = list(
        Membership.all_tenants.select_related("organization")
        .filter(user=request.user, organization__deletion_requested_at__isnull=True)
    )
    if len(memberships) == 1:
        return redirect("dashboard", org_slug=memberships[0].organization.slug)
    return render(request, "crm/organization_choose.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def organization_new(request):
    """A signed-in user starts another organization of which they are the admin."""
    from django import forms

    class NewOrganizationForm(forms.Form):
        name = forms.CharField(max_length=120, label="Company or team name")
        slug = forms.CharField(max_length=50, label="Address", help_text="Lowercase letters, digits and hyphens.")

        def clean_slug(self):
            return validate_organization_slug(self.cleaned_data["slug"])

    if not settings.SIGNUP_OPEN and not request.user.is_staff:
        raise Http404("Creating organizations is turned off.")
    form = NewOrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = services.organization_create(
            name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], admin=request.user
        )
        messages.success(request, f"{organization.name} is ready. Invite your team from Settings → Members.")
        return redirect("dashboard", org_slug=organization.slug)
    return render(request, "crm/organization_new.html", {"form": form})


@require_GET
@role_required(EVERYONE)
def dashboard(request, org_slug):
    context = {"numbers": selectors.dashboard_numbers(request.organization, request.membership)}
    if request.membership.can_recruit:
        series = selectors.monthly_growth(request.organization)
        top = max([point["count"] for point in series] + [1])
        for index, point in enumerate(series):
            point["height"] = round(140 * point["count"] / top)
            point["x"] = 10 + index * 50
            point["y"] = 160 - point["height"]
        context["growth"] = series
        context["growth_total"] = sum(point["count"] for point in series)
    from ..panels import dashboard_panels

    context["dashboard_panels"] = dashboard_panels(request)
    return render(request, "crm/dashboard.html", context)


@require_http_methods(["GET", "POST"])
def mfa_required(request, org_slug):
    if user_has_mfa(request.user):
        return redirect("dashboard", org_slug=org_slug)
    return render(request, "crm/mfa_required.html", {})


# --- Organization administration ---------------------------------------------------------

@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def organization_settings(request, org_slug):
    organization = request.organization
    form = OrganizationSettingsForm(request.POST or None, instance=organization)
    if request.method == "POST":
        if form.is_valid():
            services.organization_update(organization=form.save(commit=False), actor=request.user,
                                         changed_fields=form.changed_data)
            messages.success(request, "Settings saved.")
            return redirect("organization_settings", org_slug=organization.slug)
        messages.error(request, "Please correct the errors below; nothing was saved.")
    return render(request, "crm/settings/organization.html", {"form": form, "tab": "organization"})


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def members(request, org_slug):
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, _ = services.invitation_create(
                organization=request.organization, email=form.cleaned_data["email"],
                role=form.cleaned_data["role"], actor=request.user,
            )
        except ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return render(request, "crm/settings/invitation_sent.html", {"invitation": invitation, "tab": "members"})
    context = {
        "form": form,
        "members": selectors.members(),
        "invitations": selectors.pending_invitations(),
        "roles": Role.choices,
        "tab": "members",
    }
    return render(request, "crm/settings/members.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(ADMIN)
def member_role(request, org_slug, member_id):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=member_id)
    form = MemberRoleForm(request.POST)
    error = None
    if not form.is_valid():
        error = "Choose a valid role."
    else:
        try:
            services.membership_change_role(membership=membership, role=form.cleaned_data["role"], actor=request.user)
        except ServiceError as exc:
            error = exc.message
            membership.refresh_from_db()
    if request.htmx:
        return render(request, "crm/settings/members.html#member-row",
                      {"member": membership, "roles": Role.choices, "row_error": error,
                       "row_saved": error is None}, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.display_name} is now {membership.get_role_display().lower()}.")
    return redirect("members", org_slug=org_slug)


@require_POST
@role_required(ADMIN)
def member_remove(request, org_slug, member_id):
    membership = get_object_or_404(Membership.objects.select_related("user"), pk=member_id)
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{membership.user.display_name} no longer has access to {request.organization.name}.")
        if membership.user_id == request.user.id:
            return redirect("home")
    return redirect("members", org_slug=org_slug)


@require_POST
@role_required(ADMIN)
def invitation_revoke(request, org_slug, invitation_id):
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The invitation to {invitation.email} is revoked; its link no longer works.")
    return redirect("members", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def api_keys(request, org_slug):
    form = ApiKeyForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        api_key, secret = services.api_key_create(
            name=form.cleaned_data["name"], scope=form.cleaned_data["scope"], actor=request.user
        )
        messages.success(request, f"API key “{api_key.name}” created. Copy it now: it will not be shown again.")
        form = ApiKeyForm()
    context = {"form": form, "api_keys": selectors.api_keys(), "secret": secret, "tab": "api_keys"}
    return render(request, "crm/settings/api_keys.html", context, status=400 if form.errors else 200)


@require_POST
@role_required(ADMIN)
def api_key_revoke(request, org_slug, key_id):
    api_key = get_object_or_404(ApiKey, pk=key_id)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    messages.success(request, f"API key “{api_key.name}” is revoked; requests with it now get 401.")
    return redirect("api_keys", org_slug=org_slug)


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def organization_delete(request, org_slug):
    organization = request.organization
    form = OrganizationDeleteForm(request.POST or None, organization=organization)
    if request.method == "POST" and form.is_valid():
        services.organization_request_deletion(organization=organization, actor=request.user)
        messages.success(request, f"{organization.name} is being deleted with all its data.")
        return redirect("home")
    return render(request, "crm/settings/delete.html", {"form": form, "tab": "delete"},
                  status=400 if form.errors else 200)


@require_GET
@role_required(ADMIN)
def audit_log(request, org_slug):
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        before = None
    events = selectors.audit_events(before_id=before)
    has_more = len(events) > 50
    events = events[:50]
    next_before = events[-1].id if has_more and events else None
    return render(request, "crm/settings/audit.html",
                  {"events": events, "next_before": next_before, "tab": "audit"})


# --- Invitations (public link) ------------------------------------------------------------

@never_cache  # the invited address and the organization: no browser or proxy keeps a copy
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    invitation = services.invitation_by_token(token)
    if invitation is None or invitation.organization.deletion_requested_at:
        return render(request, "crm/invitation_invalid.html", {"reason": "unknown"}, status=404)
    if invitation.status != "pending":
        return render(request, "crm/invitation_invalid.html", {"reason": invitation.status,
                      "invitation": invitation}, status=410)
    signup_form = None
    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.invitation_accept(token=token, user=request.user)
            except ServiceError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Welcome to {membership.organization.name}.")
                return redirect("dashboard", org_slug=membership.organization.slug)
    else:
        # The same page whether or not the address has an account: whoever holds the link learns nothing.
        signup_form = InvitationSignupForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and signup_form.is_valid():
            try:
                with transaction.atomic():
                    user = services.user_create_from_invitation(
                        token=token,
                        first_name=signup_form.cleaned_data["first_name"],
                        last_name=signup_form.cleaned_data["last_name"],
                        password=signup_form.cleaned_data["password1"],
                    )
            except (ServiceError, ValidationError) as error:
                messages.error(request, getattr(error, "message", str(error)))
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to {invitation.organization.name}.")
                return redirect("dashboard", org_slug=invitation.organization.slug)
    context = {"invitation": invitation, "signup_form": signup_form}
    return render(request, "crm/invitation_accept.html", context,
                  status=400 if signup_form is not None and signup_form.errors else 200)


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def rejection_reasons(request, org_slug):
    from ..forms import RejectionReasonForm
    from ..models import RejectionReason

    form = RejectionReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.rejection_reason_add(actor=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, "Reason added.")
            return redirect("rejection_reasons", org_slug=org_slug)
    return render(request, "crm/settings/rejection_reasons.html",
                  {"form": form, "reasons": RejectionReason.objects.all(), "tab": "reasons"},
                  status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def rejection_reason_edit(request, org_slug, reason_id):
    """How emails word one reason, in each language."""
    from ..forms import RejectionReasonTextsForm
    from ..models import RejectionReason

    reason = get_object_or_404(RejectionReason, pk=reason_id)
    form = RejectionReasonTextsForm(request.POST or None, reason=reason)
    if request.method == "POST" and form.is_valid():
        try:
            services.rejection_reason_set_texts(reason=reason, candidate_text=form.cleaned_data["candidate_text"],
                                                candidate_texts=form.texts(), actor=request.user)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"The wording of “{reason.label}” is saved.")
            return redirect("rejection_reasons", org_slug=org_slug)
    return render(request, "crm/settings/rejection_reason_edit.html",
                  {"form": form, "reason": reason, "tab": "reasons"}, status=400 if form.errors else 200)


@require_POST
@role_required(ADMIN)
def rejection_reason_toggle(request, org_slug, reason_id):
    from ..models import RejectionReason

    reason = get_object_or_404(RejectionReason, pk=reason_id)
    services.rejection_reason_set_active(reason=reason, active=not reason.active, actor=request.user)
    messages.success(request, f"“{reason.label}” is {'offered again' if reason.active else 'retired'}.")
    return redirect("rejection_reasons", org_slug=org_slug)
