from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from config.celery import app as celery_app
from consent.services import purposes_create_defaults
from crm.models import ApiScope, Organization, Role, User
from crm.services import api_key_create, rejection_reasons_create_defaults
from crm.tenancy import organization_scope
from outreach.defaults import create_default_templates

from .factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _outbox_in_this_thread(settings):
    """Sends run in the test's own connection, where its uncommitted rows are."""
    settings.OUTBOX_SEND_CONCURRENCY = 1
    settings.OUTBOX_EMAIL_BACKEND = "anymail.backends.test.EmailBackend"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and throttles live in the cache: each test starts with none."""
    cache.clear()
    yield


@dataclass
class Tenant:
    """One organization with a member of every role, logged-in clients and API clients."""

    organization: Organization
    admin: User
    recruiter: User
    hiring_manager: User
    admin_client: Client
    recruiter_client: Client
    hiring_manager_client: Client
    api: APIClient
    api_read: APIClient

    @property
    def slug(self):
        return self.organization.slug

    def scope(self):
        return organization_scope(self.organization)


def _logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def _api_client(organization, admin, scope):
    with organization_scope(organization):
        _, secret = api_key_create(name=f"{scope} key", scope=scope, actor=admin)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def make_tenant(name, slug):
    organization = OrganizationFactory(name=name, slug=slug)
    rejection_reasons_create_defaults(organization)
    create_default_templates(organization)
    purposes_create_defaults(organization)
    members = {role: MembershipFactory(organization=organization, role=role).user for role in Role.values}
    return Tenant(
        organization=organization,
        admin=members[Role.ADMIN],
        recruiter=members[Role.RECRUITER],
        hiring_manager=members[Role.HIRING_MANAGER],
        admin_client=_logged_in(members[Role.ADMIN]),
        recruiter_client=_logged_in(members[Role.RECRUITER]),
        hiring_manager_client=_logged_in(members[Role.HIRING_MANAGER]),
        api=_api_client(organization, members[Role.ADMIN], ApiScope.READ_WRITE),
        api_read=_api_client(organization, members[Role.ADMIN], ApiScope.READ),
    )


@pytest.fixture
def tenant_a(db):
    return make_tenant("Acme Robotics", "acme")


@pytest.fixture
def tenant_b(db):
    """The other tenant: always present, so a leak has something to leak."""
    return make_tenant("Bluebird Labs", "bluebird")


@pytest.fixture
def user_factory(db):
    return UserFactory
