"""Generate a benchmark talent base: organizations of N candidates each, loaded with COPY.

    python bench/generate.py --candidates 1000000 --orgs 2 [--reset]

Organizations are `bench-a`, `bench-b`, ... Each one gets:

- 500 tags (skills, interests, position types, places, statuses, events), the default rejection
  reasons and consent purposes, and 300 jobs (mixed statuses, required skills, seniority; the
  jobs' skills as job tags), among them "Senior Python backend developer" (python, django, sql,
  postgresql) and "PLC and SCADA automation engineer" (rare skills) for the matching benchmark;
- N candidates: realistic names (Faker pools), skewed skills, seniority, sources and cities, 2%
  do-not-contact, 0-8 of the real tags with a few very common and many rare ones, and activity
  dates over three years skewed to recent;
- applications for about 60% of them (1-3 each, distinct jobs): most rejected at the first
  stages, fewer at interview, final or offer, some withdrawn, a few hired or declining an offer,
  and open ones only on open jobs for candidates active in the last four months; the furthest
  stage is the one reached before closing, rejections carry a reason of the organization, and
  closed ones their decision time. Silver medalists are exactly the candidates rejected at the
  final interview or offer, or who declined an offer (what the pipeline services do);
- consent states for about 35%: the talent pool (mostly granted, some pending or withdrawn) and
  per topic a share granted (job offers ~30% of them, job market ~17%, events ~14%, company news
  ~12%, testimonials ~7%), some pending or withdrawn; a grant expires after the organization's
  retention period, so older ones are expired, and those that ran out in the last 30 days are
  still granted with `expires_at` in the past (the retention job has not reached them yet).
  Only the current states are written, no ConsentRecord ledger rows: segments read states only.
  Likewise tags live in the candidates' `tag_ids` arrays only, without CandidateTag rows.
- on each candidate row, what the database triggers keep there: the furthest stage reached, the
  reasons of rejected applications and the "topic:state" of each consent state (the triggers are
  off for the load).

Everything is loaded with COPY in one transaction, with the indexes that no constraint owns and
the foreign keys dropped and rebuilt after (each then checked once, not per row); `--reset`
deletes the benchmark organizations and everything generated for them.
"""

import argparse
import bisect
import functools
import itertools
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
DEPARTMENTS = ["Engineering", "Data", "Product", "Design", "Sales", "Marketing", "People", "Finance", "Operations",
               "Customer success", "Legal", "Hardware"]
SENIORITY = [("intern", 3), ("junior", 18), ("mid", 32), ("senior", 28), ("lead", 10), ("principal", 4),
             ("director", 3), ("executive", 2)]
SOURCES = [("applied", 60), ("referral", 10), ("sourced", 15), ("event", 5), ("imported", 9), ("public_form", 1)]
LANGUAGES = [("en", 50), ("fr", 25), ("de", 12), ("es", 8), ("nl", 5)]
COLUMNS = (
    "id", "organization_id", "first_name", "last_name", "email", "phone", "language", "location", "headline",
    "seniority", "skills", "linkedin_url", "portfolio_url", "source", "external_id", "do_not_contact",
    "do_not_contact_reason", "do_not_contact_at", "email_status", "silver_medalist", "silver_medalist_note",
    "last_activity_at", "notes", "tag_ids", "search_text", "created_at", "updated_at",
    "furthest_stage_rank", "rejection_reason_ids", "consent_topics",
)
APPLICATION_COLUMNS = (
    "organization_id", "candidate_id", "job_id", "stage", "furthest_stage", "stage_before_close", "decided_at",
    "decider_label", "rejection_reason_id", "rejection_note", "offer_declined_reason", "offer_declined_note",
    "external_id", "notice_plan", "notice_skip_reason", "applied_at", "moved_at", "version",
)
CONSENT_COLUMNS = ("organization_id", "candidate_id", "purpose_id", "state", "frequency", "granted_at", "expires_at",
                   "updated_at")

