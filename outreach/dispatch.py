"""Sending the outbox: claim due rows atomically, send with overlapping provider calls, record.

Crash safety: a row is claimed (status `sending`), then marked just before the provider call
(`provider_call_started_at`), then recorded as sent. A worker killed before the mark leaves a
row that the reaper puts back in the queue; killed after it, the row is flagged `needs_review`
(the provider may or may not have taken it) and is never resent without a person deciding.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.utils import timezone

from crm.tenancy import organization_scope

from .context import build_context
from .models import Message, MessageStatus, Purpose
from .rendering import render_email
from .selectors import refusal

logger = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_ATTEMPTS = 6
_executor = None
_executor_lock = threading.Lock()
_local = threading.local()


def executor():
    """One pool per worker process (created after the fork), so provider calls overlap."""
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.OUTBOX_SEND_CONCURRENCY,
                                           thread_name_prefix="outbox")
        return _executor


def claim_due(limit=BATCH_SIZE):
    """Claim up to `limit` due messages for this worker; concurrent claimers never get the same row."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE outreach_message SET status = 'sending', claimed_at = clock_timestamp(),
                   attempts = attempts + 1, updated_at = clock_timestamp()
            WHERE id IN (SELECT id FROM outreach_message WHERE status = 'queued' AND send_after <= clock_timestamp()
                         ORDER BY send_after LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]


def reap_stale(now=None):
    """Rows left in `sending` by a worker that died: requeue if the provider was never called."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_SENDING_TIMEOUT)
    stale = Message.all_tenants.filter(status=MessageStatus.SENDING, claimed_at__lt=cutoff)
    requeued = stale.filter(provider_call_started_at__isnull=True).update(
        status=MessageStatus.QUEUED, status_reason="requeued after a worker stopped")
    flagged = stale.filter(provider_call_started_at__isnull=False).update(
        status=MessageStatus.NEEDS_REVIEW,
        status_reason="the worker stopped during the provider call: it may or may not have been sent")
    if requeued or flagged:
        logger.warning("outbox: %s stale messages requeued, %s flagged for review", requeued, flagged)
    return requeued, flagged


def sender_addresses(organization, name=None):
    """From: the organization's verified address, else the platform's with the organization's name."""
    name = name or organization.sender_name or organization.name
    if organization.sender_email and organization.sender_email_verified:
        from_email = formataddr((name, organization.sender_email))
    else:
        from email.utils import parseaddr

        _, platform_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        from_email = formataddr((f"{name} via Silverpool", platform_address))
    reply_to = organization.reply_to_email or organization.sender_email
    return from_email, [reply_to] if reply_to else []


def personal_links(message):
    """The candidate's signed links; test sends get dummy ones that open nothing."""
    from consent import tokens

    site = settings.SITE_URL
    if message.context.get("test"):
        dummy = f"{site}/p/test-link/"
        return {"stay_in_touch": dummy, "preferences": dummy, "unsubscribe": dummy, "confirm": dummy}
    links = {}
    candidate = message.candidate
    if candidate is not None:
        links["stay_in_touch"] = f"{site}/p/s/{tokens.stay_in_touch_token(candidate)}/"
        links["preferences"] = f"{site}/p/prefs/{tokens.preferences_token(candidate)}/"
        if message.context.get("topic"):
            links["unsubscribe"] = f"{site}/p/u/{tokens.unsubscribe_token(candidate, message.context['topic'])}/"
    links.update(message.context.get("links", {}))
    return links


def render_message(message, extra=None):
    """Subject, HTML, text and headers of `message`, rendered now from its template and context."""
    from crm.models import User

    organization = message.organization
    recruiter = User.objects.filter(pk=message.context.get("recruiter_id")).first()
    links = personal_links(message)
    context = build_context(organization=organization, candidate=message.candidate, application=message.application,
                            language=message.language, recruiter=recruiter,
                            extra={**message.context.get("fields", {}), **(extra or {})}, links=links)
    template = message.template
    rendered = render_email(subject=template.subject, html_body=template.html_body, text_body=template.text_body,
                            context=context)
    headers = {}
    if message.purpose == Purpose.MARKETING:
        rendered = with_marketing_footer(rendered, organization=organization, links=context["links"],
                                         language=message.language)
        if context["links"]["unsubscribe"]:
            headers["List-Unsubscribe"] = f"<{context['links']['unsubscribe']}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return rendered, headers


PREFERENCES_LABEL = {"en": "Your email preferences", "fr": "Vos préférences"}


def with_marketing_footer(rendered, *, organization, links, language):
    """What every marketing email carries whatever its template says (DESIGN: email rules): a link to the
    preference centre (unless the template has it already) and the organization's postal address."""
    import html as html_module

    from .rendering import Rendered, sanitize_html

    label = PREFERENCES_LABEL.get(language, PREFERENCES_LABEL["en"])
    preferences = links.get("preferences") or ""
    address = [line.strip() for line in (organization.postal_address or "").splitlines() if line.strip()]
    html_parts, text_parts = [], []
    if preferences and preferences not in rendered.html:
        html_parts.append(f'<a href="{html_module.escape(preferences)}">{html_module.escape(label)}</a>')
    if preferences and preferences not in rendered.text:
        text_parts.append(f"{label}: {preferences}")
    if address:
        html_parts.append("<br>".join(html_module.escape(line) for line in address))
        text_parts.append("\n".join(address))
    html, text = rendered.html, rendered.text
    if html_parts:
        html += sanitize_html('<p style="color:#6b7280;font-size:12px">' + "<br>".join(html_parts) + "</p>")
    if text_parts:
        text += "\n\n" + "\n".join(text_parts)
    return Rendered(subject=rendered.subject, html=html, text=text)


