"""The organization's dashboard numbers about its talent pool and campaigns (cached: they read the tenant)."""

from datetime import timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Min
from django.db.models.functions import TruncMonth
from django.utils import timezone

from consent.models import Action, ConsentRecord, Source
from crm.models import Application, Candidate, Stage

from .models import Message, MessageStatus

WINDOW_DAYS = 90
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


def talent_pool_growth(organization):
    """People who joined the talent pool (confirmed its consent) per month, over 12 months."""
    start, months = _months(organization)
    rows = (ConsentRecord.objects.filter(purpose__key="talent_pool", action__in=[Action.CONFIRMED, Action.RENEWED],
                                         created_at__gte=start)
            .annotate(month=TruncMonth("created_at", tzinfo=organization.time_zone)).values("month")
            .annotate(n=Count("candidate_id", distinct=True)).order_by())
    counts = {row["month"].strftime("%Y-%m"): row["n"] for row in rows}
    return _bars([{"label": m.strftime("%b"), "month": m.strftime("%b %Y"), "joined": counts.get(m.strftime("%Y-%m"), 0)}
                  for m in months], "joined")


def campaign_months(organization):
    start, months = _months(organization)
    sent = dict(Message.objects.filter(purpose="marketing", sent_at__gte=start, campaign_run__isnull=False)
                .annotate(month=TruncMonth("sent_at", tzinfo=organization.time_zone)).values_list("month")
                .annotate(n=Count("id")).order_by())
    clicked = dict(Message.objects.filter(purpose="marketing", sent_at__gte=start, status=MessageStatus.CLICKED)
                   .annotate(month=TruncMonth("sent_at", tzinfo=organization.time_zone)).values_list("month")
                   .annotate(n=Count("id")).order_by())
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


def _median_hours_to_rejection_email(since):
    notices = Message.objects.filter(kind__in=["rejection_early", "rejection_after_interview", "offer_declined"],
                                     sent_at__gte=since, application__decided_at__isnull=False)
    sql, params = notices.annotate(delay=F("sent_at") - F("application__decided_at")).values("delay").query \
        .sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM delay)), count(*) "
                       f"FROM ({sql}) AS notices", params)
        seconds, count = cursor.fetchone()
    return (round(seconds / 3600, 1) if seconds is not None else None), count


def dashboard(organization):
    def compute():
        now = timezone.now()
        since = now - timedelta(days=WINDOW_DAYS)
        notices = Message.objects.filter(kind__in=["rejection_early", "rejection_after_interview"],
                                         sent_at__gte=since).count()
        joined = ConsentRecord.objects.filter(source=Source.REJECTION_LINK, action=Action.CONFIRMED,
                                              created_at__gte=since).values("candidate_id").distinct().count()
        silver_hired = Application.objects.filter(stage=Stage.HIRED, decided_at__gte=now - timedelta(days=365),
                                                  candidate__silver_medalist=True).count()
        reached = (Message.objects.filter(purpose="marketing", campaign_run__isnull=False, sent_at__gte=since)
                   .values("candidate_id").annotate(first=Min("sent_at")))
        reached_count = reached.count()
        came_back = Candidate.objects.filter(pk__in=reached.values("candidate_id")).filter(
            last_activity_at__gt=since).filter(
            pk__in=Message.objects.filter(purpose="marketing", campaign_run__isnull=False, sent_at__gte=since,
                                          sent_at__lt=F("candidate__last_activity_at")).values("candidate_id")).count()
        marketing_sent = Message.objects.filter(purpose="marketing", sent_at__gte=since).count()
        complaints = Message.objects.filter(purpose="marketing", sent_at__gte=since,
                                            status=MessageStatus.COMPLAINED).count()
        median_hours, notice_count = _median_hours_to_rejection_email(since)
        complaint_rate = 100 * complaints / marketing_sent if marketing_sent else None
        return {
            "window_days": WINDOW_DAYS,
            "opt_in_rate": round(100 * joined / notices, 1) if notices else None, "notices": notices,
            "joined": joined,
            "silver_hired": silver_hired,
            "reengaged": came_back, "reached": reached_count,
            "reengagement_rate": round(100 * came_back / reached_count, 1) if reached_count else None,
            "median_hours_to_notice": median_hours, "notice_count": notice_count,
            "marketing_sent": marketing_sent, "complaints": complaints,
            "complaint_rate": round(complaint_rate, 2) if complaint_rate is not None else None,
            "complaint_warning": complaint_rate is not None and complaint_rate > COMPLAINT_WARNING,
            "pool_growth": talent_pool_growth(organization),
            "campaign_months": campaign_months(organization),
        }

    return cache.get_or_set(f"dashboard:outreach:{organization.pk}", compute, 300)
