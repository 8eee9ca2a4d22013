from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from .links import site_url


def _on_site(url):
    """allauth builds on the request's host with a forced scheme; emailed links go on SITE_URL instead."""
    parts = urlsplit(url)
    return site_url(parts.path + (f"?{parts.query}" if parts.query else ""))


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        return settings.SIGNUP_OPEN

    def get_email_confirmation_url(self, request, emailconfirmation):
        return _on_site(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key):
        return _on_site(super().get_reset_password_from_key_url(key))
