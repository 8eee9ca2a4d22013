from .models import Membership


def organization(request):
    """The organization in scope and the user's other organizations, for the layout."""
    user = getattr(request, "user", None)
    memberships = []
    if user is not None and user.is_authenticated:
        memberships = list(
            Membership.all_tenants.select_related("organization")
            .filter(user=user, organization__deletion_requested_at__isnull=True)
            .order_by("organization__name")
        )
    return {
        "organization": getattr(request, "organization", None),
        "membership": getattr(request, "membership", None),
        "user_memberships": memberships,
    }
