"""Demo candidates for the development organization (deterministic, realistic)."""

import random
import re
import unicodedata
from datetime import timedelta

from django.utils import timezone

from .models import ActivityKind, Candidate, Seniority, Source
from .services import activity_record, candidate_create, candidate_set_do_not_contact

ROLES = [
    ("Backend engineer", ["python", "django", "postgresql", "celery", "docker"]),
    ("Frontend engineer", ["javascript", "typescript", "react", "css", "accessibility"]),
    ("Data engineer", ["python", "sql", "airflow", "spark", "dbt"]),
    ("Data scientist", ["python", "pandas", "machine learning", "statistics", "sql"]),
    ("DevOps engineer", ["kubernetes", "terraform", "aws", "linux", "prometheus"]),
    ("Product designer", ["figma", "user research", "prototyping", "design systems"]),
    ("Product manager", ["roadmapping", "discovery", "analytics", "stakeholder management"]),
    ("Embedded engineer", ["c", "c++", "rtos", "robotics", "ros"]),
    ("QA engineer", ["test automation", "playwright", "python", "ci"]),
    ("Technical recruiter", ["sourcing", "interviewing", "employer branding"]),
    ("Robotics engineer", ["ros", "c++", "computer vision", "python", "slam"]),
    ("Engineering manager", ["leadership", "hiring", "python", "architecture"]),
]
CITIES = ["Paris, France", "Lyon, France", "Berlin, Germany", "Munich, Germany", "Amsterdam, Netherlands",
          "Lisbon, Portugal", "Madrid, Spain", "Barcelona, Spain", "London, United Kingdom", "Brussels, Belgium",
          "Toulouse, France", "Nantes, France", "Remote"]
SENIORITY_WEIGHTS = [(Seniority.INTERN, 3), (Seniority.JUNIOR, 15), (Seniority.MID, 30), (Seniority.SENIOR, 30),
                     (Seniority.LEAD, 12), (Seniority.PRINCIPAL, 5), (Seniority.DIRECTOR, 3),
                     (Seniority.EXECUTIVE, 2)]
SOURCE_WEIGHTS = [(Source.APPLIED, 55), (Source.REFERRAL, 12), (Source.SOURCED, 18), (Source.EVENT, 8),
                  (Source.IMPORTED, 5), (Source.PUBLIC_FORM, 2)]
NOTES = ["Strong communicator, great culture add.", "Asked us to reach out again next spring.",
         "Relocating to Lisbon in the summer.", "Prefers remote roles.", "Met at the Paris robotics meetup."]


def _ascii(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", plain)


def _weighted(rng, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def seed_candidates(organization, *, actor, count=300, seed=7):
    """Add `count` demo candidates unless the organization has some already."""
    from faker import Faker

    if Candidate.objects.exists():
        return 0
    rng = random.Random(seed)
    fake = Faker(["fr_FR", "de_DE", "en_GB", "es_ES", "nl_NL", "pt_PT"])
    fake.seed_instance(seed)
    now = timezone.now()
    for i in range(count):
        first, last = fake.first_name(), fake.last_name()
        title, skills = rng.choice(ROLES)
        seniority = _weighted(rng, SENIORITY_WEIGHTS)
        created = now - timedelta(days=rng.randint(1, 900), minutes=rng.randint(0, 1440))
        candidate = candidate_create(
            actor=actor,
            first_name=first,
            last_name=last,
            email=f"{_ascii(first)}.{_ascii(last)}.{i}@example.com",
            phone=fake.phone_number()[:40],
            headline=title if seniority in (Seniority.MID,) else f"{seniority.label} {title.lower()}",
            seniority=seniority,
            skills=rng.sample(skills, k=rng.randint(2, len(skills))),
            location=rng.choice(CITIES),
            language=rng.choice(["en", "en", "fr", "de", "es", "nl"]),
            source=_weighted(rng, SOURCE_WEIGHTS),
            linkedin_url=f"https://www.linkedin.com/in/{_ascii(first)}-{_ascii(last)}-{i}",
            created_at=created,
            last_activity_at=created,
        )
        if rng.random() < 0.35:
            activity_record(candidate=candidate, kind=ActivityKind.NOTE, actor=actor, summary=rng.choice(NOTES),
                            occurred_at=created + timedelta(days=rng.randint(0, 30)))
        if rng.random() < 0.25:
            activity_record(candidate=candidate, kind=ActivityKind.CALL, actor=actor,
                            summary="Catch-up call: open to opportunities",
                            occurred_at=min(now, created + timedelta(days=rng.randint(10, 400))))
        if rng.random() < 0.03:
            candidate_set_do_not_contact(candidate=candidate, actor=actor, do_not_contact=True,
                                         reason="Asked not to be contacted again")
    return count