# Tags besides the skills, by category; the "custom" ones are events and campaigns.
INTERESTS = (
    "fintech healthtech edtech e-commerce gaming climate-tech mobility saas biotech media retail public-sector "
    "non-profit insurance banking telecom travel food-tech fashion real-estate energy-transition cybersecurity "
    "artificial-intelligence open-source web3 agritech legaltech hr-tech martech proptech space deep-tech "
    "marketplaces b2b b2c hardware iot developer-tools data-platforms startups scale-ups corporate consulting "
    "research sustainability"
).split()
POSITIONS = ["full-time", "part-time", "contract", "freelance", "internship", "apprenticeship", "remote only",
             "hybrid", "on-site", "open to relocation", "needs visa sponsorship", "four-day week", "interim",
             "fixed-term", "permanent only"]
CAREER = ["graduate", "career changer", "returner", "first management role", "bootcamp graduate",
          "phd", "self-taught", "veteran"]
STATUSES = ["hot", "warm", "passive", "open to work", "boomerang", "alumni", "referred by an employee",
            "former intern", "event attendee", "newsletter subscriber", "priority", "on notice",
            "counter-offer risk", "interviewed before", "strong culture add", "keep in touch", "not now",
            "salary above range", "relocating soon", "awaiting portfolio", "shortlisted", "talent community",
            "vip", "competitor", "diversity outreach"]
TAG_COLOURS = ["#64748b", "#4f46e5", "#0891b2", "#059669", "#ca8a04", "#dc2626", "#9333ea", "#db2777"]
JOB_STATUSES = [("open", 20), ("on_hold", 5), ("closed", 65), ("draft", 10)]
RETENTION_DAYS = round(30.44 * 24)  # Organization.retention_months defaults to 24
OPEN_WITHIN_DAYS = 120  # an application is still open only for candidates active this recently

# Application outcomes: (stage, furthest stage, weight). Open stages are open applications.
OUTCOMES = [
    ("rejected", "applied", 40), ("rejected", "screening", 22), ("rejected", "interview", 8),
    ("rejected", "final", 3.5), ("rejected", "offer", 0.8), ("offer_declined", "offer", 1.0),
    ("withdrawn", "applied", 3), ("withdrawn", "screening", 3), ("withdrawn", "interview", 2),
    ("hired", "hired", 1.7),
    ("applied", "applied", 8), ("screening", "screening", 5), ("interview", "interview", 2), ("final", "final", 1),
    ("offer", "offer", 0.3),
]
OPEN = {"applied", "screening", "interview", "final", "offer"}
RANK = {"applied": 0, "screening": 1, "interview": 2, "final": 3, "offer": 4, "hired": 5}
# Days from applying to the decision, by the furthest stage reached.
DECISION_DAYS = {"applied": (2, 20), "screening": (7, 30), "interview": (14, 45), "final": (21, 60),
                 "offer": (25, 70), "hired": (30, 75)}
EARLY_REASONS = {"Skills gap": 35, "Experience level": 25, "Another candidate chosen": 2, "Position closed": 10,
                 "Filled internally": 4, "Salary expectations": 6, "No response": 10, "Location or remote": 8}
LATE_REASONS = {"Skills gap": 15, "Experience level": 10, "Another candidate chosen": 45, "Position closed": 5,
                "Filled internally": 5, "Salary expectations": 12, "No response": 3, "Location or remote": 5}
DECLINED = [("salary", 35), ("other_offer", 30), ("location", 8), ("role_fit", 8), ("counter_offer", 12),
            ("personal", 5), ("other", 2)]
# Consent per topic among candidates with a talent-pool state: (granted, pending, withdrawn) percent.
TOPICS = {"job_offers": (30, 2, 4), "events": (14, 1, 2), "company_news": (12, 1, 3), "testimonials": (7, 0.5, 1),
          "job_market": (17, 1.5, 2)}
