from celery import shared_task

from crm.operations import operation_run
from crm.tasks import TenantTask


@shared_task(base=TenantTask, acks_late=True, ignore_result=True)
def run_import(*, organization_id, operation_id):
    """A large file's dry run or import, in batches, with progress."""
    from .services import run_operation

    operation_run(operation_id, run_operation)
