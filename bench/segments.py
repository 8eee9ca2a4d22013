"""Benchmark: smart talent pools (segments) and job matching at a million candidates per organization.

    python bench/segments.py [--org bench-a,bench-b] [--runs 15]

Each smart pool's page is timed as the pool page runs it: `segment_queryset(definition)` through
`candidate_listing` (the count capped at 1,000 as pool pages do, and the first keyset page), sorted newest first, or
by last activity when the definition filters on activity. Each case also runs as hand-written SQL
on the same data (array operators for tags, skills, rejection reasons and consent topics, the
stage reached and the consent expiry as the project reads them; a count over `LIMIT 1001` and the
first page), and the medians of the database time, their ratio and the PostgreSQL version are
printed; cases on stages, reasons or consent run a third time as SQL with EXISTS subqueries over
the applications and consent states themselves, what the candidate row's columns save. Then `job_matches` for two jobs. Both generated
organizations run by default: bench-b's candidate ids come after bench-a's, which shows up plans
that walk the primary key from the start of the table. Run bench/generate.py first: it makes the
tags, jobs, applications and consent states used here.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import database_time, median_ms, postgres_version, setup_django  # noqa: E402

TARGET_POOL_MS = 100
TARGET_MATCHING_MS = 300
MAX_RATIO = 1.5
SELECT = ("c.id, c.organization_id, c.first_name, c.last_name, c.email, c.headline, c.location, c.seniority, "
          "c.skills, c.source, c.do_not_contact, c.silver_medalist, c.email_status, c.last_activity_at, "
          "c.created_at, c.updated_at")
SUPPORTED = {"tags_all", "tags_any", "tags_none", "skills_all", "skills_any", "seniority", "silver_medalist",
             "inactive_days", "furthest_stage", "rejection_reasons", "consent"}
# A consent state of candidate `c` for one purpose, as an EXISTS condition ({} is the test on `s`).
CONSENT_EXISTS = ("EXISTS (SELECT 1 FROM consent_consentstate s WHERE s.organization_id = %s "
                  "AND s.candidate_id = c.id AND s.purpose_id = %s AND {})")
GRANTED = CONSENT_EXISTS.format("s.state = 'granted' AND s.expires_at > %s")
LAPSED = CONSENT_EXISTS.format("(s.state = 'expired' OR (s.state = 'granted' AND s.expires_at <= %s))")
MATCHING_JOBS = [("common skills", "Senior Python backend developer"),
                 ("rare skills", "PLC and SCADA automation engineer")]


def project_case(definition, size=25):
    from crm.selectors import candidate_listing
    from talentpools.segments import default_sort, segment_queryset
    from talentpools.selectors import POOL_COUNT_CAP

    def run():
        listing = candidate_listing(segment_queryset(definition), sort=default_sort(definition), size=size,
                                    cap=POOL_COUNT_CAP)
        return len(listing.page.rows), listing.count_label

    return run


def sql_where(definition, org, purposes, now, joins=False):
    """The same filters as plain SQL over crm_candidate `c` (with their parameters).

    Stages, rejection reasons and consent read the candidate row's columns (kept in step by the
    database), or with `joins` the applications and consent states themselves (EXISTS subqueries)."""
    from crm.models import PIPELINE

    d = definition
    assert not set(d) - SUPPORTED, set(d) - SUPPORTED
    where, params = ["c.organization_id = %s", "NOT c.do_not_contact"], [org]
    for key, template in (("tags_all", "c.tag_ids @> %s::int[]"), ("tags_any", "c.tag_ids && %s::int[]"),
                          ("tags_none", "NOT (c.tag_ids && %s::int[])"),
                          ("skills_all", "c.skills @> %s::varchar[]"), ("skills_any", "c.skills && %s::varchar[]"),
                          ("seniority", "c.seniority = ANY(%s)")):
        if d.get(key):
            where.append(template)
            params.append(list(d[key]))
    if "silver_medalist" in d:
        where.append("c.silver_medalist = %s")
        params.append(d["silver_medalist"])
    if d.get("inactive_days"):
        where.append("c.last_activity_at < %s")
        params.append(now - timedelta(days=d["inactive_days"]))
    if not joins:
        return sql_where_on_row(d, where, params, org, purposes, now)
    if d.get("furthest_stage"):
        where.append("EXISTS (SELECT 1 FROM crm_application a WHERE a.organization_id = %s AND a.candidate_id = c.id "
                     "AND a.furthest_stage = ANY(%s))")
        params += [org, PIPELINE[PIPELINE.index(d["furthest_stage"]):]]
    if d.get("rejection_reasons"):
        where.append("EXISTS (SELECT 1 FROM crm_application a WHERE a.organization_id = %s AND a.candidate_id = c.id "
                     "AND a.stage = 'rejected' AND a.rejection_reason_id = ANY(%s))")
        params += [org, d["rejection_reasons"]]
    for topic, state in sorted(d.get("consent", {}).items()):
        if state in ("granted", "not_granted"):
            where.append(GRANTED if state == "granted" else f"NOT {GRANTED}")
            params += [org, purposes[topic], now]
        elif state == "expired":
            where.append(LAPSED)
            params += [org, purposes[topic], now]
        else:
            where.append(CONSENT_EXISTS.format("s.state = %s"))
            params += [org, purposes[topic], state]
    return " AND ".join(where), params


def sql_where_on_row(d, where, params, org, purposes, now):
    from crm.models import PIPELINE

    if d.get("furthest_stage"):
        where.append("c.furthest_stage_rank >= %s")
        params.append(PIPELINE.index(d["furthest_stage"]))
    if d.get("rejection_reasons"):
        where.append("c.rejection_reason_ids && %s::int[]")
        params.append(d["rejection_reasons"])
    for topic, state in sorted(d.get("consent", {}).items()):
        if state == "granted":
            where.append(f"c.consent_topics @> %s::varchar[] AND {GRANTED}")
            params += [[f"{topic}:granted"], org, purposes[topic], now]
        elif state == "not_granted":
            where.append(f"NOT {GRANTED}")
            params += [org, purposes[topic], now]
        elif state == "expired":
            where.append(f"c.consent_topics && %s::varchar[] AND {LAPSED}")
            params += [[f"{topic}:expired", f"{topic}:granted"], org, purposes[topic], now]
        else:
            where.append("c.consent_topics @> %s::varchar[]")
            params.append([f"{topic}:{state}"])
    return " AND ".join(where), params


def sql_case(definition, org, purposes, size=25, joins=False):
    """The straightforward SQL a person would write: the capped count and the first page."""
    from django.db import connection
    from django.utils import timezone

    from talentpools.segments import default_sort
    from talentpools.selectors import POOL_COUNT_CAP

    order = ("c.last_activity_at DESC, c.id DESC" if default_sort(definition) == "-last_activity_at"
             else "c.created_at DESC, c.id DESC")

    def run():
        where, params = sql_where(definition, org, purposes, timezone.now(), joins=joins)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM crm_candidate c WHERE {where} "
                           f"LIMIT {POOL_COUNT_CAP + 1}) s",
                           params)
            count = cursor.fetchone()[0]
            cursor.execute(f"SELECT {SELECT} FROM crm_candidate c WHERE {where} ORDER BY {order} LIMIT {size + 1}",
                           params)
            return len(cursor.fetchall()[:size]), count

    return run


def measure(run, runs, warmups=3):
    for _ in range(warmups):
        run()
    samples, walls = [], []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        with database_time() as spent:
            result = run()
        walls.append((time.perf_counter() - start) * 1000)
        samples.append(spent["ms"])
    return median_ms(samples), median_ms(walls), result


def tag_popularity(org):
    """(tag id, number of candidates) of the organization, most used first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT t, count(*) FROM crm_candidate, unnest(tag_ids) t WHERE organization_id = %s "
                       "GROUP BY t ORDER BY 2 DESC, 1", [org])
        return cursor.fetchall()


def run_organization(slug, runs):
    """Print the pool and matching tables of one organization; returns the names of the cases that missed."""
    from consent.models import ConsentPurpose
    from crm.models import Candidate, Job, Organization, RejectionReason
    from crm.tenancy import organization_scope
    from talentpools.matching import job_matches
    from talentpools.models import Tag
    from talentpools.segments import clean_definition, describe
    from talentpools.selectors import POOL_COUNT_CAP

    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        print(f"no organization {slug}: run bench/generate.py first")
        return [slug]
    org = organization.pk
    with organization_scope(organization):
        total = Candidate.objects.count()
        if not Tag.objects.exists():
            print(f"{slug} has no tags: rebuild it with `python bench/generate.py --reset`")
            return [slug]
        names = dict(Tag.objects.values_list("pk", "name"))
        ranked = tag_popularity(org)
        purposes = dict(ConsentPurpose.objects.values_list("key", "pk"))
        reasons = dict(RejectionReason.objects.values_list("label", "pk"))

        def tag(rank):
            pk, n = ranked[rank]
            return pk, f"'{names[pk]}' ({n / total:.1%})"

        t1, t1_label = tag(0)
        t2, t2_label = tag(1)
        t5, t5_label = tag(4)
        t10, t10_label = tag(9)
        mid = [tag(rank) for rank in (30, 60, 120)]
        headline = {"seniority": ["senior"], "skills_all": ["python"], "furthest_stage": "interview",
                    "consent": {"job_offers": "granted"}, "inactive_days": 183}
        cases = [
            (f"tag {t1_label}", {"tags_all": [t1]}),
            (f"tags {t2_label} and {t5_label}", {"tags_all": [t2, t5]}),
            (f"any of tags {', '.join(label for _, label in mid)}", {"tags_any": [pk for pk, _ in mid]}),
            (f"tag {t2_label}, not tag {t1_label}", {"tags_all": [t2], "tags_none": [t1]}),
            ("skill python", {"skills_all": ["python"]}),
            ("senior, skill rust, go or kafka", {"seniority": ["senior"], "skills_any": ["rust", "go", "kafka"]}),
            ("reached interview or later", {"furthest_stage": "interview"}),
            ("rejected for salary expectations", {"rejection_reasons": [reasons["Salary expectations"]]}),
            ("silver medalists", {"silver_medalist": True}),
            ("no activity for 6 months", {"inactive_days": 183}),
            ("job offers: granted", {"consent": {"job_offers": "granted"}}),
            (f"job offers: not granted, tag {t10_label}", {"consent": {"job_offers": "not_granted"},
                                                           "tags_all": [t10]}),
            ("senior python, interview+, job offers, 6 months inactive", headline),
            # Topics granted on one form lapse together: this pair never matches.
            (f"nothing: tag {t1_label}, job offers expired, events granted",
             {"tags_all": [t1], "consent": {"job_offers": "expired", "events": "granted"}}),
        ]
        cases = [(name, clean_definition(raw)) for name, raw in cases]
        width = max(len(name) for name, _ in cases) + 1
        print(f"Smart pools at {total:,} candidates in {slug}; median database time of {runs} runs "
              f"(the count capped at 1,000 as pool pages do, and the first page of 25)")
        print(f"{'case':{width}} {'project ms':>10} {'SQL ms':>9} {'ratio':>6} {'rows':>5} {'count':>8}  "
              f"{'target':19} {'SQL with EXISTS ms':>18}")
        missed = []
        for name, definition in cases:
            project_ms, _, (rows, count) = measure(project_case(definition), runs)
            sql_ms, _, (sql_rows, sql_count) = measure(sql_case(definition, org, purposes), runs)
            sql_label = f"{POOL_COUNT_CAP:,}+" if sql_count > POOL_COUNT_CAP else f"{sql_count:,}"
            assert (rows, count) == (sql_rows, sql_label), (name, rows, count, sql_rows, sql_label)
            ok = project_ms <= TARGET_POOL_MS
            if not ok or project_ms / sql_ms > MAX_RATIO:
                missed.append(f"{slug}: {name}")
            joined = "-"
            if any(key in definition for key in ("furthest_stage", "rejection_reasons", "consent")):
                joined_ms, _, joined_result = measure(sql_case(definition, org, purposes, joins=True), runs)
                assert joined_result == (sql_rows, sql_count), (name, joined_result)
                joined = f"{joined_ms:.1f}"
            print(f"{name:{width}} {project_ms:10.1f} {sql_ms:9.1f} {project_ms / sql_ms:6.2f} {rows:5} {count:>8}  "
                  f"{('OK' if ok else 'SLOW') + f' (≤ {TARGET_POOL_MS} ms)':19} {joined:>18}", flush=True)
        print(f"(headline pool: {describe(headline)})")

        print(f"Job matching in {slug} (job_matches, 25 candidates); median of {runs} runs")
        print(f"{'job':{width}} {'db ms':>10} {'wall ms':>9} {'rows':>6} {'silver':>6}  target")
        for label, title in MATCHING_JOBS:
            job = Job.objects.filter(title=title).first()
            if job is None:
                print(f"{label}: no job '{title}' in {slug} (rebuild it with bench/generate.py --reset)")
                missed.append(f"{slug}: {label}")
                continue
            db_ms, wall_ms, matches = measure(lambda job=job: job_matches(job), runs)
            silver = sum(m.candidate.silver_medalist for m in matches)
            name = f"{label}: {', '.join(job.required_skills)} ({job.seniority})"
            ok = wall_ms <= TARGET_MATCHING_MS
            if not ok:
                missed.append(f"{slug}: {name}")
            print(f"{name:{width}} {db_ms:10.1f} {wall_ms:9.1f} {len(matches):6} {silver:6}  "
                  f"{'OK' if ok else 'SLOW'} (≤ {TARGET_MATCHING_MS} ms)", flush=True)
    return missed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--org", default="bench-a,bench-b",
                        help="organizations, comma-separated (the second one's ids come after the first's)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    setup_django()

    started = time.perf_counter()
    missed = []
    for i, slug in enumerate(args.org.split(",")):
        if i:
            print()
        missed += run_organization(slug.strip(), args.runs)
    print(f"\ntargets missed or ratio above {MAX_RATIO}: {'; '.join(missed) if missed else 'none'}")
    print(f"PostgreSQL: {postgres_version()}; benchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
