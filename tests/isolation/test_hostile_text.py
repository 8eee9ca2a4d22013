"""Text PostgreSQL cannot store, sent to every route of the table: a 400 naming the field, never a 5xx, nothing written.

Driven by tests/isolation/routes.py, so a new route is covered as soon as it is in the table: each string of
its body (nested too), each query value and each string in its path gets a NUL character or a lone surrogate,
the way a client really sends them (a `\\ud800` escape in JSON; the malformed UTF-8 bytes ED A0 80, percent-
encoded, in forms, query strings and paths).
"""

import json
from urllib.parse import quote, quote_plus

import pytest
from django.urls import reverse

from crm.models import AuditEvent
from crm.tenancy import organization_scope

from .routes import ROUTES, NotTenant, Route
from .test_routes import _snapshot, other_tenant_objects

HOSTILE = {"nul": "\x00", "surrogate": "\ud800"}
MARK = "zzhostilezz"  # stands in for the hostile character until the request is encoded


def _wire(text):
    """`text` percent-encoded as a client sends it: a lone surrogate becomes the bytes ED A0 80."""
    return quote_plus(text.encode("utf-8", "surrogatepass"))


def _form_body(data):
    pairs = []
    for key, value in data.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append(f"{_wire(str(key))}={_wire(str(item))}")
    return "&".join(pairs)


