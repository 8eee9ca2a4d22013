"""Benchmark: provider tracking webhooks through gunicorn with production settings.

    python bench/webhook_throughput.py [--messages 2000] [--provider postmark|sendgrid|mailgun] [--batch 10]
                                       [--clients 8] [--workers 2] [--rounds 6]
                                       [--database silverpool_whbench] [--keep-database]

Prepares an organization with `messages` outbox emails already sent (rendered as the sender renders
them, each with its provider id), then starts docker-compose's web command (gunicorn, sync workers,
production settings; `--workers` of them on 127.0.0.1) and its worker command (Celery, which applies the
events the webhooks take into their inbox) and posts three tracking events per email
(delivery, open, click) as the provider documents them, with basic auth, from `--clients` keep-alive
clients: Postmark one event per request, SendGrid `--batch` events per request, Mailgun one signed
event per request.

The baseline is a bare Django view that parses the same JSON bodies and answers 200
(bench/bare_urls.py), served by the same gunicorn command and settings in the same run. Both servers
run side by side and take the posts in turn, a slice at a time (`--rounds`), so that both meet the same
load from the rest of the machine. After each pass it waits until the worker has applied every event.
Then every event is posted a second time: the replay must change nothing. Prints, for each pass, events
per second, p50/p95 latency, the CPU each event cost gunicorn and its PostgreSQL backends, and the
answers' statuses, and the ratio to the baseline; then the same pass end to end: its seconds of posting
plus the wait for the worker's last event after them (the worker also went on applying while the baseline
took its slices, which are not counted, so this rate flatters), with the CPU each event cost the worker and
its backends, the figure that says how fast events are applied. Exits non-zero
if any answer is not a 2xx, if the first pass did not write what its events mean (one event row each,
every email clicked, one timeline entry per click), or if the replay changed anything.
Target: 500 events per second with 2 workers.

Uses DATABASE_URL's server and REDIS_URL: the benchmark creates (and at the end drops, unless
--keep-database) a database of its own named by --database, and migrates it. It stops the servers it
started; all its traffic goes to 127.0.0.1.
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import postgres_version, setup_django  # noqa: E402
from bench.outbox_send import ensure_organization, queue  # noqa: E402
from tests.deploy import replay  # noqa: E402
from tests.processes import free_port, stop_process, wait_until  # noqa: E402

TARGET = 500  # events per second with 2 workers
PATHS = {provider: f"/webhooks/anymail/{provider}/tracking/" for provider in ("postmark", "sendgrid", "mailgun")}
WEBHOOK_SECRET = f"bench:{secrets.token_urlsafe(12)}"
MAILGUN_KEY = secrets.token_urlsafe(24)
KINDS = ("delivered", "opened", "clicked")


# --- The database of its own ---------------------------------------------------------------------

def database_url(url, name):
    """DATABASE_URL with its database name replaced (a unix-socket host in the query string is kept)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin_connection(url):
    import psycopg

    return psycopg.connect(database_url(url, "postgres"), autocommit=True)


def create_database(url, name):
    with admin_connection(url) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url, name):
    with admin_connection(url) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- Sent emails and the provider's events for them ----------------------------------------------

def provider_id(provider, pk, run):
    token = uuid.UUID(hashlib.md5(f"{run}:{pk}".encode()).hexdigest())  # noqa: S324 - an id, not a secret
    return f"<{token.hex}.{pk}@mg.bench.test>" if provider == "mailgun" else str(token)


def prepare(provider, count):
    """`count` outbox emails of the benchmark organization, sent: [(pk, provider id, address)] and the run."""
    from django.utils import timezone

    from crm.tenancy import organization_scope
    from outreach.dispatch import render_message
    from outreach.models import Message, MessageStatus

    organization = ensure_organization(count)
    run = queue(organization, count)  # the outbox bench's queued emails, one per candidate
    messages = Message.all_tenants.filter(organization=organization, unique_key__startswith=f"bench:{run}:")
    sent = []
    with organization_scope(organization):
        # Rendered as the sender renders them: a webhook's message row carries its subject and bodies.
        for message in messages.select_related("organization", "candidate", "template").order_by("pk"):
            rendered, headers = render_message(message)
            sent.append(Message(pk=message.pk, to_email=message.to_email, subject=rendered.subject,
                                html=rendered.html, text=rendered.text, headers=headers,
                                provider_message_id=provider_id(provider, message.pk, run)))
    Message.all_tenants.bulk_update(sent, ["subject", "html", "text", "headers", "provider_message_id"],
                                    batch_size=500)
    messages.update(status=MessageStatus.SENT, sent_at=timezone.now())
    return organization, run, [(m.pk, m.provider_message_id, m.to_email) for m in sent]


