"""What the email engine does when the core or the provider tells it something."""

import json
import logging
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from django.db import connection, models, transaction
from django.utils import timezone

from crm.audit import audit
from crm.models import Candidate, EmailStatus
from crm.tenancy import organization_scope

from .models import DELIVERY_PROGRESS, FINAL_FAILURES, Message, MessageStatus, WebhookEvent
from .webhooks import MalformedEvent

logger = logging.getLogger(__name__)


def _scope(organization_id):
    from crm.models import Organization
    from crm.tenancy import current_organization

    current = current_organization()
    return organization_scope(current if current is not None and current.pk == organization_id
                              else Organization.objects.get(pk=organization_id))


def on_decision(sender, *, organization_id, application_id, **kwargs):
    """Inside the deciding transaction: the notice's outbox row commits with the decision, or neither does."""
    from .services import queue_decision_notice

    with _scope(organization_id):
        queue_decision_notice(application_id=application_id)


def on_rejection_undone(sender, *, organization_id, application_id, **kwargs):
    from .services import cancel_decision_notice

    with _scope(organization_id):
        cancel_decision_notice(application_id=application_id)


def on_organization_created(sender, *, organization, **kwargs):
    from .defaults import create_default_templates

    create_default_templates(organization)


# Provider bounce types that are temporary (the address may work tomorrow): Postmark's Type, SendGrid's type.
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError"}
SENDGRID_SOFT_BOUNCE_TYPES = {"blocked"}


# Amazon SES's bounceType: only Permanent is hard (SES itself suppresses an address for nothing else).
SES_SOFT_BOUNCE_TYPES = {"Transient", "Undetermined"}


def _object(value):
    return value if isinstance(value, dict) else {}


def _soft_bounce(event):
    """A bounce the provider says is temporary: it keeps trying, so it ends nothing (anymail calls it bounced)."""
    if event.event_type != "bounced":
        return False
    esp = event.esp_event
    data = _object(esp.get("event-data"))
    return (esp.get("Type") in SOFT_BOUNCE_TYPES or esp.get("type") in SENDGRID_SOFT_BOUNCE_TYPES
            or data.get("severity") == "temporary"
            or _object(esp.get("bounce")).get("bounceType") in SES_SOFT_BOUNCE_TYPES)


def _ses_unsubscribed(preferences):
    """An Amazon SES Subscription event's newTopicPreferences: out of every topic, or of any one."""
    preferences = _object(preferences)
    topics = preferences.get("topicSubscriptionStatus")
    return preferences.get("unsubscribeAll") is True or (isinstance(topics, list) and any(
        isinstance(topic, dict) and topic.get("subscriptionStatus") == "OptOut" for topic in topics))


def _ses_event_type(event_type, esp_event):
    """anymail leaves Amazon SES's DeliveryDelay and Subscription events "unknown": what they are."""
    kind = esp_event.get("eventType")
    if event_type != "unknown" or not isinstance(kind, str):
        return event_type
    if kind == "DeliveryDelay":
        return "deferred"
    if kind == "Subscription":
        return "unsubscribed" if _ses_unsubscribed(_object(esp_event.get("subscription")).get(
            "newTopicPreferences")) else "subscribed"
    return event_type


def _ses_details(event_type, esp_event):
    """A DeliveryDelay's delay type and the receiving server's answer, as the other providers give them."""
    delay = _object(esp_event.get("deliveryDelay"))
    if event_type != "deferred" or not delay:
        return "", ""
    recipients = delay.get("delayedRecipients")
    first = recipients[0] if isinstance(recipients, list) and recipients and isinstance(recipients[0], dict) else {}
    return delay.get("delayType"), first.get("diagnosticCode")

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
    if event_type == "failed":  # the provider could not send it (e.g. its template did not render)
        return MessageStatus.FAILED if current == MessageStatus.SENT else current
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


# What an event proves about a message whose sending was uncertain: the provider had it, and this happened.
SETTLED_STATUS = {
    "queued": MessageStatus.SENT, "sent": MessageStatus.SENT, "deferred": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED, "opened": MessageStatus.OPENED, "clicked": MessageStatus.CLICKED,
    "bounced": MessageStatus.BOUNCED, "rejected": MessageStatus.BOUNCED, "complained": MessageStatus.COMPLAINED,
    "failed": MessageStatus.FAILED,
}


def _uncertain(message):
    """Flagged for review, or still inside the provider call: the provider's event is the first word."""
    return message.status == MessageStatus.NEEDS_REVIEW or (
        message.status == MessageStatus.SENDING and message.provider_call_started_at is not None)


def _text(value, limit, name):
    """A provider's scalar as stored text (ids may come as numbers); an object or a list is a malformed event."""
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value).replace("\x00", "")[:limit]
    raise MalformedEvent(f"{name} is a {type(value).__name__}")


