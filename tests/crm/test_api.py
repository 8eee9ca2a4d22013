from rest_framework.test import APIClient

from crm.models import ApiKey, AuditEvent
from crm.services import api_key_revoke
from crm.tenancy import organization_scope


def test_no_key_is_401_with_a_json_error(db):
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_key_is_401(tenant_a):
    client = APIClient()
    for header in ["Bearer sp_deadbeef_nope", "Bearer nonsense", "Token abc", "Bearer"]:
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/me/").status_code == 401, header


def test_a_revoked_key_is_401(tenant_a):
    with organization_scope(tenant_a.organization):
        for key in ApiKey.objects.all():
            api_key_revoke(api_key=key, actor=tenant_a.admin)
    assert tenant_a.api.get("/api/v1/me/").status_code == 401


def test_a_read_key_cannot_write(tenant_a):
    response = tenant_a.api_read.post("/api/v1/me/", {}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]


def test_the_key_decides_the_organization_and_records_its_use(tenant_a):
    body = tenant_a.api_read.get("/api/v1/me/").json()
    assert body["organization"]["slug"] == tenant_a.slug
    assert body["api_key"]["scope"] == "read"
    with organization_scope(tenant_a.organization):
        assert ApiKey.objects.get(scope="read").last_used_at is not None


def test_audit_rows_attribute_api_actions_to_the_key(tenant_a):
    from crm.audit import audit

    with organization_scope(tenant_a.organization):
        key = ApiKey.objects.get(scope="read_write")
        event = audit("test.action", actor=key)
    assert event.actor_api_key == key
    assert key.name in event.actor_label and tenant_a.admin.email in event.actor_label
    assert AuditEvent.objects.filter(actor_api_key=key).count() == 1


def test_requests_are_throttled_per_key(tenant_a, settings):
    from rest_framework.settings import api_settings

    from crm.api_auth import ApiKeyRateThrottle

    original = ApiKeyRateThrottle.THROTTLE_RATES
    ApiKeyRateThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "api_key": "3/min"}
    try:
        codes = [tenant_a.api.get("/api/v1/me/").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert tenant_a.api_read.get("/api/v1/me/").status_code == 200  # another key, its own budget
    finally:
        ApiKeyRateThrottle.THROTTLE_RATES = original


def test_openapi_schema_and_docs_are_served_without_external_assets(client, db):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/me/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