def postmark_event(kind, pk, message_id, email, minute):
    """Postmark's Delivery, Open and Click webhook bodies, as its documentation shows them."""
    common = {"MessageID": message_id, "ServerID": 23, "MessageStream": "outbound", "Tag": "re-engagement",
              "Recipient": email, "Metadata": {"silverpool_message": str(pk)}}
    at = f"2026-11-24T10:{minute:02d}:00.000Z"
    client = {"Name": "Chrome 120.0", "Company": "Google", "Family": "Chrome"}
    os_ = {"Name": "Windows 10", "Company": "Microsoft", "Family": "Windows"}
    geo = {"CountryISOCode": "DK", "Country": "Denmark", "City": "Copenhagen", "IP": "192.0.2.10"}
    if kind == "delivered":
        return {**common, "RecordType": "Delivery", "DeliveredAt": at, "Details": "smtp;250 2.0.0 OK"}
    if kind == "opened":
        return {**common, "RecordType": "Open", "FirstOpen": True, "ReceivedAt": at, "Platform": "WebMail",
                "ReadSeconds": 5, "UserAgent": "Mozilla/5.0", "OS": os_, "Client": client, "Geo": geo}
    return {**common, "RecordType": "Click", "ClickLocation": "HTML", "ReceivedAt": at, "Platform": "Desktop",
            "OriginalLink": "https://jobs.example.test/openings", "UserAgent": "Mozilla/5.0", "OS": os_,
            "Client": client, "Geo": geo}


def sendgrid_event(kind, pk, message_id, email, minute):
    """One event of SendGrid's Event Webhook (it posts them in batches, as a JSON list)."""
    event = {"email": email, "timestamp": 1764000000 + minute * 60, "anymail_id": message_id,
             "smtp-id": f"<{message_id}@ismtpd-bench>", "sg_message_id": f"{message_id}.filter0001",
             "category": ["re-engagement"], "silverpool_message": str(pk),
             "sg_event_id": f"sg-{kind}-{message_id}"}
    if kind == "delivered":
        return {**event, "event": "delivered", "response": "250 OK"}
    if kind == "opened":
        return {**event, "event": "open", "useragent": "Mozilla/5.0", "ip": "192.0.2.10"}
    return {**event, "event": "click", "url": "https://jobs.example.test/openings", "useragent": "Mozilla/5.0",
            "ip": "192.0.2.10"}


