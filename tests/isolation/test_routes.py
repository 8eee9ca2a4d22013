"""Tenant isolation: every route, called by organization A with organization B's ids."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from consent.models import ConsentState
from crm.models import (
    Activity,
    ApiKey,
    Application,
    Candidate,
    FeedbackNote,
    Invitation,
    Job,
    Membership,
    Operation,
    RejectionReason,
    Role,
)
from crm.services import (
    api_key_create,
    application_create,
    candidate_create,
    feedback_note_create,
    invitation_create,
    job_save,
)
from crm.tenancy import organization_scope
from imports.models import CandidateImport
from outreach.models import Campaign, CampaignRun, EmailTemplate, Message
from outreach.services import send_test
from talentpools.models import JobTag, PoolMember, Tag, TaggingRule, TalentPool

from .routes import MISSING_ID, NOT_TENANT_PREFIXES, ROUTES, NotTenant, Route


def walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}{pattern.namespace}:"
            yield from walk(pattern.url_patterns, route, ns)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield route, name


def project_routes():
    """(route, name) of every pattern that is not under a known third-party prefix."""
    for route, name in walk(get_resolver().url_patterns):
        if any(route.startswith(prefix) for prefix in NOT_TENANT_PREFIXES):
            continue
        yield route, name


def test_every_route_is_in_the_table():
    unknown = sorted(f"{route} (name={name})" for route, name in project_routes() if name not in ROUTES)
    assert not unknown, (
        "Routes missing from tests/isolation/routes.py (add each with the ids it takes): " + ", ".join(unknown)
    )


def test_the_table_names_no_route_that_is_gone():
    names = {name for _, name in project_routes()}
    stale = sorted(set(ROUTES) - names)
    assert not stale, f"Entries without a route: {stale}"


def other_tenant_objects(tenant):
    """One object of each kind in `tenant`, for aiming requests at it."""
    with organization_scope(tenant.organization):
        invitation, _ = invitation_create(
            organization=tenant.organization, email="invitee@bluebird.test", role=Role.RECRUITER, actor=tenant.admin
        )
        api_key, _ = api_key_create(name="other", scope="read", actor=tenant.admin)
        membership = Membership.objects.get(user=tenant.recruiter)
        candidate = candidate_create(actor=tenant.admin, first_name="Theirs", last_name="Only",
                                     email="theirs.only@bluebird.test", external_id="ext-theirs-1",
                                     skills=["cobol"])
        job = job_save(actor=tenant.admin, title="Their secret job", external_id="job-theirs-1",
                       hiring_managers=[tenant.hiring_manager], status="open")
        application = application_create(actor=tenant.admin, candidate=candidate, job=job, stage="final",
                                         external_id="app-theirs-1")
        feedback = feedback_note_create(application=application, author=tenant.hiring_manager,
                                        strengths="Theirs strengths", shareable=True)
        reason = RejectionReason.objects.first()
        template = EmailTemplate.objects.filter(kind="generic").first()
        message = send_test(template=template, actor=tenant.admin, candidate=candidate)
        from outreach.models import Reply

        reply = Reply.objects.create(message=message, candidate=candidate, received_at=message.created_at,
                                     from_email=candidate.email, subject="Re: theirs", text="Please remove me",
                                     stop_request=True, provider="postmark", dedupe_key="their-reply")
        from talentpools.services import tag_candidates, tag_create

        tag = tag_create(name="Their tag")
        tag_candidates(tag=tag, candidate_ids=[candidate.pk], actor=tenant.admin)
        from crm.operations import operation_create
        from talentpools.services import job_tags_set, pool_add_members, pool_create, rule_create

        pool = pool_create(name="Their smart pool", kind="smart", actor=tenant.admin,
                           definition={"tags_any": [tag.pk]})
        static_pool = pool_create(name="Their hand-picked pool", kind="static", actor=tenant.admin)
        pool_add_members(pool=static_pool, candidate_ids=[candidate.pk], actor=tenant.admin)
        rule = rule_create(condition="keyword", value="cobol", tag_id=tag.pk, actor=tenant.admin)
        job_tags_set(job=job, tag_ids=[tag.pk])
        operation = operation_create(kind="bulk.tag", label="Their operation", total=1, params={},
                                     actor=tenant.admin)
        from outreach.campaigns import campaign_save

        digest = EmailTemplate.objects.filter(kind="job_offers_digest").first()
        campaign = campaign_save(actor=tenant.admin, name="Their campaign", topic="job_offers",
                                 pool_ids=[static_pool.pk], template=digest)
        from imports.services import import_upload

        candidate_import = import_upload(data=b"Name,Email\nTheirs Only,theirs.only@bluebird.test\n",
                                         filename="their-import.csv", actor=tenant.admin)
        preview_key = "their-preview-key"
        cache.set(f"preview:{tenant.organization.pk}:{preview_key}", "<p>Their secret preview</p>", 600)
    return {
        "slug": tenant.slug,
        "membership": membership.pk,
        "invitation": invitation.pk,
        "api_key": api_key.pk,
        "candidate": candidate.pk,
        "candidate_email": candidate.email,
        "candidate_external_id": candidate.external_id,
        "job": job.pk,
        "job_external_id": job.external_id,
        "application": application.pk,
        "feedback": feedback.pk,
        "application_external_id": application.external_id,
        "rejection_reason": reason.pk,
        "hiring_manager_email": tenant.hiring_manager.email,
        "hiring_manager_id": tenant.hiring_manager.pk,
        "template": template.pk,
        "message": message.pk,
        "reply": reply.pk,
        "preview_key": preview_key,
        "tag": tag.pk,
        "pool": pool.pk,
        "static_pool": static_pool.pk,
        "rule": rule.pk,
        "operation": operation.pk,
        "campaign": campaign.pk,
        "candidate_import": candidate_import.pk,
        "digest_template": digest.pk,
    }


def _assert_nothing_of_theirs(response, theirs):
    from urllib.parse import parse_qsl, quote_plus

    content = b"".join(response.streaming_content) if response.streaming else response.content
    # What the request itself sent (a filter echoed into a form) is not the other tenant's data.
    for _, value in parse_qsl(response.request.get("QUERY_STRING", "")):
        for echoed in {value, quote_plus(value), quote_plus(quote_plus(value))}:
            content = content.replace(echoed.encode(), b"")
    for key in ("candidate_email",):
        assert theirs[key].encode() not in content or response.request["REQUEST_METHOD"] == "PUT", (
            f"{response.request['PATH_INFO']} shows the other tenant's {key}"
        )
    assert b"Theirs Only" not in content and b'"Theirs"' not in content
    assert b"Their secret job" not in content and b"Theirs strengths" not in content
    assert b"Their secret preview" not in content
    assert b"Their smart pool" not in content and b"Their hand-picked pool" not in content
    assert b"Their operation" not in content and b"Their tag" not in content
    assert b"Their campaign" not in content and b"their-import.csv" not in content


TENANT_ROUTES = sorted(name for name, spec in ROUTES.items() if isinstance(spec, Route))


def _call(client, method, url, body, api):
    if method == "GET":
        return client.get(url)
    if api:
        return getattr(client, method.lower())(url, body or {}, format="json")
    return getattr(client, method.lower())(url, body or {})


def _snapshot(tenant):
    with organization_scope(tenant.organization):
        return {
            "org": tuple(type(tenant.organization).objects.filter(pk=tenant.organization.pk).values_list()),
            "members": sorted(Membership.objects.values_list("id", "role")),
            "invitations": sorted(Invitation.objects.values_list("id", "revoked_at")),
            "keys": sorted(ApiKey.objects.values_list("id", "revoked_at")),
            "candidates": sorted(Candidate.objects.values_list("id", "first_name", "email", "do_not_contact",
                                                               "updated_at")),
            "activities": Activity.objects.count(),
            "jobs": sorted(Job.objects.values_list("id", "title", "status", "updated_at")),
            "applications": sorted(Application.objects.values_list("id", "stage", "version")),
            "feedback": sorted(FeedbackNote.objects.values_list("id", "strengths", "edited_at")),
            "templates": sorted(EmailTemplate.objects.values_list("id", "name", "version")),
            "messages": sorted(Message.objects.values_list("id", "status", "send_after")),
            "consent": sorted(ConsentState.objects.values_list("id", "state", "frequency")),
            "tags": sorted(Tag.objects.values_list("id", "name")),
            "tag_ids": sorted(Candidate.objects.values_list("id", "tag_ids")),
            "pools": sorted(TalentPool.objects.values_list("id", "name", "definition", "updated_at")),
            "pool_members": sorted(PoolMember.objects.values_list("id", "pool_id", "candidate_id")),
            "rules": sorted(TaggingRule.objects.values_list("id", "active", "tag_id")),
            "job_tags": sorted(JobTag.objects.values_list("job_id", "tag_id")),
            "operations": sorted(Operation.objects.values_list("id", "status")),
            "campaigns": sorted(Campaign.objects.values_list("id", "name", "status", "updated_at")),
            "runs": CampaignRun.objects.count(),
            "imports": sorted(CandidateImport.objects.values_list("id", "status", "mapping")),
        }


@pytest.mark.parametrize("name", TENANT_ROUTES)
def test_route_answers_another_tenants_ids_like_missing_ones(name, tenant_a, tenant_b):
    spec = ROUTES[name]
    theirs = other_tenant_objects(tenant_b)
    before = _snapshot(tenant_b)
    client = tenant_a.api if spec.api else tenant_a.admin_client

    for method in spec.methods:
        body = spec.body(theirs) if spec.body else None
        if spec.api:
            kwargs_theirs = {k: theirs[v] for k, v in spec.ids.items()}
            kwargs_missing = {k: spec.missing.get(k, MISSING_ID) for k in spec.ids}
        else:
            # Our slug with their ids, and their slug outright.
            kwargs_theirs = {"org_slug": tenant_a.slug, **{k: theirs[v] for k, v in spec.ids.items()}}
            kwargs_missing = {"org_slug": tenant_a.slug, **{k: spec.missing.get(k, MISSING_ID) for k in spec.ids}}
            their_slug = {"org_slug": tenant_b.slug, **{k: theirs[v] for k, v in spec.ids.items()}}
            response = _call(client, method, reverse(name, kwargs=their_slug), body, spec.api)
            assert response.status_code == 404, f"{method} {name} with the other tenant's slug: {response.status_code}"
            missing_slug = {**their_slug, "org_slug": "no-such-org"}
            response = _call(client, method, reverse(name, kwargs=missing_slug), body, spec.api)
            assert response.status_code == 404

        if spec.ids:
            theirs_response = _call(client, method, reverse(name, kwargs=kwargs_theirs), body, spec.api)
            body = spec.body(theirs) if spec.body else None  # fresh, for bodies that must differ per call
            missing_response = _call(client, method, reverse(name, kwargs=kwargs_missing), body, spec.api)
            expected = missing_response.status_code if spec.creates and method == "PUT" else 404
            assert theirs_response.status_code == missing_response.status_code == expected, (
                f"{method} {name}: another tenant's id gave {theirs_response.status_code}, "
                f"a missing id gave {missing_response.status_code}"
            )
            _assert_nothing_of_theirs(theirs_response, theirs)
        if spec.query and method == "GET":
            url = reverse(name, kwargs=kwargs_theirs)
            theirs_response = client.get(url, spec.query(theirs))
            missing_response = client.get(url, {k: MISSING_ID if isinstance(v, int) else f"missing{MISSING_ID}"
                                                for k, v in spec.query(theirs).items()})
            assert theirs_response.status_code == missing_response.status_code
            _assert_nothing_of_theirs(theirs_response, theirs)

    assert _snapshot(tenant_b) == before, f"{name} changed the other tenant's data"


def test_api_key_only_sees_its_own_organization(tenant_a, tenant_b):
    response = tenant_a.api.get(reverse("api:me"))
    assert response.status_code == 200
    assert response.json()["organization"]["slug"] == tenant_a.slug
    assert tenant_b.slug not in response.content.decode()


def test_not_tenant_entries_are_not_organization_pages():
    """A route under /o/<org_slug>/ or /api/v1/ reads tenant data: it cannot be declared exempt."""
    for route, name in project_routes():
        if isinstance(ROUTES.get(name), NotTenant):
            assert "<slug:org_slug>" not in route and not route.startswith("api/v1/"), route


def test_ids_in_bodies_answer_like_missing_ones(tenant_a, tenant_b):
    """Ids sent in a form or JSON body (a job, a reason, a member) are looked up in our organization."""
    theirs = other_tenant_objects(tenant_b)
    with organization_scope(tenant_a.organization):
        ours = candidate_create(actor=tenant_a.admin, first_name="Ours", email="ours@acme.test")
        job = job_save(actor=tenant_a.admin, title="Our job", status="open")
        application = application_create(actor=tenant_a.admin, candidate=ours, job=job, stage="final")
        from talentpools.services import pool_create, tag_create

        our_tag = tag_create(name="Our tag")
        our_pool = pool_create(name="Our pool", kind="static", actor=tenant_a.admin)
        our_digest = EmailTemplate.objects.filter(kind="job_offers_digest").first()
    before = _snapshot(tenant_b)
    slug = tenant_a.slug

    def both(url, body_for):
        responses = []
        for is_theirs in (True, False):
            client = Client()  # fresh, so that flash messages of one request do not show in the other
            client.force_login(tenant_a.admin)
            responses.append(client.post(url, body_for(is_theirs), follow=True))
        return responses

    pick = lambda key, is_theirs: theirs[key] if is_theirs else MISSING_ID  # noqa: E731
    cases = [
        (f"/o/{slug}/candidates/{ours.pk}/add-to-job/", lambda t: {"job": pick("job", t)}),
        (f"/o/{slug}/applications/{application.pk}/reject/",
         lambda t: {"reason": pick("rejection_reason", t), "version": application.version}),
        (f"/o/{slug}/jobs/new/", lambda t: {"title": "New", "status": "open",
                                            "hiring_managers": [pick("hiring_manager_id", t)]}),
        (f"/o/{slug}/candidates/bulk/", lambda t: {"action": "tag", "tag": pick("tag", t), "candidate": [ours.pk]}),
        (f"/o/{slug}/candidates/bulk/", lambda t: {"action": "add_to_pool", "pool": pick("static_pool", t),
                                                    "candidate": [ours.pk]}),
        (f"/o/{slug}/candidates/bulk/", lambda t: {"action": "tag", "tag": our_tag.pk, "scope": "all",
                                                    "pool_scope": pick("pool", t)}),
        (f"/o/{slug}/candidates/{ours.pk}/pools/", lambda t: {"pool": pick("static_pool", t)}),
        (f"/o/{slug}/pools/new/", lambda t: {"kind": "smart", "name": "P", "tags_any": [pick("tag", t)]}),
        (f"/o/{slug}/tags/rules/", lambda t: {"condition": "keyword", "keyword": "x", "tag": pick("tag", t)}),
        (f"/o/{slug}/jobs/{job.pk}/matches/", lambda t: {"tags": [pick("tag", t)]}),
    ]
    for url, body_for in cases:
        theirs_response, missing_response = both(url, body_for)
        assert theirs_response.status_code == missing_response.status_code, url
        assert _without_tokens(theirs_response) == _without_tokens(missing_response), url
    client = tenant_a.api
    for url, body_for in [
        ("/api/v1/applications/", lambda t: {"candidate": pick("candidate", t), "job": job.pk}),
        ("/api/v1/applications/", lambda t: {"candidate": ours.pk, "job": pick("job", t)}),
        (f"/api/v1/applications/{application.pk}/reject/", lambda t: {"reason": pick("rejection_reason", t)}),
        ("/api/v1/pools/", lambda t: {"name": f"P{t}", "kind": "smart", "definition": {"tags_all": [pick("tag", t)]}}),
        ("/api/v1/pools/", lambda t: {"name": f"P{t}", "kind": "smart",
                                      "definition": {"rejection_reasons": [pick("rejection_reason", t)]}}),
        (f"/api/v1/tags/{our_tag.pk}/candidates/", lambda t: {"candidates": [pick("candidate", t)]}),
        (f"/api/v1/tags/{our_tag.pk}/candidates/", lambda t: {"pool": pick("pool", t)}),
        (f"/api/v1/tags/{our_tag.pk}/candidates/", lambda t: {"filter": {"tags_any": [pick("tag", t)]}}),
        (f"/api/v1/pools/{our_pool.pk}/members/", lambda t: {"candidates": [pick("candidate", t)]}),
        ("/api/v1/campaigns/", lambda t: {"name": "C", "topic": "job_offers", "pool_ids": [pick("pool", t)],
                                          "template": our_digest.pk}),
        ("/api/v1/campaigns/", lambda t: {"name": "C", "topic": "job_offers", "pool_ids": [our_pool.pk],
                                          "template": pick("digest_template", t)}),
    ]:
        theirs_response = client.post(url, body_for(True), format="json")
        missing_response = client.post(url, body_for(False), format="json")
        assert theirs_response.status_code == missing_response.status_code == 400, url
        # Messages may name the id sent back; apart from it, the answers are the same.
        assert _without_numbers(theirs_response.json()) == _without_numbers(missing_response.json()), url
    assert _snapshot(tenant_b) == before


def _without_tokens(response):
    import re

    content = response.content.decode()
    content = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", content)
    content = re.sub(r'"X-CSRFToken": "[^"]+"', "", content)
    return re.sub(r"\b\d+\b", "N", content)


def _without_numbers(data):
    import json
    import re

    return re.sub(r"\b\d+\b", "N", json.dumps(data, sort_keys=True))
