"""A campaign end to end: real Celery worker processes, Redis, PostgreSQL and a fake provider on 127.0.0.1.

The test process only launches campaigns and asks for the beat's task; the workers start the runs, write
the recipients to the outbox, send through the provider, and close the runs.
"""

import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from config.celery import app as celery_app
from consent.models import Action, ConsentPurpose, ConsentState, Source, State
from consent.services import record
from crm.models import Candidate
from crm.services import job_save
from outreach import campaigns
from outreach.fake_provider import FakeProvider
from outreach.models import Campaign, CampaignRun, EmailTemplate, Message, MessageStatus, RunStatus
from outreach.tasks import run_due_campaigns
from talentpools.services import pool_create

from .. import processes
from ..conftest import make_tenant
from ..factories import CandidateFactory

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60  # seconds: the bound of every wait on the workers
pytestmark = pytest.mark.django_db(transaction=True)


class RecordingProvider(FakeProvider):
    """The fake provider, also keeping each request's whole Postmark payload (its headers included)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.payloads = []
        provider = self
        base = self.server.RequestHandlerClass

        class Handler(base):
            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with provider.lock:
                    provider.payloads.append(json.loads(raw or b"{}"))
                self.rfile = io.BytesIO(raw)  # HTTP/1.0: one request per connection, nothing follows
                super().do_POST()

        self.server.RequestHandlerClass = Handler

    def snapshot(self):
        with self.lock:
            return list(self.payloads)


def worker_database_url():
    """The server the tests use (DATABASE_URL, socket or host), with the test database's name."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def start_worker(provider, name):
    environ = {**os.environ, "DATABASE_URL": worker_database_url(), "SILVERPOOL_TESTING": "1",
               "OUTBOX_EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
               "ANYMAIL_POSTMARK_SERVER_TOKEN": "fake-token", "ANYMAIL_POSTMARK_API_URL": provider.url,
               "OUTBOX_SEND_CONCURRENCY": "4", "CELERY_TASK_ALWAYS_EAGER": "0"}
    environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-l", "warning", "--concurrency", "1",
         "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=environ, start_new_session=True,
    )


def wait_until(predicate, timeout=WAIT, step=0.2):
    return processes.wait_until(predicate, timeout, step)


@pytest.fixture
def provider():
    fake = RecordingProvider(latency=0.02).start()
    yield fake
    fake.stop()


@pytest.fixture
def broker():
    """Tasks go to the real broker (Redis) instead of running in this process."""
    celery_app.conf.task_always_eager = False
    yield celery_app
    celery_app.conf.task_always_eager = True


def grant(candidate, frequency="weekly"):
    record(candidate=candidate, purpose=ConsentPurpose.objects.get(key="job_offers"), action=Action.CONFIRMED,
           source=Source.RECRUITER, frequency=frequency)


def header(payload, name):
    values = [h["Value"] for h in payload.get("Headers") or [] if h["Name"].lower() == name.lower()]
    assert len(values) == 1, f"{name} appears {len(values)} times in the email to {payload.get('To')}"
    return values[0]


def launch_and_wait(tenant, campaign, provider, expected):
    """Launch; the workers run it. Returns the run, done, once `expected` emails more reached the provider."""
    before = len(provider.snapshot())
    with tenant.scope():
        campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)  # on commit: run_due_campaigns.delay()
    started = lambda: CampaignRun.all_tenants.filter(campaign=campaign).exclude(  # noqa: E731
        status=RunStatus.PREPARING).exists()
    assert wait_until(started), "no worker started and prepared the run"
    run = CampaignRun.all_tenants.get(campaign=campaign)
    if expected:
        assert provider.wait_for(before + expected, timeout=WAIT), (
            f"{len(provider.snapshot()) - before} of {expected} emails reached the provider")
    settled = lambda: not Message.all_tenants.filter(  # noqa: E731
        campaign_run=run, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD]).exists()
    assert wait_until(settled), "the run's emails never all got an outcome"
    run_due_campaigns.delay()  # what the beat does: close the runs whose emails all have an outcome
    assert wait_until(lambda: CampaignRun.all_tenants.get(pk=run.pk).status == RunStatus.DONE), "the run never closed"
    time.sleep(1)  # anything sent twice or late would arrive now
    return CampaignRun.all_tenants.get(pk=run.pk), provider.snapshot()[before:]


