"""Organizations, members, invitations and API keys."""

import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ..account_emails import account_email_queue, cancel_for_invitation
from ..audit import audit
from ..events import organization_created
from ..links import site_link
from ..models import (
    ApiKey,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
    hash_token,
)
from ..tenancy import organization_scope
from .errors import ServiceError

INVITATION_LIFETIME = timedelta(days=7)


@transaction.atomic
def organization_create(*, name, slug, admin, actor=None, **settings_fields):
    """Create an organization with `admin` as its first admin member."""
    organization = Organization(name=name, slug=slug, **settings_fields)
    organization.full_clean()
    organization.save()
    with organization_scope(organization):
        Membership.objects.create(organization=organization, user=admin, role=Role.ADMIN)
        from .pipeline import rejection_reasons_create_defaults

        rejection_reasons_create_defaults(organization)
        organization_created.send(sender=None, organization=organization)
        audit("organization.created", actor=actor or admin, obj=organization)
    return organization


@transaction.atomic
def organization_update(*, organization, actor, changed_fields):
    organization.save()
    audit("organization.updated", actor=actor, obj=organization, details={"fields": sorted(changed_fields)})
    return organization


@transaction.atomic
def organization_request_deletion(*, organization, actor):
    """Hide the organization at once; a background job deletes its data."""
    from ..tasks import delete_organization

    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization.deletion_requested_at is not None:
        return organization
    organization.deletion_requested_at = timezone.now()
    organization.save(update_fields=["deletion_requested_at"])
    # Platform-level fact: it outlives the organization's own rows.
    audit(
        "organization.deletion_requested",
        actor=actor,
        obj=organization,
        platform=True,
        details={"organization_id": organization.pk, "slug": organization.slug, "name": organization.name},
    )
    from ..tasks import nudge_on_commit

    nudge_on_commit(delete_organization, organization_id=organization.pk)
    return organization


def invitation_link(token):
    """The link in the invitation email (built on SITE_URL: emails have no request)."""
    return site_link("invitation_accept", token=token)


def _queue_invitation_email(invitation, token, organization):
    """Written with the invitation; a worker sends it (the plain token lives only in this body)."""
    context = {"organization": organization, "invitation": invitation, "link": invitation_link(token)}
    return account_email_queue(
        organization=organization, invitation=invitation, to_email=invitation.email,
        subject=f"You are invited to join {organization.name} on Silverpool",
        body=render_to_string("crm/email/invitation.txt", context),
    )


@transaction.atomic
def invitation_create(*, organization, email, role, actor):
    """Invite `email` with `role`; returns (invitation, token). The token is never stored."""
    email = email.strip().lower()
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise ServiceError("This person is already a member of the organization.", field="email")
    if Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True,
                                 expires_at__gt=timezone.now()).exists():
        raise ServiceError("An invitation to this address is already waiting; revoke it to send a new one.",
                           field="email")
    # An expired, unanswered invitation gives way to the new one.
    Invitation.objects.filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=actor,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    audit("member.invited", actor=actor, obj=invitation, details={"email": email, "role": role})
    _queue_invitation_email(invitation, token, organization)
    return invitation, token


def invitation_by_token(token):
    """The invitation a link points at, whatever its state, or None. Links are not org-scoped."""
    return Invitation.all_tenants.select_related("organization").filter(token_hash=hash_token(token)).first()


@transaction.atomic
def invitation_accept(*, token, user):
    invitation = (
        Invitation.all_tenants.select_for_update().select_related("organization")
        .filter(token_hash=hash_token(token)).first()
    )
    if invitation is None or invitation.status != "pending" or invitation.organization.deletion_requested_at:
        raise ServiceError("This invitation link is no longer valid.")
    if invitation.email.lower() != user.email.lower():
        raise ServiceError(f"This invitation was sent to {invitation.email}; sign in with that address to accept it.")
    organization = invitation.organization
    with organization_scope(organization):
        membership, created = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        EmailAddress.objects.filter(user=user, email__iexact=invitation.email).update(verified=True)
        audit("member.joined", actor=user, obj=membership, details={"role": membership.role})
    return membership


@transaction.atomic
def user_create_from_invitation(*, token, first_name, last_name, password):
    """Create the account an invitation asks for; following the link proves the address."""
    invitation = invitation_by_token(token)
    if invitation is None or invitation.status != "pending":
        raise ServiceError("This invitation link is no longer valid.")
    if User.objects.filter(email__iexact=invitation.email).exists():
        make_password(password)  # a new account's hashing: the delay does not tell that the address has one
        raise ServiceError("An account with this address exists already: sign in to accept.")
    user = User.objects.create_user(
        email=invitation.email, password=password, first_name=first_name, last_name=last_name
    )
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    invitation_accept(token=token, user=user)
    return user


@transaction.atomic
def invitation_revoke(*, invitation, actor):
    if invitation.status != "pending":
        raise ServiceError("Only a pending invitation can be revoked.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    cancel_for_invitation(invitation)
    audit("member.invitation_revoked", actor=actor, obj=invitation, details={"email": invitation.email})


def _admins_left_without(membership):
    return Membership.objects.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists()


@transaction.atomic
def membership_change_role(*, membership, role, actor):
    if role not in Role.values:
        raise ServiceError("Unknown role.", field="role")
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _admins_left_without(membership):
        raise ServiceError("An organization needs at least one admin.", field="role")
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit("member.role_changed", actor=actor, obj=membership, details={"from": old, "to": role})
    return membership


@transaction.atomic
def membership_remove(*, membership, actor):
    """Remove a member; the membership check on every request ends their access at once."""
    if membership.role == Role.ADMIN and not _admins_left_without(membership):
        raise ServiceError("An organization needs at least one admin.")
    audit("member.removed", actor=actor, obj=membership, details={"email": membership.user.email})
    membership.delete()


@transaction.atomic
def api_key_create(*, name, scope, actor):
    """Create a key; returns (api_key, secret). The secret is shown once and stored only as a hash."""
    prefix, secret = ApiKey.generate()
    api_key = ApiKey.objects.create(
        name=name, scope=scope, key_prefix=prefix, key_hash=hash_token(secret), created_by=actor
    )
    audit("api_key.created", actor=actor, obj=api_key, details={"scope": scope})
    return api_key, secret


@transaction.atomic
def api_key_revoke(*, api_key, actor):
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit("api_key.revoked", actor=actor, obj=api_key)
    return api_key


