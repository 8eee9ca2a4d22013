"""The production path, run for real: the Docker image's build steps, then compose's services on this machine.

The Dockerfile's steps are replayed in a temporary directory (no container engine needed), then
docker-compose.yml's `migrate`, `web`, `worker` and `beat` commands run with production settings against a
database of this test's own, the suite's Redis and an SMTP sink. A team lead then signs up, verifies their
email, creates an organization, rejects a candidate with the email sent now, and the provider's delivery
webhook marks that email delivered: everything over HTTP, as a browser and a provider would.
"""

import email
import email.policy
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from contextlib import ExitStack
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

from ..processes import free_port
from . import replay
from .client import Browser, parse

SERVICES = ("migrate", "web", "worker", "beat")
PROBLEM = re.compile(r"Traceback|\bERROR\b|\bCRITICAL\b")
HASHED = re.compile(r"\.[0-9a-f]{12}\.\w+$")


class Sink:
    """An SMTP server that keeps every message it receives."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, predicate, timeout):
        with self.arrived:
            found = self.arrived.wait_for(lambda: next((m for m in self.messages if predicate(m)), None), timeout)
        assert found, f"no such email within {timeout}s; received: {[m['subject'] for m in self.messages]}"
        return found


def body(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""


class Database:
    """A database of this test's own on the PostgreSQL server the suite uses."""

    def __init__(self):
        config = settings.DATABASES["default"]
        self.params = {
            "host": config.get("HOST") or config.get("OPTIONS", {}).get("host") or None,
            "port": config.get("PORT") or config.get("OPTIONS", {}).get("port") or None,
            "user": config.get("USER") or None,
            "password": config.get("PASSWORD") or None,
        }
        self.name = f"sp_prodpath_{secrets.token_hex(4)}"

    def admin(self):
        return psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in self.params.items() if v})

    def create(self):
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def url(self):
        quote = urllib.parse.quote
        user = quote(self.params["user"] or "", safe="")
        password = f":{quote(self.params['password'], safe='')}" if self.params["password"] else ""
        host = self.params["host"] or ""
        if host.startswith("/"):  # a unix socket directory, as the embedded server gives it
            return f"postgres://{user}{password}@/{self.name}?host={quote(host, safe='')}"
        port = f":{self.params['port']}" if self.params["port"] else ""
        return f"postgres://{user}{password}@{host or '127.0.0.1'}{port}/{self.name}"


class Processes:
    def __init__(self, directory):
        self.directory = directory
        self.running = {}
        self.logs = {}

    def log_path(self, name):
        return self.directory / f"{name}.log"

    def start(self, name, command, cwd, env):
        log = open(self.log_path(name), "wb")  # noqa: SIM115 - closed in stop()
        self.logs[name] = log
        self.running[name] = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                              start_new_session=True)

    def run(self, name, command, cwd, env, timeout):
        self.start(name, command, cwd, env)
        code = self.running[name].wait(timeout=timeout)
        assert code == 0, f"{name} exited with {code}:\n{self.text(name)[-3000:]}"

    def check_alive(self):
        for name, process in self.running.items():
            if name != "migrate":
                assert process.poll() is None, f"{name} exited with {process.returncode}:\n{self.text(name)[-3000:]}"

    def stop(self):
        # Beat first (it queues work), the worker last (it finishes what it holds). As `docker compose stop`
        # does, SIGTERM goes to the service's main process only: a Celery worker then ends warm, letting its
        # pool finish the task in hand, where a signal to every process would kill that task mid-way.
        for name in ("beat", "web", "worker", *self.running):
            process = self.running.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        for log in self.logs.values():
            log.close()

    def text(self, name):
        if not self.logs[name].closed:
            self.logs[name].flush()
        return self.log_path(name).read_text(errors="replace")

    def problems(self):
        return {name: [line for line in self.text(name).splitlines() if PROBLEM.search(line)] for name in self.logs}


@pytest.fixture
def stack():
    with ExitStack() as resources:
        yield resources


