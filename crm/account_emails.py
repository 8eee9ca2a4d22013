"""Account emails (invitations): written in the transaction of the action that causes them, sent by a worker.

A row is claimed (`sending`) by one worker with a conditional UPDATE over SKIP LOCKED rows, sent with
Django's `send_mail`, then marked `sent` and its body blanked (it may carry a one-time link). An error
that proves the email was not taken (the connection could not be opened, a 4xx answer) puts it back in
the queue with a later `send_after`; anything else, or a row left `sending` by a dead worker, is never
sent again: it is marked failed or `needs_review` with the reason, shown on the members page.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import connection, transaction
from django.utils import timezone

from .models import AccountEmail, AccountEmailStatus
from .provider_outcome import RETRY, UNKNOWN, ProviderUnreachable, provider_outcome

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH_SIZE = 50
# A row still `sending` after this long was left by a worker that stopped.
STALE_AFTER = timedelta(minutes=5)

def account_email_queue(*, organization, to_email, subject, body, invitation=None):
    """Write an email in the current transaction; a worker is nudged once it commits."""
    from .tasks import nudge_on_commit, send_account_emails

    email = AccountEmail.objects.create(organization=organization, invitation=invitation, to_email=to_email,
                                        subject=subject[:300], body=body)
    nudge_on_commit(send_account_emails)
    return email


def claim_due(limit=BATCH_SIZE):
    """Claim due rows for this worker; concurrent claimers never get the same row."""
    table = AccountEmail._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET status = 'sending', claimed_at = clock_timestamp(), attempts = attempts + 1
            WHERE id IN (SELECT id FROM {table} WHERE status = 'queued' AND send_after <= clock_timestamp()
                         ORDER BY send_after LIMIT %s FOR UPDATE SKIP LOCKED)
            RETURNING id
            """,  # noqa: S608  (the table name is the model's, not input)
            [limit],
        )
        return sorted(row[0] for row in cursor.fetchall())


def flag_stale(now=None):
    """Rows left `sending` by a worker that stopped: they may have gone out, so a person decides."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    flagged = AccountEmail.all_tenants.filter(status=AccountEmailStatus.SENDING, claimed_at__lt=cutoff).update(
        status=AccountEmailStatus.NEEDS_REVIEW, body="",
        last_error="the sending stopped midway: it may or may not have been delivered")
    if flagged:
        logger.warning("account emails: %s left sending by a stopped worker, flagged for review", flagged)
    return flagged


def _deliver(email):
    provider = get_connection(fail_silently=False)
    try:
        opened = provider.open()  # SMTP connects here: a failure now proves nothing was sent
    except Exception as error:
        raise ProviderUnreachable(f"{type(error).__name__}: {error}") from error
    try:
        send_mail(email.subject, email.body, settings.DEFAULT_FROM_EMAIL, [email.to_email], connection=provider)
    finally:
        if opened:
            try:
                provider.close()
            except Exception:  # the email went out; a failed QUIT changes nothing
                logger.debug("account emails: closing the connection failed", exc_info=True)


def send_one(email_id):
    """Send one claimed row; returns "sent", "retry", "failed", "needs_review" or "gone"."""
    email = (AccountEmail.all_tenants.select_related("invitation")
             .filter(pk=email_id, status=AccountEmailStatus.SENDING).first())
    if email is None:
        return "gone"
    sending = AccountEmail.all_tenants.filter(pk=email_id, status=AccountEmailStatus.SENDING)
    now = timezone.now()
    if email.invitation is not None and email.invitation.status != "pending":
        # Revoked, accepted or expired while the email waited: its link no longer works.
        sending.update(status=AccountEmailStatus.FAILED, body="",
                       last_error=f"not sent: the invitation is {email.invitation.status}")
        return "failed"
    try:
        _deliver(email)
    except Exception as error:
        outcome = provider_outcome(error)
        reason = (str(error) if isinstance(error, ProviderUnreachable) else f"{type(error).__name__}: {error}")[:300]
        if outcome == RETRY and email.attempts < MAX_ATTEMPTS:
            delay = min(timedelta(seconds=30 * 2 ** (email.attempts - 1)), timedelta(hours=1))
            sending.update(status=AccountEmailStatus.QUEUED, send_after=now + delay, last_error=reason)
            logger.warning("account email %s not delivered (attempt %s), retrying: %s", email_id, email.attempts,
                           reason)
            return "retry"
        if outcome == UNKNOWN:
            logger.warning("account email %s may or may not have been delivered: %s", email_id, reason)
            sending.update(status=AccountEmailStatus.NEEDS_REVIEW, body="",
                           last_error=f"no answer after the email went out ({reason})"[:300])
            return "needs_review"
        if outcome == RETRY:
            reason = f"gave up after {email.attempts} attempts: {reason}"[:300]
        logger.error("account email %s failed: %s", email_id, reason)
        sending.update(status=AccountEmailStatus.FAILED, body="", last_error=reason)
        return "failed"
    # From review too: the stale check may have flagged it while a slow server was answering.
    AccountEmail.all_tenants.filter(
        pk=email_id, status__in=[AccountEmailStatus.SENDING, AccountEmailStatus.NEEDS_REVIEW]
    ).update(status=AccountEmailStatus.SENT, sent_at=timezone.now(), body="", last_error="")
    return "sent"


def send_due():
    """Flag stale rows, then claim and send every due email; returns how many of each outcome."""
    flag_stale()
    outcomes = {}
    while True:
        with transaction.atomic():
            ids = claim_due()
        if not ids:
            return outcomes
        for email_id in ids:
            outcome = send_one(email_id)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1


def cancel_for_invitation(invitation):
    """A revoked invitation's email that has not gone out yet never will."""
    return AccountEmail.all_tenants.filter(invitation=invitation, status=AccountEmailStatus.QUEUED).update(
        status=AccountEmailStatus.FAILED, body="", last_error="the invitation was revoked before its email went out")
