"""Benchmark: sending the outbox through real worker processes to a provider that answers in 100 ms.

    python bench/outbox_send.py [--messages 3000] [--memory-messages 100000] [--latency 0.1]

Prints messages per second with 1 and 2 worker processes, and for a campaign run's emails (which
also pass the marketing rule, the frequency and cap checks under a per-candidate lock, the campaign's
merge fields and the Redis rate limit) with 2, against a baseline measured in the same run (the same emails handed to the same anymail backend from a bare thread pool, with no
outbox, no database and no Celery), and the peak memory of the workers while sending
`--memory-messages` emails. Uses DATABASE_URL and REDIS_URL like the app.
"""

import argparse
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    clear_campaigns,
    grant_everyone,
    postgres_version,
    setup_django,
    without_dispatch_nudge,
)

CONCURRENCY = 32


def ensure_organization(count):
    from crm.models import Candidate, Organization, candidate_search_text
    from crm.services import organization_create
    from crm.tenancy import organization_scope

    organization = Organization.objects.filter(slug="bench-mail").first()
    if organization is None:
        from crm.models import User

        admin, _ = User.objects.get_or_create(email="bench-mail@silverpool.test")
        organization = organization_create(name="Benchmark Mail", slug="bench-mail", admin=admin)
    with organization_scope(organization):
        have = Candidate.objects.count()
        if have < count:
            from django.utils import timezone

            now = timezone.now()
            rows = []
            for i in range(have, count):
                email = f"reader{i}@bench-mail.test"
                rows.append(Candidate(organization=organization, first_name=f"Reader{i}", last_name="Bench",
                                      email=email, created_at=now, last_activity_at=now,
                                      search_text=candidate_search_text(f"Reader{i}", "Bench", email, "", [])))
            Candidate.objects.bulk_create(rows, batch_size=5000)
    return organization


def queue(organization, count):
    from crm.models import Candidate
    from crm.tenancy import organization_scope
    from outreach.models import EmailTemplate, Message

    run = uuid.uuid4().hex[:8]
    with organization_scope(organization):
        template = EmailTemplate.objects.get(kind="re_engagement", language="en")
        candidates = list(Candidate.objects.order_by("id").values_list("id", "email")[:count])
        Message.objects.bulk_create([
            Message(organization=organization, unique_key=f"bench:{run}:{pk}", candidate_id=pk, kind="generic",
                    purpose="transactional", template=template, to_email=email, status="queued")
            for pk, email in candidates
        ], batch_size=5000)
    return run


def queue_campaign(organization, count):
    """A campaign run to `count` consenting candidates, written to the outbox by the project's own code."""
    from django.db import connection
    from django.utils import timezone

    from crm.models import User
    from crm.tenancy import organization_scope
    from outreach.campaigns import campaign_save, prepare_run
    from outreach.models import CampaignRun, EmailTemplate
    from talentpools.services import pool_create

    with organization_scope(organization), connection.cursor() as cursor:
        # Earlier benchmark runs would count against the cap: start from an empty history.
        clear_campaigns(organization)
        for table in ("talentpools_poolmember", "talentpools_talentpool"):
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = %s", [organization.pk])
        type(organization).objects.filter(pk=organization.pk).update(campaign_rate_per_minute=60_000)
        organization.refresh_from_db()
        grant_everyone(organization, "company_news")
        actor, _ = User.objects.get_or_create(email="bench-mail@silverpool.test")
        pool = pool_create(name="Readers", kind="static", actor=actor)
        cursor.execute("""
            INSERT INTO talentpools_poolmember (organization_id, pool_id, candidate_id, added_by_label, added_at)
            SELECT organization_id, %s, id, 'benchmark', now() FROM crm_candidate
            WHERE organization_id = %s ORDER BY id LIMIT %s
        """, [pool.pk, organization.pk, count])
        campaign = campaign_save(actor=actor, name="Benchmark news", topic="company_news", pool_ids=[pool.pk],
                                 template=EmailTemplate.objects.filter(kind="company_news", language="en").first())
        run = CampaignRun.objects.create(campaign=campaign, planned_for=timezone.now())
        with without_dispatch_nudge():
            prepare_run(run)
    return run.pk


def count_done(organization, run):
    from outreach.models import Message

    if isinstance(run, int):
        return Message.all_tenants.filter(organization=organization, campaign_run_id=run).exclude(
            status__in=["queued", "sending"]).count()
    return Message.all_tenants.filter(organization=organization, unique_key__startswith=f"bench:{run}:").exclude(
        status__in=["queued", "sending"]).count()


