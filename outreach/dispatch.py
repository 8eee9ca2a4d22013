"""Sending the outbox: claim due rows atomically, send with overlapping provider calls, record.

Crash safety: a row is claimed (status `sending`), then marked just before the provider call
(`provider_call_started_at`), then recorded as sent. A worker killed before the mark leaves a
row that the reaper puts back in the queue; killed after it, the row is flagged `needs_review`
(the provider may or may not have taken it) and is never resent without a person deciding.

The database may go away under a sending thread (a restart, a failover): each thread drops a
broken connection and reconnects, a message that met a database error before its provider call
goes back to the queue without being charged an attempt, and what a provider call decided is kept
in memory and written as soon as the database answers again.
"""

import functools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from crm.links import site_url
from crm.provider_outcome import FAILED, RETRY, ProviderUnreachable, provider_outcome
from crm.tenancy import organization_scope

from .context import build_context
from .models import Message, MessageStatus, Purpose
from .rendering import TemplateRenderError, render_email
from .selectors import refusal

logger = logging.getLogger(__name__)
BATCH_SIZE = 500
MAX_ATTEMPTS = 6
_executor = None
_executor_lock = threading.Lock()
_local = threading.local()
DATABASE_ERRORS = (OperationalError, InterfaceError)
# Writes a provider call decided, waiting for the database to answer again (this process's memory).
_pending_writes = []
_pending_lock = threading.Lock()


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

    site = site_url()
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
    backend = settings.OUTBOX_EMAIL_BACKEND
    cached = getattr(_local, "connection", None)
    if cached is None or cached[0] != backend:
        _local.connection = (backend, get_connection(backend))
    return _local.connection[1]


def forget_email_connection():
    """Drop this thread's provider connection (after an error, or when the settings change)."""
    cached = getattr(_local, "connection", None)
    _local.connection = None
    if cached is not None:
        _close_quietly(cached[1])


def _close_quietly(provider):
    try:
        provider.close()
    except Exception:  # the email's fate was decided by send(); a failing QUIT changes nothing
        logger.warning("outbox: closing the provider connection failed", exc_info=True)


def deliver(message, rendered, headers, sender_name=None):
    """Hand the email to the provider; returns its message id."""
    from .inbound import reply_address

    from_email, reply_to = sender_addresses(message.organization, sender_name)
    tracked = reply_address(message, sender_name)
    if tracked:
        reply_to = [tracked]  # the candidate's answer comes back to the timeline (outreach.inbound)
    # The reply token in the Message-ID too: a reply that lost its To address still names it in In-Reply-To.
    message_id = make_msgid(idstring=f"r-{message.reply_token}" if message.reply_token else None,
                            domain="silverpool.local")
    provider = _connection()
    email = EmailMultiAlternatives(
        subject=rendered.subject, body=rendered.text, from_email=from_email, to=[message.to_email],
        reply_to=reply_to, headers={**headers, "Message-ID": message_id}, connection=provider,
    )
    email.attach_alternative(rendered.html, "text/html")
    # anymail's options (ignored by plain SMTP).
    email.metadata = {"silverpool_message": str(message.pk)}
    email.tags = [message.kind]
    email.track_clicks = True
    email.track_opens = message.organization.open_tracking
    try:
        opened = provider.open()  # SMTP connects here: a failure now proves nothing was sent
    except Exception as error:
        raise ProviderUnreachable(str(error)) from error
    try:
        email.send()
    finally:
        if opened:
            _close_quietly(provider)  # one connection per email, as the backends do by themselves
    status = getattr(email, "anymail_status", None)
    return (status.message_id if status is not None and status.message_id else None) or message_id


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

            extra = campaign_fields(message, site_url=site_url())
            if extra is None:
                return _suppress(message, EXCLUSIONS["no_matching_job"])
            sender_name = extra.pop("sender_name", "")
        try:
            rendered, headers = render_message(message, extra)
        except Exception as error:  # a template broken since it was queued: a person must look
            logger.exception("outbox: message %s could not be rendered", message.pk)
            # The reason is shown to recruiters: never an exception's dump of the merge context.
            reason = str(error) if isinstance(error, TemplateRenderError) else f"rendering failed: {type(error).__name__}"
            Message.all_tenants.filter(pk=message.pk).update(status=MessageStatus.FAILED, status_reason=reason[:300])
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
            from .inbound import reply_token_for

            reply_token = reply_token_for(message)
            # The mark that makes a crash during the provider call visible instead of silently resent.
            marked = Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING,
                                                provider_call_started_at__isnull=True).update(
                provider_call_started_at=timezone.now(), subject=rendered.subject, html=rendered.html,
                text=rendered.text, headers=headers, template_version=message.template.version,
                reply_token=reply_token, updated_at=timezone.now())
        if not marked:
            return "gone"
        message.subject = rendered.subject
        message.reply_token = reply_token
        heal_connection()  # with the pool: back to it while the provider answers, so the other sends use it
        try:
            provider_id = deliver(message, rendered, headers, sender_name)
        except Exception as error:
            forget_email_connection()
            outcome = provider_outcome(error)
            return _write_or_defer(functools.partial(_record_failure, message, error, outcome))
        return _write_or_defer(lambda: _record_sent(message, provider_id))


