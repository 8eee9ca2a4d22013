"""Reads of the core, always within the organization in scope."""

from django.utils import timezone

from .models import ApiKey, AuditEvent, Invitation, Membership
from .tenancy import require_organization_id


def members():
    return Membership.objects.select_related("user").order_by("user__first_name", "user__last_name", "user__email")


def pending_invitations():
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")


def api_keys():
    return ApiKey.objects.select_related("created_by").order_by("revoked_at", "-created_at")


def audit_events(*, before_id=None, limit=50):
    """The organization's audit log, newest first, paged by id (keyset)."""
    events = AuditEvent.objects.filter(organization_id=require_organization_id()).order_by("-id")
    if before_id is not None:
        events = events.filter(id__lt=before_id)
    return list(events[: limit + 1])
