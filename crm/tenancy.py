"""The organization in scope, and the managers that refuse to work without one.

Every tenant-owned model inherits `TenantModel`. Its default manager (`objects`) filters by
the organization in scope and raises `NoOrganizationInScope` when there is none, so a
forgotten filter fails loudly instead of leaking. The only ways out are `for_organization()`
and the loudly named `all_tenants` manager, meant for the admin, migrations and system jobs;
the admin's views also run in `every_organization_scope()`, where Django's own validation reads
through the default manager.
Traps (as PostHog's scoping README lists them): related managers use the plain base manager,
`prefetch_related` follows relations without scoping, and raw SQL bypasses managers: keep
those on relations of an already-scoped row.
"""

import contextvars
from contextlib import contextmanager

from django.db import models

_organization = contextvars.ContextVar("silverpool_organization", default=None)
_every_organization = contextvars.ContextVar("silverpool_every_organization", default=False)


class NoOrganizationInScope(RuntimeError):
    """A tenant-owned table was queried with no organization in scope."""


def current_organization():
    return _organization.get()


def current_organization_id():
    org = _organization.get()
    return org.pk if org is not None else None


def require_organization_id():
    """The id of the organization in scope; raises when there is none."""
    organization_id = current_organization_id()
    if organization_id is None:
        raise NoOrganizationInScope("This operation needs an organization in scope.")
    return organization_id


def set_organization(organization):
    """Put an organization in scope; returns a token for `reset_organization`."""
    return _organization.set(organization)


def reset_organization(token):
    _organization.reset(token)


@contextmanager
def organization_scope(organization):
    token = _organization.set(organization)
    try:
        yield organization
    finally:
        _organization.reset(token)


@contextmanager
def every_organization_scope():
    """The operators' admin only: default managers read every organization's rows.

    Nothing is put in scope, so `require_organization_id()` and saving a row without its
    organization still raise.
    """
    token = _every_organization.set(True)
    try:
        yield
    finally:
        _every_organization.reset(token)


class TenantQuerySet(models.QuerySet):
    pass


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Fails closed: no organization in scope, no rows."""

    def get_queryset(self):
        organization_id = current_organization_id()
        if organization_id is None and _every_organization.get():
            return super().get_queryset()
        if organization_id is None:
            raise NoOrganizationInScope(
                f"{self.model.__name__}.objects used with no organization in scope; "
                "use organization_scope(), for_organization() or, for system jobs, all_tenants."
            )
        return super().get_queryset().filter(organization_id=organization_id)

    def for_organization(self, organization):
        organization_id = getattr(organization, "pk", organization)
        return super().get_queryset().filter(organization_id=organization_id)


class TenantModel(models.Model):
    """Base of every tenant-owned row (join tables too)."""

    organization = models.ForeignKey("crm.Organization", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    all_tenants = models.Manager()  # noqa: DJ012  (unscoped: admin, migrations, system jobs only)

    class Meta:
        abstract = True
        base_manager_name = "all_tenants"
        default_manager_name = "objects"

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            organization_id = current_organization_id()
            if organization_id is None:
                raise NoOrganizationInScope(f"Saving a {type(self).__name__} with no organization.")
            self.organization_id = organization_id
        super().save(*args, **kwargs)
