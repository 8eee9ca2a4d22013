"""Benchmark: the candidate list and its search at a million candidates per organization.

    python bench/candidates_list.py [--org bench-a] [--runs 15]

Each case runs through the project's own code (the same filter set and selector the page and
the API use) and as hand-written SQL on the same data, and prints the medians of the
database time, their ratio and the PostgreSQL version. Run bench/generate.py first.
"""

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import database_time, median_ms, postgres_version, setup_django  # noqa: E402

TARGET_FILTER_MS = 50
TARGET_SEARCH_NOTHING_MS = 100
SELECT = ("id, organization_id, first_name, last_name, email, headline, location, seniority, skills, source, "
          "do_not_contact, silver_medalist, email_status, last_activity_at, created_at, updated_at")


def project_case(params, sort=None, cursor=None, size=25):
    from crm.filters import CandidateFilter, default_sort
    from crm.models import Candidate
    from crm.selectors import candidate_listing

    def run():
        filterset = CandidateFilter(params, queryset=Candidate.objects.all())
        assert filterset.is_valid(), filterset.errors
        listing = candidate_listing(filterset.qs, sort=sort or default_sort(params), cursor=cursor, size=size)
        return len(listing.page.rows), listing.count_label

    return run


def sql_case(where, params, order="created_at DESC, id DESC", size=25):
    """The straightforward SQL a person would write: the page and the capped count."""
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM (SELECT 1 FROM crm_candidate WHERE {where} LIMIT 10001) s", params)
            count = cursor.fetchone()[0]
            cursor.execute(f"SELECT {SELECT} FROM crm_candidate WHERE {where} ORDER BY {order} LIMIT {size + 1}",
                           params)
            return len(cursor.fetchall()[:size]), count

    return run


def measure(run, runs, warmups=3):
    for _ in range(warmups):
        run()
    samples = []
    result = None
    for _ in range(runs):
        with database_time() as spent:
            result = run()
        samples.append(spent["ms"])
    return median_ms(samples), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--org", default="bench-a")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from crm.models import Candidate, Organization
    from crm.pagination import encode_cursor
    from crm.tenancy import organization_scope

    organization = Organization.objects.get(slug=args.org)
    org = organization.pk
    with organization_scope(organization):
        total = Candidate.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT location FROM crm_candidate WHERE organization_id = %s GROUP BY location "
                           "ORDER BY count(*) DESC", [org])
            locations = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT created_at, id FROM crm_candidate WHERE organization_id = %s "
                           "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1", [org, total // 2])
            deep_created, deep_id = cursor.fetchone()
            cursor.execute("SELECT lower(last_name) FROM crm_candidate WHERE organization_id = %s AND "
                           "length(last_name) > 6 GROUP BY lower(last_name) "
                           "ORDER BY count(*), 1 LIMIT 1", [org])
            rare_surname = cursor.fetchone()[0]
        common_city, rare_city = locations[0].split(",")[0].lower(), locations[-1].split(",")[0].lower()
        two_years_ago = (timezone.now() - timedelta(days=730)).date()
        deep_cursor = encode_cursor([deep_created, deep_id])
        base = "organization_id = %s"
        cases = [
            ("first page, no filter", project_case({}), sql_case(base, [org]), TARGET_FILTER_MS),
            ("seniority = senior", project_case({"seniority": ["senior"]}),
             sql_case(base + " AND seniority = 'senior'", [org]), TARGET_FILTER_MS),
            ("seniority = executive (rare)", project_case({"seniority": ["executive"]}),
             sql_case(base + " AND seniority = 'executive'", [org]), TARGET_FILTER_MS),
            ("source = event", project_case({"source": ["event"]}),
             sql_case(base + " AND source = 'event'", [org]), TARGET_FILTER_MS),
            (f"location starts with '{common_city}' (common)", project_case({"location": common_city}),
             sql_case(base + " AND lower(location) LIKE %s", [org, common_city + "%"]), TARGET_FILTER_MS),
            (f"location starts with '{rare_city}' (rare)", project_case({"location": rare_city}),
             sql_case(base + " AND lower(location) LIKE %s", [org, rare_city + "%"]), TARGET_FILTER_MS),
            ("do not contact", project_case({"do_not_contact": "true"}),
             sql_case(base + " AND do_not_contact", [org]), TARGET_FILTER_MS),
            ("silver medalists", project_case({"silver_medalist": "true"}),
             sql_case(base + " AND silver_medalist", [org]), TARGET_FILTER_MS),
            ("inactive for two years", project_case({"active_before": two_years_ago.isoformat()}),
             sql_case(base + " AND last_activity_at < %s", [org, two_years_ago],
                      order="last_activity_at DESC, id DESC"), TARGET_FILTER_MS),
            ("inactive for two years, newest first", project_case({"active_before": two_years_ago.isoformat()},
                                                                  sort="-created_at"),
             sql_case(base + " AND last_activity_at < %s", [org, two_years_ago]), None),
            ("skill = python (common)", project_case({"skill": "python"}),
             sql_case(base + " AND skills @> ARRAY['python']::varchar[]", [org]), TARGET_FILTER_MS),
            ("skill = six-sigma (rare)", project_case({"skill": "six-sigma"}),
             sql_case(base + " AND skills @> ARRAY['six-sigma']::varchar[]", [org]), TARGET_FILTER_MS),
            ("deep page (row 500,000)", project_case({}, cursor=deep_cursor),
             sql_case(base + " AND (created_at, id) < (%s, %s)", [org, deep_created, deep_id]), TARGET_FILTER_MS),
            ("sort by name", project_case({}, sort="last_name"),
             sql_case(base, [org], order="last_name, first_name, id"), TARGET_FILTER_MS),
            ("sort by last activity", project_case({}, sort="-last_activity_at"),
             sql_case(base, [org], order="last_activity_at DESC, id DESC"), TARGET_FILTER_MS),
            ("search 'engineer' (common)", project_case({"q": "engineer"}),
             sql_case(base + " AND search_text LIKE %s", [org, "%engineer%"]), None),
            (f"search a rare surname ('{rare_surname}')", project_case({"q": rare_surname}),
             sql_case(base + " AND search_text LIKE %s", [org, f"%{rare_surname}%"]), None),
            ("search that matches nothing", project_case({"q": "zzqxv"}),
             sql_case(base + " AND search_text LIKE %s", [org, "%zzqxv%"]), TARGET_SEARCH_NOTHING_MS),
        ]
        print(f"Candidate list at {total:,} candidates in {args.org}; median database time of {args.runs} runs")
        print(f"{'case':44} {'project ms':>10} {'SQL ms':>9} {'ratio':>6} {'rows':>5} {'count':>8}  target")
        started = time.perf_counter()
        for name, project, sql, target in cases:
            project_ms, (rows, count) = measure(project, args.runs)
            sql_ms, _ = measure(sql, args.runs)
            verdict = "" if target is None else ("OK" if project_ms <= target else "SLOW") + f" (≤ {target} ms)"
            print(f"{name:44} {project_ms:10.1f} {sql_ms:9.1f} {project_ms / sql_ms:6.2f} {rows:5} {count:>8}  "
                  f"{verdict}", flush=True)

        # The page runs the same number of queries for 10 rows or 100.
        queries = {}
        for size in (10, 100):
            with database_time() as spent:
                project_case({}, size=size)()
            queries[size] = spent["queries"]
        print(f"queries for a page of 10 rows: {queries[10]}, of 100 rows: {queries[100]}"
              f" ({'same' if queries[10] == queries[100] else 'DIFFERENT'})")
        print(f"PostgreSQL: {postgres_version()}; benchmark took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