def _connection():
    if getattr(_local, "connection", None) is None:
        _local.connection = get_connection(settings.OUTBOX_EMAIL_BACKEND)
    return _local.connection


def deliver(message, rendered, headers, sender_name=None):
    """Hand the email to the provider; returns its message id."""
    from_email, reply_to = sender_addresses(message.organization, sender_name)
    message_id = make_msgid(domain="silverpool.local")
    email = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, from_email=from_email, to=[message.to_email],
        reply_to=reply_to, headers={**headers, "Message-ID": message_id}, connection=_connection(),
    )
    email.attach_alternative(rendered.html, "text/html")
    # anymail's options (ignored by plain SMTP).
    email.metadata = {"silverpool_message": str(message.pk)}
    email.tags = [message.kind]
    email.track_clicks = True
    email.track_opens = message.organization.open_tracking
    email.send()
    status = getattr(email, "anymail_status", None)
    return (status.message_id if status is not None and status.message_id else None) or message_id


def _is_transient(error):
    status = getattr(error, "status_code", None)
    if status is None:
        return True  # timeouts and connection errors
    return status >= 500 or status == 429


def send_one(message_id):
    message = (Message.all_tenants.select_related("organization", "candidate", "application__job",
                                                  "application__rejection_reason", "template")
               .filter(pk=message_id, status=MessageStatus.SENDING).first())
    if message is None:
        return "gone"
    with organization_scope(message.organization):
        reason = refusal(message)
        if reason is not None:
            return _suppress(message, reason)
        extra, sender_name = None, None
        if message.campaign_run_id:
            outcome = _campaign_gate(message)
            if outcome is not None:
                return outcome
            from .campaigns import EXCLUSIONS
            from .context import campaign_fields

            extra = campaign_fields(message, site_url=settings.SITE_URL)
            if extra is None:
                return _suppress(message, EXCLUSIONS["no_matching_job"])
            sender_name = extra.pop("sender_name", "")
        try:
            rendered, headers = render_message(message, extra)
        except Exception as error:  # a template broken since it was queued: a person must look
            logger.exception("outbox: message %s could not be rendered", message.pk)
            Message.all_tenants.filter(pk=message.pk).update(status=MessageStatus.FAILED,
                                                             status_reason=f"rendering failed: {error}"[:300])
            return "failed"
        with transaction.atomic():
            if message.campaign_run_id:
                # One candidate at a time across workers: the frequency and cap checks see in-flight sends.
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ADVISORY_CANDIDATE, message.candidate_id])
                from .campaigns import campaign_refusal

                reason = campaign_refusal(message)
                if reason is not None:
                    return _suppress(message, reason)
            # The mark that makes a crash during the provider call visible instead of silently resent.
            marked = Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING,
                                                provider_call_started_at__isnull=True).update(
                provider_call_started_at=timezone.now(), subject=rendered.subject, html=rendered.html,
                text=rendered.text, headers=headers, template_version=message.template.version,
                updated_at=timezone.now())
        if not marked:
            return "gone"
        try:
            provider_id = deliver(message, rendered, headers, sender_name)
        except Exception as error:
            transient = _is_transient(error)
            if transient and message.attempts < MAX_ATTEMPTS:
                delay = timedelta(seconds=30 * 2 ** (message.attempts - 1))
                Message.all_tenants.filter(pk=message.pk).update(
                    status=MessageStatus.QUEUED, provider_call_started_at=None, send_after=timezone.now() + delay,
                    status_reason=f"retrying after: {error}"[:300], updated_at=timezone.now())
                return "retry"
            Message.all_tenants.filter(pk=message.pk).update(
                status=MessageStatus.FAILED, status_reason=f"{error}"[:300], updated_at=timezone.now())
            return "failed"
        now = timezone.now()
        with transaction.atomic():
            Message.all_tenants.filter(pk=message.pk).update(
                status=MessageStatus.SENT, sent_at=now, provider_message_id=str(provider_id)[:200], status_reason="",
                updated_at=now)
            message.subject = rendered.subject
            from .services import record_sent_on_timeline

            record_sent_on_timeline(message)
        return "sent"


ADVISORY_CANDIDATE = 7001  # the advisory-lock namespace of "a candidate's marketing send"


def _suppress(message, reason):
    Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING).update(
        status=MessageStatus.SUPPRESSED, status_reason=reason[:300], updated_at=timezone.now())
    return "suppressed"


def _campaign_gate(message):
    """A paused or cancelled run keeps its email; the organization's send rate holds it back a moment."""
    from .models import CampaignRun, RunStatus

    status = CampaignRun.all_tenants.filter(pk=message.campaign_run_id).values_list("status", flat=True).first()
    if status in (RunStatus.PAUSED, RunStatus.PREPARING):
        Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.HELD, attempts=message.attempts - 1, updated_at=timezone.now())
        return "held"
    if status in (RunStatus.CANCELLED, None):
        Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.CANCELLED, status_reason="campaign cancelled", updated_at=timezone.now())
        return "cancelled"
    from .ratelimit import take_send_slot

    wait = take_send_slot(message.organization)
    if wait:
        Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, attempts=message.attempts - 1, send_after=timezone.now() + wait,
            updated_at=timezone.now())
        return "throttled"
    return None


def send_batch(ids):
    """Send claimed messages with overlapping provider calls; returns a count per outcome."""
    outcomes = {}
    # One at a time in this thread when concurrency is 1 (tests: their data is in this connection).
    results = map(_send_in_thread, ids) if settings.OUTBOX_SEND_CONCURRENCY <= 1 else executor().map(
        _send_in_thread, ids)
    for outcome in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _send_in_thread(message_id):
    try:
        return send_one(message_id)
    except Exception:
        logger.exception("outbox: message %s", message_id)
        return "error"
