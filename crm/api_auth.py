"""API keys: `Authorization: Bearer <key>` decides the organization and the scope."""

import hmac

from django.utils import timezone
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import ApiKey, hash_token
from .tenancy import set_organization

LAST_USED_PRECISION_SECONDS = 60


class ApiClient:
    """The principal behind an API request: the key, never a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, api_key):
        self.api_key = api_key
        self.pk = None

    def __str__(self):
        return f"API key {self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts:
            return None
        if parts[0].lower() != self.keyword or len(parts) != 2:
            raise exceptions.AuthenticationFailed("Use the header `Authorization: Bearer <api-key>`.")
        secret = parts[1].decode("latin-1")
        api_key = self._lookup(secret)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > LAST_USED_PRECISION_SECONDS:
            ApiKey.all_tenants.filter(pk=api_key.pk).update(last_used_at=now)
        set_organization(api_key.organization)
        request.organization = api_key.organization
        return ApiClient(api_key), api_key

    @staticmethod
    def _lookup(secret):
        try:
            _, prefix, _ = secret.split("_", 2)
        except ValueError:
            return None
        api_key = (
            ApiKey.all_tenants.select_related("organization", "created_by")
            .filter(key_prefix=prefix, revoked_at__isnull=True, organization__deletion_requested_at__isnull=True)
            .first()
        )
        if api_key is None or not hmac.compare_digest(api_key.key_hash, hash_token(secret)):
            return None
        return api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasApiKeyScope(permissions.BasePermission):
    """Any valid key reads; writes need a read-write key (403 otherwise)."""

    message = "This API key is read-only; this request needs a read-write key."

    def has_permission(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        return request.method in permissions.SAFE_METHODS or api_key.can_write


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
