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


JOBS = [
    ("Senior backend engineer", "Platform", "Paris, France", "senior", ["python", "django", "postgresql"], "open"),
    ("Robotics engineer", "Hardware", "Lyon, France", "mid", ["ros", "c++", "computer vision"], "open"),
    ("Data engineer", "Data", "Remote", "senior", ["python", "sql", "airflow"], "open"),
    ("Product designer", "Product", "Berlin, Germany", "mid", ["figma", "user research"], "on_hold"),
    ("Engineering manager", "Platform", "Paris, France", "lead", ["leadership", "hiring"], "closed"),
    ("QA engineer", "Quality", "Nantes, France", "junior", ["test automation", "python"], "draft"),
]
FEEDBACK = [
    ("Clear thinking under pressure; great questions about our architecture.",
     "Go deeper on database indexing and query plans."),
    ("Excellent hands-on ROS experience and a very pleasant conversation.",
     "System design for larger fleets was less convincing."),
    ("Strong SQL and data modelling.", "Could show more ownership of production incidents."),
]


def seed_pipeline(organization, *, recruiter, hiring_manager, seed=11):
    """Jobs in every status and applications across the stages, some rejected with feedback."""
    from .models import PIPELINE, Application, Job, OfferDeclinedReason, RejectionReason
    from .services import (
        application_advance,
        application_create,
        application_decline_offer,
        application_reject,
        feedback_note_create,
        job_save,
    )

    if Job.objects.exists():
        return 0
    rng = random.Random(seed)
    now = timezone.now()
    candidates = list(Candidate.objects.filter(do_not_contact=False).order_by("id")[:120])
    reasons = list(RejectionReason.objects.all())
    for index, (title, department, location, seniority, skills, status) in enumerate(JOBS):
        job = job_save(actor=recruiter, title=title, department=department, location=location,
                       remote=location == "Remote", seniority=seniority, required_skills=skills, status="open",
                       description=f"We are looking for a {title.lower()} to join our {department} team.",
                       hiring_managers=[hiring_manager] if index < 3 else [], recruiters=[recruiter])
        for candidate in candidates[index * 18:(index + 1) * 18]:
            applied_at = now - timedelta(days=rng.randint(3, 120))
            application = application_create(actor=recruiter, candidate=candidate, job=job, applied_at=applied_at)
            target = rng.choice(["applied", "screening", "screening", "interview", "interview", "final", "offer"])
            for stage in PIPELINE[1:PIPELINE.index(target) + 1]:
                application = application_advance(application=application, to_stage=stage, actor=recruiter)
            if application.stage in ("interview", "final", "offer") and rng.random() < 0.6:
                strengths, improvements = rng.choice(FEEDBACK)
                feedback_note_create(application=application, author=hiring_manager, strengths=strengths,
                                     improvements=improvements, shareable=rng.random() < 0.7)
            roll = rng.random()
            if application.stage == "offer" and roll < 0.4:
                application_decline_offer(application=application, reason=rng.choice(OfferDeclinedReason.values),
                                          actor=recruiter)
            elif roll < 0.45:
                application_reject(application=application, reason=rng.choice(reasons), actor=recruiter)
            # Spread the last movement over the past weeks so that some look stuck.
            Application.objects.filter(pk=application.pk).update(
                moved_at=max(applied_at, now - timedelta(days=rng.randint(0, 25))))
        if status != "open":
            job_save(actor=recruiter, job=job, status=status)
    return len(JOBS)
