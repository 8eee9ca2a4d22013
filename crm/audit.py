"""The audit log: services call `audit()` for every sensitive action."""

from .models import ApiKey, AuditEvent
from .tenancy import current_organization


def actor_label(actor):
    if actor is None:
        return "system"
    if isinstance(actor, ApiKey):
        creator = actor.created_by.email if actor.created_by_id and actor.created_by else "a removed user"
        return f"API key “{actor.name}” (created by {creator})"
    return actor.email


def audit(action, *, actor, obj=None, details=None, platform=False):
    """Record that `actor` (a user, an ApiKey or None for the system) did `action` to `obj`.

    The row belongs to the organization in scope; `platform=True` keeps it outside any
    organization, so that it outlives the organization (its deletion, for instance).
    """
    organization = None if platform else current_organization()
    return AuditEvent.objects.create(
        organization=organization,
        organization_name=organization.name if organization is not None else "",
        actor_user=actor if actor is not None and not isinstance(actor, ApiKey) else None,
        actor_api_key=actor if isinstance(actor, ApiKey) else None,
        actor_label=actor_label(actor),
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        details=details or {},
    )
