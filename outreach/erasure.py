"""What the email engine holds about a person: emails, their provider events, RSVPs and replies (see crm.erasure)."""

from django.db.models import Q

from crm.erasure import iso

from . import models


def _messages(candidate_or_erasure):
    candidate = getattr(candidate_or_erasure, "candidate", candidate_or_erasure)
    email = (candidate.email or "").strip()
    # A confirmation sent before the person was a candidate has their address and no candidate.
    return models.Message.all_tenants.filter(organization_id=candidate.organization_id).filter(
        Q(candidate_id=candidate.pk) | Q(candidate__isnull=True, to_email__iexact=email))


def export_emails(candidate):
    messages = _messages(candidate).order_by("created_at", "id").prefetch_related("events")
    return [{
        "subject": m.subject, "kind": m.kind, "status": m.status, "to": m.to_email, "sent_at": iso(m.sent_at),
        "events": [{"type": e.event_type, "at": iso(e.occurred_at), "description": e.description}
                   for e in sorted(m.events.all(), key=lambda e: (e.occurred_at, e.pk))],
    } for m in messages]


def export_rsvps(candidate):
    rsvps = models.Rsvp.objects.filter(candidate=candidate).select_related("campaign").order_by("answered_at")
    return [{"event": r.campaign.event_name or r.campaign.name, "starts_at": iso(r.campaign.event_starts_at),
             "answer": r.answer, "answered_at": iso(r.answered_at)} for r in rsvps]


def export_replies(candidate):
    reply_model = getattr(models, "Reply", None)
    if reply_model is None:
        return []
    replies = reply_model.objects.filter(candidate=candidate).order_by("received_at", "id")
    return [{"received_at": iso(r.received_at), "from": r.from_email, "subject": r.subject, "text": r.text}
            for r in replies]


def erase_messages(erasure):
    """Emails keep their row (campaign counts, the outbox's history) without address, subject, body or
    context; their provider events (payloads carry the address) go."""
    messages = _messages(erasure)
    ids = list(messages.values_list("pk", flat=True))
    erasure.forget_in_audit("Message", ids)
    removed = models.MessageEvent.all_tenants.filter(organization_id=erasure.organization_id,
                                                     message_id__in=ids).delete()[0]
    removed += models.Message.all_tenants.filter(pk__in=ids).update(
        to_email="erased@invalid", subject="", html="", text="", headers={}, context={}, candidate=None,
        status_reason="erased")
    return removed


def erase_rsvps(erasure):
    rsvps = models.Rsvp.all_tenants.filter(organization_id=erasure.organization_id,
                                           candidate_id=erasure.candidate.pk)
    erasure.forget_in_audit("Rsvp", rsvps.values_list("pk", flat=True))
    return rsvps.delete()[0]


def erase_replies(erasure):
    """Replies the person sent, and what shows them (the inbound module's own eraser)."""
    import importlib

    try:
        inbound = importlib.import_module("outreach.inbound")
    except ImportError:  # a deployment without inbound replies holds none
        return 0
    erase_replies_for = getattr(inbound, "erase_replies_for", None)
    return erase_replies_for(erasure.candidate) if erase_replies_for is not None else 0
