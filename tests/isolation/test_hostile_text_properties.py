"""Hostile input at a few boundaries, generated: NUL characters, lone surrogates, wrong types, deep nesting and
large sizes never get a 5xx, and a refused request writes nothing."""

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talentpools.segments import FIELDS as DEFINITION_KEYS

from .test_hostile_text import _form_body, _state, _wire

UNSTORABLE = st.sampled_from(["\x00", "\ud800", "\udfff", "\udc80\ud800"])
hostile_text = st.one_of(
    st.text(max_size=30),
    st.builds(lambda before, char, after: before + char + after, st.text(max_size=10), UNSTORABLE,
              st.text(max_size=10)),
    st.builds(lambda size, char: "a" * size + char, st.integers(min_value=1_000, max_value=200_000),
              st.sampled_from(["", "\x00", "\ud800"])),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), hostile_text)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(hostile_text, children, max_size=4), max_leaves=15)
deep = st.integers(min_value=10, max_value=300).map(lambda depth: _nested(depth))

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


def _nested(depth):
    value = ["\x00"]
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _overrides(fields):
    """A dict setting some of `fields` to anything at all."""
    return st.dictionaries(st.sampled_from(fields), st.one_of(json_values, deep), max_size=len(fields))


def _assert_safe(response, tenant, before, what):
    assert response.status_code < 500, f"{what}: {response.status_code}"
    if response.status_code >= 400:
        assert _state(tenant) == before, f"{what} wrote something and answered {response.status_code}"


def _post_json(client, url, body, method="POST"):
    return client.generic(method, url, json.dumps(body), content_type="application/json")  # ASCII escapes


CANDIDATE_FIELDS = ["first_name", "last_name", "email", "external_id", "skills", "headline", "location", "links",
                    "source", "language", "seniority", "do_not_contact"]


@pytest.mark.django_db
@SETTINGS
@given(data=st.data())
def test_api_bodies_never_answer_5xx_and_refusals_write_nothing(tenant_a, data):
    endpoint = data.draw(st.sampled_from(["candidate", "tag", "pool", "campaign", "by_email", "by_external_id"]))
    before = _state(tenant_a)
    api = tenant_a.api
    if endpoint == "candidate":
        body = {"first_name": "Ann", "email": "ann@example.test", **data.draw(_overrides(CANDIDATE_FIELDS))}
        response = _post_json(api, "/api/v1/candidates/", body)
    elif endpoint == "tag":
        response = _post_json(api, "/api/v1/tags/", {"name": data.draw(st.one_of(json_values, deep))})
    elif endpoint == "pool":
        definition = data.draw(st.one_of(json_values, deep, st.dictionaries(
            st.sampled_from(sorted(DEFINITION_KEYS)), st.one_of(json_values, deep), max_size=4)))
        response = _post_json(api, "/api/v1/pools/", {"name": "Generated", "kind": "smart",
                                                      "definition": definition})
    elif endpoint == "campaign":
        filters = data.draw(st.dictionaries(st.sampled_from(sorted(DEFINITION_KEYS)), json_values, max_size=4))
        with tenant_a.scope():
            from outreach.models import EmailTemplate
            from talentpools.models import TalentPool

            template = EmailTemplate.objects.filter(kind="job_offers_digest").first()
            pool = TalentPool.objects.first()
        response = _post_json(api, "/api/v1/campaigns/", {
            "name": "Generated", "topic": "job_offers", "pool_ids": [pool.pk] if pool else [],
            "template": template.pk, "filters": filters})
    else:
        key = data.draw(hostile_text.filter(lambda text: "/" not in text and text.strip()))
        url = f"/api/v1/candidates/{endpoint.replace('_', '-')}/{quote(key.encode('utf-8', 'surrogatepass'))}/"
        body = {"first_name": "Ann", **data.draw(_overrides(CANDIDATE_FIELDS))}
        response = _post_json(api, url, body, method=data.draw(st.sampled_from(["GET", "PUT"])))
    _assert_safe(response, tenant_a, before, endpoint)


@pytest.mark.django_db
@SETTINGS
@given(email=hostile_text, query=st.dictionaries(st.sampled_from(["email", "external_id", "tags_any", "source",
                                                                  "q", "ordering", "page"]), hostile_text,
                                                 max_size=3))
def test_lookups_never_answer_5xx(tenant_a, email, query):
    before = _state(tenant_a)
    encoded = "&".join(f"{_wire(key)}={_wire(value)}" for key, value in query.items())
    for url in (f"/api/v1/candidates/?{encoded}", f"/api/v1/candidates/?email={_wire(email)}"):
        _assert_safe(tenant_a.api.get(url), tenant_a, before, url)
    page = tenant_a.admin_client.get(f"/o/{tenant_a.slug}/candidates/?{encoded}")
    _assert_safe(page, tenant_a, before, "candidate list")


JOIN_FIELDS = ["first_name", "last_name", "email", "headline", "linkedin_url", "skills", "language", "website",
               "ref", "purposes", "frequency"]


@pytest.mark.django_db
@SETTINGS
@given(fields=st.dictionaries(st.sampled_from(JOIN_FIELDS), hostile_text, max_size=len(JOIN_FIELDS)))
def test_the_public_opt_in_form_never_answers_5xx(tenant_a, client, fields):
    from django.core.cache import cache

    cache.clear()  # the form's rate limits would soon answer 429 to everything
    before = _state(tenant_a)
    body = {"first_name": "Ann", "email": "ann@example.test", **fields}
    response = client.generic("POST", f"/p/{tenant_a.slug}/join/", _form_body(body),
                              content_type="application/x-www-form-urlencoded")
    _assert_safe(response, tenant_a, before, f"join {sorted(fields)}")
