"""The database connection budget: every process draws its connections from a pool of its own.

psycopg's pool (Django's DATABASES["default"]["OPTIONS"]["pool"]) caps what one process may hold
at DB_POOL_MAX, whatever its threads: gunicorn's request threads, a Celery worker process's task
thread and its outbox send threads, beat, runserver's thread per browser connection, a management
command. A thread gives its connection back when Django closes it (end of a request or a task,
`connection.close()` in a send thread); a thread that finds the pool empty waits DB_POOL_TIMEOUT
seconds for one. The pool checks a connection before lending it and drops a broken one.

The whole deployment stays under PostgreSQL's max_connections when

    web processes x DB_POOL_MAX + worker processes x DB_POOL_MAX + beat x DB_POOL_MAX
        + management commands + superuser_reserved_connections  <=  max_connections

(a Celery worker started with --concurrency N is N worker processes).
"""

import logging

from django.conf import settings

logger = logging.getLogger("silverpool.db")


def pool_settings(env, env_bool):
    """The OPTIONS["pool"] value read from the environment, or None when DB_POOL=false."""
    if not env_bool("DB_POOL", True):
        return None
    minimum, maximum = int(env("DB_POOL_MIN", "0")), int(env("DB_POOL_MAX", "4"))
    if maximum < 1 or minimum < 0 or minimum > maximum:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DB_POOL_MAX must be at least 1 and DB_POOL_MIN between 0 and DB_POOL_MAX.")
    return {"min_size": minimum, "max_size": maximum, "timeout": float(env("DB_POOL_TIMEOUT", "10"))}


def budget():
    """What this process may hold: (max connections, min kept open, seconds a thread waits), or None unpooled."""
    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    if not pool:
        return None
    return pool["max_size"], pool["min_size"], pool["timeout"]


def log_budget(process):
    """One line at start-up saying how many database connections this process may hold."""
    limits = budget()
    if limits is None:
        logger.warning("database: %s process without a connection pool (DB_POOL=false): one connection per thread, "
                       "kept %ss (DB_CONN_MAX_AGE)", process, settings.DATABASES["default"].get("CONN_MAX_AGE"))
        return
    maximum, minimum, timeout = limits
    extra = (f"; its {settings.OUTBOX_SEND_CONCURRENCY} outbox send threads share them"
             if process == "worker" else "")
    logger.info("database: this %s process holds at most %s connections (DB_POOL_MAX), keeps %s open (DB_POOL_MIN), "
                "a thread waits up to %ss for one (DB_POOL_TIMEOUT)%s", process, maximum, minimum, timeout, extra)
