"""Domain events of the core, sent after the transaction commits.

Higher apps subscribe in their AppConfig.ready(): auto-tagging, rejection emails, ...
Receivers get `organization_id` and ids, never model instances.
"""

from django.db import transaction
from django.dispatch import Signal

organization_created = Signal()  # organization (sent inside the creating transaction)
candidate_created = Signal()  # organization_id, candidate_id
candidate_updated = Signal()  # organization_id, candidate_id, fields
application_rejected = Signal()  # organization_id, application_id
rejection_undone = Signal()  # organization_id, application_id
offer_declined = Signal()  # organization_id, application_id


def send_on_commit(signal, **kwargs):
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs))
