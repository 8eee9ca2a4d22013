"""Shared set-up for the benchmark scripts: Django against DATABASE_URL / REDIS_URL."""

import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def postgres_version():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return cursor.fetchone()[0].split(" on ")[0]


@contextmanager
def database_time():
    """Sum the time spent in the database by Django queries inside the block (milliseconds), and list
    each statement's first words with its seconds, in order."""
    from django.db import connection

    spent = {"ms": 0.0, "queries": 0, "statements": []}

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - start
            spent["ms"] += seconds * 1000
            spent["queries"] += 1
            spent["statements"].append((" ".join(sql.split()[:6])[:50], seconds))

    with connection.execute_wrapper(wrapper):
        yield spent


def median_ms(samples):
    return statistics.median(samples)


def clear_campaigns(organization):
    """Delete the organization's campaigns with their runs, answers and outbox rows: an empty marketing
    history, so earlier benchmark runs count against no frequency or cap."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM outreach_message WHERE organization_id = %s AND campaign_run_id IS NOT NULL",
                       [organization.pk])
        for table in ("outreach_campaignrun", "outreach_rsvp", "outreach_campaign"):
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [organization.pk])


def grant_everyone(organization, purpose_key):
    """Every candidate of the organization agreed to `purpose_key` (a benchmark shortcut, not a ledger);
    returns how many consent states were written."""
    from django.db import connection

    from consent.models import ConsentPurpose
    from consent.services import purposes_create_defaults

    if not ConsentPurpose.all_tenants.filter(organization=organization).exists():
        purposes_create_defaults(organization)
    purpose = ConsentPurpose.all_tenants.get(organization=organization, key=purpose_key)
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO consent_consentstate (organization_id, candidate_id, purpose_id, state, frequency,
                                              granted_at, expires_at, updated_at)
            SELECT c.organization_id, c.id, %s, 'granted', 'quarterly', now(), now() + interval '300 days', now()
            FROM crm_candidate c WHERE c.organization_id = %s
            ON CONFLICT (candidate_id, purpose_id) DO UPDATE
               SET state = 'granted', expires_at = now() + interval '300 days'
        """, [purpose.pk, organization.pk])
        written = cursor.rowcount
        cursor.execute("ANALYZE consent_consentstate")
    return written


@contextmanager
def without_dispatch_nudge():
    """Campaign runs prepared inside the block wake no sending worker (the benchmark measures the writing)."""
    from outreach import services

    nudge, services.nudge_dispatch = services.nudge_dispatch, lambda: None
    try:
        yield
    finally:
        services.nudge_dispatch = nudge
