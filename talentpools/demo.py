"""Demo tags, rules and pools for the development organization."""

from crm.models import Candidate, Job

from .models import Tag
from .services import (
    job_tags_set,
    pool_add_members,
    pool_create,
    rule_candidates,
    rule_create,
    tag_candidates,
    tag_create,
)

TAGS = [("Python", "skill"), ("Robotics", "interest"), ("Silver medalist", "status"), ("Met at an event", "status"),
        ("Remote-friendly", "location"), ("Leadership", "position")]


def seed_pools(organization, *, recruiter):
    if Tag.objects.exists():
        return 0
    tags = {name: tag_create(name=name, category=category) for name, category in TAGS}
    rules = [
        rule_create(condition="keyword", value="python", tag_id=tags["Python"].pk, actor=recruiter),
        rule_create(condition="keyword", value="robotics", tag_id=tags["Robotics"].pk, actor=recruiter),
        rule_create(condition="silver_medalist", value="", tag_id=tags["Silver medalist"].pk, actor=recruiter),
        rule_create(condition="source", value="event", tag_id=tags["Met at an event"].pk, actor=recruiter),
    ]
    for rule in rules:
        tag_candidates(tag=rule.tag, candidate_ids=list(rule_candidates(rule).values_list("pk", flat=True)),
                       actor=None)
    remote = list(Candidate.objects.filter(location="Remote").values_list("pk", flat=True))
    tag_candidates(tag=tags["Remote-friendly"], candidate_ids=remote, actor=recruiter)
    pool_create(name="Senior Python, interviewed before", kind="smart", actor=recruiter,
                description="Worth a call when a backend role opens.",
                definition={"seniority": ["senior", "lead"], "skills_all": ["python"], "furthest_stage": "interview"})
    pool_create(name="Silver medalists", kind="smart", actor=recruiter, definition={"silver_medalist": True})
    pool_create(name="Quiet for six months", kind="smart", actor=recruiter, definition={"inactive_days": 183})
    shortlist = pool_create(name="Robotics meetup shortlist", kind="static", actor=recruiter,
                            description="People we liked at the Paris robotics meetup.")
    pool_add_members(pool=shortlist, candidate_ids=list(
        Candidate.objects.filter(tag_ids__contains=[tags["Robotics"].pk]).values_list("pk", flat=True)[:8]),
        actor=recruiter)
    for job in Job.objects.filter(required_skills__contains=["python"])[:2]:
        job_tags_set(job=job, tag_ids=[tags["Python"].pk])
    return len(TAGS)
