"""Replies: every candidate email carries its own reply address, and what comes back lands on the timeline.

A sent email's Reply-To is `<INBOUND_REPLY_LOCAL_PART>+<token>@<INBOUND_REPLY_DOMAIN>`, where the token is
random (120 bits, stored on the message, never its id); its Message-ID carries the same token, so a reply
that lost the address still names it in In-Reply-To or References. The provider posts the reply to
anymail's inbound webhook (outreach.inbound_urls, behind the same guard as the tracking webhooks) and
`on_inbound` then, in the webhook's one transaction:
- finds the message by the token (recipients first, then the threading headers);
- drops, with one log line and no row, an email with no token of ours, one naming messages of two
  organizations, or one about a person who was erased (the provider gets a 200 and does not retry);
- stores a `Reply` (a replayed post is the same reply: unique on its Message-ID, else the provider's id),
  writes it on the candidate's timeline and in the message's events, and forwards it to the
  organization's reply-to address through the durable account-email queue.
Automatic answers (out of office, vacation, bulk) are kept and shown, but never counted as replies, never
moved the candidate's last activity and are never forwarded. A reply asking to stop is flagged for a
recruiter (the Outbox page lists it); nothing is changed for the person by itself.
"""

import base64
import hashlib
import html
import logging
import re
import secrets
from datetime import UTC, datetime
from email.utils import formataddr, parseaddr

import nh3
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.models import NOTES_MAX_LENGTH, ActivityKind
from crm.tenancy import organization_scope

from .models import Message, MessageEvent, Reply

logger = logging.getLogger(__name__)

TOKEN_BYTES = 15  # 120 bits: 24 characters of lowercase base32, safe in a local part however it is cased
TOKEN = r"[a-z2-7]{24}"
TOKEN_IN_ADDRESS = re.compile(rf"[^\s<>\"'@,;:+]*\+({TOKEN})@", re.IGNORECASE)
TOKEN_IN_MESSAGE_ID = re.compile(rf"\.r-({TOKEN})@", re.IGNORECASE)
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "Bcc")
THREAD_HEADERS = ("In-Reply-To", "References")
HEADER_LIMIT = 20_000  # characters of one header read for tokens (a References list can be long, not endless)
# Text PostgreSQL cannot store: NUL characters and lone surrogates.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A personal link (unsubscribe, preferences, stay in touch) quoted back in a reply never works for a recruiter.
PERSONAL_LINK = re.compile(r"https?://[^\s\"'<>/]+/p/[^\s\"'<>]+")


# --- The reply address -------------------------------------------------------------------------------

def enabled():
    return bool(settings.INBOUND_REPLY_DOMAIN)


def new_reply_token():
    return base64.b32encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii").lower()


def reply_token_for(message):
    """The message's token, made when it is first sent: only emails to a candidate get one (a confirmation to
    someone without a profile, or a recruiter's test send, keeps the organization's own reply-to)."""
    if message.reply_token:
        return message.reply_token
    if not enabled() or message.candidate_id is None or message.context.get("test"):
        return ""
    return new_reply_token()


def reply_address(message, sender_name=None):
    """`Name <replies+token@domain>` for a message with a token, else None (the feature is off)."""
    if not enabled() or not message.reply_token:
        return None
    organization = message.organization
    name = sender_name or organization.sender_name or organization.name
    return formataddr((name, f"{settings.INBOUND_REPLY_LOCAL_PART}+{message.reply_token}@"
                             f"{settings.INBOUND_REPLY_DOMAIN}"))


def tokens_in_addresses(values):
    return _unique(match.lower() for value in values for match in TOKEN_IN_ADDRESS.findall(value))


def tokens_in_message_ids(values):
    return _unique(match.lower() for value in values for match in TOKEN_IN_MESSAGE_ID.findall(value))


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


# --- What an automatic answer and a request to stop look like ------------------------------------------------

AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk"}
AUTO_SUBJECTS = re.compile(
    r"out[\s-]*of[\s-]*(the[\s-]*)?office|auto[\s-]*reply|automatic\s+reply|auto[\s-]*response|autoresponder"
    r"|away\s+from\s+(the\s+)?office|on\s+vacation|on\s+holiday|on\s+leave|i\s+am\s+away|i'?m\s+away"
    # French
    r"|absence\s+du\s+bureau|absent(e)?\s+du\s+bureau|r[ée]ponse\s+automatique|message\s+d'absence"
    r"|en\s+cong[ée]s?\b"
    # German
    r"|abwesenheit|automatische\s+antwort|nicht\s+im\s+b[üu]ro|au[ßs]er\s+haus|im\s+urlaub"
    # Spanish
    r"|respuesta\s+autom[áa]tica|fuera\s+de\s+(la\s+)?oficina|ausente\s+de\s+(la\s+)?oficina|de\s+vacaciones",
    re.IGNORECASE)

