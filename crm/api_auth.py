"""API keys: `Authorization: Bearer <key>` decides the organization and the scope."""

import hmac
import logging
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions, permissions, throttling
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .models import ApiKey, hash_token
from .tenancy import set_organization

LAST_USED_PRECISION_SECONDS = 60
logger = logging.getLogger(__name__)


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
            _note_use(api_key, now)
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


def _note_use(api_key, now):
    """Record when a key was last used (to the minute) without making concurrent requests queue.

    The request's transaction holds the key's row until it ends: a request that finds the row taken
    leaves the update to the one holding it instead of waiting behind it.
    """
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=LAST_USED_PRECISION_SECONDS))
    with transaction.atomic():
        mine = (ApiKey.all_tenants.select_for_update(skip_locked=True, no_key=True)
                .filter(stale, pk=api_key.pk).values_list("pk", flat=True))
        if list(mine):
            ApiKey.all_tenants.filter(pk=api_key.pk).update(last_used_at=now)


class HasApiKeyScope(permissions.BasePermission):
    """Any valid key reads; writes need a read-write key (403 otherwise)."""

    message = "This API key is read-only; this request needs a read-write key."

    def has_permission(self, request, view):
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False
        return request.method in permissions.SAFE_METHODS or api_key.can_write


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """API_RATE_LIMIT requests per key and window, counted atomically in Redis (every worker shares the count).

    A window starts with a key's first request and lasts the rate's period: one MULTI/EXEC creates the
    counter with its expiry if missing, adds one and reads what is left of the window (Retry-After).
    With Redis away the API answers unthrottled and says so in the log, never with a 500.
    """

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        try:
            count, self.remaining = counter_hit(key, self.duration)
        except REDIS_DOWN as error:
            rate_limit_unavailable(error)
            return True
        return count <= self.num_requests

    def wait(self):
        return max(self.remaining, 0.001)


REDIS_DOWN = (redis.exceptions.RedisError, OSError)
_redis = None
_warned_at = None


def rate_limit_redis():
    """This process's client for the counters: short timeouts, so Redis being away costs a request little."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"], socket_connect_timeout=0.5,
                                      socket_timeout=0.5)
    return _redis


def counter_hit(key, duration):
    """Count one request in `key`'s window (created with a `duration` s expiry); returns (count, seconds left)."""
    key = f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{key}"
    pipe = rate_limit_redis().pipeline(transaction=True)
    pipe.set(key, 0, ex=duration, nx=True)
    pipe.incr(key)
    pipe.pttl(key)
    _, count, left_ms = pipe.execute()
    if left_ms < 0:  # no expiry (a counter written by hand): give it one, never a window that lasts for ever
        rate_limit_redis().expire(key, duration)
        left_ms = duration * 1000
    return count, left_ms / 1000


def rate_limit_unavailable(error):
    """Fail open: the API keeps answering, and the log says why nothing is throttled (once a minute)."""
    global _warned_at
    now = time.monotonic()
    if _warned_at is None or now - _warned_at > 60:
        _warned_at = now
        logger.warning("API rate limit not applied: Redis is unreachable (%s); requests pass unthrottled", error)