def test_the_image_and_compose_services_serve_sign_up_rejection_email_and_webhook(stack):
    started = time.monotonic()

    def phase(label):
        print(f"{time.monotonic() - started:6.1f}s {label}", flush=True)
    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sp-prodpath-")))

    # --- The image, built by its own Dockerfile's steps.
    with open(tmp / "build.log", "wb") as build_log:
        try:
            app, venv, image_env = replay.build_image(tmp, build_log)
        except AssertionError:
            raise AssertionError((tmp / "build.log").read_text(errors="replace")[-4000:]) from None
    phase("image built")
    manifest = Path(image_env["STATIC_ROOT"]) / "staticfiles.json"
    assert manifest.exists(), "collectstatic wrote no manifest: production pages cannot find their assets"

    # --- This machine's values for what compose's .env and servers provide.
    database = Database()
    database.create()
    stack.callback(database.drop)
    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    stack.callback(controller.stop)
    web_port = free_port()
    site_url = f"http://127.0.0.1:{web_port}"
    admin_url = f"ops-{secrets.token_hex(4)}/"
    webhook_secret = f"postmark:{secrets.token_urlsafe(16)}"
    dotenv = {
        "SILVERPOOL_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SUPPRESSION_HASH_KEY": secrets.token_urlsafe(50),
        "SITE_URL": site_url,
        "CSRF_TRUSTED_ORIGINS": site_url,
        "SECURE_SSL_REDIRECT": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "ANYMAIL_WEBHOOK_SECRET": webhook_secret,
        "ADMIN_ENABLED": "true",
        "ADMIN_URL": admin_url,
    }
    machine = {"DATABASE_URL": database.url(), "REDIS_URL": settings.REDIS_URL}
    services = replay.compose_services()
    processes = Processes(tmp)
    stack.callback(processes.stop)

    def environment(name):
        env = {**image_env, **replay.service_environment(services[name], dotenv), **machine}
        assert env["SILVERPOOL_ENV"] == "production"
        return env

    commands = {name: list(services[name]["command"]) for name in SERVICES}
    (cmd,) = [json.loads(arguments) for keyword, arguments in replay.dockerfile_instructions() if keyword == "CMD"]
    assert cmd == commands["web"], "`docker run` of the image and compose's web service start different servers"
    commands["web"] = replay.rebind(commands["web"], f"127.0.0.1:{web_port}")
    for name in SERVICES:
        replay.write_console_script(venv, commands[name][0])
    phase("database, sink ready")
    processes.run("migrate", commands["migrate"], app, environment("migrate"), timeout=120)
    phase("migrated")
    for name in ("web", "worker", "beat"):
        processes.start(name, commands[name], app, environment(name))

    responses = []

    def seen(response):
        responses.append(response)
        assert response.status < 500, (f"{response.status} on {response.method} {response.url}:\n"
                                       f"{response.body[:2000]}\n--- web log ---\n{processes.text('web')[-8000:]}")

    browser = Browser(site_url, seen)
    deadline = time.monotonic() + 30
    while True:
        processes.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", web_port), timeout=1):
                break
        except OSError:
            assert time.monotonic() < deadline, f"gunicorn did not listen:\n{processes.text('web')[-3000:]}"
            time.sleep(0.2)

    phase("web listening")
    # --- Health, and the login page with its hashed assets.
    health = browser.get("/healthz")
    assert (health.status, json.loads(health.body)) == (200, {"status": "ok", "database": "ok", "broker": "ok",
                                                             "cache": "ok"})
    login = browser.get("/accounts/login/")
    assert login.status == 200
    assets = [a for a in parse(login.body).assets if a.startswith("/static/")]
    assert len(assets) >= 3, assets
    for asset in assets:
        assert HASHED.search(asset), f"{asset} is not a collected (hashed) name"
        assert browser.get(asset).status == 200, asset

    phase("static assets served")
    # --- The Django admin's sign-in, at ADMIN_URL, with its own collected assets.
    admin = browser.get(f"/{admin_url}")
    assert admin.status == 200, admin.url
    for asset in {a for a in parse(admin.body).assets if a.startswith("/static/")}:
        assert HASHED.search(asset) and browser.get(asset).status == 200, asset

    # --- Sign up, verify the email from the message that arrives.
    lead = f"lead-{secrets.token_hex(3)}@northwind.test"
    password = "a-long-and-unusual-passphrase"
    browser.get("/accounts/signup/")
    page = browser.submit(browser.form({"email", "password1"}), {
        "first_name": "Nadia", "last_name": "Okafor", "organization_name": "Northwind Talent",
        "organization_slug": "northwind", "email": lead, "password1": password, "password2": password,
    })
    assert page.status == 200 and "verification" in page.body.lower(), page.body[:2000]
    verification = sink.wait_for(lambda m: lead in str(m["to"]), timeout=15)
    phase("verification email arrived")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body(verification, "plain")).group(0)
    assert link.startswith(site_url + "/"), f"the verification link {link} is not on SITE_URL {site_url}"
    browser.get(link)
    page = browser.submit(browser.form(set(), action_contains="/accounts/confirm-email/"), {})
    assert page.url == f"{site_url}/o/northwind/", page.url

    phase("verified")
    # --- A second organization, where the rest happens.
    browser.get("/orgs/new/")
    page = browser.submit(browser.form({"name", "slug"}), {"name": "Northwind Labs", "slug": "northwind-labs"})
    org = f"{site_url}/o/northwind-labs/"
    assert page.url == org, page.url

    # --- A candidate, a job, an application.
    candidate = f"margaret-{secrets.token_hex(3)}@example.test"
    browser.get(org + "candidates/new/")
    page = browser.submit(browser.form({"first_name", "email"}),
                          {"first_name": "Margaret", "last_name": "Hamilton", "email": candidate})
    assert re.search(r"/candidates/\d+/$", page.url), page.url
    browser.get(org + "jobs/new/")
    page = browser.submit(browser.form({"title"}), {"title": "Flight software engineer"})
    assert re.search(r"/jobs/\d+/$", page.url), page.url
    page = browser.submit(browser.form({"email"}, action_contains="/add-candidate/"), {"email": candidate})
    (application,) = {link for link in parse(page.body).links if re.search(r"/applications/\d+/$", link)}

    phase("application created")
    # --- Rejected, with the email sent now: it arrives with its links on SITE_URL.
    browser.get(application)
    form = browser.form({"reason", "send_email"}, action_contains="/reject/")
    assert "now" in form.radios["send_email"]
    reason = next(value for value, _ in form.options["reason"] if value)
    page = browser.submit(form, {"reason": reason, "send_email": "now"})
    assert "is rejected" in page.body, page.body[:2000]
    rejection = sink.wait_for(lambda m: candidate in str(m["to"]), timeout=30)
    phase("rejection email arrived")
    links = re.findall(r'href="([^"]+)"', body(rejection, "html")) + re.findall(r"https?://\S+",
                                                                               body(rejection, "plain"))
    assert links, body(rejection, "html")
    for url in links:
        assert url.startswith(site_url + "/"), f"{url} in the rejection email is not on SITE_URL {site_url}"

    # --- The provider's delivery webhook marks it delivered.
    browser.get(org + "outbox/")
    (message_page,) = {link for link in parse(browser.page.body).links if re.search(r"/outbox/\d+/$", link)}
    deadline = time.monotonic() + 15
    while "provider id" not in browser.get(message_page).body:  # the worker records the send just after it
        assert time.monotonic() < deadline, browser.page.body[:3000]
        time.sleep(0.3)
    delivery = {  # Postmark's Delivery webhook body
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound",
        "MessageID": rejection["Message-ID"], "Recipient": candidate, "Tag": "rejection",
        "DeliveredAt": "2026-01-05T16:33:54.9070259Z", "Details": "Test delivery webhook details", "Metadata": {},
    }
    phase("message sent")
    hook = browser.post_json("/webhooks/anymail/postmark/tracking/", delivery, webhook_secret)
    assert hook.status == 200, hook.body[:2000]
    # The post is taken into the webhook inbox and applied by compose's worker (nudged at once).
    deadline, status = time.monotonic() + 30, None
    while status != "Delivered" and time.monotonic() < deadline:
        time.sleep(0.2)
        page = browser.get(message_page)
        status = re.search(r'data-testid="message-status">([^<]+)<', page.body).group(1)
    assert status == "Delivered", status

    phase("delivered")
    # --- No process logged an error, and it all took a bounded time.
    processes.check_alive()
    processes.stop()
    phase("stopped")
    problems = {name: lines for name, lines in processes.problems().items() if lines}
    assert not problems, problems
    assert all(r.status < 500 for r in responses)