STOP_PHRASES = re.compile(
    r"\bunsubscrib\w*|\bremove\s+me\b|\btake\s+me\s+off\b|\bopt[\s-]*(me\s+)?out\b"
    r"|\bstop\s+(e-?mailing|emailing|sending|contacting|writing|messaging|mailing)\b"
    r"|\b(do\s+not|don'?t)\s+(contact|e-?mail|email|write\s+to)\s+me\b|\bno\s+more\s+e-?mails\b"
    r"|^\W*(please\s+)?stop\W*$"
    # French
    r"|d[ée]sinscri\w*|d[ée]sabonn\w*|ne\s+plus\s+(me\s+)?(contacter|recevoir|[ée]crire)"
    r"|retirez[\s-]*moi|supprimez[\s-]*moi|arr[êe]tez\s+de\s+m"
    # German
    r"|\babmelden\b|\babbestell\w*|\baustragen\b|keine\s+e-?mails?\s+mehr|nicht\s+mehr\s+(kontaktieren|anschreiben)"
    r"|entfernen\s+sie\s+mich|l[öo]schen\s+sie\s+mich"
    # Spanish
    r"|\bdar(me|se)?\s+de\s+baja|cancelar\s+(la\s+)?suscripci[óo]n|no\s+me\s+(contacten|escriban)"
    r"|elim[íi]nenme|elim[íi]name|qu[íi]tenme|qu[íi]tame",
    re.IGNORECASE | re.MULTILINE)

# Where the quoted original starts in a reply: "On … wrote:", "Le … a écrit :", "Am … schrieb …:", "El … escribió:".
QUOTE_START = re.compile(
    r"^\s*(on\s.+wrote:|le\s.+a\s+[ée]crit\s*:|am\s.+schrieb.*:|el\s.+escribi[óo]:"
    r"|-{2,}\s*(original message|message d'origine|urspr[üu]ngliche nachricht|mensaje original)\s*-{2,}"
    r"|(from|de|von)\s*:\s.+@.+|_{10,})\s*$",
    re.IGNORECASE)


