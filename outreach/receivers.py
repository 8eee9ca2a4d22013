"""What the email engine does when the core or the provider tells it something."""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import Candidate, EmailStatus
from crm.tenancy import organization_scope

from .models import DELIVERY_PROGRESS, FINAL_FAILURES, Message, MessageEvent, MessageStatus

logger = logging.getLogger(__name__)


def on_decision(sender, *, organization_id, application_id, **kwargs):
    from .tasks import queue_decision_notice

    queue_decision_notice.delay(organization_id=organization_id, application_id=application_id)


def on_rejection_undone(sender, *, organization_id, application_id, **kwargs):
    from crm.models import Organization

    from .services import cancel_decision_notice

    with organization_scope(Organization.objects.get(pk=organization_id)):
        cancel_decision_notice(application_id=application_id)


def on_organization_created(sender, *, organization, **kwargs):
    from .defaults import create_default_templates

    create_default_templates(organization)


# Provider bounce types that are temporary (the address may work tomorrow).
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError"}

EVENT_STATUS = {
    "delivered": MessageStatus.DELIVERED,
    "opened": MessageStatus.OPENED,
    "clicked": MessageStatus.CLICKED,
    "bounced": MessageStatus.BOUNCED,
    "rejected": MessageStatus.BOUNCED,
    "complained": MessageStatus.COMPLAINED,
}


def _next_status(current, event_type, organization):
    """A later event never moves a message back (events arrive out of order)."""
    new = EVENT_STATUS.get(event_type)
    if new is None or current in FINAL_FAILURES:
        return current
    if new == MessageStatus.OPENED and not organization.open_tracking:
        return current
    if new in FINAL_FAILURES:
        return new
    if current in DELIVERY_PROGRESS and DELIVERY_PROGRESS.index(new) <= DELIVERY_PROGRESS.index(current):
        return current
    return new if current in DELIVERY_PROGRESS else current


def on_tracking_event(sender, *, event, esp_name, **kwargs):
    """anymail's normalized tracking event: deduplicated by event id, applied to the message and candidate."""
    if not event.message_id:
        logger.info("tracking event without message id from %s ignored", esp_name)
        return
    message = Message.all_tenants.select_related("organization", "candidate").filter(
        provider_message_id=event.message_id).exclude(provider_message_id="").first()
    if message is None:
        logger.info("tracking event for unknown message %s from %s ignored", event.message_id, esp_name)
        return
    event_id = event.event_id or f"{esp_name}:{event.message_id}:{event.event_type}:{event.timestamp}"
    occurred_at = event.timestamp or timezone.now()
    with organization_scope(message.organization), transaction.atomic():
        try:
            with transaction.atomic():
                MessageEvent.objects.create(
                    organization_id=message.organization_id, message=message, event_type=event.event_type,
                    event_id=event_id[:200], occurred_at=occurred_at,
                    description=(event.description or event.reject_reason or "")[:500],
                    payload={"esp": esp_name, "recipient": event.recipient, "reject_reason": event.reject_reason,
                             "mta_response": (event.mta_response or "")[:1000], "click_url": event.click_url},
                )
        except IntegrityError:
            return  # a replayed event
        message = Message.objects.select_for_update().get(pk=message.pk)
        status = _next_status(message.status, event.event_type, message.organization)
        if status != message.status:
            message.status = status
            message.last_event_at = occurred_at
            message.save(update_fields=["status", "last_event_at", "updated_at"])
        if message.candidate_id is None:
            return
        soft = isinstance(event.esp_event, dict) and event.esp_event.get("Type") in SOFT_BOUNCE_TYPES
        if (event.event_type == "bounced" and not soft) or (
                event.event_type == "rejected" and event.reject_reason == "bounced"):
            Candidate.objects.filter(pk=message.candidate_id).update(email_status=EmailStatus.BOUNCED)
        elif event.event_type == "complained":
            Candidate.objects.filter(pk=message.candidate_id).update(email_status=EmailStatus.COMPLAINED)
            from consent.models import Source
            from consent.services import withdraw_marketing

            withdraw_marketing(candidate=message.candidate, source=Source.PROVIDER_COMPLAINT)
        elif event.event_type == "delivered":
            Candidate.objects.filter(pk=message.candidate_id, email_status=EmailStatus.UNKNOWN).update(
                email_status=EmailStatus.VALID)
        elif event.event_type == "clicked":
            from crm.models import ActivityKind
            from crm.services import activity_record

            activity_record(candidate=message.candidate, kind=ActivityKind.CLICK, actor=None,
                            summary=f"Clicked a link in “{message.subject}”"[:300], occurred_at=occurred_at,
                            details={"message_id": message.pk})
