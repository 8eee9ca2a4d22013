"""Redis unreachable: the cache answers as a miss, logins and the opt-in form go on, /healthz says which part is down."""

import logging
import socket
import time

import pytest
from django.core.cache import cache
from django.test import Client

from config import cache as fail_open
from crm import health

from ..factories import PASSWORD


def dead_redis_url():
    """A port nothing listens on: every connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


def cache_settings(location):
    return {"default": {"BACKEND": "config.cache.FailOpenRedisCache", "LOCATION": location, "KEY_PREFIX": "t",
                        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.fixture
def cache_down(settings):
    settings.CACHES = cache_settings(dead_redis_url())  # Django drops its cache connections on the change
    yield


@pytest.fixture
def broker_down(settings, monkeypatch):
    settings.CELERY_BROKER_URL = dead_redis_url()
    monkeypatch.setattr(health, "_broker", None)
    yield
    health._broker = None


def test_with_redis_unreachable_every_cache_call_is_a_miss_and_one_warning_is_logged(cache_down, caplog,
                                                                                     monkeypatch):
    monkeypatch.setattr(fail_open, "RETRY_AFTER", 0.0)  # every call tries Redis again
    caplog.set_level(logging.WARNING, logger="config.cache")
    started = time.monotonic()
    assert cache.get("k") is None and cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None and cache.get("k") is None
    assert cache.add("k", 1) is True  # allauth's lock: "taken" would refuse every login
    assert cache.incr("hits") == 1 and cache.incr("hits", 5) == 5  # a counter that starts now
    assert cache.get_or_set("k", lambda: "computed", 60) == "computed"
    assert cache.get_many(["a", "b"]) == {} and cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.has_key("k") is False and cache.delete("k") is False and cache.touch("k") is False
    cache.delete_many(["a", "b"])
    assert time.monotonic() - started < 2
    warnings = [r for r in caplog.records if r.name == "config.cache"]
    assert len(warnings) == 1 and "Redis is unreachable" in warnings[0].getMessage()
    assert cache.reachable() is False


def test_after_a_failure_the_cache_skips_redis_for_a_moment(cache_down, monkeypatch):
    calls = []
    from django.core.cache import caches

    default = caches["default"]
    original = default._cache.get

    def counting_get(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(default._cache, "get", counting_get)
    for _ in range(5):
        assert default.get("k", 7) == 7
    assert len(calls) == 1  # the four after the first failure did not wait on Redis


def test_with_redis_up_the_cache_behaves_as_django_s(settings):
    settings.CACHES = cache_settings(settings.CACHES["default"]["LOCATION"])  # the suite's Redis, as the app reaches it
    cache.set("k", {"a": 1}, 30)
    assert cache.get("k") == {"a": 1}
    assert cache.add("k", 2) is False
    with pytest.raises(ValueError):
        cache.incr("missing")
    cache.add("counter", 0, 30)
    assert cache.incr("counter") == 1 and cache.reachable() is True
    cache.delete_many(["k", "counter"])


def test_logins_and_failed_logins_go_on_with_the_cache_down(cache_down, tenant_a):
    client = Client()
    for _ in range(12):  # more than the per-IP limit: with no counts kept, none is refused
        failed = client.post("/accounts/login/", {"login": tenant_a.recruiter.email, "password": "wrong"})
        assert failed.status_code == 200 and "Too many" not in failed.content.decode()
    started = time.monotonic()
    response = client.post("/accounts/login/", {"login": tenant_a.recruiter.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    assert time.monotonic() - started < 1  # no waiting on a lock that cannot be taken
    assert client.get(f"/o/{tenant_a.slug}/candidates/").status_code == 200


def test_the_public_join_form_with_the_cache_down(cache_down, tenant_a):
    from ..consent.test_public import JOIN

    response = Client().post(f"/p/{tenant_a.slug}/join/", JOIN)
    assert response.status_code == 200 and "Check your inbox" in response.content.decode()


@pytest.mark.django_db
def test_healthz_reports_every_dependency_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_says_degraded_without_redis_and_still_answers_200_quickly(cache_down, broker_down):
    started = time.monotonic()
    response = Client().get("/healthz")
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "broker": "unreachable",
                               "cache": "unreachable"}


@pytest.mark.django_db
def test_healthz_answers_503_without_the_database(monkeypatch):
    from django.db import OperationalError, connection

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.delitem(connection.settings_dict.setdefault("OPTIONS", {}), "pool", raising=False)
    monkeypatch.setattr(connection, "cursor", refused)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "down", "database": "unreachable", "broker": "ok", "cache": "ok"}
