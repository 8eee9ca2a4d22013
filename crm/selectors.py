"""Reads of the core, always within the organization in scope."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from .filters import SORTS
from .models import (
    CLOSED_STAGES,
    OPEN_STAGES,
    PIPELINE,
    AccountEmail,
    Activity,
    ApiKey,
    Application,
    AuditEvent,
    Candidate,
    Invitation,
    Job,
    JobAssignment,
    Membership,
    NoticePlan,
    RejectionReason,
    Stage,
    Suppression,
)
from .pagination import COUNT_CAP, Ordering, Page, capped_count, keyset_page
from .tenancy import require_organization_id


def members():
    return Membership.objects.select_related("user").order_by("user__first_name", "user__last_name", "user__email")


def pending_invitations():
    """Pending invitations, each with its latest email's `email_status`, `email_attempts` and `email_error`."""
    latest_email = AccountEmail.all_tenants.filter(invitation=OuterRef("pk")).order_by("-created_at", "-id")
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by").annotate(
        email_status=Subquery(latest_email.values("status")[:1]),
        email_attempts=Subquery(latest_email.values("attempts")[:1]),
        email_error=Subquery(latest_email.values("last_error")[:1]),
    )


def api_keys():
    return ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at")


def audit_events(*, before_id=None, limit=50):
    """The organization's audit log, newest first, paged by id (keyset)."""
    events = AuditEvent.objects.filter(organization_id=require_organization_id()).order_by("-id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return list(events[: limit + 1])


# --- Candidates -------------------------------------------------------------------------

ORDERINGS = {
    key: Ordering(
        tuple((col, key.startswith("-")) for col in
              (["last_name", "first_name"] if key.lstrip("-") == "last_name" else [key.lstrip("-")])) +
        (("id", key.startswith("-")),)
    )
    for key in SORTS
}
DEFAULT_SORT = "-created_at"
# Below this many matches, sorting them beats walking a sort index in search of them.
FEW_MATCHES = 2_000
LIST_COLUMNS = (
    "id", "organization_id", "first_name", "last_name", "email", "headline", "location", "seniority",
    "skills", "source", "do_not_contact", "silver_medalist", "email_status", "last_activity_at",
    "created_at", "updated_at",
)


@dataclass
class CandidateListing:
    page: Page
    count: int
    count_is_capped: bool
    sort: str

    @property
    def count_label(self):
        return f"{self.count:,}+" if self.count_is_capped else f"{self.count:,}"


def candidates():
    return Candidate.objects.all()


# Up to this cap, the count reads the matching ids themselves, and few matches are paged from them (one
# search, not two); past it, moving ids to Python costs more than counting in PostgreSQL.
IDS_CAP = 1_000


def candidate_listing(queryset, *, sort=DEFAULT_SORT, cursor=None, size=25, cap=None,
                      columns=LIST_COLUMNS) -> CandidateListing:
    """A page of `queryset` (already filtered) with a count capped at `cap`, fast at any depth.

    Rows carry `columns` only: whoever shows a page passes every column it reads, since each other
    column read on a row costs a query of its own.
    """
    sort = sort if sort in ORDERINGS else DEFAULT_SORT
    cap = COUNT_CAP if cap is None else cap
    if cap > IDS_CAP:
        count, capped = capped_count(queryset, cap=cap)
        page = keyset_page(queryset.only(*columns), ORDERINGS[sort], cursor=cursor, size=size,
                           use_indexes=capped or count > FEW_MATCHES)
        return CandidateListing(page=page, count=count, count_is_capped=capped, sort=sort)
    ids = list(queryset.order_by().values_list("pk", flat=True)[: cap + 1])
    count, capped = min(len(ids), cap), len(ids) > cap
    if not ids:
        return CandidateListing(page=Page(rows=[], next_cursor=None, has_previous=bool(cursor)), count=0,
                                count_is_capped=False, sort=sort)
    rows = queryset if capped else Candidate.objects.filter(pk__in=ids)
    page = keyset_page(rows.only(*columns), ORDERINGS[sort], cursor=cursor, size=size, use_indexes=capped)
    return CandidateListing(page=page, count=count, count_is_capped=capped, sort=sort)


TIMELINE_ORDER = Ordering((("id", True),))


def timeline(candidate, *, cursor=None, size=20):
    activities = Activity.objects.filter(candidate=candidate).select_related("actor_user")
    return keyset_page(activities, TIMELINE_ORDER, cursor=cursor, size=size)


def candidate_by_email(email):
    return Candidate.objects.filter(email__iexact=email.strip()).first()


# --- Jobs and applications ----------------------------------------------------------------

def jobs_visible_to(membership):
    """Admins and recruiters see every job; a hiring manager only the jobs assigned to them."""
    jobs = Job.objects.all()
    if not membership.can_recruit:
        jobs = jobs.filter(assignments__user_id=membership.user_id,
                           assignments__kind=JobAssignment.Kind.HIRING_MANAGER).distinct()
    return jobs


def applications_visible_to(membership):
    applications = Application.objects.select_related("candidate", "job", "rejection_reason")
    if not membership.can_recruit:
        applications = applications.filter(job__in=jobs_visible_to(membership).values("pk"))
    return applications


def pipeline_board(job):
    """The job's applications by stage, open stages first, then the closed ones."""
    columns = {stage: [] for stage in PIPELINE + CLOSED_STAGES}
    for application in Application.objects.filter(job=job).select_related("candidate").order_by("moved_at", "id"):
        columns[application.stage].append(application)
    return columns


def stage_counts(job_ids):
    counts = {}
    rows = Application.objects.filter(job_id__in=job_ids).values("job_id", "stage").annotate(n=Count("id"))
    for row in rows:
        counts.setdefault(row["job_id"], {})[row["stage"]] = row["n"]
    return counts


def working_days_ago(organization, days, *, now=None):
    """The moment `days` working days before now, in the organization's calendar."""
    now = (now or timezone.now()).astimezone(organization.time_zone)
    working = set(organization.working_days) or {0, 1, 2, 3, 4}
    moment = now
    remaining = days
    while remaining > 0:
        moment -= timedelta(days=1)
        if moment.weekday() in working:
            remaining -= 1
    return moment


# Oldest first: the longest wait on top; `moved_at` of a closed application is its decision's time.
WAITING_ORDER = Ordering((("moved_at", False), ("id", False)))
WAITING_PAGE_SIZE = 25


def owed_notices():
    """Rejections and declined offers whose candidate is still owed a notice: none is sent, queued or
    scheduled, and nobody recorded why none goes ("no email" with a reason). One waiting for a
    recruiter's review, failed, bounced or not sent stays owed until someone acts."""
    from .notices import settled_notices

    owed = Application.objects.filter(stage__in=[Stage.REJECTED, Stage.OFFER_DECLINED]).exclude(
        notice_plan=NoticePlan.NONE)
    settled = settled_notices()
    return owed.exclude(pk__in=settled) if settled is not None else owed


def quiet_applications(organization, *, now=None):
    """Open applications whose last stage move is older than the organization's number of working days."""
    stale_before = working_days_ago(organization, organization.stale_after_working_days, now=now)
    return Application.objects.filter(stage__in=OPEN_STAGES, moved_at__lt=stale_before)


def waiting_counts(organization):
    """(quiet, owed notices) as the waiting list counts them, each capped like other counts."""
    return capped_count(quiet_applications(organization)), capped_count(owed_notices())


def waiting_for_an_answer(organization, *, closed_cursor=None, quiet_cursor=None, size=WAITING_PAGE_SIZE):
    """The waiting list, a to-do list: a page of owed notices and a page of quiet applications, oldest first,
    with the counts the dashboard shows. Raises InvalidCursor for a tampered page link."""
    (quiet_count, quiet_capped), (owed_count, owed_capped) = waiting_counts(organization)
    closed = keyset_page(owed_notices().select_related("candidate", "job", "rejection_reason"), WAITING_ORDER,
                         cursor=closed_cursor, size=size)
    quiet = keyset_page(quiet_applications(organization).select_related("candidate", "job"), WAITING_ORDER,
                        cursor=quiet_cursor, size=size)
    return {"closed": closed, "quiet": quiet, "owed_count": owed_count, "owed_capped": owed_capped,
            "quiet_count": quiet_count, "quiet_capped": quiet_capped,
            "stale_before": working_days_ago(organization, organization.stale_after_working_days)}


def rejection_reasons():
    return RejectionReason.objects.filter(active=True)


# --- Dashboard ----------------------------------------------------------------------------

def monthly_growth(organization, *, months=12):
    """Candidates added per month over the last `months` months (cached: it reads the whole tenant)."""
    from django.core.cache import cache
    from django.db.models.functions import TruncMonth

    def compute():
        tz = organization.time_zone
        now = timezone.now().astimezone(tz)
        first_of_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        index = first_of_month.year * 12 + first_of_month.month - 1 - (months - 1)
        start = first_of_month.replace(year=index // 12, month=index % 12 + 1)
        rows = (Candidate.objects.filter(created_at__gte=start)
                .annotate(month=TruncMonth("created_at", tzinfo=tz)).values("month").annotate(n=Count("id")))
        counts = {row["month"].strftime("%Y-%m"): row["n"] for row in rows}
        series, cursor = [], start
        for _ in range(months):
            key = cursor.strftime("%Y-%m")
            series.append({"month": cursor.strftime("%b %Y"), "short": cursor.strftime("%b"), "count": counts.get(key, 0)})
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        return series

    return cache.get_or_set(f"dashboard:growth:{organization.pk}", compute, 600)


def _count_label(count, capped):
    return f"{count:,}+" if capped else f"{count:,}"


def dashboard_numbers(organization, membership):
    """The dashboard's counts. Open jobs: the member's visible jobs with status open. Quiet and owed
    notices: the waiting list's own counts (the same querysets). Silver medalists: candidates flagged so."""
    (quiet, quiet_capped), (owed, owed_capped) = waiting_counts(organization)
    silver, silver_capped = capped_count(Candidate.objects.filter(silver_medalist=True))
    return {
        "open_jobs": jobs_visible_to(membership).filter(status="open").count(),
        "quiet": quiet, "quiet_label": _count_label(quiet, quiet_capped),
        "owed_notice": owed, "owed_notice_label": _count_label(owed, owed_capped),
        "silver": _count_label(silver, silver_capped),
    }


def suppressed_emails(emails):
    """The addresses among `emails` on the organization's suppression list, under the current or a fallback key."""
    hashes = {}
    for email in emails:
        for digest in Suppression.hashes(email):
            hashes[digest] = email
    if not hashes:
        return set()
    return {hashes[digest] for digest in Suppression.objects.filter(email_hash__in=list(hashes)).values_list(
        "email_hash", flat=True)}


def is_suppressed(email):
    """True when the person behind `email` was erased and has not opted in again since."""
    return bool(suppressed_emails([email]))
