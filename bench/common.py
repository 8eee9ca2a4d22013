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
    """Sum the time spent in the database by Django queries inside the block (milliseconds)."""
    from django.db import connection

    spent = {"ms": 0.0, "queries": 0}

    def wrapper(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["ms"] += (time.perf_counter() - start) * 1000
            spent["queries"] += 1

    with connection.execute_wrapper(wrapper):
        yield spent


def median_ms(samples):
    return statistics.median(samples)
