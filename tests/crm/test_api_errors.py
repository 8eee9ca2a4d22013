"""Every API error is JSON with a `detail` or field names: nothing under /api/ answers HTML."""

import json

import pytest
from rest_framework.test import APIClient

from crm.api_parsers import MAX_JSON_DEPTH, json_depth_exceeds
from crm.models import Candidate
from crm.tenancy import organization_scope


def _client(tenant):
    client = tenant.api
    client.raise_request_exception = False  # answer as a server would, 500 included
    return client


def _json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_json_nested_too_deeply_is_a_400_naming_the_problem(tenant_a):
    client = _client(tenant_a)
    for url in ["/api/v1/candidates/", "/api/v1/pools/", "/api/v1/campaigns/"]:
        for depth in [MAX_JSON_DEPTH + 1, 1_000, 5_000]:
            body = "[" * depth + "]" * depth
            detail = _json_error(client.post(url, data=body, content_type="application/json"), 400)["detail"]
            assert "nested more than 32 levels" in detail, (url, depth)


def test_json_as_deep_as_allowed_still_reaches_the_serializer(tenant_a):
    nested = {"email": "deep@x.test", "first_name": "Deep", "skills": ["go"]}
    for _ in range(MAX_JSON_DEPTH - 2):  # the skills list is the deepest level
        nested = {"x": nested}
    response = _client(tenant_a).post("/api/v1/candidates/", data=json.dumps(nested), content_type="application/json")
    assert response.status_code == 400 and "email" in response.json()  # a field error, not a parse error


def test_the_depth_check_counts_objects_and_arrays_without_recursion():
    assert not json_depth_exceeds({"a": [1, {"b": []}]}, limit=4)
    assert json_depth_exceeds({"a": [1, {"b": [[]]}]}, limit=4)
    assert not json_depth_exceeds("text") and not json_depth_exceeds(7)
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth_exceeds(deep)


def test_malformed_json_is_a_400_and_saves_nothing(tenant_a):
    detail = _json_error(_client(tenant_a).post("/api/v1/candidates/", data='{"email": "a@x.test",',
                                                content_type="application/json"), 400)["detail"]
    assert detail.startswith("JSON parse error")
    with organization_scope(tenant_a.organization):
        assert not Candidate.objects.exists()


def test_an_oversized_body_is_a_413_in_json(tenant_a):
    body = json.dumps({"email": "big@x.test", "headline": "x" * (10 * 1024 * 1024)})
    detail = _json_error(_client(tenant_a).post("/api/v1/candidates/", data=body,
                                                content_type="application/json"), 413)["detail"]
    assert "larger than 2,621,440 bytes" in detail
    with organization_scope(tenant_a.organization):
        assert not Candidate.objects.exists()


def test_uploaded_files_do_not_count_towards_the_body_limit(tenant_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("cv.txt", b"x" * (3 * 1024 * 1024), content_type="text/plain")
    response = _client(tenant_a).post("/api/v1/candidates/", {"cv": upload, "first_name": "Big"}, format="multipart")
    assert response.status_code == 400 and "email" in response.json()  # the fields are read, not refused


def test_a_body_found_too_large_while_reading_is_a_413_too():
    """Without a Content-Length (chunked), Django's own check raises while the body is read."""
    from django.core.exceptions import RequestDataTooBig

    from crm.api_errors import exception_handler

    response = exception_handler(RequestDataTooBig("Request body exceeded"), {})
    assert response.status_code == 413 and "larger than" in response.data["detail"]


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/candidates/not-a-number/", "/api/nothing-here"])
def test_an_unknown_api_path_is_a_404_in_json(tenant_a, path):
    assert "No such API endpoint" in _json_error(_client(tenant_a).get(path), 404)["detail"]


def test_an_unknown_api_path_without_a_key_is_still_json(db):
    _json_error(APIClient().get("/api/v1/nope/"), 404)


def test_a_method_the_route_does_not_take_is_a_405_in_json(tenant_a):
    response = _client(tenant_a).delete("/api/v1/me/")
    assert "DELETE" in _json_error(response, 405)["detail"]
    assert "GET" in response["Allow"]


def test_a_server_error_under_the_api_is_json(tenant_a, monkeypatch):
    from crm import api

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.WhoAmISerializer, "to_representation", broken)
    detail = _json_error(_client(tenant_a).get("/api/v1/me/"), 500)["detail"]
    assert "boom" not in detail and "went wrong" in detail


def test_pages_outside_the_api_keep_their_html_errors(tenant_a):
    response = tenant_a.admin_client.get("/o/acme/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
