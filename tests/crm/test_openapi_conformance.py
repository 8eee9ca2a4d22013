"""The OpenAPI document tells the truth: a bounded, seeded schemathesis run over every operation, in-process
through the WSGI app and inside the test's transaction, finds no server error, no undocumented status code
or content type, and no response that breaks its documented schema."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consent.services import purposes_create_defaults
from crm.api_auth import ApiKeyRateThrottle
from crm.models import ApiScope, Application, AuditEvent, Candidate, Job, Role
from crm.services import api_key_create, rejection_reasons_create_defaults
from crm.tenancy import organization_scope
from outreach.defaults import create_default_templates
from talentpools.models import Tag, TalentPool
from tests.factories import CandidateFactory, MembershipFactory, OrganizationFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = SchemathesisConfig.from_dict({
    "seed": 20261201,
    "generation": {
        "max-examples": 10,  # per operation, besides the boundary cases: the run stays under two minutes
        "deterministic": True,
        "database": "none",  # no example database: every run replays the same cases
    },
    "phases": {"stateful": {"enabled": False}},
})

# The document as /api/schema/ serves it, generated in-process; requests go to the WSGI app in this thread.
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = WSGIHandler()


def _rows(organization):
    """Every row the API could write, in full for candidates: a change, an addition or a removal shows."""
    models = [Candidate, Job, Application, Tag, TalentPool, AuditEvent]
    counts = {model.__name__: getattr(model, "all_tenants", model._default_manager).filter(
        organization=organization).count() for model in models}
    return counts, list(Candidate.all_tenants.filter(organization=organization).order_by("pk").values())


def _seed(secret):
    """Through the API as an ATS would: objects in every state a response can describe, by path parameter."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def made(method, url, body=None, status=(200, 201)):
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code in status, (url, response.content[:300])
        return response.json()

    reason = made("get", "/api/v1/rejection-reasons/")[0]["id"]
    candidates = [made("post", "/api/v1/candidates/", {"email": f"seed{i}@example.test", "first_name": f"Seed{i}",
                                                       "skills": ["python"], "external_id": f"ats-{i}"})["id"]
                  for i in range(3)]
    job = made("post", "/api/v1/jobs/", {"title": "Backend engineer", "required_skills": ["python"],
                                        "external_id": "job-1"})["id"]
    applications = [made("post", "/api/v1/applications/", {"candidate": candidate, "job": job})["id"]
                    for candidate in candidates]
    made("post", f"/api/v1/applications/{applications[1]}/reject/", {"reason": reason, "send_email": "none",
                                                                     "skip_reason": "seeded"})
    made("post", f"/api/v1/applications/{applications[2]}/advance/", {"stage": "offer"})
    made("post", f"/api/v1/applications/{applications[2]}/decline-offer/", {"reason": "salary"})
    made("post", f"/api/v1/applications/{applications[0]}/feedback/", {"strengths": "Clear code"})
    tag = made("post", "/api/v1/tags/", {"name": "Seeded"})["id"]
    made("post", f"/api/v1/candidates/{candidates[0]}/tags/", {"tag": tag})
    pools = [made("post", "/api/v1/pools/", {"name": "Picked", "kind": "static"})["id"],
             made("post", "/api/v1/pools/", {"name": "Pythonistas", "kind": "smart",
                                             "definition": {"skills_any": ["python"]}})["id"]]
    made("post", f"/api/v1/pools/{pools[0]}/members/", {"candidates": candidates[:2]})
    template = next(t["id"] for t in made("get", "/api/v1/templates/") if t["kind"] == "job_offers_digest")
    campaign = made("post", "/api/v1/campaigns/", {"name": "Reconnect", "topic": "job_offers", "pool_ids": pools,
                                                   "template": template, "schedule": "now"})["id"]
    operation = made("post", f"/api/v1/campaigns/{campaign}/audience-preview/", status=(202,))["operation"]["id"]
    return {"candidate_id": candidates, "job_id": [job], "application_id": applications, "tag_id": [tag],
            "pool_id": pools, "campaign_id": [campaign], "operation_id": [operation]}


@pytest.fixture
def seeded_key(db, monkeypatch):
    """A read-write key of an organization with a few objects of each kind; another organization beside it
    must come out untouched."""
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": None})  # throttling has its own test
    other = OrganizationFactory(name="Other", slug="other")
    with organization_scope(other):
        CandidateFactory(organization=other, external_id="ats-0", email="seed0@example.test")  # same keys as ours
    before = _rows(other)
    organization = OrganizationFactory(name="Acme", slug="acme")
    rejection_reasons_create_defaults(organization)
    create_default_templates(organization)
    purposes_create_defaults(organization)
    admin = MembershipFactory(organization=organization, role=Role.ADMIN, user__password=None).user
    with organization_scope(organization):
        _, secret = api_key_create(name="conformance", scope=ApiScope.READ_WRITE, actor=admin)
    seeded = _seed(secret)
    # The app answers inside the test's transaction, as Django's test client (which reconnects these) does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield secret, seeded
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    assert _rows(other) == before


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))  # one organization for every example
def test_the_api_answers_as_its_openapi_document_says(case, seeded_key):
    secret, seeded = seeded_key
    for name, value in case.path_parameters.items():
        # Two generated ids in three name a seeded object, so responses are read, not only 404s.
        if name in seeded and isinstance(value, int) and value % 3:
            case.path_parameters[name] = seeded[name][value % len(seeded[name])]
    case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)


def test_the_served_document_lists_every_operations_errors(client, db):
    document = client.get("/api/schema/?format=json").json()
    assert document["paths"] == schema.raw_schema["paths"]  # the run above tests what clients download
    assert {"Error", "FieldErrors"} <= set(document["components"]["schemas"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            expected = {"401", "429"}
            if method in ("post", "put", "patch", "delete"):
                expected |= {"400", "403"}
            if method in ("post", "put", "patch"):
                expected.add("413")
            if "{" in path:
                expected.add("404")
            assert expected <= codes, (method, path, sorted(codes))
            for code in expected:
                content = operation["responses"][code]["content"]["application/json"]["schema"]
                assert content["$ref"] in ("#/components/schemas/Error", "#/components/schemas/FieldErrors")
    conflicts = {(m, p) for p, ops in document["paths"].items() for m, op in ops.items() if "409" in op["responses"]}
    assert ("post", "/api/v1/applications/{application_id}/reject/") in conflicts
    assert ("post", "/api/v1/campaigns/{campaign_id}/pause/") in conflicts


@pytest.mark.parametrize("method, path, parameter", [
    ("GET", "/api/v1/applications/", None),
    ("GET", "/api/v1/applications/{application_id}/", "application_id"),
    ("GET", "/api/v1/rejection-reasons/", None),
    ("GET", "/api/v1/operations/{operation_id}/", "operation_id"),
    ("GET", "/api/v1/pools/{pool_id}/candidates/", "pool_id"),
    ("GET", "/api/v1/campaigns/{campaign_id}/", "campaign_id"),
])
def test_objects_in_every_state_match_their_documented_schema(seeded_key, method, path, parameter):
    """An application just applied (no offer-declined reason), rejected, and with its offer declined; a
    background job not finished; each read back exactly as documented."""
    secret, seeded = seeded_key
    operation = schema[path][method]
    for value in seeded[parameter] if parameter else [None]:
        case = operation.Case(path_parameters={parameter: value} if parameter else None)
        response = case.call(headers={"Authorization": f"Bearer {secret}"})
        assert response.status_code == 200
        case.validate_response(response, checks=[response_schema_conformance])
