"""The audit log: services call `audit()` for every sensitive action.

Every row belongs to an organization: `audit()` refuses to write one with no organization in
scope, or about another organization's object, so that no action goes missing from the
organization's audit page. The only rows without one are the platform's own facts, named in
PLATFORM_EVENTS and written with `platform=True` (they outlive the organization).
"""

from .models import ApiKey, AuditEvent
from .tenancy import current_organization

# Facts about the platform rather than inside an organization.
PLATFORM_EVENTS = frozenset({"organization.deletion_requested"})


class AuditWithoutOrganization(RuntimeError):
    """An organization's action was about to be audited outside that organization."""


def actor_label(actor):
    if actor is None:
        return "system"
    if isinstance(actor, ApiKey):
        creator = actor.created_by.email if actor.created_by_id and actor.created_by else "a removed user"
        return f"API key “{actor.name}” (created by {creator})"
    return actor.email


def _organization_for(action, obj, platform):
    if platform:
        if action not in PLATFORM_EVENTS:
            raise AuditWithoutOrganization(f"“{action}” is not a platform event; audit it inside its organization.")
        return None
    organization = current_organization()
    if organization is None:
        raise AuditWithoutOrganization(
            f"“{action}” was audited with no organization in scope: audit inside the organization's scope "
            "(for a download, before its first row goes out).")
    owner = getattr(obj, "organization_id", None)
    if owner is not None and owner != organization.pk:
        raise AuditWithoutOrganization(f"“{action}” is about another organization's {type(obj).__name__}.")
    return organization


def audit(action, *, actor, obj=None, details=None, platform=False):
    """Record that `actor` (a user, an ApiKey or None for the system) did `action` to `obj`.

    The row belongs to the organization in scope (raises AuditWithoutOrganization without one);
    `platform=True`, for the events of PLATFORM_EVENTS only, keeps it outside any organization.
    """
    organization = _organization_for(action, obj, platform)
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