def _fields(event, esp_name):
    """The event's fields Silverpool reads, with the types it stores them as."""
    timestamp = event.timestamp
    if timestamp is not None and not isinstance(timestamp, datetime):
        raise MalformedEvent(f"timestamp is a {type(timestamp).__name__}")
    if timestamp is not None and timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, UTC)  # providers speak UTC
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    event_type = _text(event.event_type, 40, "event type")
    description, mta_response = event.description, event.mta_response
    if esp_name == "Amazon SES" and (mapped := _ses_event_type(event_type, esp_event)) != event_type:
        event_type = mapped
        delay_type, diagnostic = _ses_details(event_type, esp_event)
        description, mta_response = delay_type, mta_response or diagnostic  # not anymail's "Unknown SES eventType"
    return SimpleNamespace(
        message_id=_text(event.message_id, 200, "message id"), event_id=_text(event.event_id, 200, "event id"),
        recipient=_text(event.recipient, 254, "recipient"), description=_text(description, 500, "description"),
        reject_reason=_text(event.reject_reason, 40, "reject reason"),
        mta_response=_text(mta_response, 1000, "MTA response"), click_url=_text(event.click_url, 2000, "url"),
        timestamp=timestamp, event_type=event_type, esp_name=str(esp_name),
        metadata=event.metadata if isinstance(event.metadata, dict) else {}, esp_event=esp_event,
    )


def _unsubscribe_detail(event):
    """The provider's own words for it: Postmark's SuppressionReason, SendGrid's event and group, Mailgun's event,
    Amazon SES's event type and contact list."""
    esp = event.esp_event
    data = esp.get("event-data") if isinstance(esp.get("event-data"), dict) else {}
    subscription = _object(esp.get("subscription"))
    words = [esp.get("RecordType"), esp.get("SuppressionReason"), esp.get("event"), data.get("event"),
             esp.get("eventType"), subscription.get("contactList")]
    if esp.get("asm_group_id") is not None:
        words.append(f"group {esp.get('asm_group_id')}")
    return ", ".join(str(word) for word in words if isinstance(word, (str, int)) and word != "") or "unsubscribed"


# What an event's handling reads of its message (anything else, such as the rendered bodies, is read only if
# a rarer path needs it), and of the candidate for the events that need it (a timeline entry, the consent ledger).
MESSAGE_FIELDS = ("id", "organization_id", "candidate_id", "status", "status_reason", "to_email",
                  "provider_message_id", "provider_call_started_at", "sent_at", "last_event_at", "subject")
CANDIDATE_FIELDS = ("candidate__id", "candidate__organization_id", "candidate__email_status",
                    "candidate__last_activity_at")
CANDIDATE_EVENTS = {"clicked", "complained", "unsubscribed"}


def _organization(organization_id, organizations):
    """The organization, read once for a batch of events (`organizations`: {id: organization})."""
    from crm.models import Organization

    if organization_id not in organizations:
        organizations[organization_id] = Organization.objects.get(pk=organization_id)
    return organizations[organization_id]


def _message_of(event, organizations):
    """By the provider's id; else, for a message whose provider call never returned, by the id it carried.
    Read once, locked (events of one message apply one after the other), with its organization and, for the
    events that need it, its candidate."""
    messages = Message.all_tenants.select_for_update(of=("self",)).order_by("pk")
    if event.event_type in CANDIDATE_EVENTS:
        messages = messages.select_related("candidate").only(*MESSAGE_FIELDS, *CANDIDATE_FIELDS)
    else:
        messages = messages.only(*MESSAGE_FIELDS)
    message = _with_organization(_found(event, messages), organizations)
    return message


def _with_organization(message, organizations):
    if message is not None:
        message.organization = _organization(message.organization_id, organizations)
    return message


def _found(event, messages):
    if event.message_id:
        message = messages.filter(provider_message_id=event.message_id).exclude(provider_message_id="").first()
        if message is not None:
            return message
    ours = event.metadata.get("silverpool_message")
    if not isinstance(ours, (str, int)) or not str(ours).isdigit() or len(str(ours)) > 18:
        return None
    message = messages.filter(pk=int(ours), provider_message_id="").first()
    if message is None or not _uncertain(message):
        return None
    if event.recipient and event.recipient.strip().lower() != message.to_email.strip().lower():
        return None
    return message