def start_workers(n, provider_url):
    environ = {**os.environ, "DEBUG": "false",  # DEBUG keeps every query in memory
               "OUTBOX_EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
               "ANYMAIL_POSTMARK_SERVER_TOKEN": "bench", "ANYMAIL_POSTMARK_API_URL": provider_url,
               "OUTBOX_SEND_CONCURRENCY": str(CONCURRENCY)}
    return [subprocess.Popen([sys.executable, "-m", "celery", "--quiet", "-A", "config", "worker", "-l", "error",
                              "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
                              "-n", f"bench{i}@%h"], cwd=ROOT, env=environ, start_new_session=True)
            for i in range(n)]


def stop_workers(processes):
    import signal

    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def tree_rss(processes):
    import psutil

    total = 0
    for process in processes:
        try:
            parent = psutil.Process(process.pid)
            total += sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
        except psutil.NoSuchProcess:
            pass
    return total


def outbox_run(organization, workers, count, provider_url, timeout, campaign=False):
    from config.celery import app

    run = queue_campaign(organization, count) if campaign else queue(organization, count)
    processes = start_workers(workers, provider_url)
    time.sleep(3)  # workers connect to the broker
    started = time.perf_counter()
    for _ in range(workers):
        app.send_task("outreach.tasks.send_due_messages")
    peak = 0
    try:
        while count_done(organization, run) < count:
            peak = max(peak, tree_rss(processes))
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"timed out: {count_done(organization, run)} of {count} sent")
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        stop_workers(processes)
    return count / elapsed, peak, elapsed


def baseline_run(count, provider_url):
    """The same emails through the same anymail backend from a bare thread pool: the ceiling."""
    from django.core.mail import EmailMultiAlternatives, get_connection
    from django.test.utils import override_settings

    with override_settings(ANYMAIL={"POSTMARK_SERVER_TOKEN": "bench", "POSTMARK_API_URL": provider_url}):
        def send(i):
            connection = get_connection("anymail.backends.postmark.EmailBackend")
            email = EmailMultiAlternatives("Hello", "Body", "bench@silverpool.test", [f"r{i}@bench.test"],
                                           connection=connection)
            email.attach_alternative("<p>Body</p>", "text/html")
            email.send()

        started = time.perf_counter()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            list(pool.map(send, range(count)))
        return count / (time.perf_counter() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--memory-messages", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--campaign-messages", type=int, default=3000,
                        help="a campaign run's emails: consent, frequency and cap checks, merge fields, rate limit")
    args = parser.parse_args(argv)
    setup_django()
    from outreach.fake_provider import FakeProvider

    provider = FakeProvider(latency=args.latency).start()
    organization = ensure_organization(max(args.messages, args.memory_messages, args.campaign_messages))
    print(f"Outbox sending: fake provider answering in {args.latency * 1000:.0f} ms; "
          f"{CONCURRENCY} provider calls in flight per worker process")
    baseline = baseline_run(max(args.messages, 1000), provider.url)
    print(f"{'setting':44} {'msg/s':>8} {'vs baseline':>12}")
    print(f"{'baseline: bare thread pool, no outbox':44} {baseline:8.0f} {1.0:12.2f}")
    for workers in (1, 2) if args.messages else ():
        rate, peak, _ = outbox_run(organization, workers, args.messages, provider.url, timeout=600)
        print(f"{f'outbox, {workers} worker process(es), {args.messages:,} emails':44} {rate:8.0f} "
              f"{rate / baseline:12.2f}", flush=True)
    if args.campaign_messages:
        rate, _, _ = outbox_run(organization, 2, args.campaign_messages, provider.url, timeout=600, campaign=True)
        from outreach.models import Message

        sent = Message.all_tenants.filter(organization=organization, campaign_run__isnull=False,
                                          status="sent").count()
        label = f"campaign run, 2 worker processes, {args.campaign_messages:,} emails"
        print(f"{label:44} {rate:8.0f} {rate / baseline:12.2f}   ({sent:,} sent)", flush=True)
    if args.memory_messages:
        rate, peak, elapsed = outbox_run(organization, 2, args.memory_messages, provider.url, timeout=3600)
        print(f"{f'outbox, 2 worker processes, {args.memory_messages:,} emails':44} {rate:8.0f} "
              f"{rate / baseline:12.2f}")
        print(f"peak memory of the 2 workers (all their processes) while sending {args.memory_messages:,}: "
              f"{peak / 2**20:.0f} MiB; took {elapsed:.0f} s")
    print(f"PostgreSQL: {postgres_version()}")
    provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
