from celery import shared_task

from crm.operations import operation_run
from crm.tasks import TenantTask


@shared_task(base=TenantTask, acks_late=True, ignore_result=True)
def run_bulk_action(*, operation_id, organization_id):
    from .services import bulk_action_run

    operation_run(operation_id, bulk_action_run)


@shared_task(base=TenantTask, acks_late=True, ignore_result=True)
def run_rules(*, operation_id, organization_id):
    from .services import rules_run

    operation_run(operation_id, rules_run)


@shared_task(base=TenantTask, acks_late=True, ignore_result=True, max_retries=3)
def apply_rules(*, candidate_id, organization_id):
    """Tagging rules for one candidate, after it was added, changed, rejected or declined an offer."""
    from crm.models import Candidate

    from .services import rules_apply_to_candidate

    if Candidate.objects.filter(pk=candidate_id).exists():
        rules_apply_to_candidate(candidate_id=candidate_id)
