"""Generate a benchmark talent base: organizations of N candidates each, loaded with COPY.

    python bench/generate.py --candidates 1000000 --orgs 2 [--reset]

Realistic names (Faker pools), skewed skills, seniority, sources and cities, 2% do-not-contact,
5% silver medalists, 0-8 tags over 500 ids with a few very common and many rare ones, and
activity dates over three years skewed to recent. Organizations are `bench-a`, `bench-b`, ...
"""

import argparse
import random
import re
import string
import sys
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import setup_django  # noqa: E402

SKILLS = (
    "python django sql postgresql javascript typescript react vue angular node.js java kotlin spring go rust c c++ "
    "c# .net php laravel ruby rails scala spark hadoop kafka airflow dbt snowflake bigquery tableau power-bi excel "
    "pandas numpy machine-learning deep-learning pytorch tensorflow nlp computer-vision statistics r matlab aws gcp "
    "azure kubernetes docker terraform ansible linux bash git ci/cd jenkins prometheus grafana elasticsearch redis "
    "mongodb graphql rest microservices architecture security networking embedded rtos ros robotics fpga verilog "
    "figma sketch user-research prototyping design-systems accessibility seo marketing copywriting salesforce "
    "hubspot negotiation account-management recruiting sourcing interviewing employer-branding payroll "
    "accounting finance budgeting sap erp logistics supply-chain procurement project-management scrum kanban "
    "product-management roadmapping analytics a/b-testing leadership mentoring hiring coaching public-speaking "
    "technical-writing qa test-automation selenium playwright cypress mobile ios android swift flutter "
    "react-native unity game-design 3d blender video-editing photography customer-success support zendesk "
    "legal compliance gdpr risk audit healthcare biology chemistry lab-work cad solidworks autocad mechanical "
    "electrical plc scada energy solar battery automotive aerospace manufacturing lean six-sigma"
).split()
TITLES = [
    "Software engineer", "Backend engineer", "Frontend engineer", "Full-stack developer", "Data engineer",
    "Data scientist", "Data analyst", "DevOps engineer", "Site reliability engineer", "Security engineer",
    "Product manager", "Product designer", "UX researcher", "Engineering manager", "QA engineer",
    "Mobile developer", "Embedded engineer", "Robotics engineer", "Machine learning engineer", "Account executive",
    "Sales manager", "Marketing manager", "Content writer", "Recruiter", "HR business partner", "Accountant",
    "Financial analyst", "Operations manager", "Supply chain analyst", "Customer success manager",
    "Support specialist", "Project manager", "Mechanical engineer", "Electrical engineer", "Legal counsel",
]
SENIORITY = [("intern", 3), ("junior", 18), ("mid", 32), ("senior", 28), ("lead", 10), ("principal", 4),
             ("director", 3), ("executive", 2)]
SOURCES = [("applied", 60), ("referral", 10), ("sourced", 15), ("event", 5), ("imported", 9), ("public_form", 1)]
LANGUAGES = [("en", 50), ("fr", 25), ("de", 12), ("es", 8), ("nl", 5)]
COLUMNS = (
    "organization_id", "first_name", "last_name", "email", "phone", "language", "location", "headline",
    "seniority", "skills", "linkedin_url", "portfolio_url", "source", "external_id", "do_not_contact",
    "do_not_contact_reason", "do_not_contact_at", "email_status", "silver_medalist", "silver_medalist_note",
    "last_activity_at", "notes", "tag_ids", "search_text", "created_at", "updated_at",
)


def ascii_slug(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", plain) or "x"


def zipf_weights(n, s=1.1):
    return [1 / (rank ** s) for rank in range(1, n + 1)]


def name_pools(seed):
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "sv_SE"])
    fake.seed_instance(seed)
    firsts = sorted({fake.first_name() for _ in range(6000)})
    lasts = sorted({fake.last_name() for _ in range(20000)})
    cities = sorted({f"{fake.city()}, {fake.country()}" for _ in range(400)})[:200]
    return firsts, lasts, cities


