"""The Django cache on Redis, failing open: with Redis unreachable every call behaves as a miss, never an error.

Everything kept in the cache can be done without (dashboard figures, previews, login and opt-in
rate limits), so a Redis outage costs speed and throttling, not answers. A failed call also stops
this process from trying Redis for a moment, so a Redis that does not answer costs each request
at most one short timeout; a warning is logged at most once a minute per process.
"""

import logging
import threading
import time

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)
RETRY_AFTER = 2.0  # seconds without trying Redis after a failed call
WARN_EVERY = 60.0  # seconds between two warnings of one process


class FailOpenRedisCache(RedisCache):
    """RedisCache whose calls answer as a miss while Redis is unreachable.

    get → the default, get_many → {}, has_key → False, set/set_many/delete → nothing stored,
    add → True (allauth's rate limit takes a lock with add: "taken" would refuse every login),
    incr → `delta` (a counter that starts now, so a rate limit lets the request through).
    """

    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._warned_at = None
        self._lock = threading.Lock()

    def _call(self, operation, missed, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return missed
        try:
            return operation(*args, **kwargs)
        except REDIS_DOWN as error:
            self._went_down(error)
            return missed

    def _went_down(self, error):
        now = time.monotonic()
        with self._lock:
            self._down_until = now + RETRY_AFTER
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
                return
            self._warned_at = now
        logger.warning("cache bypassed: Redis is unreachable (%s); requests go on without it", error)

    def reachable(self):
        """Ask Redis directly (for /healthz): True when it answers a PING."""
        try:
            self._cache.get_client(None, write=True).ping()
        except REDIS_DOWN as error:
            self._went_down(error)
            return False
        self._down_until = 0.0
        return True

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().add, True, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call(super().get, default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set, None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().touch, False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call(super().delete, False, key, version)

    def get_many(self, keys, version=None):
        return self._call(super().get_many, {}, keys, version)

    def has_key(self, key, version=None):
        return self._call(super().has_key, False, key, version)

    def incr(self, key, delta=1, version=None):
        return self._call(super().incr, delta, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call(super().set_many, list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call(super().delete_many, None, keys, version)

    def clear(self):
        return self._call(super().clear, False)