def mailgun_event(kind, pk, message_id, email, minute):
    """Mailgun's webhook body: one event, signed with the webhook signing key and a fresh token."""
    timestamp, token = str(1764000000 + minute * 60), secrets.token_hex(25)
    signature = hmac.new(MAILGUN_KEY.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    data = {"event": kind, "timestamp": 1764000000.908181 + minute * 60, "id": f"mg-{kind}-{pk}-{minute}",
            "recipient": email, "tags": ["re-engagement"], "user-variables": {"silverpool_message": str(pk)},
            "message": {"headers": {"to": email, "message-id": message_id.strip("<>"), "subject": "Hello",
                                    "from": "no-reply@silverpool.localhost"}, "attachments": [], "size": 2111}}
    if kind == "delivered":
        data["delivery-status"] = {"code": 250, "message": "OK", "description": ""}
    elif kind == "opened":
        data.update({"ip": "192.0.2.10", "client-info": {"user-agent": "Mozilla/5.0"}})
    else:
        data["url"] = "https://jobs.example.test/openings"
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": data}


BUILDERS = {"postmark": postmark_event, "sendgrid": sendgrid_event, "mailgun": mailgun_event}


def requests_for(provider, sent, batch):
    """[(path, body, events in it)]: every email's delivery first, then the opens, then the clicks."""
    events = [BUILDERS[provider](kind, pk, message_id, email, minute)
              for minute, kind in enumerate(KINDS) for pk, message_id, email in sent]
    if provider == "sendgrid":
        groups = [events[i:i + batch] for i in range(0, len(events), batch)]
        return [(PATHS[provider], json.dumps(group).encode(), len(group)) for group in groups]
    return [(PATHS[provider], json.dumps(event).encode(), 1) for event in events]


def warm_up_requests(provider, count):
    """Events for emails this installation never sent: the whole path runs, nothing is written."""
    fake = [(0, provider_id(provider, -i, "warm-up"), f"nobody{i}@bench.test") for i in range(count)]
    return requests_for(provider, fake, 10)[:count]


# --- gunicorn as docker-compose runs it, and the clients ------------------------------------------

def with_option(command, option, value):
    if option in command:
        position = command.index(option)
        return [*command[:position + 1], value, *command[position + 2:]]
    return [*command, option, value]


def server_command(port, workers, application):
    """docker-compose's web command: the same server and options, on 127.0.0.1 with `workers` workers."""
    command = list(replay.compose_services()["web"]["command"])
    assert command[0] == "gunicorn" and "config.wsgi:application" in command, command
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    command[command.index("config.wsgi:application")] = application
    command = replay.rebind(command, f"127.0.0.1:{port}")
    return with_option(command, "--workers", str(workers))


def server_environment(port, url):
    """Production settings, with this machine's values for what compose's .env and servers provide."""
    site = f"http://127.0.0.1:{port}"
    dotenv = {"SILVERPOOL_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50),
              "SUPPRESSION_HASH_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1", "SITE_URL": site,
              "CSRF_TRUSTED_ORIGINS": site, "SECURE_SSL_REDIRECT": "false",
              "EMAIL_URL": "smtp://127.0.0.1:25",  # the webhooks send no email
              "ANYMAIL_WEBHOOK_SECRET": WEBHOOK_SECRET}
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    environ = {**base, **replay.service_environment(replay.compose_services()["web"], dotenv),
               "DATABASE_URL": url, "REDIS_URL": os.environ["REDIS_URL"],
               "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    assert environ["SILVERPOOL_ENV"] == "production"
    return environ


def worker_command():
    """docker-compose's worker command (Celery, its concurrency), with this environment's celery."""
    command = list(replay.compose_services()["worker"]["command"])
    assert command[:4] == ["celery", "-A", "config", "worker"], command
    command[0] = str(Path(sys.executable).parent / "celery")
    return command


class Server:
    def __init__(self, name, application, workers, url, log_path, command=None):
        self.port = free_port()
        self.log_path = log_path
        self.database_name = f"silverpool-whbench-{name}"  # its connections' application_name
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        environ = {**server_environment(self.port, url), "DB_APPLICATION_NAME": self.database_name}
        self.listens = command is None
        self.process = subprocess.Popen(command or server_command(self.port, workers, application), cwd=ROOT,
                                        env=environ, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def cpu(self):
        """CPU seconds used so far by gunicorn's master and workers, and by their PostgreSQL backends
        ({pid: seconds}: a backend opened later counts from zero)."""
        import psutil
        from django.db import connection

        master = psutil.Process(self.process.pid)
        server = sum(sum(p.cpu_times()[:2]) for p in [master, *master.children(recursive=True)])
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [self.database_name])
            pids = [pid for (pid,) in cursor.fetchall()]
        backends = {}
        for pid in pids:
            try:
                backends[pid] = sum(psutil.Process(pid).cpu_times()[:2])
            except psutil.Error:  # gone, or PostgreSQL runs elsewhere
                pass
        return server, backends

    def __enter__(self):
        def listening():
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}:\n{self.tail()}")
            if not self.listens:  # the worker: ready once it says so
                self.log.flush()
                return " ready." in self.log_path.read_text(errors="replace")
            try:
                http.client.HTTPConnection("127.0.0.1", self.port, timeout=1).connect()
                return True
            except OSError:
                return False

        if not wait_until(listening, timeout=60):
            self.stop()
            raise SystemExit(f"{'gunicorn did not listen' if self.listens else 'the worker was not ready'} "
                             f"within 60 s:\n{self.tail()}")
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        stop_process(self.process)
        self.log.close()

    def tail(self, size=4000):
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-size:]

    def problems(self):
        self.log.flush()
        return [line for line in self.log_path.read_text(errors="replace").splitlines()
                if "Traceback" in line or " ERROR " in line or "[ERROR]" in line or "CRITICAL" in line]