def _settle(message, event, occurred_at, meaning):
    """The provider's event resolves a message whose sending was uncertain, with a note saying so."""
    status = SETTLED_STATUS.get(meaning, MessageStatus.SENT)
    if status == MessageStatus.OPENED and not message.organization.open_tracking:
        status = MessageStatus.DELIVERED
    first_record = message.sent_at is None
    was = message.get_status_display().lower()
    message.status = status
    message.status_reason = (f"settled by the provider's “{event.event_type}” event of "
                             f"{occurred_at:%Y-%m-%d %H:%M} UTC (was: {was})")[:300]
    message.provider_message_id = message.provider_message_id or event.message_id
    message.sent_at = message.sent_at or occurred_at
    message.last_event_at = occurred_at
    message.save(update_fields=["status", "status_reason", "provider_message_id", "sent_at", "last_event_at",
                                "updated_at"])
    audit("message.settled_by_provider", actor=None, obj=message,
          details={"event": event.event_type, "status": status, "was": was})
    if first_record and status != MessageStatus.FAILED:
        from .services import record_sent_on_timeline

        record_sent_on_timeline(message)
    logger.info("outbox: message %s settled by a %s event: %s", message.pk, event.event_type, status)


def taken(event, esp_name):
    """What the webhook keeps of anymail's normalized event, as JSON: every field the event's handling reads,
    checked here (a malformed event refuses the whole post), with what the provider's own body says about it
    (a soft bounce, an unsubscribe's words) worked out now, so that the raw body need not be kept."""
    fields = _fields(event, esp_name)
    ours = fields.metadata.get("silverpool_message")
    return {
        "message_id": fields.message_id, "event_id": fields.event_id, "recipient": fields.recipient,
        "description": fields.description, "reject_reason": fields.reject_reason,
        "mta_response": fields.mta_response, "click_url": fields.click_url, "event_type": fields.event_type,
        "timestamp": fields.timestamp.isoformat() if fields.timestamp is not None else None,
        "received_at": timezone.now().isoformat(), "esp_name": fields.esp_name,
        "silverpool_message": str(ours) if isinstance(ours, (str, int)) and str(ours).isascii()
        and str(ours).isdigit() and len(str(ours)) <= 18 else None,
        # What the event means for the message: a soft bounce is a delay, like a deferral.
        "meaning": "deferred" if _soft_bounce(fields) else fields.event_type,
        "unsubscribe_detail": _unsubscribe_detail(fields)[:1000] if fields.event_type == "unsubscribed" else "",
    }


def event_key(fields):
    """What makes a replay the same event: the provider's event id, else its message, type and time."""
    key = fields["event_id"] or (f"{fields['esp_name']}:{fields['message_id'] or fields['silverpool_message']}:"
                                 f"{fields['event_type']}:{fields['timestamp']}")
    return key[:300]


def _event(fields):
    """A stored event (`taken`) as the handling below reads it."""
    def when(value):
        return datetime.fromisoformat(value) if value else None

    return SimpleNamespace(**{**fields, "timestamp": when(fields.get("timestamp")),
                              "received_at": when(fields.get("received_at")),
                              "metadata": {"silverpool_message": fields.get("silverpool_message")}})


def on_tracking_event(sender, *, event, esp_name, **kwargs):
    """anymail's normalized tracking event: taken into the post's inbox rows by the webhook's guard (a worker
    applies them, outreach.tasks.apply_webhook_events); applied now when no webhook post is being taken."""
    from .webhooks import take

    fields = taken(event, esp_name)
    if not take(fields):
        apply_event(_event(fields))


INSERT_EVENT = """
    INSERT INTO outreach_messageevent
        (organization_id, message_id, event_type, event_id, occurred_at, description, payload, created_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s)
    ON CONFLICT (organization_id, event_id) DO NOTHING
    RETURNING id
"""


def apply_event(event, organizations=None):
    """One event (`_event`): deduplicated by event id, applied to the message and candidate, whole or not at
    all (inside the caller's transaction, else in one of its own). `organizations` caches them for a batch."""
    with transaction.atomic(savepoint=False):
        _apply(event, {} if organizations is None else organizations)


