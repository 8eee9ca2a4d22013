"""The organization's dashboard numbers about its talent pool and campaigns (cached: they read the tenant).

Each figure's definition (numerator, denominator, window, cohort) is in its function's docstring and in
the README's "Dashboard figures"; tests/crm/test_dashboard_figures.py computes each by hand.
"""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from consent.models import Action, ConsentRecord, Source
from crm.models import Application, Candidate, Stage

from .models import Message, MessageEvent, MessageStatus, Rsvp

WINDOW_DAYS = 90
HIRED_WINDOW_DAYS = 365
NOTICE_KINDS = ["rejection_early", "rejection_after_interview", "offer_declined"]
REJECTION_EMAIL_KINDS = ["rejection_early", "rejection_after_interview"]
COMPLAINT_WARNING = 0.1  # percent, the threshold mailbox providers start to act on


def _months(organization, months=12):
    tz = organization.time_zone
    first = timezone.now().astimezone(tz).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    index = first.year * 12 + first.month - 1 - (months - 1)
    start = first.replace(year=index // 12, month=index % 12 + 1)
    keys, cursor = [], start
    for _ in range(months):
        keys.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return start, keys


def _bars(series, key, height=140):
    top = max([point[key] for point in series] + [1])
    for index, point in enumerate(series):
        point[f"{key}_h"] = round(height * point[key] / top)
        point[f"{key}_y"] = 160 - point[f"{key}_h"]
        point["x"] = 10 + index * 50
    return series


def _campaign_emails():
    """Campaign emails that went out to candidates (test sends to a recruiter are not campaign emails)."""
    return Message.objects.filter(purpose="marketing", sent_at__isnull=False).exclude(context__contains={"test": True})


def talent_pool_growth(organization):
    """People who joined the talent pool per month of the organization's calendar, over 12 months.

    Joined: a confirmation of the talent-pool consent (a renewal keeps someone in, it is not a join);
    a person counts once a month.
    """
    start, months = _months(organization)
    rows = (ConsentRecord.objects.filter(purpose__key="talent_pool", action=Action.CONFIRMED,
                                         created_at__gte=start)
            .annotate(month=TruncMonth("created_at", tzinfo=organization.time_zone)).values("month")
            .annotate(n=Count("candidate_id", distinct=True)).order_by())
    counts = {row["month"].strftime("%Y-%m"): row["n"] for row in rows}
    return _bars([{"label": m.strftime("%b"), "month": m.strftime("%b %Y"), "joined": counts.get(m.strftime("%Y-%m"), 0)}
                  for m in months], "joined")


def campaign_months(organization):
    """Campaign emails sent per month of sending, and how many of those had a link clicked (12 months)."""
    start, months = _months(organization)
    emails = _campaign_emails().filter(sent_at__gte=start)
    tz = organization.time_zone
    sent = dict(emails.annotate(month=TruncMonth("sent_at", tzinfo=tz)).values_list("month")
                .annotate(n=Count("id")).order_by())
    clicked_events = MessageEvent.objects.filter(message=OuterRef("pk"), event_type="clicked")
    clicked = dict(emails.filter(Exists(clicked_events)).annotate(month=TruncMonth("sent_at", tzinfo=tz))
                   .values_list("month").annotate(n=Count("id")).order_by())
    by_key = lambda d: {k.strftime("%Y-%m"): v for k, v in d.items()}  # noqa: E731
    sent, clicked = by_key(sent), by_key(clicked)
    series = [{"label": m.strftime("%b"), "month": m.strftime("%b %Y"), "sent": sent.get(m.strftime("%Y-%m"), 0),
               "clicked": clicked.get(m.strftime("%Y-%m"), 0)} for m in months]
    _bars(series, "sent")
    top = max([p["sent"] for p in series] + [1])
    for point in series:
        point["clicked_h"] = round(140 * point["clicked"] / top)
        point["clicked_y"] = 160 - point["clicked_h"]
        point["x2"] = point["x"] + 18
    return series


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def _cohort(emails):
    """The people `emails` went to, each with the time of the first of them (`first`)."""
    first = emails.filter(candidate_id=OuterRef("pk")).order_by("sent_at").values("sent_at")[:1]
    return Candidate.objects.annotate(first=Subquery(first)).filter(first__isnull=False)


def rejection_opt_in(since):
    """Opt-in rate from rejection emails, by the cohort of the email's send date.

    Denominator: people sent a rejection email (before or after an interview) since `since`.
    Numerator: those of them who confirmed a consent through a rejection email's stay-in-touch link
    at or after the first of those emails, whenever that was (up to now). Joins through links of
    older emails, or before the email, are outside the cohort. Never above 100%.
    """
    cohort = _cohort(Message.objects.filter(kind__in=REJECTION_EMAIL_KINDS, sent_at__gte=since))
    joins = ConsentRecord.objects.filter(candidate_id=OuterRef("pk"), source=Source.REJECTION_LINK,
                                         action=Action.CONFIRMED, created_at__gte=OuterRef("first"))
    emailed = cohort.count()
    joined = cohort.filter(Exists(joins)).count()
    return {"emailed": emailed, "joined": joined, "rate": _rate(joined, emailed)}


# Links whose click is no sign of interest: leaving (the unsubscribe link) or the preference centre,
# which counts by what the person chose there.
NOT_ENGAGING_LINKS = ("/p/u/", "/p/prefs/")
# Consent steps a person takes to stay in touch; a withdrawal is never one of them.
KEEPING_ACTIONS = [Action.CONFIRMED, Action.RENEWED, Action.FREQUENCY_CHANGED]
PERSONS_OWN_SOURCES = [Source.PUBLIC_FORM, Source.REJECTION_LINK, Source.PREFERENCE_CENTRE]


def _clicked(candidate, after):
    events = MessageEvent.objects.filter(message__candidate_id=candidate, message__purpose="marketing",
                                         event_type="clicked", occurred_at__gte=after)
    for link in NOT_ENGAGING_LINKS:
        events = events.exclude(payload__click_url__icontains=link)
    return Exists(events)


def _applied(candidate, after):
    return Exists(Application.objects.filter(candidate_id=candidate, applied_at__gte=after))


def _kept_in_touch(candidate, after):
    return Exists(ConsentRecord.objects.filter(candidate_id=candidate, created_at__gte=after,
                                               action__in=KEEPING_ACTIONS, source__in=PERSONS_OWN_SOURCES))


def _answered_invitation(candidate, after):
    return Exists(Rsvp.objects.filter(candidate_id=candidate, answered_at__gte=after))


def _replied(candidate, after):
    """A reply of the person's own to a campaign email: an automatic answer or a request to stop is not one."""
    from . import models

    return Exists(models.Reply.objects.filter(candidate_id=candidate, received_at__gte=after, auto_reply=False,
                                              stop_request=False, message__purpose="marketing"))


# What counts as re-engaging, each `(candidate_ref, after_ref) -> Exists(...)`; another kind of answer plugs in
# with `register_reengagement_signal`.
REENGAGEMENT_SIGNALS = {
    "clicked": _clicked,
    "applied": _applied,
    "kept_in_touch": _kept_in_touch,
    "answered_invitation": _answered_invitation,
}
try:
    from .models import Reply  # noqa: F401  (replies are recorded once inbound email is set up)
except ImportError:  # an outbox without replies counts the other signals
    pass
else:
    REENGAGEMENT_SIGNALS["replied"] = _replied


def register_reengagement_signal(name, condition):
    REENGAGEMENT_SIGNALS[name] = condition


def reengagement(since):
    """Re-engagement rate after campaign emails.

    Denominator: people sent a campaign email since `since` (test sends excluded).
    Numerator: those of them who, at or after the first of those emails, clicked a link in a campaign
    email (not the unsubscribe or preference-centre link), applied to a job, confirmed, renewed or
    changed the frequency of a consent themselves, answered an event invitation, or did any other
    registered signal (replies). Unsubscribes, withdrawals and complaints never count.
    """
    cohort = _cohort(_campaign_emails().filter(campaign_run__isnull=False, sent_at__gte=since))
    condition = Q()
    for signal in REENGAGEMENT_SIGNALS.values():
        condition |= signal(OuterRef("pk"), OuterRef("first"))
    reached = cohort.count()
    came_back = cohort.filter(condition).count()
    return {"reached": reached, "reengaged": came_back, "rate": _rate(came_back, reached)}


def silver_medalists_hired(since):
    """People hired since `since` (the hire's `decided_at`) who are silver medalists, each once."""
    return (Application.objects.filter(stage=Stage.HIRED, decided_at__gte=since, candidate__silver_medalist=True)
            .values("candidate_id").distinct().count())


def median_hours_to_notice(since):
    """Median hours from a decision (rejection or declined offer) to its notice being sent, over notices sent
    since `since`; `(hours, notices)`."""
    notices = Message.objects.filter(kind__in=NOTICE_KINDS, sent_at__gte=since, application__decided_at__isnull=False)
    sql, params = notices.annotate(delay=F("sent_at") - F("application__decided_at")).values("delay").query \
        .sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delay)), count(*) "
                       f"FROM ({sql}) AS notices", params)
        seconds, count = cursor.fetchone()
    return (round(seconds / 3600, 1) if seconds is not None else None), count


