"""The operators' Django admin: signed in through allauth, never through a password form of its own.

A staff user reaches the admin only with a session that passed allauth's login (rate limits,
email verification) and, when they have MFA, its second factor in this session.
"""

from functools import update_wrapper

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from .tenancy import every_organization_scope


def session_passed_mfa(request):
    """True when the signed-in user has no MFA, or this session passed their second factor."""
    user = request.user
    if not is_mfa_enabled(user):
        return True
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, user))


class AdminSite(admin.AdminSite):
    site_header = "Silverpool operations"
    site_title = "Silverpool"

    def has_permission(self, request):
        return super().has_permission(request) and session_passed_mfa(request)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        """No form here: allauth's login (or its MFA step) signs in, then comes back to `next`."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url, reverse("account_login"))
        if self.has_permission(request):
            return redirect(next_url)
        if user.is_active and user.is_staff:  # signed in without the second factor they have
            return redirect_to_login(next_url, reverse("mfa_reauthenticate"))
        raise PermissionDenied

    def password_change(self, request, extra_context=None):
        return redirect("account_change_password")  # allauth's form: it notifies and keeps the records

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        def every_organization(request, *args, **kwargs):
            # Validation (unique checks, constraints, choices) must read whole tables, like the
            # database constraints it mirrors; one organization's scope would let a duplicate
            # of a table-wide unique value (an API key prefix) through to an IntegrityError.
            with every_organization_scope():
                response = checked(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()  # templates evaluate querysets: render inside the scope
                return response

        return update_wrapper(every_organization, checked)

