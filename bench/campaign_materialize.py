"""Benchmark: a campaign run writing its recipients to the outbox, at a million recipients.

    python bench/campaign_materialize.py [--org bench-b]

Uses the generator's organization (`bench/generate.py`), gives every candidate of it a granted
consent for company news (once), and times the project's own `prepare_run` for a campaign to a
smart pool of everyone who may be contacted: the audience, the exclusion breakdown and the one
INSERT ... SELECT into the outbox. The floor, measured in the same run, is a bare
INSERT ... SELECT of the same number of rows into a copy of the outbox table with no index, no
constraint and no filter. Target: ≤ 60 s for 1,000,000 recipients on this 2-core machine.
Uses DATABASE_URL and REDIS_URL like the app.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import (  # noqa: E402
    clear_campaigns,
    database_time,
    grant_everyone,
    postgres_version,
    setup_django,
    without_dispatch_nudge,
)

TARGET_SECONDS = 60


def clear_previous(organization):
    from django.db import connection

    clear_campaigns(organization)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE outreach_message")


def floor_seconds(organization, rows):
    """A bare INSERT ... SELECT of `rows` rows into an unindexed copy of the outbox table."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_outbox (LIKE outreach_message INCLUDING DEFAULTS) ON COMMIT DROP")
        started = time.perf_counter()
        cursor.execute("""
            INSERT INTO bench_outbox (id, organization_id, unique_key, candidate_id, kind, purpose, language,
                to_email, subject, html, text, headers, context, send_after, status, status_reason,
                provider_message_id, attempts, created_at, updated_at, topic)
            SELECT c.id, c.organization_id, 'campaign:0:' || c.id, c.id, 'company_news', 'marketing', 'en', c.email,
                   '', '', '', '{}'::jsonb, '{}'::jsonb, now(), 'queued', '', '', 0, now(), now(), 'company_news'
            FROM crm_candidate c WHERE c.organization_id = %s LIMIT %s
        """, [organization.pk, rows])
        return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", default="bench-b")
    args = parser.parse_args(argv)
    setup_django()
    from crm.models import Candidate, Organization, User
    from crm.tenancy import organization_scope
    from outreach.campaigns import campaign_save, prepare_run
    from outreach.defaults import create_default_templates
    from outreach.models import CampaignRun, EmailTemplate
    from talentpools.models import TalentPool
    from talentpools.services import pool_create

    organization = Organization.objects.filter(slug=args.org).first()
    if organization is None or not Candidate.all_tenants.filter(organization=organization).exists():
        print(f"no candidates in {args.org}: run bench/generate.py first")
        return 1
    began = time.perf_counter()
    with organization_scope(organization):
        # Nobody had a campaign email recently: the cap and frequency checks still run, over an empty history.
        clear_previous(organization)
        print(f"  consent for company news: {grant_everyone(organization, 'company_news'):,} rows", flush=True)
        if not EmailTemplate.objects.filter(kind="company_news").exists():
            create_default_templates(organization)
        actor, _ = User.objects.get_or_create(email="bench-campaigns@silverpool.test")
        pool = TalentPool.objects.filter(name="Everyone (benchmark)").first() or pool_create(
            name="Everyone (benchmark)", kind="smart", actor=actor, definition={})
        campaign = campaign_save(actor=actor, name="Benchmark news", topic="company_news", pool_ids=[pool.pk],
                                 template=EmailTemplate.objects.filter(kind="company_news", language="en").first())
        from django.utils import timezone

        run = CampaignRun.objects.create(campaign=campaign, planned_for=timezone.now() - timedelta(seconds=1))
        started = time.perf_counter()
        with without_dispatch_nudge(), database_time() as spent:
            queued = prepare_run(run)
        steps = spent["statements"]
        seconds = time.perf_counter() - started
        run.refresh_from_db()
        floor = floor_seconds(organization, queued)
        # A million queued emails would keep any worker on this database busy: they go with the benchmark.
        clear_previous(organization)
    rate = queued / seconds if seconds else 0
    print(f"\nCampaign run written to the outbox in {args.org}")
    print(f"{'step':52} {'seconds':>8} {'rows/s':>10} {'vs floor':>9}")
    print(f"{'floor: bare INSERT ... SELECT, no index, no filter':52} {floor:8.1f} {queued / floor:10,.0f} {1:9.2f}")
    print(f"{'prepare_run: audience, exclusions, outbox rows':52} {seconds:8.1f} {rate:10,.0f} "
          f"{seconds / floor:9.2f}")
    for label, taken in steps:
        if taken >= 0.05:
            print(f"  {label:50} {taken:8.1f}")
    # What no statement shows: mostly the commit, where PostgreSQL checks each outbox row's foreign keys.
    print(f"  {'commit (foreign-key checks) and the rest':50} {seconds - sum(taken for _, taken in steps):8.1f}")
    print(f"audience {run.audience:,}; queued {queued:,}; excluded {run.excluded}")
    verdict = "OK" if seconds <= TARGET_SECONDS * max(1, queued) / 1_000_000 else "SLOW"
    print(f"target: 1,000,000 recipients in ≤ {TARGET_SECONDS} s → {verdict} "
          f"({seconds * 1_000_000 / max(1, queued):.1f} s per million)")
    print(f"PostgreSQL: {postgres_version()}; benchmark took {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