TALENT_POOL_SHARE = 0.35
TALENT_POOL = (("granted", 90), ("pending", 4), ("withdrawn", 6))
MATCHING_JOBS = [
    ("Senior Python backend developer", "Engineering", "senior", ["python", "django", "sql", "postgresql"]),
    ("PLC and SCADA automation engineer", "Hardware", "senior", ["plc", "scada", "six-sigma", "fpga"]),
]


@functools.cache
def ascii_slug(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", plain) or "x"


def zipf_weights(n, s=1.1):
    return [1 / (rank ** s) for rank in range(1, n + 1)]


class Picker:
    """Weighted choice with the cumulative weights computed once (random.choices redoes them per call)."""

    def __init__(self, values, weights):
        self.values = list(values)
        self.cumulative = list(itertools.accumulate(weights))
        self.total = self.cumulative[-1]

    def one(self, rng):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]

    def many(self, rng, k):
        return [self.one(rng) for _ in range(k)]


def picker(pairs):
    values, weights = zip(*pairs, strict=True)
    return Picker(values, weights)


def name_pools(seed):
    from faker import Faker

    fake = Faker(["en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "sv_SE"])
    fake.seed_instance(seed)
    firsts = sorted({fake.first_name() for _ in range(6000)})
    lasts = sorted({fake.last_name() for _ in range(20000)})
    cities = sorted({f"{fake.city()}, {fake.country()}" for _ in range(400)})[:200]
    return firsts, lasts, cities


def tag_specs(cities, rng):
    """500 (name, category) pairs, unique by lower-case name, in a random order (the order of popularity)."""
    specs = [(s, "skill") for s in SKILLS] + [(s, "interest") for s in INTERESTS]
    specs += [(s, "position") for s in POSITIONS] + [(s, "seniority") for s in CAREER]
    specs += [(s, "status") for s in STATUSES]
    specs += [(city.split(",")[0].strip()[:60], "location") for city in cities]
    events = ["job fair", "meetup", "hackathon", "webinar", "open day", "conference booth", "campus visit",
              "referral drive", "newsletter campaign", "sourcing sprint"]
    for year, quarter, event in itertools.product((2022, 2023, 2024, 2025), (1, 2, 3, 4), events):
        specs.append((f"{event} {year} q{quarter}", "custom"))
    seen, unique = set(), []
    for name, category in specs:
        if name and name.lower() not in seen:
            seen.add(name.lower())
            unique.append((name, category))
    unique = unique[:500]
    assert len(unique) == 500, len(unique)
    rng.shuffle(unique)
    return unique


def create_catalogue(organization, rng, cities, now):
    """Tags, rejection reasons, consent purposes and jobs of one organization; returns what the rows need."""
    from consent.models import ConsentPurpose
    from consent.services import purposes_create_defaults
    from crm.models import Job, RejectionReason
    from crm.services import rejection_reasons_create_defaults
    from talentpools.models import JobTag, Tag

    tags = Tag.all_tenants.bulk_create([
        Tag(organization=organization, name=name, category=category, colour=rng.choice(TAG_COLOURS),
            created_at=now - timedelta(days=rng.randint(30, 1100)))
        for name, category in tag_specs(cities, rng)
    ])
    rejection_reasons_create_defaults(organization)
    purposes_create_defaults(organization)
    reasons = dict(RejectionReason.all_tenants.filter(organization=organization).values_list("label", "pk"))
    purposes = dict(ConsentPurpose.all_tenants.filter(organization=organization).values_list("key", "pk"))

    skill_pick = Picker(SKILLS, zipf_weights(len(SKILLS), 1.05))
    seniority_pick, status_pick = picker(SENIORITY), picker(JOB_STATUSES)
    jobs = []
    for i in range(300):
        if i < len(MATCHING_JOBS):
            title, department, seniority, skills = MATCHING_JOBS[i]
            status = "open"
        else:
            title = rng.choice(TITLES)
            department, seniority, status = rng.choice(DEPARTMENTS), seniority_pick.one(rng), status_pick.one(rng)
            skills = list(dict.fromkeys(skill_pick.many(rng, rng.randint(2, 6))))
            if seniority != "mid":
                title = f"{seniority.capitalize()} {title.lower()}"
        # The matching jobs have just opened; the others were created over three years.
        created = now - timedelta(days=rng.uniform(5, 20 if i < len(MATCHING_JOBS) else 1100))
        opened = None if status == "draft" else created + timedelta(days=rng.uniform(0, 5))
        closed = opened + timedelta(days=rng.uniform(20, 120)) if status == "closed" else None
        if closed and closed > now:
            closed = now - timedelta(days=rng.uniform(0, 5))
        jobs.append(Job(organization=organization, title=title, department=department,
                        location=rng.choice(cities), remote=rng.random() < 0.3, seniority=seniority,
                        required_skills=skills, description=f"{title} in our {department.lower()} team.",
                        status=status, opened_at=opened, closed_at=closed, created_at=created))
    jobs = Job.all_tenants.bulk_create(jobs)
    tag_by_name = {t.name: t.pk for t in tags}
    JobTag.all_tenants.bulk_create([
        JobTag(organization=organization, job=job, tag_id=tag_by_name[skill])
        for job in jobs for skill in job.required_skills if skill in tag_by_name
    ])
    return {"tag_ids": [t.pk for t in tags], "reasons": reasons, "purposes": purposes, "jobs": jobs}


class Generator:
    """Rows of one organization: candidates (with ids given here), their applications and consent states."""

    def __init__(self, organization_id, rng, pools, catalogue, now):
        self.org, self.rng, self.now = organization_id, rng, now
        self.firsts, self.lasts, self.cities = pools
        self.city = Picker(self.cities, zipf_weights(len(self.cities), 1.2))
        self.skill = Picker(SKILLS, zipf_weights(len(SKILLS), 1.05))
        self.tag = Picker(catalogue["tag_ids"], zipf_weights(len(catalogue["tag_ids"]), 1.3))
        self.seniority, self.source, self.language = picker(SENIORITY), picker(SOURCES), picker(LANGUAGES)
        self.outcome = picker([((stage, furthest), w) for stage, furthest, w in OUTCOMES])
        reasons = catalogue["reasons"]
        self.early_reason = picker([(reasons[label], w) for label, w in EARLY_REASONS.items()])
        self.late_reason = picker([(reasons[label], w) for label, w in LATE_REASONS.items()])
        self.declined = picker(DECLINED)
        # Popularity in a random order, the just-opened matching jobs last (they have few applicants).
        fresh = {title for title, *_ in MATCHING_JOBS}
        jobs = [j for j in catalogue["jobs"] if j.status != "draft" and j.title not in fresh]
        rng.shuffle(jobs)
        jobs += [j for j in catalogue["jobs"] if j.title in fresh]
        self.fresh = {j.pk for j in jobs if j.title in fresh}
        self.any_job = Picker(jobs, zipf_weights(len(jobs), 0.7))
        open_jobs = [j for j in jobs if j.status in ("open", "on_hold")]
        self.open_job = Picker(open_jobs, zipf_weights(len(open_jobs), 0.7))
        self.purposes = catalogue["purposes"]
        self.talent_pool = picker(TALENT_POOL)
        self.topics = {topic: picker([("granted", g), ("pending", p), ("withdrawn", w), (None, 100 - g - p - w)])
                       for topic, (g, p, w) in TOPICS.items()}
        from consent.models import DEFAULT_FREQUENCY, Frequency

        self.frequencies = {topic: picker([(f, 70 if f == DEFAULT_FREQUENCY[topic] else 15)
                                           for f in Frequency.values]) for topic in TOPICS}
        self.applications, self.consents = [], []

    def candidates(self, first_id, count):
        from crm.models import candidate_search_text

        rng, org, now = self.rng, self.org, self.now
        three_years = 3 * 365 * 24 * 3600
        for i in range(count):
            pk = first_id + i
            first, last = rng.choice(self.firsts), rng.choice(self.lasts)
            email = f"{ascii_slug(first)}.{ascii_slug(last)}.{org}x{i}@example.com"
            seniority = self.seniority.one(rng)
            title = rng.choice(TITLES)
            headline = title if seniority in ("mid",) else f"{seniority.capitalize()} {title.lower()}"
            skills = list(dict.fromkeys(self.skill.many(rng, rng.randint(0, 8))))
            tags = sorted(set(self.tag.many(rng, rng.choice((0, 0, 1, 2, 3, 4, 5, 8)))))
            # Activity skewed to recent: the square of a uniform number piles up near zero.
            activity = now - timedelta(seconds=int(three_years * rng.random() ** 2))
            created = activity - timedelta(seconds=int(rng.random() * 400 * 24 * 3600))
            source = self.source.one(rng)
            dnc = rng.random() < 0.02
            silver_note, rank, reasons = (self.add_applications(pk, created, activity, source)
                                          if rng.random() < 0.6 else ("", -1, []))
            topics = self.add_consents(pk, created, activity, dnc) if rng.random() < TALENT_POOL_SHARE else []
            yield (
                pk, org, first, last, email, "", self.language.one(rng), self.city.one(rng), headline, seniority,
                skills, f"https://www.linkedin.com/in/{ascii_slug(first)}-{ascii_slug(last)}-{i}", "", source,
                f"ext-{org}-{i}" if rng.random() < 0.3 else "", dnc,
                "Asked not to be contacted" if dnc else "", activity if dnc else None,
                "bounced" if rng.random() < 0.01 else "valid", bool(silver_note), silver_note,
                activity, "", tags, candidate_search_text(first, last, email, headline, skills), created, activity,
                rank, reasons, topics,
            )

    def add_applications(self, pk, created, activity, source):
        """1-3 applications to distinct jobs; returns the silver-medal note ("" for none), the furthest stage's
        rank and the rejection reasons (what the database triggers would write on the candidate)."""
        rng, now = self.rng, self.now
        count = rng.choices((1, 2, 3), (60, 28, 12))[0]
        span = (activity - created).total_seconds()
        applied = sorted(created + timedelta(seconds=span * rng.random()) for _ in range(count))
        if source == "applied":
            applied[0] = created
        may_be_open = activity >= now - timedelta(days=OPEN_WITHIN_DAYS)
        used, silver_note, rank, reasons = set(), "", -1, set()
        for applied_at in applied:
            stage, furthest = self.outcome.one(rng)
            if stage in OPEN and not may_be_open:
                # Left open too long: closed since at the stage it had reached.
                stage = "rejected" if rng.random() < 0.7 else "withdrawn"
            pick = self.open_job if stage in OPEN else self.any_job
            job = pick.one(rng)
            while job.pk in used or (job.pk in self.fresh and job.created_at > applied_at):
                job = pick.one(rng)
            used.add(job.pk)
            low, high = DECISION_DAYS[furthest]
            moved = min(applied_at + timedelta(days=rng.uniform(low, high)), activity)
            if stage in OPEN:
                moved = applied_at + (moved - applied_at) * rng.random()
            closed = stage in ("rejected", "withdrawn", "offer_declined")
            reason = declined = ""
            reason_id = None
            rank = max(rank, RANK[furthest])
            if stage == "rejected":
                reason_id = (self.late_reason if RANK[furthest] >= 2 else self.early_reason).one(rng)
                reasons.add(reason_id)
                if furthest in ("final", "offer"):
                    label = "final interview" if furthest == "final" else "offer"
                    silver_note = f"Rejected at {label} for {job.title}"[:200]
            elif stage == "offer_declined":
                declined = self.declined.one(rng)
                silver_note = f"Declined an offer for {job.title}"[:200]
            self.applications.append((
                self.org, pk, job.pk, stage, furthest, furthest if closed else "", moved if closed else None, "",
                reason_id, reason, declined, "", "", "", "", applied_at, moved, 1 + RANK[furthest] + closed,
            ))
        return silver_note, rank, sorted(reasons)

    def add_consents(self, pk, created, activity, dnc):
        """The talent-pool state and the topic states, given on one form at one moment; returns "topic:state"s."""
        rng, now = self.rng, self.now
        given = created + (activity - created) * rng.random()
        expires = given + timedelta(days=RETENTION_DAYS)
        # Granted until it expires; the retention job marks it expired within 30 days after.
        lapsed = "granted" if expires > now - timedelta(days=30) else "expired"
        pool = "withdrawn" if dnc else self.talent_pool.one(rng)
        rows = [("talent_pool", pool, "")]
        for topic, states in self.topics.items():
            state = states.one(rng)
            if state is not None:
                rows.append((topic, pool if pool != "granted" and state == "granted" else state,
                             self.frequencies[topic].one(rng)))
        topics = []
        for key, state, frequency in rows:
            if state == "granted":
                state = lapsed
                row = (state, frequency, given, expires, given if state == "granted" else expires)
            elif state == "withdrawn":
                row = (state, frequency, given, None, activity)
            else:  # pending: asked on the form, never confirmed
                row = (state, frequency, None, None, given)
            self.consents.append((self.org, pk, self.purposes[key], *row))
            topics.append(f"{key}:{row[0]}")
        return sorted(topics)


def secondary_indexes(cursor, table):
    """Indexes of a table that no constraint owns (unique ones too: their rebuild checks the loaded rows)."""
    cursor.execute("""
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = %s AND NOT x.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
    """, [table])
    return cursor.fetchall()


def foreign_keys(cursor, table):
    """Foreign keys of a table: checked once by a join when added back, instead of per row while loading."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype = 'f'", [table])
    return cursor.fetchall()


LOADED_TABLES = ("crm_candidate", "crm_application", "consent_consentstate")
CATALOGUE_TABLES = ("crm_job", "talentpools_tag", "talentpools_jobtag", "crm_rejectionreason",
                    "consent_consentpurpose", "consent_consenttext")


def delete_organizations(slugs):
    """Delete the benchmark organizations: the big tables by SQL first, then the rest through the ORM."""
    from django.db import connection, transaction

    from crm.models import Organization

    ids = list(Organization.objects.filter(slug__in=slugs).values_list("id", flat=True))
    if not ids:
        return
    big = ("crm_application", "consent_consentstate", "crm_activity", "crm_candidate")
    with transaction.atomic(), connection.cursor() as cursor:
        # No trigger keeps candidates in step with rows deleted with them.
        cursor.execute("SET LOCAL session_replication_role = replica")
        # Rows referring to the deleted ones go first; the foreign keys are checked once when added back.
        cursor.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE contype = 'f' AND confrelid = ANY(%s::regclass[])", [list(big)])
        keys = cursor.fetchall()
        for table, name, _ in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for table in ("crm_stagechange", "crm_feedbacknote", "crm_application", "consent_consentstate",
                      "consent_consentevidence", "consent_consentrecord", "talentpools_candidatetag",
                      "talentpools_poolmember", "crm_activity", "crm_candidate"):
            cursor.execute(f"DELETE FROM {table} WHERE organization_id = ANY(%s)", [ids])
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    Organization.objects.filter(id__in=ids).delete()
    with connection.cursor() as cursor:
        for table in big:
            cursor.execute(f"VACUUM {table}")  # the load refills the freed pages


def copy_rows(cursor, table, columns, rows, label, started):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        n = 0
        for n, row in enumerate(rows, 1):
            copy.write_row(row)
            if n % 200_000 == 0:
                print(f"  {label}: {n:,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
    return n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=1_000_000, help="per organization")
    parser.add_argument("--orgs", type=int, default=2)
    parser.add_argument("--reset", action="store_true", help="delete the benchmark organizations first")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    setup_django()
    from django.db import connection, transaction

    from crm.models import Application, Candidate, Organization

    slugs = [f"bench-{string.ascii_lowercase[i]}" for i in range(args.orgs)]
    if args.reset:
        delete_organizations(slugs)
    organizations = []
    for index, slug in enumerate(slugs):
        organization, _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": f"Benchmark {string.ascii_uppercase[index]}"})
        organizations.append(organization)
    todo = [o for o in organizations if not Candidate.all_tenants.filter(organization=o).exists()]
    stale = [o.slug for o in organizations if o not in todo
             and not Application.all_tenants.filter(organization=o).exists()]
    if stale:
        print(f"{', '.join(stale)} were generated without applications, tags or consent: rebuild with --reset")
        return 1
    if not todo:
        print(f"benchmark organizations {', '.join(slugs)} are loaded already (use --reset to rebuild)")
        return 0

    started = time.perf_counter()
    pools = name_pools(args.seed)
    now = datetime.now(UTC)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no queued FK checks to block CREATE INDEX
            # The candidate rows carry their applications' outcomes and consent states already: the
            # triggers that keep them in step are not needed for this load.
            cursor.execute("SET LOCAL session_replication_role = replica")
            indexes = [ix for table in LOADED_TABLES for ix in secondary_indexes(cursor, table)]
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            keys = [(table, *fk) for table in LOADED_TABLES for fk in foreign_keys(cursor, table)]
            for table, name, _ in keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        raw = connection.connection
        for organization in todo:
            rng = random.Random(f"{args.seed}-{organization.slug}")
            catalogue = create_catalogue(organization, rng, pools[2], now)
            with raw.cursor() as cursor:
                # Ids taken from the sequence up front, so applications and consent can refer to them.
                cursor.execute("SELECT nextval(pg_get_serial_sequence('crm_candidate', 'id'))")
                first_id = cursor.fetchone()[0]
                cursor.execute("SELECT setval(pg_get_serial_sequence('crm_candidate', 'id'), %s)",
                               [first_id + args.candidates - 1])
                generator = Generator(organization.pk, rng, pools, catalogue, now)
                copy_rows(cursor, "crm_candidate", COLUMNS, generator.candidates(first_id, args.candidates),
                          f"{organization.slug} candidates", started)
                n_apps = copy_rows(cursor, "crm_application", APPLICATION_COLUMNS, generator.applications,
                                   f"{organization.slug} applications", started)
                n_consents = copy_rows(cursor, "consent_consentstate", CONSENT_COLUMNS, generator.consents,
                                       f"{organization.slug} consent states", started)
            print(f"  {organization.slug}: {args.candidates:,} candidates, {n_apps:,} applications, "
                  f"{n_consents:,} consent states, {len(catalogue['jobs'])} jobs, {len(catalogue['tag_ids'])} tags "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
            del generator
        print(f"loaded in {time.perf_counter() - started:.0f} s; rebuilding {len(indexes)} indexes and "
              f"{len(keys)} foreign keys", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            for name, definition in indexes:
                step = time.perf_counter()
                cursor.execute(definition)
                print(f"  {name}: {time.perf_counter() - step:.0f} s", flush=True)
            step = time.perf_counter()
            for table, name, definition in keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            print(f"  foreign keys: {time.perf_counter() - step:.0f} s", flush=True)
    with connection.cursor() as cursor:
        for table in LOADED_TABLES + CATALOGUE_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"done: {len(todo)} organization(s) of {args.candidates:,} candidates in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
