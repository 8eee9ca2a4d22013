"""The sign-up form: an email that already has an account costs the same work and gets the same answer.

allauth's enumeration prevention answers both with "check your inbox" (the known address gets an
"account already exists" email), but a new account hashes its password and creates its
organization (about 200 queries) while a known address did neither: the delay told them apart.
"""

import secrets

from allauth.account.adapter import get_adapter
from allauth.account.forms import SignupForm
from allauth.account.models import EmailAddress
from allauth.account.utils import setup_user_email
from django.db import transaction


class _Rehearsal(Exception):
    """Rolls the rehearsed sign-up back."""


class AccountSignupForm(SignupForm):
    def try_save(self, request):
        if self.account_already_exists:
            self._rehearse(request)
        return super().try_save(request)

    def _rehearse(self, request):
        """A new account's work (password hash, user, email, organization) under a throwaway address, rolled back."""
        adapter = get_adapter()
        try:
            with transaction.atomic():
                user = adapter.save_user(request, adapter.new_user(request), self, commit=False)
                user.email = f"rehearsal-{secrets.token_hex(12)}@invalid"
                user.save()
                self.custom_signup(request, user)
                setup_user_email(request, user, [EmailAddress(email=user.email)])
                raise _Rehearsal
        except _Rehearsal:
            pass
