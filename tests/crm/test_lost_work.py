"""Work whose nudge was lost with the broker is sent again by the beat, not left waiting for good."""

from datetime import timedelta
from unittest import mock

from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.models import Candidate, Operation, OperationStatus, Organization
from crm.services import organization_request_deletion
from crm.tasks import requeue_lost_work
from talentpools.services import rule_create, tag_create
from talentpools.tasks import run_rules

from ..factories import CandidateFactory


def _broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_an_operation_queued_while_the_broker_was_down_runs_at_a_later_tick(tenant_a,
                                                                             django_capture_on_commit_callbacks):
    with tenant_a.scope():
        for i in range(6):
            CandidateFactory(organization=tenant_a.organization, headline="Data engineer" if i % 2 else "Nurse")
        data = tag_create(name="Data")
        rule = rule_create(condition="keyword", value="data", tag_id=data.pk, actor=tenant_a.recruiter)
    with mock.patch.object(run_rules, "delay", side_effect=_broker_down), \
            django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/tags/rules/{rule.pk}/", {"action": "run"})
    assert response.status_code == 302
    operation = Operation.all_tenants.get(organization=tenant_a.organization, kind="rules.run")
    assert operation.status == OperationStatus.QUEUED and operation.task_name == "talentpools.tasks.run_rules"

    # A young queued operation may still be in the broker's queue: it is left alone.
    assert requeue_lost_work() == 0
    assert Operation.all_tenants.get(pk=operation.pk).status == OperationStatus.QUEUED

    Operation.all_tenants.filter(pk=operation.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert requeue_lost_work() == 1
    operation.refresh_from_db()
    assert operation.status == OperationStatus.DONE
    with tenant_a.scope():
        assert Candidate.objects.filter(tag_ids__contains=[data.pk]).count() == 3
    # Done is done: the next tick sends nothing.
    assert requeue_lost_work() == 0


def test_a_broker_still_down_leaves_the_operation_queued_for_the_next_tick(tenant_a):
    with tenant_a.scope():
        data = tag_create(name="Data")
        rule = rule_create(condition="keyword", value="data", tag_id=data.pk, actor=tenant_a.recruiter)
    with mock.patch.object(run_rules, "delay", side_effect=_broker_down):
        tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/tags/rules/{rule.pk}/", {"action": "run"})
        Operation.all_tenants.update(created_at=timezone.now() - timedelta(minutes=5))
        assert requeue_lost_work() == 0
    assert Operation.all_tenants.get(kind="rules.run").status == OperationStatus.QUEUED


def test_an_organization_deletion_whose_nudge_was_lost_happens_at_a_later_tick(tenant_a, tenant_b):
    from crm.tasks import delete_organization

    with mock.patch.object(delete_organization, "delay", side_effect=_broker_down):
        organization_request_deletion(organization=tenant_b.organization, actor=tenant_b.admin)
    assert Organization.objects.filter(pk=tenant_b.organization.pk).exists()
    requeue_lost_work()
    assert Organization.objects.filter(pk=tenant_b.organization.pk).exists()  # asked for a moment ago

    Organization.objects.filter(pk=tenant_b.organization.pk).update(
        deletion_requested_at=timezone.now() - timedelta(minutes=15))
    requeue_lost_work()
    assert not Organization.objects.filter(pk=tenant_b.organization.pk).exists()
    assert Organization.objects.filter(pk=tenant_a.organization.pk).exists()