def is_auto_reply(email, subject):
    """An out-of-office, vacation, bulk or delivery-report answer (RFC 3834 headers, the common vendors' own, the
    usual subjects in English, French, German and Spanish)."""
    auto_submitted = (_header(email, "Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if _header(email, "X-Autoreply") or _header(email, "X-Autorespond") or _header(email, "X-Autoresponder"):
        return True
    if (_header(email, "Precedence") or "").strip().lower() in AUTO_PRECEDENCE:
        return True
    if (_header(email, "X-Auto-Response-Suppress") or "").strip().lower() in {"all", "oof"} and AUTO_SUBJECTS.search(
            subject):
        return True
    try:
        if email.get_content_type() == "multipart/report":
            return True  # a delivery status notification, not a person
    except Exception:  # a broken Content-Type tells nothing
        pass
    return bool(AUTO_SUBJECTS.search(subject))


def fresh_text(text):
    """The part the person wrote: up to the quoted original, without quoted (`>`) lines."""
    lines = []
    for line in text.splitlines():
        if QUOTE_START.match(line):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()


def asks_to_stop(fresh, subject, original_subject):
    """Words asking not to be written to again, in what the person wrote (our own footer's "unsubscribe" in the
    quoted original does not count) or in a subject of their own."""
    if STOP_PHRASES.search(fresh):
        return True
    subject = re.sub(r"^\s*((re|aw|sv|rv|réf|ref|tr|fwd?|wg)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()
    return bool(subject) and subject != (original_subject or "").strip() and bool(STOP_PHRASES.search(subject))


# --- Reading an inbound email ---------------------------------------------------------------------------

def _clean(value, limit):
    """Storable text: a string, without NUL characters or lone surrogates, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return UNSTORABLE.sub("", value)[:limit]


def _header(email, name):
    try:
        values = email.get_all(name) or []
    except Exception:  # a header the parser cannot decode is as good as absent
        return ""
    return " ".join(_clean(value, HEADER_LIMIT) for value in values)


def _headers(email, names):
    return [_header(email, name) for name in names]


def _body_text(email):
    stripped = getattr(email, "stripped_text", None)
    text = email.text
    if not text:
        markup = email.html
        if markup:
            text = html.unescape(nh3.clean(str(markup), tags=set()))
    full = _clean(text or "", 1_000_000)
    return full, _clean(stripped, 1_000_000) if isinstance(stripped, str) else None


def _sender(email):
    raw = _header(email, "From")
    _, address = parseaddr(raw)
    return _clean(address or raw, 254)


def _subject(email):
    return " ".join(_clean(_header(email, "Subject"), 2_000).split())[:300]


def _received_at(event):
    timestamp = event.timestamp
    now = timezone.now()
    if not isinstance(timestamp, datetime):
        return now
    if timezone.is_naive(timestamp):
        timestamp = timezone.make_aware(timestamp, UTC)
    return min(timestamp, now)  # a clock ahead would put the reply in the future


def _dedupe_key(esp_name, event, message_id_header, sender, subject, text):
    if message_id_header:
        return f"mid:{message_id_header}"[:300]
    event_id = event.event_id
    if isinstance(event_id, (str, int)) and str(event_id).strip():
        return f"{esp_name}:{_clean(event_id, 200)}"[:300]
    digest = hashlib.sha256("\n".join([sender, subject, text]).encode("utf-8", "replace")).hexdigest()
    return f"sha:{digest}"


def _read(event, esp_name):
    email = event.message
    subject = _subject(email)
    full, stripped = _body_text(email)
    message_id_header = _clean(_header(email, "Message-ID").strip(), 300)
    sender = _sender(email)
    recipients = [_clean(getattr(email, "envelope_recipient", None) or "", HEADER_LIMIT),
                  *_headers(email, RECIPIENT_HEADERS)]
    return {
        "subject": subject,
        "text": full,
        "fresh": stripped if stripped else fresh_text(full),
        "sender": sender,
        "message_id_header": message_id_header,
        "recipient_tokens": tokens_in_addresses(recipients),
        "thread_tokens": tokens_in_message_ids(_headers(email, THREAD_HEADERS)),
        "auto_reply": is_auto_reply(email, subject),
        "received_at": _received_at(event),
        "dedupe_key": _dedupe_key(esp_name, event, message_id_header, sender, subject, full),
        "provider_message_id": _clean(event.event_id, 200) if isinstance(event.event_id, (str, int)) else "",
    }


def _drop(esp_name, reason):
    logger.info("inbound email from %s dropped: %s", esp_name, reason)


def _find_message(facts):
    """(message, None) or (None, why it is dropped)."""
    tokens = facts["recipient_tokens"] + [t for t in facts["thread_tokens"] if t not in facts["recipient_tokens"]]
    if not tokens:
        return None, "no reply address of ours"
    found = {message.reply_token: message for message in Message.all_tenants.select_related(
        "organization", "candidate").filter(reply_token__in=tokens[:20])}
    messages = [found[token] for token in tokens[:20] if token in found]
    if not messages:
        return None, "an unknown reply token"
    if len({message.organization_id for message in messages}) > 1:
        return None, "it names messages of more than one organization"
    message = messages[0]
    if message.candidate is None:
        return None, "the person was erased"
    return message, None


# --- The receiver --------------------------------------------------------------------------------------

def on_inbound(sender, *, event, esp_name, **kwargs):
    """anymail's inbound signal: a reply to one of our messages, stored once and shown (see the module)."""
    esp_name = str(esp_name)
    if event.message is None:
        return _drop(esp_name, "no email in the post")
    try:
        facts = _read(event, esp_name)
    except Exception as error:  # the provider delivered it; an email that cannot be read never will be
        return _drop(esp_name, f"the email cannot be read ({type(error).__name__})")
    message, reason = _find_message(facts)
    if message is None:
        return _drop(esp_name, reason)
    with organization_scope(message.organization), transaction.atomic():
        reply = _store(message, facts, esp_name)
        if reply is None:
            return _drop(esp_name, f"a replay of reply {facts['dedupe_key'][:80]!r}")
        logger.info("inbound email from %s: reply %s to message %s%s", esp_name, reply.pk, message.pk,
                    " (automatic)" if reply.auto_reply else " (asks to stop)" if reply.stop_request else "")


def _store(message, facts, esp_name):
    limit = min(settings.INBOUND_REPLY_TEXT_LIMIT, NOTES_MAX_LENGTH)
    text = PERSONAL_LINK.sub("[personal link]", facts["text"])[:limit]
    fresh = PERSONAL_LINK.sub("[personal link]", facts["fresh"])[:limit]
    auto = facts["auto_reply"]
    stop = not auto and asks_to_stop(facts["fresh"], facts["subject"], message.subject)
    reply = Reply(organization_id=message.organization_id, message=message, candidate=message.candidate,
                  received_at=facts["received_at"], from_email=facts["sender"], subject=facts["subject"], text=text,
                  auto_reply=auto, stop_request=stop, provider=esp_name[:40],
                  provider_message_id=facts["provider_message_id"], message_id_header=facts["message_id_header"],
                  dedupe_key=facts["dedupe_key"])
    try:
        with transaction.atomic():
            reply.save()
    except IntegrityError:
        return None
    _show(reply, message, fresh or text)
    if not auto:
        reply.forward_email = _forward(reply, message)
        if reply.forward_email is not None:
            reply.save(update_fields=["forward_email"])
    return reply


def _show(reply, message, body):
    from crm.services import activity_record

    about = message.subject or message.get_kind_display()
    if reply.auto_reply:
        kind, summary, event_type = ActivityKind.EMAIL, f"Automatic reply to “{about}”", "auto_replied"
    else:
        kind, event_type = ActivityKind.REPLY, "replied"
        summary = f"Replied to “{about}”" + (" and asked to stop" if reply.stop_request else "")
    activity_record(candidate=message.candidate, kind=kind, actor=None, summary=summary[:300], body=body,
                    occurred_at=reply.received_at,
                    details={"message_id": message.pk, "reply_id": reply.pk, "stop_request": reply.stop_request})
    MessageEvent.objects.create(
        organization_id=message.organization_id, message=message, event_type=event_type,
        event_id=f"reply:{reply.pk}", occurred_at=reply.received_at,
        description="asked to stop: review on the Outbox page" if reply.stop_request else "",
        payload={"reply_id": reply.pk, "esp": reply.provider})


def forward_address(organization):
    """Where a reply is forwarded: the organization's reply-to (else sender) address, unless it is one of ours."""
    address = organization.reply_to_email or organization.sender_email
    if not address or not settings.INBOUND_FORWARD_REPLIES:
        return None
    domain = address.rpartition("@")[2].strip().lower()
    if settings.INBOUND_REPLY_DOMAIN and domain == settings.INBOUND_REPLY_DOMAIN:
        return None  # it would come back here and be dropped: no loop
    return address


def _forward(reply, message):
    from crm.account_emails import account_email_queue
    from crm.links import site_link

    to_email = forward_address(message.organization)
    if to_email is None:
        return None
    candidate = message.candidate
    page = site_link("candidate_detail", org_slug=message.organization.slug, candidate_id=candidate.pk)
    lines = [f"{candidate.full_name} <{reply.from_email}> replied to “{message.subject or message.get_kind_display()}”"
             f" on {timezone.localtime(reply.received_at, message.organization.time_zone):%d %b %Y %H:%M}.",
             f"Their page: {page}"]
    if reply.stop_request:
        lines.append("They seem to ask not to be written to again: nothing was changed; review it on the Outbox page.")
    body = "\n".join(lines) + "\n\n" + (reply.text or "(no text)")
    subject = f"Reply from {candidate.full_name}: {reply.subject or message.subject}"
    return account_email_queue(organization=message.organization, to_email=to_email, subject=subject[:300],
                               body=body)


# --- Erasure ---------------------------------------------------------------------------------------------

def erase_replies_for(candidate):
    """Remove every reply of `candidate` and what shows it: timeline lines, message events, and forwards of
    them still waiting to be sent. Returns how many replies were removed."""
    from crm.models import AccountEmail, AccountEmailStatus, Activity

    replies = Reply.all_tenants.filter(organization_id=candidate.organization_id, candidate_id=candidate.pk)
    ids = list(replies.values_list("pk", flat=True))
    if not ids:
        return 0
    forwards = [pk for pk in replies.values_list("forward_email_id", flat=True) if pk]
    AccountEmail.all_tenants.filter(pk__in=forwards, status=AccountEmailStatus.QUEUED).update(
        status=AccountEmailStatus.FAILED, body="", last_error="not sent: the person was erased")
    Activity.all_tenants.filter(organization_id=candidate.organization_id, candidate_id=candidate.pk,
                                details__reply_id__in=ids).delete()
    MessageEvent.all_tenants.filter(organization_id=candidate.organization_id,
                                    event_id__in=[f"reply:{pk}" for pk in ids]).delete()
    replies.delete()
    return len(ids)


# --- For recruiters --------------------------------------------------------------------------------------

def stop_requests_to_review(limit=50):
    """Replies asking to stop that no recruiter has looked at yet, newest first (the Outbox page lists them)."""
    return list(Reply.objects.filter(stop_request=True, stop_reviewed_at__isnull=True)
                .select_related("candidate", "message").order_by("-received_at", "-id")[:limit])


def stop_request_reviewed(*, reply, actor):
    """A recruiter looked at a request to stop (and did what the person asked, or not): it leaves the list."""
    from crm.audit import audit

    if not reply.stop_request or reply.stop_reviewed_at is not None:
        return False
    reply.stop_reviewed_at = timezone.now()
    reply.stop_reviewed_by = actor
    reply.save(update_fields=["stop_reviewed_at", "stop_reviewed_by"])
    audit("reply.stop_request_reviewed", actor=actor, obj=reply.candidate, details={"reply_id": reply.pk})
    return True