def rows(organization_id, count, rng, pools, now):
    from crm.models import candidate_search_text

    firsts, lasts, cities = pools
    city_weights = zipf_weights(len(cities), 1.2)
    skill_weights = zipf_weights(len(SKILLS), 1.05)
    tag_ids = list(range(1, 501))
    tag_weights = zipf_weights(500, 1.3)
    seniorities, seniority_w = zip(*SENIORITY, strict=True)
    sources, source_w = zip(*SOURCES, strict=True)
    languages, language_w = zip(*LANGUAGES, strict=True)
    three_years = 3 * 365 * 24 * 3600
    for i in range(count):
        first, last = rng.choice(firsts), rng.choice(lasts)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{organization_id}x{i}@example.com"
        seniority = rng.choices(seniorities, seniority_w)[0]
        title = rng.choice(TITLES)
        headline = title if seniority in ("mid",) else f"{seniority.capitalize()} {title.lower()}"
        skills = list(dict.fromkeys(rng.choices(SKILLS, skill_weights, k=rng.randint(0, 8))))
        tags = sorted(set(rng.choices(tag_ids, tag_weights, k=rng.choice((0, 0, 1, 2, 3, 4, 5, 8)))))
        # Activity skewed to recent: the square of a uniform number piles up near zero.
        activity = now - timedelta(seconds=int(three_years * rng.random() ** 2))
        created = activity - timedelta(seconds=int(rng.random() * 400 * 24 * 3600))
        dnc = rng.random() < 0.02
        silver = rng.random() < 0.05
        yield (
            organization_id, first, last, email, "", rng.choices(languages, language_w)[0],
            rng.choices(cities, city_weights)[0], headline, seniority, skills,
            f"https://www.linkedin.com/in/{ascii_slug(first)}-{ascii_slug(last)}-{i}", "",
            rng.choices(sources, source_w)[0],
            f"ext-{organization_id}-{i}" if rng.random() < 0.3 else "", dnc,
            "Asked not to be contacted" if dnc else "", activity if dnc else None,
            "bounced" if rng.random() < 0.01 else "valid", silver, "Reached the final interview" if silver else "",
            activity, "", tags, candidate_search_text(first, last, email, headline, skills), created, activity,
        )


def candidate_indexes(cursor):
    """Secondary indexes of the candidate table (not the primary key or unique constraints)."""
    cursor.execute("""
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = 'crm_candidate' AND NOT x.indisprimary AND NOT x.indisunique
    """)
    return cursor.fetchall()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=1_000_000, help="per organization")
    parser.add_argument("--orgs", type=int, default=2)
    parser.add_argument("--reset", action="store_true", help="delete the benchmark organizations first")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection, transaction

    from crm.models import Candidate, Organization

    slugs = [f"bench-{string.ascii_lowercase[i]}" for i in range(args.orgs)]
    if args.reset:
        with connection.cursor() as cursor:
            ids = list(Organization.objects.filter(slug__in=slugs).values_list("id", flat=True))
            if ids:
                cursor.execute("DELETE FROM crm_activity WHERE organization_id = ANY(%s)", [ids])
                cursor.execute("DELETE FROM crm_candidate WHERE organization_id = ANY(%s)", [ids])
        Organization.objects.filter(slug__in=slugs).delete()
    organizations = []
    for index, slug in enumerate(slugs):
        organization, _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": f"Benchmark {string.ascii_uppercase[index]}"})
        organizations.append(organization)
    todo = [o for o in organizations if not Candidate.all_tenants.filter(organization=o).exists()]
    if not todo:
        print(f"benchmark organizations {', '.join(slugs)} are loaded already (use --reset to rebuild)")
        return 0

    started = time.perf_counter()
    pools = name_pools(args.seed)
    now = datetime.now(UTC)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no queued FK checks to block CREATE INDEX
            indexes = candidate_indexes(cursor)
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        raw = connection.connection
        with raw.cursor() as cursor:
            for organization in todo:
                rng = random.Random(f"{args.seed}-{organization.slug}")
                copy_sql = f"COPY crm_candidate ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for n, row in enumerate(rows(organization.pk, args.candidates, rng, pools, now), 1):
                        copy.write_row(row)
                        if n % 200_000 == 0:
                            print(f"  {organization.slug}: {n:,} rows ({time.perf_counter() - started:.0f} s)",
                                  flush=True)
        print(f"loaded in {time.perf_counter() - started:.0f} s; rebuilding {len(indexes)} indexes", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for name, definition in indexes:
                step = time.perf_counter()
                cursor.execute(definition)
                print(f"  {name}: {time.perf_counter() - step:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE crm_candidate")
    print(f"done: {len(todo)} organization(s) of {args.candidates:,} candidates in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
