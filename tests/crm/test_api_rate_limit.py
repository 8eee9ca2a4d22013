"""The API rate limit counts every request, even from many clients at once, and never fails a request."""

import logging
import threading
from types import SimpleNamespace

import pytest
import redis

from crm import api_auth
from crm.api_auth import ApiKeyRateThrottle
from crm.models import ApiKey

CLIENTS = 12


@pytest.fixture
def rate(monkeypatch):
    def set_rate(value):
        monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": value})

    return set_rate


def test_twelve_concurrent_clients_get_exactly_the_limit_in_one_window(rate, _fresh_cache):
    rate("300/min")
    key = ApiKey(pk=424242)
    allowed, barrier = [], threading.Barrier(CLIENTS)

    def client():
        request = SimpleNamespace(auth=key)
        barrier.wait()
        for _ in range(60):
            if ApiKeyRateThrottle().allow_request(request, None):
                allowed.append(1)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # 720 requests within a minute against a limit of 300: exactly 300 answered.
    assert len(allowed) == 300


def test_the_429_says_when_to_come_back(tenant_a, rate):
    rate("3/min")
    codes = [tenant_a.api.get("/api/v1/me/").status_code for _ in range(3)]
    refused = tenant_a.api.get("/api/v1/me/")
    assert codes == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("application/json") and refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert tenant_a.api_read.get("/api/v1/me/").status_code == 200  # another key, its own count


def test_with_redis_away_the_api_answers_unthrottled_and_logs_a_warning(tenant_a, rate, monkeypatch, caplog):
    rate("1/min")
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, socket_timeout=0.5)
    monkeypatch.setattr(api_auth, "_redis", unreachable)
    monkeypatch.setattr(api_auth, "_warned_at", None)
    with caplog.at_level(logging.WARNING, logger="crm.api_auth"):
        codes = [tenant_a.api.get("/api/v1/me/").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    warnings = [r for r in caplog.records if "rate limit not applied" in r.getMessage()]
    assert len(warnings) == 1  # once, not a line per request
