"""What /healthz reports: the database, the broker and the cache, each asked once with a short timeout."""

import logging

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)
DATABASE_WAIT = 2.0  # seconds: a health probe never waits the pool's full timeout
REDIS_TIMEOUT = 0.5
_broker = None


def database_ok():
    try:
        pool = getattr(connection, "pool", None) if connection.settings_dict.get("OPTIONS", {}).get("pool") else None
        if pool is not None:
            pool.open()  # Django opens its pool at the first query; a probe may come before any (idempotent)
            with pool.connection(timeout=DATABASE_WAIT) as conn:
                conn.execute("SELECT 1")
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        return True
    except Exception as error:  # noqa: BLE001 (PoolTimeout, psycopg's or Django's DatabaseError: all mean unreachable)
        logger.warning("health: the database is unreachable (%r)", error)
        return False


def broker_ok():
    """The broker is Redis: one PING on this process's own client (Celery's would retry)."""
    global _broker
    if _broker is None:
        url = settings.CELERY_BROKER_URL
        # Celery spells a unix socket `redis+socket://`, redis-py spells it `unix://`.
        url = "unix://" + url.removeprefix("redis+socket://") if url.startswith("redis+socket://") else url
        _broker = redis.Redis.from_url(url,
                                       socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        return bool(_broker.ping())
    except (redis.exceptions.RedisError, OSError):
        return False


def cache_ok():
    reachable = getattr(cache, "reachable", None)
    if reachable is not None:
        return reachable()
    try:  # a cache without the probe (tests' local memory): a round trip
        cache.set("healthz", 1, 5)
        return cache.get("healthz") == 1
    except Exception:  # noqa: BLE001 (any backend's own error means unreachable)
        return False


def dependency_status():
    """{"status": ok | degraded | down, "database": ..., "broker": ..., "cache": ...}; down only without the database."""
    database, broker, cached = database_ok(), broker_ok(), cache_ok()
    status = "down" if not database else "ok" if broker and cached else "degraded"
    return {"status": status, "database": "ok" if database else "unreachable",
            "broker": "ok" if broker else "unreachable", "cache": "ok" if cached else "unreachable"}
