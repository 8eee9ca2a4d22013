"""Role checks for pages. A role that may not do something gets 404, as if it did not exist."""

from functools import wraps

from django.http import Http404

from .models import Role

ADMIN = (Role.ADMIN,)
RECRUITING = (Role.ADMIN, Role.RECRUITER)
EVERYONE = (Role.ADMIN, Role.RECRUITER, Role.HIRING_MANAGER)


def role_required(roles):
    """Allow the view to members whose role is in `roles`; everyone else gets 404."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = getattr(request, "membership", None)
            if membership is None or membership.role not in roles:
                raise Http404("Not found.")
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorator
