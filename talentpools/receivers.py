"""Tagging rules listen to the core's domain events."""

from crm.models import Application
from crm.tasks import nudge_on_commit


def on_candidate_event(sender, *, organization_id, candidate_id, **kwargs):
    from .tasks import apply_rules

    nudge_on_commit(apply_rules, organization_id=organization_id, candidate_id=candidate_id)


def on_application_event(sender, *, organization_id, application_id, **kwargs):
    from .tasks import apply_rules

    candidate_id = (Application.all_tenants.filter(pk=application_id, organization_id=organization_id)
                    .values_list("candidate_id", flat=True).first())
    if candidate_id is not None:
        # Decisions are sent inside their transaction: the rules run once it commits.
        nudge_on_commit(apply_rules, organization_id=organization_id, candidate_id=candidate_id)
