"""A key's last use is recorded without making the requests that share the key wait for each other."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from crm.models import ApiKey

from ..conftest import make_tenant


@pytest.fixture
def tenant(transactional_db):
    return make_tenant("Keys", "keys")


def _hold_the_key_row(pk, holding, release):
    """Another request's transaction that has just recorded the key's use and has not committed yet."""
    try:
        with transaction.atomic():
            ApiKey.all_tenants.filter(pk=pk).update(last_used_at=timezone.now() - timedelta(hours=2))
            holding.set()
            release.wait(30)
    finally:
        connection.close()


def test_a_request_does_not_queue_behind_another_holding_the_key_row(tenant):
    key = ApiKey.all_tenants.get(organization=tenant.organization, scope="read")
    ApiKey.all_tenants.filter(pk=key.pk).update(last_used_at=None)
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_the_key_row, args=(key.pk, holding, release))
    holder.start()
    try:
        assert holding.wait(10)
        with connection.cursor() as cursor:
            # Waiting on the row would fail the request with a lock timeout, not hang the test.
            cursor.execute("SET lock_timeout = '3s'")
        response = tenant.api_read.get("/api/v1/me/")
        answered_while_held = not release.is_set()
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert response.status_code == 200
    assert answered_while_held
    # The holder's write is the one that stays: the request left the row to it.
    assert ApiKey.all_tenants.get(pk=key.pk).last_used_at < timezone.now() - timedelta(hours=1)


def test_the_use_is_recorded_once_a_minute(tenant):
    key = ApiKey.all_tenants.get(organization=tenant.organization, scope="read")
    long_ago = timezone.now() - timedelta(minutes=5)
    ApiKey.all_tenants.filter(pk=key.pk).update(last_used_at=long_ago)
    assert tenant.api_read.get("/api/v1/me/").status_code == 200
    first = ApiKey.all_tenants.get(pk=key.pk).last_used_at
    assert first > long_ago
    assert tenant.api_read.get("/api/v1/me/").status_code == 200
    assert ApiKey.all_tenants.get(pk=key.pk).last_used_at == first