def complaints(since):
    """Campaign emails sent since `since` that their recipient marked as spam, over those sent."""
    sent = _campaign_emails().filter(sent_at__gte=since)
    total = sent.count()
    complained = sent.filter(status=MessageStatus.COMPLAINED).count()
    rate = 100 * complained / total if total else None
    return {"sent": total, "complaints": complained, "rate": round(rate, 2) if rate is not None else None,
            "warning": rate is not None and rate > COMPLAINT_WARNING}


def figures(organization, now=None):
    """Every figure of the dashboard's talent pool panel, uncached."""
    now = now or timezone.now()
    since = now - timedelta(days=WINDOW_DAYS)
    opt_in = rejection_opt_in(since)
    engaged = reengagement(since)
    median_hours, notice_count = median_hours_to_notice(since)
    spam = complaints(since)
    return {
        "window_days": WINDOW_DAYS, "hired_window_days": HIRED_WINDOW_DAYS,
        "opt_in_rate": opt_in["rate"], "notices": opt_in["emailed"], "joined": opt_in["joined"],
        "silver_hired": silver_medalists_hired(now - timedelta(days=HIRED_WINDOW_DAYS)),
        "reengaged": engaged["reengaged"], "reached": engaged["reached"], "reengagement_rate": engaged["rate"],
        "median_hours_to_notice": median_hours, "notice_count": notice_count,
        "marketing_sent": spam["sent"], "complaints": spam["complaints"], "complaint_rate": spam["rate"],
        "complaint_warning": spam["warning"],
        "pool_growth": talent_pool_growth(organization),
        "campaign_months": campaign_months(organization),
    }


def dashboard(organization):
    return cache.get_or_set(f"dashboard:outreach:{organization.pk}", lambda: figures(organization), 300)
