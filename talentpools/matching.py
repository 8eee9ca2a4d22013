"""Candidates to reconnect with when a job opens: the talent base ranked against the job.

Silver medalists come first; then, within each group, the score: 3 points per required skill the
candidate has, 2 per job tag they carry, 2 for the job's seniority (1 for the next level up or
down), and up to 3 for how far they got in an earlier application. Do-not-contact candidates,
erased ones (gone from the base) and anyone already in this job's pipeline are left out. Each
match says why it matched.

The query ranks on what sits in the candidate row (arrays with GIN indexes), silver medalists
first and the others only when the silver medalists are too few, keeps the best `SHORTLIST` and
only then reads their applications for the stage points, so its cost does not grow with the
applications of the whole base.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q

from crm.models import PIPELINE, Application, Candidate, Job, JobStatus, Seniority, Stage
from crm.tenancy import require_organization_id

from .models import JobTag, Tag

SHORTLIST = 300
SENIORITY_ORDER = list(Seniority.values)
STAGE_POINTS = {Stage.INTERVIEW: 1, Stage.FINAL: 2, Stage.OFFER: 3, Stage.HIRED: 3}


@dataclass
class Match:
    candidate: Candidate
    score: int
    reasons: list = field(default_factory=list)
    best_application: Application | None = None

    @property
    def why(self):
        return "; ".join(self.reasons)


def already_applied(*, job=None, candidate=None):
    """The applications that keep a person and a job apart in matching: any application of theirs to it,
    in the pipeline, rejected, withdrawn or hired. The Matches page and the job-offer digest both leave
    these pairs out, so nobody is offered a job they applied to."""
    applications = Application.objects.all()
    if job is not None:
        applications = applications.filter(job=job)
    if candidate is not None:
        applications = applications.filter(candidate=candidate)
    return applications


def job_tag_ids(job):
    return list(JobTag.objects.filter(job=job).values_list("tag_id", flat=True))


def _nearby_seniorities(level):
    if level not in SENIORITY_ORDER:
        return []
    i = SENIORITY_ORDER.index(level)
    return [SENIORITY_ORDER[j] for j in (i - 1, i + 1) if 0 <= j < len(SENIORITY_ORDER)]


def _seniority_points(candidate, job):
    """2 for the job's seniority, 1 for the next level up or down (what `_shortlist` scores in SQL)."""
    if not job.seniority:
        return 0
    if candidate.seniority == job.seniority:
        return 2
    return 1 if candidate.seniority in _nearby_seniorities(job.seniority) else 0


def _shortlist(organization_id, job, skills, tags, limit, minimum):
    nearby = _nearby_seniorities(job.seniority)
    # One containment test per job skill and tag: far cheaper per row than unnesting the arrays.
    points = [f"(c.skills @> ARRAY[%(skill{i})s]::varchar[])::int * 3" for i in range(len(skills))]
    points += [f"(c.tag_ids @> ARRAY[%(tag{i})s]::int[])::int * 2" for i in range(len(tags))]
    sql = f"""
        SELECT c.id, {" + ".join(points)}
             + CASE WHEN c.seniority = %(seniority)s THEN 2
                    WHEN c.seniority = ANY(%(nearby)s::varchar[]) THEN 1 ELSE 0 END AS score
        FROM crm_candidate c
        WHERE c.organization_id = %(org)s
          AND NOT c.do_not_contact
          AND c.silver_medalist = %(silver)s
          AND (c.skills && %(skills)s::varchar[] OR c.tag_ids && %(tags)s::int[])
        ORDER BY score DESC, c.last_activity_at DESC, c.id DESC
        LIMIT %(limit)s
    """
    # Who is in this job's pipeline already (a few hundred at most) is left out after the ranking.
    in_pipeline = set(already_applied(job=job).values_list("candidate_id", flat=True))
    params = {"org": organization_id, "skills": skills, "tags": tags, "seniority": job.seniority or "",
              "nearby": nearby, "limit": limit + len(in_pipeline),
              **{f"skill{i}": skill for i, skill in enumerate(skills)},
              **{f"tag{i}": tag for i, tag in enumerate(tags)}}
    rows = []
    # Silver medalists come first whatever their score: the others are scored only if they are too few.
    for silver in (True, False):
        with connection.cursor() as cursor:
            cursor.execute(sql, {**params, "silver": silver})
            rows += [row for row in cursor.fetchall() if row[0] not in in_pipeline][:limit]
        if len(rows) >= minimum:
            break
    return rows


