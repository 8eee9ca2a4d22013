"""Benchmark: importing a 100,000-row ATS export (candidates with applications and tags).

    python bench/import_candidates.py [--rows 100000]

Makes a realistic CSV (names, emails, titles, tags, one application each with its stage), imports
it into a fresh organization with the project's own code (the dry run, then the import), and, as
the floor in the same run, COPYs the same rows into a bare table with no index and no check.
Target: 100,000 rows imported in ≤ 60 s on this 2-core machine. Uses DATABASE_URL and REDIS_URL.
"""

import argparse
import csv
import io
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import postgres_version, setup_django  # noqa: E402

TARGET_SECONDS = 60
STAGES = [("Application Review", 30), ("Phone Screen", 20), ("Onsite", 12), ("Final Round", 5), ("Offer", 2),
          ("Hired", 2), ("Rejected", 27), ("Withdrawn", 2)]
REASONS = ["Not enough experience", "Another candidate chosen", "Salary expectations", "Position closed"]


def make_csv(rows, seed=3):
    from faker import Faker

    from bench.generate import SKILLS, TITLES

    fake = Faker(["en_GB", "fr_FR", "de_DE"])
    fake.seed_instance(seed)
    rng = random.Random(seed)
    firsts = [fake.first_name() for _ in range(2000)]
    lasts = [fake.last_name() for _ in range(5000)]
    jobs = [f"{rng.choice(TITLES)} ({city})" for city in ("Paris", "Berlin", "Remote", "Lyon")
            for _ in range(10)]
    stages, weights = zip(*STAGES, strict=True)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Candidate ID", "First Name", "Last Name", "Email", "Phone", "Location", "Current Title",
                     "Tags", "Job", "Stage", "Rejection Reason", "Applied At", "Application ID"])
    for i in range(rows):
        stage = rng.choices(stages, weights)[0]
        writer.writerow([
            f"gh-{i}", rng.choice(firsts), rng.choice(lasts), f"person{i}@import-bench.test",
            f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            rng.choice(["Paris, France", "Berlin, Germany", "Lyon, France", "Remote"]), rng.choice(TITLES),
            ", ".join(rng.sample(SKILLS[:60], rng.randint(0, 3))), rng.choice(jobs), stage,
            rng.choice(REASONS) if stage == "Rejected" else "",
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", f"app-{i}"])
    return out.getvalue().encode()


def copy_floor(data):
    """COPY of the same rows into a bare table: no index, no constraint, no check."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_import (candidate_id text, first_name text, last_name text, "
                       "email text, phone text, location text, title text, tags text, job text, stage text, "
                       "reason text, applied_at text, application_id text) ON COMMIT DROP")
        started = time.perf_counter()
        with cursor.cursor.copy("COPY bench_import FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    setup_django()
    from crm.models import Candidate, Organization, User
    from crm.services import organization_create
    from crm.tenancy import organization_scope
    from imports import services

    began = time.perf_counter()
    data = make_csv(args.rows)
    admin, _ = User.objects.get_or_create(email="bench-import@silverpool.test")
    slug = f"bench-import-{int(time.time())}"
    organization = organization_create(name="Benchmark Import", slug=slug, admin=admin)
    with organization_scope(organization):
        candidate_import = services.import_upload(data=data, filename="greenhouse-export.csv", actor=admin)
        services.import_set_mapping(candidate_import=candidate_import, mapping=candidate_import.mapping,
                                    evidence_note="", actor=admin)
        started = time.perf_counter()
        preview = services.run(candidate_import.pk, write=False, actor=admin)
        dry = time.perf_counter() - started
        started = time.perf_counter()
        result = services.run(candidate_import.pk, write=True, actor=admin)
        seconds = time.perf_counter() - started
        imported = Candidate.objects.count()
        started = time.perf_counter()
        again = services.run(candidate_import.pk, write=True, actor=admin)
        rerun = time.perf_counter() - started
    floor = copy_floor(data)
    print(f"\nImport of {args.rows:,} rows ({len(data) / 2**20:.1f} MB, one application each) into {slug}")
    print(f"{'step':48} {'seconds':>8} {'rows/s':>9} {'vs COPY':>8}")
    print(f"{'floor: COPY into a bare table':48} {floor:8.1f} {args.rows / floor:9,.0f} {1:8.2f}")
    print(f"{'dry run (checks, matching, nothing written)':48} {dry:8.1f} {args.rows / dry:9,.0f} {dry / floor:8.2f}")
    print(f"{'import (candidates, tags, jobs, applications)':48} {seconds:8.1f} {args.rows / seconds:9,.0f} "
          f"{seconds / floor:8.2f}")
    print(f"{'the same file again (changes nothing)':48} {rerun:8.1f} {args.rows / rerun:9,.0f} {rerun / floor:8.2f}")
    print(f"created {result['created']:,}, applications {result['applications']:,}, tags {result['tags_created']:,}, "
          f"refused {result['rejected']:,}; candidates now {imported:,}; dry run said {preview['created']:,}; "
          f"second run created {again['created']:,}")
    verdict = "OK" if seconds * 100_000 / args.rows <= TARGET_SECONDS else "SLOW"
    print(f"target: 100,000 rows in ≤ {TARGET_SECONDS} s → {verdict}")
    print(f"PostgreSQL: {postgres_version()}; benchmark took {time.perf_counter() - began:.0f} s")
    Organization.objects.filter(pk=organization.pk).delete()
    return 0


if __name__ == "__main__":
    sys.exit(main())