HEADERS = {"Content-Type": "application/json", "User-Agent": "bench-webhooks",
           "Authorization": "Basic " + base64.b64encode(WEBHOOK_SECRET.encode()).decode()}


def post_all(port, requests, clients):
    """Post every request from `clients` threads, each with its own keep-alive connection (reopened when
    the server closes it). Returns (seconds, [latency seconds], {status: count})."""
    latencies, statuses, lock = [], {}, threading.Lock()
    positions = itertools.count()

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, seen = [], {}
        while (index := next(positions)) < len(requests):
            path, body, _ = requests[index]
            started = time.perf_counter()
            try:
                connection.request("POST", path, body, HEADERS)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                status = f"{type(error).__name__}"
            mine.append(time.perf_counter() - started)
            seen[status] = seen.get(status, 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def interleaved(servers, requests, clients, rounds):
    """Post `requests` to each server in turn, a slice at a time (`rounds` slices), so that all of them
    meet the same load from the rest of the machine. Returns {server: figures}."""
    totals = {server: {"seconds": 0.0, "latencies": [], "statuses": {}, "server_cpu": 0.0, "database_cpu": 0.0,
                       "client_cpu": 0.0} for server in servers}
    size = -(-len(requests) // rounds)
    for start in range(0, len(requests), size):
        part = requests[start:start + size]
        for server in servers:
            total = totals[server]
            server_before, backends_before = server.cpu()
            client_before = time.process_time()
            seconds, latencies, statuses = post_all(server.port, part, clients)
            total["client_cpu"] += time.process_time() - client_before
            server_after, backends_after = server.cpu()
            total["server_cpu"] += server_after - server_before
            total["database_cpu"] += sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
            total["seconds"] += seconds
            total["latencies"] += latencies
            for status, count in statuses.items():
                total["statuses"][status] = total["statuses"].get(status, 0) + count
    events = sum(count for _, _, count in requests)
    figures = {}
    for server, total in totals.items():
        quantiles = statistics.quantiles(total["latencies"], n=100)
        figures[server] = {
            "events": events, "posts": len(requests), "seconds": total["seconds"],
            "rate": events / total["seconds"], "p50": quantiles[49] * 1000, "p95": quantiles[94] * 1000,
            "statuses": total["statuses"], "ok": all(isinstance(s, int) and 200 <= s < 300 for s in total["statuses"]),
            "server_cpu": total["server_cpu"] * 1000 / events, "database_cpu": total["database_cpu"] * 1000 / events,
            "client_cpu": total["client_cpu"] * 1000 / events,
        }
    return figures


# --- What the events wrote --------------------------------------------------------------------------

def state(organization, run):
    """What the webhooks can change, for the benchmark's emails: statuses, event rows, timelines, addresses."""
    from django.db.models import Count, Max

    from consent.models import ConsentRecord
    from crm.models import Activity, Candidate
    from outreach.models import Message, MessageEvent

    messages = Message.all_tenants.filter(organization=organization, unique_key__startswith=f"bench:{run}:")
    return {
        "message statuses": dict(messages.values_list("status").annotate(n=Count("id")).order_by("status")),
        "latest event time": messages.aggregate(latest=Max("last_event_at"))["latest"],
        "event rows": MessageEvent.all_tenants.filter(message__in=messages).count(),
        "all event rows": MessageEvent.all_tenants.count(),
        "timeline entries": Activity.all_tenants.filter(organization=organization).count(),
        "address statuses": dict(Candidate.all_tenants.filter(organization=organization)
                                 .values_list("email_status").annotate(n=Count("id")).order_by("email_status")),
        "consent records": ConsentRecord.all_tenants.filter(organization=organization).count(),
    }


def first_pass_problems(before, after, messages):
    """What the first pass should have written: one row per event, every email clicked, one click entry each."""
    problems = []
    if after["event rows"] - before["event rows"] != 3 * messages:
        problems.append(f"{after['event rows'] - before['event rows']} event rows written for {3 * messages} events")
    if after["message statuses"] != {"clicked": messages}:
        problems.append(f"message statuses {after['message statuses']}, expected {{'clicked': {messages}}}")
    if after["timeline entries"] - before["timeline entries"] != messages:
        problems.append(f"{after['timeline entries'] - before['timeline entries']} timeline entries for "
                        f"{messages} clicks")
    return problems


def inbox_pending():
    from outreach.models import WebhookEvent

    return WebhookEvent.objects.filter(applied_at__isnull=True).count()


def applied(worker, pass_figures, before_cpu, timeout=900):
    """Wait for the worker to apply every event the pass left in the inbox: the pass's figures end to end,
    from the first post until the last event was applied, with the CPU the worker and its backends spent."""
    started = time.perf_counter()
    if not wait_until(lambda: inbox_pending() == 0, timeout=timeout, step=0.05):
        raise SystemExit(f"the worker left {inbox_pending()} events unapplied after {timeout} s:\n{worker.tail()}")
    drained = time.perf_counter() - started
    server_before, backends_before = before_cpu
    server_after, backends_after = worker.cpu()
    events = pass_figures["events"]
    seconds = pass_figures["seconds"] + drained
    # Celery's prefork children close their connection pool after each task, so the worker's PostgreSQL
    # backends end with their task and cannot be read afterwards: their CPU is not counted.
    return {**pass_figures, "seconds": seconds, "rate": events / seconds, "drained": drained,
            "server_cpu": (server_after - server_before) * 1000 / events, "database_cpu": None}


def row(label, result, baseline=None):
    statuses = " ".join(f"{status}×{count}" for status, count in sorted(result["statuses"].items(), key=str))
    ratio = result["rate"] / baseline["rate"] if baseline else 1.0
    if "drained" in result:  # the worker's row: its CPU, and the time from the first post to the last applied
        return (f"{label:34} {result['rate']:8.0f} {ratio:6.2f} {'':7} {'':7} {result['server_cpu']:7.2f} "
                f"{'n/a':>7}   the last applied {result['drained']:.1f} s after the last post")
    return (f"{label:34} {result['rate']:8.0f} {ratio:6.2f} {result['p50']:7.1f} {result['p95']:7.1f} "
            f"{result['server_cpu']:7.2f} {result['database_cpu']:7.2f}   {result['posts']:,} posts: {statuses}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="sent emails; each gets 3 events")
    parser.add_argument("--provider", choices=sorted(BUILDERS), default="postmark")
    parser.add_argument("--batch", type=int, default=10, help="events per SendGrid post")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--database", default="silverpool_whbench")
    parser.add_argument("--rounds", type=int, default=6, help="slices posted to the baseline and the webhooks in turn")
    parser.add_argument("--keep-database", action="store_true")
    args = parser.parse_args(argv)
    if min(args.messages, args.batch, args.clients, args.workers, args.rounds) < 1:
        parser.error("--messages, --batch, --clients, --workers and --rounds must be at least 1")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        parser.error("set DATABASE_URL (its server gets the benchmark's own database) and REDIS_URL")

    started = time.perf_counter()
    url = database_url(os.environ["DATABASE_URL"], args.database)
    create_database(os.environ["DATABASE_URL"], args.database)
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    failures = []
    try:
        call_command("migrate", verbosity=0)
        organization, run, sent = prepare(args.provider, args.messages)
        requests = requests_for(args.provider, sent, args.batch)
        warm_up = warm_up_requests(args.provider, 40)
        print(f"Provider webhooks: {args.provider}, {3 * args.messages:,} events (delivery, open, click) for "
              f"{args.messages:,} sent emails in {len(requests):,} posts; {args.clients} clients; gunicorn as "
              f"docker-compose runs it, {args.workers} sync workers, production settings", flush=True)
        print(f"{'run':34} {'events/s':>8} {'ratio':>6} {'p50 ms':>7} {'p95 ms':>7} {'web CPU':>7} {'DB CPU':>7}"
              f"   answers (CPU: ms per event, gunicorn and its PostgreSQL backends)")
        with tempfile.TemporaryDirectory(prefix="sp-whbench-") as logs, \
                Server("bare", "bench.bare_urls:wsgi_application()", args.workers, url, Path(logs) / "bare.log") as bare, \
                Server("web", "config.wsgi:application", args.workers, url, Path(logs) / "web.log") as web, \
                Server("worker", None, 0, url, Path(logs) / "worker.log", command=worker_command()) as worker:
            post_all(bare.port, warm_up, args.clients)
            warm = interleaved([web], warm_up, args.clients, 1)[web]
            if not warm["ok"]:
                failures.append(f"warm-up answers {warm['statuses']}:\n{web.tail()}")
            applied(worker, warm, worker.cpu())
            before = state(organization, run)
            worker_before = worker.cpu()
            figures = interleaved([bare, web], requests, args.clients, args.rounds)
            baseline, first = figures[bare], figures[web]
            first_applied = applied(worker, first, worker_before)
            print(row("baseline: bare view, JSON parse", baseline), flush=True)
            print(row("webhooks, first delivery", first, baseline), flush=True)
            print(row("  applied by the worker", first_applied, baseline), flush=True)
            written = state(organization, run)
            worker_before = worker.cpu()
            figures = interleaved([bare, web], requests, args.clients, args.rounds)
            baseline_again, again = figures[bare], figures[web]
            again_applied = applied(worker, again, worker_before)
            print(row("baseline again, alongside replay", baseline_again), flush=True)
            print(row("webhooks, every event replayed", again, baseline_again), flush=True)
            print(row("  applied by the worker", again_applied, baseline_again), flush=True)
            replayed = state(organization, run)
            failures += [f"baseline: {line}" for line in bare.problems()]
            failures += [f"web: {line}" for line in web.problems()]
            failures += [f"worker: {line}" for line in worker.problems()]
            for label, result in (("baseline", baseline), ("first delivery", first), ("replay", again)):
                if not result["ok"]:
                    failures.append(f"{label}: answers {result['statuses']} (all must be 2xx)")
            if not first["ok"] or not again["ok"]:
                failures.append(f"web log:\n{web.tail()}")
        failures += first_pass_problems(before, written, args.messages)
        changed = {key: (written[key], replayed[key]) for key in written if written[key] != replayed[key]}
        print(f"ratio webhooks ÷ baseline: {first['rate'] / baseline['rate']:.2f} (first delivery), "
              f"{again['rate'] / baseline_again['rate']:.2f} (replay)")
        cost = first["server_cpu"] + first["database_cpu"]
        applying = first_applied["server_cpu"]
        print(f"CPU per event, first delivery: gunicorn {first['server_cpu']:.2f} ms + PostgreSQL "
              f"{first['database_cpu']:.2f} ms = {cost:.2f} ms (the clients: {first['client_cpu']:.2f} ms): "
              f"at most {os.cpu_count() * 1000 / cost:.0f} events/s taken on this machine's {os.cpu_count()} cores "
              f"if nothing else ran; the baseline costs {baseline['server_cpu'] + baseline['database_cpu']:.2f} ms")
        print(f"CPU per event applied: the worker {applying:.2f} ms (its PostgreSQL backends end with each task, "
              f"not counted): taken and applied, at most {os.cpu_count() * 1000 / (cost + applying):.0f} events/s "
              f"sustained on {os.cpu_count()} cores, less what PostgreSQL spends applying")
        print("after the first delivery: " + "; ".join(f"{key} {value}" for key, value in written.items()
                                                          if key != "latest event time"))
        if changed:
            failures.append("the replay changed: " + "; ".join(f"{key} {was} -> {now}"
                                                               for key, (was, now) in changed.items()))
        else:
            print("replay: nothing changed (message statuses, event rows, timeline entries, address statuses, "
                  "consent records, latest event time)")
        verdict = "met" if first["rate"] >= TARGET else "MISSED"
        print(f"target ≥ {TARGET} events/s with 2 workers: {verdict} ({first['rate']:.0f})")
        print(f"PostgreSQL: {postgres_version()}; benchmark took {time.perf_counter() - started:.0f} s")
    finally:
        connections.close_all()
        if not args.keep_database:
            drop_database(url, args.database)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