def job_matches(job, *, limit=25):
    """The best `limit` candidates to reconnect with for `job`, each with the reasons it matched."""
    organization_id = require_organization_id()
    skills = sorted({s.lower() for s in job.required_skills})
    tags = job_tag_ids(job)
    if not skills and not tags:
        return []
    rows = _shortlist(organization_id, job, skills, tags, max(SHORTLIST, limit), minimum=limit)
    if not rows:
        return []
    base_scores = dict(rows)
    candidates = Candidate.objects.only(
        "id", "organization_id", "first_name", "last_name", "email", "headline", "seniority", "skills", "tag_ids",
        "silver_medalist", "silver_medalist_note", "last_activity_at").in_bulk([pk for pk, _ in rows])
    best = {}
    for application in (Application.objects.filter(candidate_id__in=list(base_scores))
                        .exclude(job=job).select_related("job").order_by("-decided_at", "-id")):
        current = best.get(application.candidate_id)
        if current is None or _reach(application) > _reach(current):
            best[application.candidate_id] = application
    tag_names = dict(Tag.objects.filter(pk__in=tags).values_list("pk", "name"))
    matches = []
    for pk, base in rows:
        candidate = candidates.get(pk)
        if candidate is None:
            continue
        application = best.get(pk)
        stage_points = STAGE_POINTS.get(application.furthest_stage, 0) if application else 0
        match = Match(candidate=candidate, score=base + stage_points, best_application=application)
        match.reasons = _reasons(candidate, job, skills, tags, tag_names, application)
        matches.append(match)
    matches.sort(key=lambda m: (m.candidate.silver_medalist, m.score, m.candidate.last_activity_at, m.candidate.pk),
                 reverse=True)
    return matches[:limit]


def _reach(application):
    return PIPELINE.index(application.furthest_stage) if application.furthest_stage in PIPELINE else -1


def _reasons(candidate, job, skills, tags, tag_names, application):
    reasons = []
    if candidate.silver_medalist:
        reasons.append("Silver medalist" + (f": {candidate.silver_medalist_note}" if candidate.silver_medalist_note
                                            else ""))
    shared_skills = [s for s in skills if s in candidate.skills]
    if shared_skills:
        reasons.append(f"{len(shared_skills)} of {len(skills)} skills: {', '.join(shared_skills)}")
    shared_tags = [tag_names[t] for t in tags if t in candidate.tag_ids and t in tag_names]
    if shared_tags:
        reasons.append(f"Tagged {', '.join(shared_tags)}")
    seniority = _seniority_points(candidate, job)
    if seniority:
        reasons.append(f"{candidate.get_seniority_display()}, {'as the job' if seniority == 2 else 'one level from the job'}")
    if application is not None and application.furthest_stage in STAGE_POINTS:
        reasons.append(f"Reached {Stage(application.furthest_stage).label.lower()} for {application.job.title}")
    return reasons


def open_jobs_for_matching():
    """Open jobs with what matching needs: their skills and tags."""
    jobs = list(Job.objects.filter(status=JobStatus.OPEN).order_by("-opened_at", "-id"))
    tags = {}
    for job_id, tag_id in JobTag.objects.filter(job__in=jobs).values_list("job_id", "tag_id"):
        tags.setdefault(job_id, set()).add(tag_id)
    for job in jobs:
        job.match_skills = {s.lower() for s in job.required_skills}
        job.match_tags = tags.get(job.pk, set())
    return jobs


def jobs_for_candidate(candidate, jobs, *, limit=5):
    """The jobs (from `open_jobs_for_matching`) that match `candidate`, best first, scored as `job_matches` does;
    never a job they applied to (`already_applied`)."""
    applied = set(already_applied(candidate=candidate).values_list("job_id", flat=True))
    scored = []
    for job in jobs:
        if job.pk in applied:
            continue
        skills = len(job.match_skills & set(candidate.skills))
        tags = len(job.match_tags & set(candidate.tag_ids))
        if not skills and not tags:
            continue
        scored.append((skills * 3 + tags * 2 + _seniority_points(candidate, job), job.pk, job))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [job for _, _, job in scored[:limit]]


def matching_any_open_job(queryset, jobs):
    """Narrow a candidate queryset to those who match at least one of `jobs` they never applied to (the digest's
    audience: `jobs_for_candidate` would find nothing to offer the others)."""
    skills = sorted(set().union(*[job.match_skills for job in jobs]))
    tags = sorted(set().union(*[job.match_tags for job in jobs]))
    any_job = Q(pk__in=[])
    if skills:
        any_job |= Q(skills__overlap=skills)
    if tags:
        any_job |= Q(tag_ids__overlap=tags)
    condition = Q(pk__in=[])
    for job in jobs:
        matches = Q(pk__in=[])
        if job.match_skills:
            matches |= Q(skills__overlap=sorted(job.match_skills))
        if job.match_tags:
            matches |= Q(tag_ids__overlap=sorted(job.match_tags))
        # A job's applicants are few: PostgreSQL hashes them once per job.
        condition |= matches & ~Q(pk__in=already_applied(job=job).values("candidate_id"))
    # The union's overlap can use the arrays' indexes; the per-job test then runs on those rows only.
    return queryset.filter(any_job).filter(condition)
