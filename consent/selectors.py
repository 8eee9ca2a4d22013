"""Reads of consent. Every filter reads ConsentState, never the ledger's latest row."""

from django.utils import timezone

from .models import ConsentRecord, ConsentState, State


def has_marketing_consent(candidate, topic_key, *, now=None):
    """Confirmed, unexpired and unwithdrawn consent for `topic_key` (DESIGN: who may be emailed)."""
    return ConsentState.objects.filter(candidate=candidate, purpose__key=topic_key, state=State.GRANTED,
                                       expires_at__gt=now or timezone.now()).exists()


def states_for(candidate):
    return list(ConsentState.objects.filter(candidate=candidate).select_related("purpose").order_by(
        "purpose__position"))


def ledger_for(candidate):
    return list(ConsentRecord.objects.filter(candidate=candidate).select_related(
        "purpose", "text", "acting_user").order_by("-created_at", "-id"))
