"""What recruiters look at: each run's progress and results, and the campaigns' effect over time."""

from datetime import timedelta

from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncDate
from django.utils import timezone

from consent.models import Action, ConsentRecord, Source
from crm.models import Application

from .models import Message, MessageEvent, MessageStatus, Reply

SENT_STATUSES = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED,
                 MessageStatus.BOUNCED, MessageStatus.COMPLAINED]
DELIVERED_STATUSES = [MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED]
WAITING_STATUSES = [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD]
REAPPLY_DAYS = 30


def runs_progress(runs):
    """{run id: {queued, sent, failed, suppressed, cancelled, total, percent}} of the runs' emails, in one query."""
    counts = {run.pk: {} for run in runs}
    for run_id, status, n in (Message.objects.filter(campaign_run__in=list(counts))
                              .values_list("campaign_run_id", "status").annotate(n=Count("id")).order_by()):
        counts[run_id][status] = n
    return {run_id: _progress(run_counts) for run_id, run_counts in counts.items()}


def _progress(counts):
    progress = {
        "queued": sum(counts.get(s, 0) for s in WAITING_STATUSES),
        "sent": sum(counts.get(s, 0) for s in SENT_STATUSES),
        "failed": counts.get(MessageStatus.FAILED, 0) + counts.get(MessageStatus.NEEDS_REVIEW, 0),
        "suppressed": counts.get(MessageStatus.SUPPRESSED, 0),
        "cancelled": counts.get(MessageStatus.CANCELLED, 0),
    }
    progress["total"] = sum(counts.values())
    finished = progress["total"] - progress["queued"]
    progress["percent"] = round(100 * finished / progress["total"]) if progress["total"] else 100
    for key in ("sent", "failed", "suppressed", "cancelled", "queued"):
        progress[f"{key}_percent"] = round(100 * progress[key] / progress["total"], 1) if progress["total"] else 0
    return progress


def _reapplied(sent_messages):
    """The sent emails whose recipient applied to a job within REAPPLY_DAYS of receiving it."""
    return sent_messages.filter(Exists(Application.objects.filter(
        candidate_id=OuterRef("candidate_id"), applied_at__gte=OuterRef("sent_at"),
        applied_at__lt=OuterRef("sent_at") + timedelta(days=REAPPLY_DAYS))))


def _unsubscribed(sent_messages, topic):
    """The sent emails whose recipient withdrew the topic after receiving it (a complaint is counted apart)."""
    return sent_messages.filter(Exists(ConsentRecord.objects.filter(
        candidate_id=OuterRef("candidate_id"), purpose__key=topic, action=Action.WITHDRAWN,
        created_at__gte=OuterRef("sent_at")).exclude(source=Source.PROVIDER_COMPLAINT)))


def _replies(messages):
    """The people's own replies to the emails (automatic answers such as out-of-office are not replies)."""
    return Reply.objects.filter(message__in=messages, auto_reply=False)


def results(messages, *, topic, open_tracking):
    """Results of a set of campaign emails (a run, or all runs of a campaign)."""
    counts = dict(messages.values_list("status").annotate(n=Count("id")).order_by())
    sent_messages = messages.filter(status__in=SENT_STATUSES)
    return _figures(counts, _reapplied(sent_messages).values("candidate_id").distinct().count(),
                    _unsubscribed(sent_messages, topic).values("candidate_id").distinct().count(), open_tracking,
                    replied=_replies(messages).values("candidate_id").distinct().count())


def runs_results(runs, *, topic, open_tracking):
    """{run id: results} of the runs' emails, in four queries whatever the number of runs."""
    messages = Message.objects.filter(campaign_run__in=[run.pk for run in runs])
    counts = {run.pk: {} for run in runs}
    for run_id, status, n in messages.values_list("campaign_run_id", "status").annotate(n=Count("id")).order_by():
        counts[run_id][status] = n
    sent_messages = messages.filter(status__in=SENT_STATUSES)

    def per_run(queryset):
        return dict(queryset.values("campaign_run_id").annotate(n=Count("candidate_id", distinct=True))
                    .values_list("campaign_run_id", "n").order_by())

    reapplied, unsubscribed = per_run(_reapplied(sent_messages)), per_run(_unsubscribed(sent_messages, topic))
    replied = dict(_replies(messages).values("message__campaign_run_id")
                   .annotate(n=Count("candidate_id", distinct=True)).values_list("message__campaign_run_id", "n")
                   .order_by())
    return {run_id: _figures(run_counts, reapplied.get(run_id, 0), unsubscribed.get(run_id, 0), open_tracking,
                             replied=replied.get(run_id, 0))
            for run_id, run_counts in counts.items()}


def _figures(counts, reapplied, unsubscribed, open_tracking, replied=0):
    sent = sum(counts.get(s, 0) for s in SENT_STATUSES)
    figures = {
        "sent": sent,
        "delivered": sum(counts.get(s, 0) for s in DELIVERED_STATUSES),
        "clicked": counts.get(MessageStatus.CLICKED, 0),
        "bounced": counts.get(MessageStatus.BOUNCED, 0),
        "complained": counts.get(MessageStatus.COMPLAINED, 0),
        "unsubscribed": unsubscribed,
        "reapplied": reapplied,
        # People who answered (each once, however many emails of the set they answered).
        "replied": replied,
        "opened": counts.get(MessageStatus.OPENED, 0) + counts.get(MessageStatus.CLICKED, 0)
        if open_tracking else None,
    }
    for key in ("delivered", "clicked", "bounced", "complained", "unsubscribed", "reapplied", "replied", "opened"):
        value = figures[key]
        figures[f"{key}_rate"] = round(100 * value / sent, 1) if sent and value is not None else None
    return figures


def daily_series(messages, *, days=30, tz=None):
    """Emails sent and links clicked per day over the last `days` days, for the chart."""
    since = timezone.now() - timedelta(days=days)
    sent = dict(messages.filter(sent_at__gte=since).annotate(day=TruncDate("sent_at", tzinfo=tz))
                .values_list("day").annotate(n=Count("id")).order_by())
    clicks = dict(MessageEvent.objects.filter(message__in=messages.values("pk"), event_type="clicked",
                                              occurred_at__gte=since)
                  .annotate(day=TruncDate("occurred_at", tzinfo=tz)).values_list("day")
                  .annotate(n=Count("message_id", distinct=True)).order_by())
    start = (timezone.now().astimezone(tz) - timedelta(days=days - 1)).date() if tz else since.date()
    series = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        series.append({"day": day, "label": day.strftime("%d %b"), "short": day.strftime("%d"),
                       "sent": sent.get(day, 0), "clicked": clicks.get(day, 0)})
    return series


def chart(series, *, width=610, height=190):
    """Bar positions for a server-rendered SVG chart of sent and clicked per day."""
    top = max([p["sent"] for p in series] + [1])
    step = (width - 20) / max(1, len(series))
    bar = max(2, step * 0.42)
    for index, point in enumerate(series):
        point["x"] = round(10 + index * step, 1)
        point["x2"] = round(point["x"] + bar, 1)
        point["w"] = round(bar, 1)
        point["h_sent"] = round(140 * point["sent"] / top)
        point["h_clicked"] = round(140 * point["clicked"] / top)
        point["y_sent"] = 160 - point["h_sent"]
        point["y_clicked"] = 160 - point["h_clicked"]
    return {"points": series, "top": top, "width": width, "height": height}