def _apply(event, organizations):
    message = _message_of(event, organizations)
    if message is None:
        logger.info("tracking event for unknown message %s from %s ignored", event.message_id, event.esp_name)
        return
    esp_name, meaning = event.esp_name, event.meaning
    event_id = event.event_id or f"{esp_name}:{event.message_id or message.pk}:{event.event_type}:{event.timestamp}"
    occurred_at = event.timestamp or event.received_at or timezone.now()
    organization = message.organization
    with organization_scope(organization):
        payload = {"esp": esp_name, "recipient": event.recipient, "reject_reason": event.reject_reason,
                   "mta_response": event.mta_response, "click_url": event.click_url}
        with connection.cursor() as cursor:  # the message's own organization: a row of an already-scoped row
            cursor.execute(INSERT_EVENT, [message.organization_id, message.pk, event.event_type, event_id[:200],
                                          occurred_at, (event.description or event.reject_reason)[:500],
                                          json.dumps(payload), timezone.now()])
            if cursor.fetchone() is None:
                return  # a replayed event
        if _uncertain(message):
            _settle(message, event, occurred_at, meaning)
        else:
            status = _next_status(message.status, meaning, message.organization)
            if status != message.status:
                message.status = status
                message.last_event_at = occurred_at
                fields = ["status", "last_event_at", "updated_at"]
                if status == MessageStatus.FAILED:
                    message.status_reason = f"the provider could not send it: {event.description or event.event_type}"[:300]
                    fields.append("status_reason")
                message.save(update_fields=fields)
        if message.candidate_id is None:
            return
        if meaning == "bounced" or (meaning == "rejected" and event.reject_reason == "bounced"):
            Candidate.objects.filter(pk=message.candidate_id).update(email_status=EmailStatus.BOUNCED)
        elif event.event_type == "complained":
            Candidate.objects.filter(pk=message.candidate_id).update(email_status=EmailStatus.COMPLAINED)
            from consent.models import Source
            from consent.services import withdraw_marketing

            withdraw_marketing(candidate=message.candidate, source=Source.PROVIDER_COMPLAINT)
        elif meaning == "unsubscribed":
            from consent.models import Source
            from consent.services import unsubscribe

            # The provider suppresses the address for every email it sends: every marketing topic goes.
            unsubscribe(candidate=message.candidate, topic_key=None, source=Source.PROVIDER,
                        note=f"{esp_name} reported an unsubscribe ({event.unsubscribe_detail})"[:2000])
        elif event.event_type == "delivered":
            Candidate.objects.filter(pk=message.candidate_id, email_status=EmailStatus.UNKNOWN).update(
                email_status=EmailStatus.VALID)
        elif event.event_type == "clicked":
            from crm.models import ActivityKind
            from crm.services import activity_record

            activity_record(candidate=message.candidate, kind=ActivityKind.CLICK, actor=None,
                            summary=f"Clicked a link in “{message.subject}”"[:300], occurred_at=occurred_at,
                            details={"message_id": message.pk})


# --- The webhooks' inbox ----------------------------------------------------------------------------------

APPLY_BATCH = 200  # inbox rows applied in one transaction
MAX_ATTEMPTS = 5  # a row that failed this often is left for an operator (its error says why)
KEEP_APPLIED_DAYS = 7  # an applied row's key is kept this long, so a provider's late retry is dropped at the door

PENDING = f"""
    SELECT id, fields FROM {WebhookEvent._meta.db_table}
    WHERE applied_at IS NULL AND attempts < %s ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
"""


def apply_pending(batch=APPLY_BATCH):
    """Apply the inbox's waiting events, oldest first, a batch per transaction, until none is left (rows another
    worker holds are skipped: it applies them). An event that fails is logged and counted, never blocks the
    others; the database going away stops the run (the rows wait for the next). Returns how many were applied."""
    from django.db import InterfaceError, OperationalError

    applied = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(PENDING, [MAX_ATTEMPTS, batch])
                rows = cursor.fetchall()
            if not rows:
                return applied
            try:
                with transaction.atomic():  # the whole batch, one savepoint: the usual case
                    done, failed = _apply_rows(rows, careful=False), []
            except (OperationalError, InterfaceError):
                raise
            except Exception:  # some event fails: again, each in a savepoint of its own, to find which
                done, failed = _apply_rows(rows, careful=True)
            now = timezone.now()
            WebhookEvent.objects.filter(pk__in=done).update(applied_at=now, fields={}, error="")
            for pk, error in failed:
                WebhookEvent.objects.filter(pk=pk).update(attempts=models.F("attempts") + 1, error=error)
            applied += len(done)
            if len(rows) < batch:
                return applied


def _apply_rows(rows, *, careful):
    """Apply the inbox rows [(id, fields)]: the ids applied, and (careful) the [(id, error)] that failed."""
    from django.db import InterfaceError, OperationalError

    done, failed, organizations = [], [], {}
    for pk, fields in rows:
        event = _event(json.loads(fields) if isinstance(fields, str) else fields)
        if not careful:
            apply_event(event, organizations)
            done.append(pk)
            continue
        try:
            with transaction.atomic():
                apply_event(event, organizations)
            done.append(pk)
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:
            logger.exception("webhook event %s could not be applied", pk)
            failed.append((pk, f"{error.__class__.__name__}: {error}"[:2000]))
    return (done, failed) if careful else done


def purge_applied(days=KEEP_APPLIED_DAYS):
    """Forget the keys of events applied more than `days` ago."""
    return WebhookEvent.objects.filter(applied_at__lt=timezone.now() - timedelta(days=days)).delete()[0]
