"""Outbox send threads share their process's connection pool: fewer connections than threads, and a wait too
short to get one, delay emails but never lose or double one."""

import os
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from outreach import dispatch
from outreach.models import EmailTemplate, Message, MessageStatus, purpose_of
from outreach.tasks import send_due_messages

from ..factories import CandidateFactory

pytestmark = pytest.mark.django_db(transaction=True)
POOL_MAX = 2
EMAILS = 120


@contextmanager
def starved_pool():
    """This process's pool cut to 2 connections that a thread waits 50 ms for, under a name of its own."""
    options = connection.settings_dict["OPTIONS"]
    original_pool, original_name = options["pool"], options.get("application_name")
    name = f"sp-starved-{os.getpid()}"
    connection.close()
    connection.close_pool()
    options.update(pool={**original_pool, "min_size": 0, "max_size": POOL_MAX, "timeout": 0.05},
                   application_name=name)
    try:
        yield name
    finally:
        connection.close()
        connection.close_pool()
        options.update(pool=original_pool, application_name=original_name)


class PeakConnections(threading.Thread):
    def __init__(self, name):
        super().__init__(daemon=True)
        params = connection.get_connection_params()
        params.pop("pool", None)
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params["application_name"] = "sp-starved-watch"
        self.watch = psycopg.connect(**params, autocommit=True)
        self.name_watched, self.peak, self.stopping = name, 0, threading.Event()

    def run(self):
        while not self.stopping.is_set():
            count = self.watch.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                       [self.name_watched]).fetchone()[0]
            self.peak = max(self.peak, count)
            time.sleep(0.005)

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.watch.close()


def test_sixteen_send_threads_on_two_connections_send_every_email_once(tenant_a, settings, monkeypatch):
    if not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.skip("the connection pool is off (DB_POOL=false)")
    settings.OUTBOX_SEND_CONCURRENCY = 16
    with tenant_a.scope():
        template = EmailTemplate.objects.get(kind="generic", language="en")
        people = [CandidateFactory(organization=tenant_a.organization, email=f"p{i}@pool.test")
                  for i in range(EMAILS)]
    Message.all_tenants.bulk_create(
        Message(organization=tenant_a.organization, unique_key=f"pool:{person.pk}", kind="generic",
                purpose=purpose_of("generic"), to_email=person.email, candidate=person, template=template,
                template_version=template.version) for person in people)
    delivered, lock = [], threading.Lock()
    real_deliver = dispatch.deliver

    def slow_provider(message, *args, **kwargs):
        time.sleep(0.02)
        with lock:
            delivered.append(message.to_email)
        return real_deliver(message, *args, **kwargs)

    monkeypatch.setattr(dispatch, "deliver", slow_provider)
    deadline = time.monotonic() + 60
    with starved_pool() as name:
        watch = PeakConnections(name)
        watch.start()
        try:
            while time.monotonic() < deadline:
                send_due_messages()
                if not dispatch.has_pending_writes() and not Message.all_tenants.filter(
                        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]).exists():
                    break
        finally:
            watch.stop()
    statuses = dict(Message.all_tenants.values_list("to_email", "status"))
    assert sorted(delivered) == sorted(set(delivered)), "an email went twice"
    assert set(delivered) == {person.email for person in people}, f"{EMAILS - len(set(delivered))} emails never went"
    assert set(statuses.values()) == {MessageStatus.SENT}, statuses
    assert 1 <= watch.peak <= POOL_MAX
