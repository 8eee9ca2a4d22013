from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from .models import Membership, Organization, Role
from .tenancy import reset_organization, set_organization


def user_has_mfa(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class OrganizationMiddleware:
    """Puts the organization of `/o/<org-slug>/...` in scope after checking membership.

    Not a member, or no such organization: 404, the same answer for both. The membership is
    read on every request, so a removed member loses access on their next click.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        token = set_organization(None)
        try:
            return self.get_response(request)
        finally:
            reset_organization(token)
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("org_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = (
            Membership.all_tenants.select_related("organization")
            .filter(
                user=request.user,
                organization__slug=slug,
                organization__deletion_requested_at__isnull=True,
            )
            .first()
        )
        if membership is None:
            raise Http404("No such organization.")
        organization: Organization = membership.organization
        request.organization = organization
        request.membership = membership
        set_organization(organization)
        timezone.activate(organization.time_zone)  # pages show times in the organization's time zone
        if (
            request.resolver_match.url_name != "mfa_required"
            and organization.require_admin_mfa
            and membership.role == Role.ADMIN
            and not user_has_mfa(request.user)
        ):
            return redirect("mfa_required", org_slug=organization.slug)
        return None
