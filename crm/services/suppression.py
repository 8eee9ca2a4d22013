"""The suppression list: keyed hashes of erased addresses, kept across hash key rotations."""

from django.db import transaction

from ..models import Suppression

__all__ = ["suppression_add", "suppression_lift", "suppressions_move_to_current_key"]


def _rows(manager, email):
    return manager.filter(email_hash__in=Suppression.hashes(email))


def _move(manager, email):
    """Re-hash the rows of `email` made under an older key with the current one; returns how many moved."""
    current = Suppression.hash_email(email)
    key_id = Suppression.key_id_of(Suppression.keys()[0])
    moved = 0
    for row in _rows(manager, email).exclude(email_hash=current, key_id=key_id).order_by("pk"):
        if row.email_hash != current and manager.filter(organization_id=row.organization_id,
                                                        email_hash=current).exists():
            row.delete()  # the organization already has the current key's row: this one is a leftover
        else:
            manager.filter(pk=row.pk).update(email_hash=current, key_id=key_id)
        moved += 1
    return moved


@transaction.atomic
def suppression_add(*, email, reason="erased"):
    """Put `email` on the suppression list of the organization in scope (under the current key); idempotent."""
    if _move(Suppression.objects, email) or _rows(Suppression.objects, email).exists():
        return
    Suppression.objects.get_or_create(email_hash=Suppression.hash_email(email), defaults={
        "reason": reason, "key_id": Suppression.key_id_of(Suppression.keys()[0])})


@transaction.atomic
def suppression_lift(*, email):
    """Take `email` off the organization's suppression list, whichever key hashed it; returns whether it was on."""
    deleted, _ = _rows(Suppression.objects, email).delete()
    return bool(deleted)


@transaction.atomic
def suppressions_move_to_current_key(*, emails, all_organizations=False):
    """Re-hash under the current key the entries of `emails` still under a fallback key; returns how many moved.

    A hash cannot be reversed: only an address in hand can move its entry.
    """
    manager = Suppression.all_tenants if all_organizations else Suppression.objects
    return sum(_move(manager, email) for email in emails)
