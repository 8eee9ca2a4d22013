"""Domain events of the core.

Higher apps subscribe in their AppConfig.ready(): auto-tagging, rejection emails, ...
Receivers get `organization_id` and ids, never model instances.

Decisions (`application_rejected`, `offer_declined`, `rejection_undone`, `notice_planned`) are sent inside the
deciding transaction: a subscriber writes its rows there (the notice's outbox row), so the decision
and its consequences commit or fail together, and schedules anything outside the database with
`transaction.on_commit`. The candidate events are sent after the commit.
"""

from django.db import transaction
from django.dispatch import Signal

organization_created = Signal()  # organization (sent inside the creating transaction)
candidate_created = Signal()  # organization_id, candidate_id
candidate_updated = Signal()  # organization_id, candidate_id, fields
application_rejected = Signal()  # organization_id, application_id
rejection_undone = Signal()  # organization_id, application_id
offer_declined = Signal()  # organization_id, application_id
notice_planned = Signal()  # organization_id, application_id (a decision's notice planned after it)


def send_on_commit(signal, **kwargs):
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))


def send_in_transaction(signal, **kwargs):
    """Send a decision event to its subscribers inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("A decision event is sent inside the deciding transaction.")
    signal.send(sender=None, **kwargs)