def _record_sent(message, provider_id):
    """The provider took it. Whoever records the send first (this, or a provider event) writes the timeline."""
    now = timezone.now()
    with organization_scope(message.organization), transaction.atomic():
        first = Message.all_tenants.filter(pk=message.pk, sent_at__isnull=True).update(
            sent_at=now, provider_message_id=str(provider_id)[:200], updated_at=now)
        # From review too: the reaper may have flagged it while the database was away.
        Message.all_tenants.filter(pk=message.pk, status__in=[MessageStatus.SENDING, MessageStatus.NEEDS_REVIEW]).update(
            status=MessageStatus.SENT, provider_message_id=str(provider_id)[:200], status_reason="", updated_at=now)
        if first:
            from .services import record_sent_on_timeline

            record_sent_on_timeline(message)
    return "sent"


def _record_failure(message, error, outcome):
    """Retry only what the provider provably did not take; an unknown outcome waits for a person or an event."""
    sending = Message.all_tenants.filter(pk=message.pk, status=MessageStatus.SENDING)
    now = timezone.now()
    if outcome == RETRY and message.attempts < MAX_ATTEMPTS:
        delay = timedelta(seconds=30 * 2 ** (message.attempts - 1))
        sending.update(status=MessageStatus.QUEUED, provider_call_started_at=None, send_after=now + delay,
                       status_reason=f"retrying after: {error}"[:300], updated_at=now)
        return "retry"
    if outcome in (RETRY, FAILED):
        sending.update(status=MessageStatus.FAILED, status_reason=f"{error}"[:300], updated_at=now)
        return "failed"
    logger.warning("outbox: message %s may or may not have reached the provider: %r", message.pk, error)
    sending.update(status=MessageStatus.NEEDS_REVIEW, updated_at=now,
                   status_reason=f"no answer from the provider after the email went out: {error}"[:300])
    return "needs_review"


# --- Database faults ----------------------------------------------------------------------------

def heal_connection():
    """Drop this thread's database connection if it broke or aged out (the next query reconnects).

    With a connection pool, closing hands the connection back to the pool, which discards a broken one.
    Inside a transaction (tests run sends in theirs) the connection is left alone.
    """
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def discard_broken_connection():
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DATABASE_ERRORS:
        pass  # closing a dead connection may complain; it is gone either way


def _write_or_defer(write):
    """Run `write` now, on a fresh connection if this one broke; else keep it until the database is back."""
    for _ in range(2):
        try:
            return write()
        except DATABASE_ERRORS:
            discard_broken_connection()
    logger.warning("outbox: the database is away; a send's outcome is kept until it is back")
    with _pending_lock:
        _pending_writes.append(write)
    return "deferred"


def flush_pending_writes():
    """Write the outcomes kept while the database was away; returns False while it still is."""
    with _pending_lock:
        writes = list(_pending_writes)
        _pending_writes.clear()
    for index, write in enumerate(writes):
        try:
            write()
        except DATABASE_ERRORS:
            discard_broken_connection()
            with _pending_lock:
                _pending_writes[:0] = writes[index:]
            return False
    return True


def has_pending_writes():
    with _pending_lock:
        return bool(_pending_writes)


def _release_after_database_error(message_id):
    """The provider was not called: back to the queue, the attempt not charged."""
    Message.all_tenants.filter(pk=message_id, status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED, attempts=F("attempts") - 1, provider_call_started_at=None,
        status_reason="requeued after a database error", updated_at=timezone.now())
    return "requeued"


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
    if settings.OUTBOX_SEND_CONCURRENCY > 1:
        heal_connection()  # with the pool: the waiting task thread lends its connection to the send threads
    results = map(_send_in_thread, ids) if settings.OUTBOX_SEND_CONCURRENCY <= 1 else executor().map(
        _send_in_thread, ids)
    for outcome in results:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _send_in_thread(message_id):
    heal_connection()
    try:
        return send_one(message_id)
    except DATABASE_ERRORS as error:
        # Raised before the provider call (its outcome is written by send_one itself, or deferred).
        logger.warning("outbox: message %s met a database error: %s", message_id, error)
        discard_broken_connection()
        return _write_or_defer(lambda: _release_after_database_error(message_id))
    except Exception:
        logger.exception("outbox: message %s", message_id)
        return "error"
    finally:
        heal_connection()


def wait_for_database(seconds):
    """Sleep a moment after a database error, so a restart is waited out rather than hammered."""
    discard_broken_connection()
    time.sleep(seconds)