def _string_spots(data, where=()):
    """Paths to every string in a body, nested dicts and lists included."""
    if isinstance(data, str):
        yield where
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _string_spots(value, (*where, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _string_spots(value, (*where, index))


def _inject(data, where, char):
    if not where:
        return f"x{char}{data}"
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[where[0]] = _inject(data[where[0]], where[1:], char)
    return copy


def _send(client, method, url, body, api):
    if api:
        payload = json.dumps(body if body is not None else {})  # ASCII: a lone surrogate travels as "\ud800"
        return client.generic(method, url, payload, content_type="application/json")
    if method == "GET":
        return client.get(url)
    return client.generic(method, url, _form_body(body or {}), content_type="application/x-www-form-urlencoded")


def _state(tenant):
    with organization_scope(tenant.organization):
        return {**_snapshot(tenant), "audit": AuditEvent.objects.count()}


def _assert_refused(response, field, what):
    assert response.status_code == 400, f"{what}: {response.status_code}"
    if response["Content-Type"].startswith("application/json"):
        assert field in response.json(), f"{what}: {response.json()}"
    else:
        assert f"“{field}”" in response.content.decode(), what


TENANT_ROUTES = sorted(name for name, spec in ROUTES.items() if isinstance(spec, Route))
OUTSIDE_ROUTES = sorted(name for name, spec in ROUTES.items() if isinstance(spec, NotTenant))


def _check(failures, check, *args):
    try:
        check(*args)
    except AssertionError as error:
        failures.append(str(error).splitlines()[0])


def _tenant_route(name, ours, tenant, failures):
    spec = ROUTES[name]
    client = tenant.api if spec.api else tenant.admin_client
    kwargs = {k: ours[v] for k, v in spec.ids.items()}
    if not spec.api:
        kwargs["org_slug"] = tenant.slug
    for method in spec.methods:
        body = spec.body(ours) if spec.body and method != "GET" else None
        url = reverse(name, kwargs=kwargs)
        for label, char in HOSTILE.items():
            what = f"{method} {name} ({label})"
            # A query parameter, on every route: nobody reads it, it is refused anyway.
            response = _send(client, method, f"{url}?note={_wire('x' + char)}", body, spec.api)
            _check(failures, _assert_refused, response, "note", f"{what} ?note=")
            if spec.query and method == "GET":
                query = spec.query(ours)
                for key in query:
                    values = {k: f"x{char}{v}" if k == key else v for k, v in query.items()}
                    encoded = "&".join(f"{_wire(k)}={_wire(str(v))}" for k, v in values.items())
                    _check(failures, _assert_refused, client.get(f"{url}?{encoded}"), key, f"{what} ?{key}=")
            for key, value in kwargs.items():
                if key == "org_slug" or not isinstance(value, str):
                    continue
                hostile_url = reverse(name, kwargs={**kwargs, key: f"{value}{MARK}"}).replace(MARK, _wire(char))
                response = _send(client, method, hostile_url, spec.body(ours) if body is not None else None,
                                 spec.api)
                _check(failures, _assert_refused_or_missing, response, key, f"{what} path {key}")
            for spot in _string_spots(body or {}):
                fresh = spec.body(ours)  # a fresh body: some must differ per call
                response = _send(client, method, url, _inject(fresh, spot, char), spec.api)
                _check(failures, _assert_refused, response, str(spot[0]),
                       f"{what} body {'.'.join(map(str, spot))}")


def _assert_refused_or_missing(response, field, what):
    assert response.status_code in (400, 404), f"{what}: {response.status_code}"
    if response.status_code == 400:
        _assert_refused(response, field, what)


def test_unstorable_text_in_any_field_of_any_route_is_refused_naming_it(tenant_a):
    """Every route of the table, as a member of the organization (pages) or with its API key."""
    ours = other_tenant_objects(tenant_a)  # our own objects, so that every request would otherwise succeed
    failures = []
    for name in TENANT_ROUTES:
        before = _state(tenant_a)
        _tenant_route(name, ours, tenant_a, failures)
        if _state(tenant_a) != before:
            failures.append(f"{name} wrote something while refusing")
    assert not failures, "\n".join(failures)


def test_routes_outside_organizations_refuse_unstorable_text(tenant_a):
    """Public pages, tokens and accounts: a hostile query, path string or form field is refused, nothing stored."""
    kinds = {"org_slug": tenant_a.slug, "public_slug": tenant_a.slug}
    failures = []
    resolver_kwargs = {name: pattern for name, pattern in _outside_patterns()}
    for name in OUTSIDE_ROUTES:
        converters = resolver_kwargs.get(name, {})
        kwargs = {k: kinds.get(k, 1 if kind == "int" else "token") for k, kind in converters.items()}
        url = reverse(name, kwargs=kwargs)
        before = _state(tenant_a)
        for label, char in HOSTILE.items():
            what = f"{name} ({label})"
            for method in ("GET", "POST"):
                response = _send(tenant_a.admin_client, method, f"{url}?ref={_wire('x' + char)}", {}, False)
                _check(failures, _assert_refused, response, "ref", f"{method} {what} ?ref=")
                response = _send(tenant_a.admin_client, method, url, {"email": f"a{char}@b.test"}, False)
                if method == "POST":
                    _check(failures, _assert_refused, response, "email", f"{method} {what} email")
            for key, kind in converters.items():
                if kind != "str":
                    continue
                hostile_url = reverse(name, kwargs={**kwargs, key: f"t{MARK}"}).replace(MARK, _wire(char))
                _check(failures, _assert_refused_or_missing, tenant_a.admin_client.get(hostile_url), key,
                       f"GET {what} path {key}")
        if _state(tenant_a) != before:
            failures.append(f"{name} wrote something while refusing")
    assert not failures, "\n".join(failures)


def _outside_patterns():
    """(name, {kwarg: converter}) of each route outside organizations."""
    from django.urls import get_resolver

    from .test_routes import walk

    for route, name in walk(get_resolver().url_patterns):
        if name in OUTSIDE_ROUTES:
            import re

            yield name, dict((kwarg, kind) for kind, kwarg in re.findall(r"<(\w+):(\w+)>", route))


@pytest.mark.parametrize("char", HOSTILE.values(), ids=HOSTILE.keys())
def test_lookups_and_upserts_by_email_or_external_id(char, tenant_a):
    """The look-ups of the brief, one by one, with the answer a client sees."""
    api = tenant_a.api
    before = _state(tenant_a)
    wire = quote(char.encode("utf-8", "surrogatepass"))
    for path in (f"/api/v1/candidates/by-email/a{wire}b@x.test/", f"/api/v1/candidates/by-external-id/e{wire}/",
                 f"/api/v1/jobs/by-external-id/j{wire}/", f"/api/v1/applications/by-external-id/a{wire}/"):
        for method in ("GET", "PUT"):
            response = api.generic(method, path, json.dumps({"first_name": "Ann", "title": "T"}),
                                   content_type="application/json")
            assert response.status_code in (400, 404, 405), (method, path, response.status_code)
            if response.status_code == 400:
                assert "key" in response.json(), response.json()
    for query in (f"email=a{wire}b@x.test", f"external_id=e{wire}"):
        response = api.get(f"/api/v1/candidates/?{query}")
        assert response.status_code == 400 and query.split("=")[0] in response.json()
    response = api.post("/api/v1/tags/", json.dumps({"name": f"Py{char}thon"}), content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()
    response = api.post("/api/v1/pools/", json.dumps({"name": "P", "kind": "smart",
                                                      "definition": {"keywords": [f"a{char}"]}}),
                        content_type="application/json")
    assert response.status_code == 400
    assert "definition.keywords[0]" in response.json()["definition"][0]
    assert _state(tenant_a) == before


def test_services_refuse_unstorable_text_from_callers_without_a_request(tenant_a):
    """Imports, integrations and tasks call the services directly: a tag name or a definition is refused there too."""
    from crm.services import ServiceError
    from talentpools.segments import DefinitionError, clean_definition
    from talentpools.services import tag_create, tag_rename

    with tenant_a.scope():
        tag = tag_create(name="Python")
        for char in HOSTILE.values():
            with pytest.raises(ServiceError) as error:
                tag_create(name=f"Ru{char}st")
            assert error.value.field == "name"
            with pytest.raises(ServiceError) as error:
                tag_rename(tag=tag, name=f"Py{char}")
            assert error.value.field == "name"
            with pytest.raises(DefinitionError) as error:
                clean_definition({"skills_any": ["sql", f"py{char}"]})
            assert "skills_any" in error.value.errors
        tag.refresh_from_db()
        assert tag.name == "Python"


def test_a_malformed_tag_filter_on_the_candidate_list_is_a_form_error(tenant_a):
    for value in ("abc", "1,x", str(2**40)):
        response = tenant_a.admin_client.get(f"/o/{tenant_a.slug}/candidates/?tags_any={value}")
        assert response.status_code == 400
        assert "Use tag ids separated by commas." in response.content.decode()
        response = tenant_a.api.get(f"/api/v1/candidates/?tags_any={value}")
        assert response.status_code == 400 and "tags_any" in response.json()
