"""Reads of the email engine: who may be emailed, the outbox, notice status of rejections."""

from crm.models import EmailStatus
from crm.selectors import is_suppressed

from .models import Message, MessageStatus, Purpose

HARD_BOUNCED = {EmailStatus.BOUNCED}
UNDELIVERABLE = {EmailStatus.BOUNCED, EmailStatus.COMPLAINED}


def transactional_refusal(candidate):
    """Why a transactional email may not go to `candidate`, or None (DESIGN: not erased, not hard-bounced)."""
    if candidate is None:
        return "the candidate was erased"
    if candidate.email_status in HARD_BOUNCED:
        return "the address bounced"
    return None


def marketing_refusal(candidate, topic=None):
    """Why a marketing email about `topic` may not go to `candidate`, or None (DESIGN: who may be emailed).

    Frequency caps and "already sent this run" join this check with campaigns.
    """
    from consent.selectors import has_marketing_consent

    if candidate is None:
        return "the candidate was erased"
    if topic is None or not has_marketing_consent(candidate, topic):
        return "no valid consent for this topic"
    if candidate.do_not_contact:
        return "do not contact"
    if candidate.email_status in UNDELIVERABLE:
        return f"the address {candidate.get_email_status_display().lower()}"
    if is_suppressed(candidate.email):
        return "the address is suppressed"
    return None


def marketing_audience(queryset, topic, *, now=None):
    """The queryset form of `marketing_refusal`: the candidates of `queryset` a marketing email about
    `topic` may reach. (Suppressed addresses have no candidate row: creation refuses them.)"""
    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from consent.models import ConsentState, State

    consenting = ConsentState.objects.filter(candidate=OuterRef("pk"), purpose__key=topic, state=State.GRANTED,
                                             expires_at__gt=now or timezone.now())
    return queryset.filter(Exists(consenting), do_not_contact=False).exclude(email_status__in=UNDELIVERABLE)


def refusal(message):
    # A test send goes to the recruiter; a confirmation goes to whoever asked for it, even after erasure.
    if message.context.get("test") or message.kind == "consent_confirmation":
        return None
    if message.purpose == Purpose.TRANSACTIONAL:
        return transactional_refusal(message.candidate)
    return marketing_refusal(message.candidate, message.context.get("topic"))


def messages_for_candidate(candidate, limit=50):
    return list(Message.objects.filter(candidate=candidate).select_related("campaign_run__campaign")
                .prefetch_related("events").order_by("-created_at")[:limit])


def notice_status_by_application(application_ids):
    """The status of each application's rejection or offer-declined notice."""
    rows = Message.objects.filter(application_id__in=application_ids,
                                  kind__in=["rejection_early", "rejection_after_interview", "offer_declined"])
    return {row.application_id: row for row in rows}


def outbox(status=None, limit=200):
    messages = Message.objects.select_related("candidate", "application__job").order_by("-created_at")
    if status:
        messages = messages.filter(status=status)
    return list(messages[:limit])


def review_queue():
    return list(Message.objects.filter(status=MessageStatus.REVIEW).select_related(
        "candidate", "application__job").order_by("send_after"))


# A notice in one of these states needs nothing more from anyone: it went, or it goes by itself.
NOTICE_SETTLED = [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.HELD, MessageStatus.SENT,
                  MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED, MessageStatus.COMPLAINED]


def settled_notices():
    """The applications whose decision notice went or is planned (for the core's waiting list)."""
    return Message.objects.filter(kind__in=["rejection_early", "rejection_after_interview", "offer_declined"],
                                  status__in=NOTICE_SETTLED, application_id__isnull=False).values("application_id")


def notice_statuses(application_ids):
    """{application_id: (status, label)} of decision notices, for the core's pages."""
    return {app_id: (m.status, m.get_status_display()) for app_id, m in
            notice_status_by_application(application_ids).items()}


def notice_template_error(template_id, application):
    from .models import EmailTemplate
    from .services import notice_kind_for_rejection

    template = EmailTemplate.objects.filter(pk=template_id, active=True).first()
    if template is None:
        return "No such template."
    expected = notice_kind_for_rejection(application)
    if template.kind != expected:
        return f"This application needs a “{expected.label}” template."
    return None
