import pytest

from crm.models import Membership
from crm.tasks import TenantTask
from crm.tenancy import NoOrganizationInScope, current_organization, organization_scope


def test_default_manager_refuses_to_work_without_an_organization(tenant_a):
    with pytest.raises(NoOrganizationInScope):
        list(Membership.objects.all())


def test_default_manager_sees_only_the_organization_in_scope(tenant_a, tenant_b):
    with organization_scope(tenant_a.organization):
        emails = set(Membership.objects.values_list("user__email", flat=True))
    assert tenant_a.admin.email in emails
    assert tenant_b.admin.email not in emails
    assert Membership.all_tenants.count() == 6  # the unscoped manager is the explicit way out


def test_saving_without_organization_takes_the_one_in_scope(tenant_a, user_factory):
    user = user_factory()
    with organization_scope(tenant_a.organization):
        membership = Membership.objects.create(user=user)
    assert membership.organization_id == tenant_a.organization.pk


def test_saving_with_no_organization_at_all_is_refused(user_factory):
    with pytest.raises(NoOrganizationInScope):
        Membership(user=user_factory()).save()


def test_scope_is_restored_after_use(tenant_a, tenant_b):
    with organization_scope(tenant_a.organization):
        with organization_scope(tenant_b.organization):
            assert current_organization() == tenant_b.organization
        assert current_organization() == tenant_a.organization
    assert current_organization() is None


def test_task_base_runs_the_body_in_the_tasks_organization(tenant_a):
    seen = {}

    class Probe(TenantTask):
        name = "tests.probe"

        def run(self, *, organization_id):
            seen["org"] = current_organization()
            seen["members"] = Membership.objects.count()

    Probe()(organization_id=tenant_a.organization.pk)
    assert seen == {"org": tenant_a.organization, "members": 3}
    assert current_organization() is None


def test_request_scope_does_not_leak_into_the_next_request(tenant_a):
    tenant_a.admin_client.get(f"/o/{tenant_a.slug}/")
    assert current_organization() is None