def test_a_campaign_to_a_smart_pool_reaches_exactly_the_eligible_and_one_click_keeps_one_out_of_the_next_run(
        tenant_a, provider, broker):
    assert not connection.in_atomic_block, "the workers must see what this test writes: a transactional test"
    tenant = tenant_a
    org = tenant.organization
    with tenant.scope():
        job_save(actor=tenant.recruiter, title="Django developer", status="open", required_skills=["python"],
                 location="Lyon")
        pool = pool_create(name="Pythonistas", kind="smart", definition={"skills_all": ["python"]},
                           actor=tenant.recruiter)
        names = ("ada", "grace", "linus", "nobody", "pending", "withdrawn", "expired", "dnc", "bounced",
                 "complained")
        people = {name: CandidateFactory(organization=org, first_name=name.title(), email=f"{name}@example.test",
                                         skills=["python", "django"])
                  for name in names}
        # Everyone consents to nothing or is eligible-looking except for one thing each.
        people["javaist"] = CandidateFactory(organization=org, first_name="Javaist", email="javaist@example.test",
                                             skills=["java"])
        for name in ("ada", "grace", "linus", "withdrawn", "expired", "dnc", "bounced", "complained", "javaist"):
            grant(people[name])
        job_offers = ConsentPurpose.objects.get(key="job_offers")
        record(candidate=people["pending"], purpose=job_offers, action=Action.REQUESTED, source=Source.PUBLIC_FORM,
               frequency="weekly")
        record(candidate=people["withdrawn"], purpose=job_offers, action=Action.WITHDRAWN,
               source=Source.UNSUBSCRIBE_LINK)
        ConsentState.objects.filter(candidate=people["expired"]).update(expires_at=timezone.now() - timedelta(days=1))
        Candidate.objects.filter(pk=people["dnc"].pk).update(do_not_contact=True, do_not_contact_reason="asked")
        Candidate.objects.filter(pk=people["bounced"].pk).update(email_status="bounced")
        Candidate.objects.filter(pk=people["complained"].pk).update(email_status="complained")
        template = EmailTemplate.objects.get(kind="job_offers_digest", language="en")

        def new_campaign(name):
            return campaigns.campaign_save(actor=tenant.recruiter, name=name, topic="job_offers",
                                           pool_ids=[pool.pk], template=template)

        first = new_campaign("Python jobs")
    # The other tenant has an eligible Python person and a Python job of its own: nothing reaches them.
    other = make_tenant("Bluebird Labs", "bluebird")
    with other.scope():
        job_save(actor=other.recruiter, title="Data engineer", status="open", required_skills=["python"])
        outsider = CandidateFactory(organization=other.organization, email="outsider@example.test", skills=["python"])
        grant(outsider)

    workers = []
    try:
        workers = [start_worker(provider, "campaign-a"), start_worker(provider, "campaign-b")]

        # --- The first run: exactly the three eligible, each once, with the one-click headers.
        run, received = launch_and_wait(tenant, first, provider, expected=3)
        assert sorted(p["To"] for p in received) == ["ada@example.test", "grace@example.test", "linus@example.test"]
        assert run.queued == 3 and run.audience == 9  # the smart pool leaves do-not-contact people out
        assert run.excluded == {"no_consent": 3, "consent_expired": 1, "undeliverable": 2}
        unsubscribe_paths = {}
        for payload in received:
            link = header(payload, "List-Unsubscribe")
            assert header(payload, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
            assert link.startswith("<") and link.endswith(">")
            url = urlsplit(link[1:-1])
            assert url.scheme in ("http", "https") and url.netloc
            assert re.fullmatch(r"/p/u/[^/]+/", url.path), url.path
            unsubscribe_paths[payload["To"]] = url.path
            assert "Django developer" in payload["HtmlBody"] and "Data engineer" not in payload["HtmlBody"]
        assert len(set(unsubscribe_paths.values())) == 3  # one personal link each
        sent = Message.all_tenants.filter(campaign_run=run)
        assert sorted(sent.values_list("status", flat=True)) == [MessageStatus.SENT] * 3
        assert {m.headers["List-Unsubscribe-Post"] for m in sent} == {"List-Unsubscribe=One-Click"}
        assert not Message.all_tenants.exclude(campaign_run=run).exists()  # nobody else, in no tenant
        assert Campaign.all_tenants.get(pk=first.pk).status == "finished"

        # --- Ada's mail client unsubscribes her in one click (RFC 8058: a POST, no cookie, no CSRF token).
        answer = Client(enforce_csrf_checks=True).post(
            unsubscribe_paths["ada@example.test"], data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 200
        state = ConsentState.all_tenants.get(candidate=people["ada"], purpose=job_offers)
        assert state.state == State.WITHDRAWN
        assert ConsentState.all_tenants.get(candidate=people["grace"], purpose=job_offers).state == State.GRANTED

        # --- A second campaign at once: Ada has no consent; Grace and Linus are held back by their weekly frequency.
        with tenant.scope():
            second = new_campaign("Python jobs again")
        run, received = launch_and_wait(tenant, second, provider, expected=0)
        assert received == []
        assert run.queued == 0
        assert run.excluded == {"no_consent": 4, "frequency": 2, "consent_expired": 1, "undeliverable": 2}

        # --- A week and a day later (the first emails moved back in time): Grace and Linus again, never Ada.
        Message.all_tenants.filter(campaign_run__campaign=first).update(sent_at=F("sent_at") - timedelta(days=8))
        with tenant.scope():
            third = new_campaign("Python jobs next week")
        run, received = launch_and_wait(tenant, third, provider, expected=2)
        assert sorted(p["To"] for p in received) == ["grace@example.test", "linus@example.test"]
        assert run.queued == 2
        assert run.excluded == {"no_consent": 4, "consent_expired": 1, "undeliverable": 2}
        assert not Message.all_tenants.filter(candidate=people["ada"]).exclude(campaign_run__campaign=first).exists()
        for payload in received:
            assert header(payload, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        everything = [p["To"] for p in provider.snapshot()]
        assert sorted(everything) == sorted(["ada@example.test"] + ["grace@example.test", "linus@example.test"] * 2)
    finally:
        for process in workers:
            processes.stop_process(process)


def test_every_campaign_email_carries_the_preference_link_and_the_postal_address(tenant_a, provider, settings,
                                                                                 monkeypatch):
    """DESIGN (email rules): marketing emails carry List-Unsubscribe, a preference-centre link and the
    organization's postal address, whatever the recruiter's template says. Sent in this thread (eager tasks)
    through the same Postmark backend and fake provider as the workers use."""
    from outreach import dispatch
    from outreach.services import template_save

    settings.OUTBOX_EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "fake-token", "POSTMARK_API_URL": provider.url}
    monkeypatch.setattr(dispatch._local, "connection", None, raising=False)  # no cached test-backend connection
    tenant = tenant_a
    org = tenant.organization
    org.postal_address = "Acme Robotics, 12 rue de la Paix\n75002 Paris, France"
    org.save(update_fields=["postal_address"])
    with tenant.scope():
        job_save(actor=tenant.recruiter, title="Django developer", status="open", required_skills=["python"])
        jobs_person = CandidateFactory(organization=org, email="jobs@example.test", skills=["python"])
        news_person = CandidateFactory(organization=org, email="news@example.test", skills=["python"])
        grant(jobs_person)
        record(candidate=news_person, purpose=ConsentPurpose.objects.get(key="company_news"),
               action=Action.CONFIRMED, source=Source.RECRUITER, frequency="monthly")
        pool = pool_create(name="Pythonistas", kind="smart", definition={"skills_all": ["python"]},
                           actor=tenant.recruiter)
        # The default digest has a preferences link in its footer; a recruiter's own news template has none.
        digest = EmailTemplate.objects.get(kind="job_offers_digest", language="en")
        plain = template_save(actor=tenant.recruiter, kind="company_news", language="en", name="Plain news",
                              subject="We moved", html_body="<p>Hello {{ candidate.first_name }}, we moved.</p>",
                              text_body="")
        for name, topic, template in (("Jobs", "job_offers", digest), ("News", "company_news", plain)):
            campaign = campaigns.campaign_save(actor=tenant.recruiter, name=name, topic=topic, pool_ids=[pool.pk],
                                               template=template)
            campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)  # runs and sends on commit
    assert provider.wait_for(2, timeout=WAIT)
    received = {p["To"]: p for p in provider.snapshot()}
    assert sorted(received) == ["jobs@example.test", "news@example.test"]
    for to, payload in received.items():
        assert header(payload, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        for part in ("HtmlBody", "TextBody"):
            assert "/p/prefs/" in payload[part], f"no preference-centre link in the {part} of the email to {to}"
            assert "12 rue de la Paix" in payload[part] and "75002 Paris" in payload[part], (
                f"no postal address in the {part} of the email to {to}")


def test_a_slow_preparation_overtaken_by_the_beats_retry_loses_no_email(tenant_a, monkeypatch):
    """The first preparation is slow (a large audience), so after five minutes the beat's retry starts another:
    it finds the run's preparation lock taken and leaves it be; the slow one finishes, and every email goes."""
    import threading

    from django.core import mail

    from outreach import dispatch, services

    monkeypatch.setattr(services, "nudge_dispatch", lambda: None)  # the emails wait in the queue for the test
    reached, release = threading.Event(), threading.Event()
    real_reason = campaigns._reason

    def slow_in_the_first_worker(*args, **kwargs):
        if threading.current_thread().name == "slow-worker":
            reached.set()
            assert release.wait(WAIT), "never released"
        return real_reason(*args, **kwargs)

    monkeypatch.setattr(campaigns, "_reason", slow_in_the_first_worker)
    tenant = tenant_a
    org = tenant.organization
    with tenant.scope():
        job_save(actor=tenant.recruiter, title="Django developer", status="open", required_skills=["python"])
        people = [CandidateFactory(organization=org, email=f"{name}@example.test", skills=["python"])
                  for name in ("ada", "grace", "nobody")]
        grant(people[0])
        grant(people[1])
        pool = pool_create(name="Pythonistas", kind="smart", definition={"skills_all": ["python"]},
                           actor=tenant.recruiter)
        campaign = campaigns.campaign_save(actor=tenant.recruiter, name="Python jobs", topic="job_offers",
                                           pool_ids=[pool.pk],
                                           template=EmailTemplate.objects.get(kind="job_offers_digest", language="en"))
    errors = []

    def first_worker():
        try:
            with tenant.scope():  # on commit, eagerly: run_due_campaigns, then prepare_campaign_run, here
                campaigns.campaign_launch(campaign=campaign, actor=tenant.recruiter)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    slow = threading.Thread(target=first_worker, name="slow-worker")
    slow.start()
    try:
        assert reached.wait(WAIT), "the first preparation never started"
        run = CampaignRun.all_tenants.get(campaign=campaign)
        assert run.status == RunStatus.PREPARING
        # Six minutes later the beat finds the run still preparing and prepares it again, in this thread.
        CampaignRun.all_tenants.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=6))
        assert run_due_campaigns()["retried"] == 1
        assert CampaignRun.all_tenants.get(pk=run.pk).status == RunStatus.PREPARING
    finally:
        release.set()
        slow.join(WAIT)
    assert not slow.is_alive() and not errors, errors
    run = CampaignRun.all_tenants.get(pk=run.pk)
    statuses = sorted(Message.all_tenants.filter(campaign_run=run).values_list("status", flat=True))
    assert statuses == [MessageStatus.QUEUED] * 2, f"the slow preparation left the run's emails {statuses}"
    assert run.status == RunStatus.SENDING and run.queued == 2
    mail.outbox.clear()
    with tenant.scope():
        while ids := dispatch.claim_due():
            dispatch.send_batch(ids)
    assert sorted(m.to[0] for m in mail.outbox) == ["ada@example.test", "grace@example.test"]
