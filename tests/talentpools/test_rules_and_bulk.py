"""Tagging rules, merging tags, bulk actions and their progress, pools through the pages and the API."""

import csv
import io
import threading

import pytest
from django.db import connection

from crm.models import AuditEvent, Candidate, Operation, RejectionReason
from crm.services import (
    application_create,
    application_decline_offer,
    application_reject,
    candidate_create,
    candidate_update,
    job_save,
)
from talentpools import services
from talentpools.models import CandidateTag, PoolMember, Tag, TalentPool
from talentpools.services import pool_create, rule_create, tag_candidates, tag_create, tag_merge

from ..factories import CandidateFactory


def tag_names(candidate):
    candidate.refresh_from_db()
    return set(Tag.objects.filter(pk__in=candidate.tag_ids).values_list("name", flat=True))


# --- Rules -------------------------------------------------------------------------------------

def test_rules_tag_on_the_domain_events(tenant_a, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        python, silver, event, too_junior = (tag_create(name=n) for n in (
            "Python", "Silver", "Met at an event", "Too junior"))
        reason = RejectionReason.objects.get(label__iexact="Not enough experience") \
            if RejectionReason.objects.filter(label__iexact="Not enough experience").exists() \
            else RejectionReason.objects.first()
        rule_create(condition="keyword", value="Python", tag_id=python.pk, actor=tenant_a.recruiter)
        rule_create(condition="silver_medalist", value="", tag_id=silver.pk, actor=tenant_a.recruiter)
        rule_create(condition="source", value="event", tag_id=event.pk, actor=tenant_a.recruiter)
        rule_create(condition="rejection_reason", value=str(reason.pk), tag_id=too_junior.pk,
                    actor=tenant_a.recruiter)

        with django_capture_on_commit_callbacks(execute=True):
            ada = candidate_create(actor=tenant_a.recruiter, first_name="Ada", email="ada@example.test",
                                   headline="Senior Python engineer", source="event")
        assert tag_names(ada) == {"Python", "Met at an event"}

        with django_capture_on_commit_callbacks(execute=True):
            bo = candidate_create(actor=tenant_a.recruiter, first_name="Bo", email="bo@example.test")
        assert tag_names(bo) == set()
        with django_capture_on_commit_callbacks(execute=True):
            candidate_update(candidate=bo, actor=tenant_a.recruiter, data={"skills": ["python", "go"]})
        assert tag_names(bo) == {"Python"}

        job = job_save(actor=tenant_a.recruiter, title="Backend", status="open")
        with django_capture_on_commit_callbacks(execute=True):
            application = application_create(actor=tenant_a.recruiter, candidate=bo, job=job, stage="screening")
            application_reject(application=application, reason=reason, actor=tenant_a.recruiter,
                               notice_plan="none", notice_skip_reason="test")
        assert tag_names(bo) == {"Python", "Too junior"}

        cy = CandidateFactory(organization=tenant_a.organization, first_name="Cy", skills=[])
        with django_capture_on_commit_callbacks(execute=True):
            offer = application_create(actor=tenant_a.recruiter, candidate=cy, job=job, stage="offer")
            application_decline_offer(application=offer, reason="salary", actor=tenant_a.recruiter,
                                      notice_plan="none")
        assert tag_names(cy) == {"Silver"}
        # Tags from rules say so.
        assert CandidateTag.objects.get(candidate=cy).tagged_by_label == "rule"


def test_a_paused_rule_does_nothing(tenant_a, django_capture_on_commit_callbacks):
    with tenant_a.scope():
        python = tag_create(name="Python")
        rule = rule_create(condition="keyword", value="python", tag_id=python.pk, actor=tenant_a.recruiter)
        rule.active = False
        rule.save()
        with django_capture_on_commit_callbacks(execute=True):
            ada = candidate_create(actor=tenant_a.recruiter, first_name="Ada", email="ada@example.test",
                                   skills=["python"])
        assert tag_names(ada) == set()


def test_running_a_rule_over_the_base_shows_progress_and_tags_who_matches(tenant_a,
                                                                           django_capture_on_commit_callbacks):
    with tenant_a.scope():
        for i in range(30):
            CandidateFactory(organization=tenant_a.organization, headline="Data engineer" if i % 3 == 0 else "Nurse")
        data = tag_create(name="Data")
        rule = rule_create(condition="keyword", value="data", tag_id=data.pk, actor=tenant_a.recruiter)
    client = tenant_a.recruiter_client
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/{tenant_a.slug}/tags/rules/{rule.pk}/", {"action": "run"})
    assert response.status_code == 302 and "/operations/" in response["Location"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "Done" in body and "10 tags added" in body and 'value="100"' in body
    with tenant_a.scope():
        assert Candidate.objects.filter(tag_ids__contains=[data.pk]).count() == 10


@pytest.mark.parametrize("form, error", [
    ({"condition": "keyword", "keyword": "x"}, "2 to 50 characters"),
    ({"condition": "source", "source": ""}, "Choose a source"),
    ({"condition": "rejection_reason", "rejection_reason": ""}, "Choose one of your rejection reasons"),
    ({"condition": "telepathy"}, "Select a valid choice"),
])
def test_rule_form_errors_are_on_the_page(tenant_a, form, error):
    with tenant_a.scope():
        tag = tag_create(name="Any")
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/tags/rules/", {**form, "tag": tag.pk})
    assert response.status_code == 400
    assert error in response.content.decode()
    with tenant_a.scope():
        assert not tag.rules.exists()


# --- Merging ------------------------------------------------------------------------------------

def test_merge_moves_candidates_rules_and_smart_pools(tenant_a):
    with tenant_a.scope():
        py, python = tag_create(name="py"), tag_create(name="Python")
        people = [CandidateFactory(organization=tenant_a.organization) for _ in range(3)]
        tag_candidates(tag=py, candidate_ids=[people[0].pk, people[1].pk], actor=tenant_a.recruiter)
        tag_candidates(tag=python, candidate_ids=[people[1].pk, people[2].pk], actor=tenant_a.recruiter)
        rule = rule_create(condition="keyword", value="python", tag_id=py.pk, actor=tenant_a.recruiter)
        pool = pool_create(name="Pythonistas", kind="smart", actor=tenant_a.recruiter,
                           definition={"tags_any": [py.pk]})
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/tags/{py.pk}/",
                                              {"action": "merge", "target": python.pk}, follow=True)
    assert "2 candidates moved" in response.content.decode()
    with tenant_a.scope():
        assert not Tag.objects.filter(pk=py.pk).exists()
        for person in people:
            person.refresh_from_db()
            assert person.tag_ids == [python.pk]
        assert CandidateTag.objects.filter(tag=python).count() == 3
        rule.refresh_from_db()
        pool.refresh_from_db()
        assert rule.tag_id == python.pk and pool.definition == {"tags_any": [python.pk]}
    assert tenant_a.api.get(f"/api/v1/pools/{pool.pk}/candidates/").json()["count"] == 3


@pytest.mark.django_db(transaction=True)
def test_two_recruiters_merging_the_same_tags_at_once(tenant_a):
    with tenant_a.scope():
        a, b = tag_create(name="ML"), tag_create(name="Machine learning")
        people = [CandidateFactory(organization=tenant_a.organization) for _ in range(5)]
        tag_candidates(tag=a, candidate_ids=[p.pk for p in people], actor=tenant_a.recruiter)
    outcomes, barrier = [], threading.Barrier(2)

    def merge(source, target):
        from crm.tenancy import organization_scope

        try:
            with organization_scope(tenant_a.organization):
                barrier.wait()
                tag_merge(source=Tag.objects.get(pk=source.pk), target=Tag.objects.get(pk=target.pk),
                          actor=tenant_a.recruiter)
            outcomes.append("merged")
        except services.ServiceError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge, args=(a, b)), threading.Thread(target=merge, args=(b, a))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["One of these tags no longer exists.", "merged"]
    with tenant_a.scope():
        survivor = Tag.objects.get()
        assert all(Candidate.objects.get(pk=p.pk).tag_ids == [survivor.pk] for p in people)
        assert CandidateTag.objects.filter(tag=survivor).count() == 5


# --- Bulk actions ---------------------------------------------------------------------------------

def test_bulk_tag_ticked_candidates(tenant_a):
    with tenant_a.scope():
        tag = tag_create(name="Reconnect")
        people = [CandidateFactory(organization=tenant_a.organization) for _ in range(3)]
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/candidates/bulk/", {
        "action": "tag", "tag": tag.pk, "candidate": [people[0].pk, people[2].pk], "scope": "selected"},
        follow=True)
    assert "2 candidates newly tagged" in response.content.decode()
    with tenant_a.scope():
        assert set(Candidate.objects.filter(tag_ids__contains=[tag.pk]).values_list("pk", flat=True)) == {
            people[0].pk, people[2].pk}


def test_bulk_tag_all_matches_of_a_filter_runs_in_the_background_beyond_the_limit(
        tenant_a, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "INLINE_LIMIT", 5)
    monkeypatch.setattr(services, "BATCH", 4)
    with tenant_a.scope():
        tag = tag_create(name="Seniors")
        for i in range(14):
            CandidateFactory(organization=tenant_a.organization, seniority="senior" if i < 12 else "junior")
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/candidates/bulk/", {
            "action": "tag", "tag": tag.pk, "scope": "all", "query": "seniority=senior&sort=last_name",
            "next": f"/o/{tenant_a.slug}/candidates/?seniority=senior"})
    assert response.status_code == 302 and "/operations/" in response["Location"]
    with tenant_a.scope():
        operation = Operation.objects.get()
        assert operation.status == "done" and operation.total == 12 and operation.done == 12
        assert operation.result["changed"] == 12
        assert Candidate.objects.filter(tag_ids__contains=[tag.pk]).count() == 12
    page = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "12 candidates done: 12 newly tagged" in page and "Back to where you were" in page


def test_bulk_add_a_pool_to_another_pool_and_untag(tenant_a):
    with tenant_a.scope():
        tag = tag_create(name="Go")
        people = [CandidateFactory(organization=tenant_a.organization, skills=["go"]) for _ in range(3)]
        tag_candidates(tag=tag, candidate_ids=[p.pk for p in people], actor=tenant_a.recruiter)
        gophers = pool_create(name="Gophers", kind="smart", actor=tenant_a.recruiter,
                              definition={"skills_any": ["go"]})
        shortlist = pool_create(name="Shortlist", kind="static", actor=tenant_a.recruiter)
    api = tenant_a.api
    response = api.post(f"/api/v1/pools/{shortlist.pk}/members/", {"candidates": [people[0].pk]}, format="json")
    assert response.json() == {"changed": 1, "operation": None}
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/candidates/bulk/", {
        "action": "add_to_pool", "pool": shortlist.pk, "scope": "all", "query": "", "pool_scope": gophers.pk,
        "next": f"/o/{tenant_a.slug}/pools/{gophers.pk}/"}, follow=True)
    assert "2 candidates added to the pool" in response.content.decode()
    with tenant_a.scope():
        assert PoolMember.objects.filter(pool=shortlist).count() == 3
    response = api.delete(f"/api/v1/tags/{tag.pk}/candidates/", {"pool": shortlist.pk}, format="json")
    assert response.status_code == 200 and response.json()["changed"] == 3
    with tenant_a.scope():
        assert not Candidate.objects.filter(tag_ids__contains=[tag.pk]).exists()


@pytest.mark.parametrize("body, field", [
    ({"candidates": []}, "candidates"),
    ({"candidates": list(range(1, 10_002))}, "candidates"),
    ({"filter": {"seniority": ["wizard"]}}, "filter"),
    ({"filter": {"seniority": ["senior"]}}, "selection"),  # nobody matches
    ({}, "selection"),
    ({"candidates": [1], "pool": 1}, "selection"),
    ({"pool": 2_000_000_000}, "pool"),
])
def test_bulk_api_refuses_bad_selections_with_the_field(tenant_a, body, field):
    with tenant_a.scope():
        tag = tag_create(name="Any")
        CandidateFactory(organization=tenant_a.organization, seniority="junior")
    response = tenant_a.api.post(f"/api/v1/tags/{tag.pk}/candidates/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    with tenant_a.scope():
        assert not CandidateTag.objects.exists()


def test_bulk_api_answers_202_with_an_operation_to_poll(tenant_a, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "INLINE_LIMIT", 2)
    with tenant_a.scope():
        tag = tag_create(name="Everyone")
        for _ in range(5):
            CandidateFactory(organization=tenant_a.organization)
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_a.api.post(f"/api/v1/tags/{tag.pk}/candidates/", {"filter": {}}, format="json")
    assert response.status_code == 202
    operation = tenant_a.api.get(response.json()["operation"]["url"]).json()
    assert operation["status"] == "done" and operation["percent"] == 100 and operation["result"]["changed"] == 5


def test_a_read_only_key_cannot_bulk_tag(tenant_a):
    with tenant_a.scope():
        tag = tag_create(name="Any")
        candidate = CandidateFactory(organization=tenant_a.organization)
    response = tenant_a.api_read.post(f"/api/v1/tags/{tag.pk}/candidates/", {"candidates": [candidate.pk]},
                                      format="json")
    assert response.status_code == 403


# --- Pools -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"name": "", "kind": "static"}, "name"),
    ({"name": "x" * 101, "kind": "static"}, "name"),
    ({"name": "Seniors", "kind": "static"}, "name"),  # a duplicate whatever the case
    ({"name": "New", "kind": "clever"}, "kind"),
    ({"name": "New", "kind": "smart", "definition": {"seniority": "wizard"}}, "definition"),
    ({"name": "New", "kind": "smart", "definition": "seniority=senior"}, "definition"),
])
def test_pool_api_errors_name_the_field(tenant_a, body, field):
    with tenant_a.scope():
        pool_create(name="SENIORS", kind="smart", actor=tenant_a.recruiter, definition={"seniority": ["senior"]})
    response = tenant_a.api.post("/api/v1/pools/", body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    with tenant_a.scope():
        assert TalentPool.objects.count() == 1


def test_smart_pool_page_builder_errors_stay_on_the_page(tenant_a):
    response = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/pools/new/", {
        "kind": "smart", "name": "Quiet seniors", "seniority": ["senior"], "inactive_days": "0",
        "skills_all": "python"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Ensure this value is greater than or equal to 1" in body and 'value="Quiet seniors"' in body
    with tenant_a.scope():
        assert not TalentPool.objects.exists()


def test_pool_export_is_formula_safe_and_audited(tenant_a):
    with tenant_a.scope():
        CandidateFactory(organization=tenant_a.organization, first_name="=HYPERLINK(1)", seniority="senior")
        CandidateFactory(organization=tenant_a.organization, first_name="Bo", seniority="junior")
        pool = pool_create(name="Seniors", kind="smart", actor=tenant_a.recruiter,
                           definition={"seniority": ["senior"]})
    response = tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/pools/{pool.pk}/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 2 and rows[1][1] == "'=HYPERLINK(1)"
    with tenant_a.scope():
        event = AuditEvent.objects.filter(action="candidates.exported").get()
        assert event.details["filters"]["pool"] == "Seniors"
    assert tenant_a.hiring_manager_client.get(f"/o/{tenant_a.slug}/pools/{pool.pk}/export.csv").status_code == 404


def test_pool_pages_work_empty_and_full(tenant_a):
    client, slug = tenant_a.recruiter_client, tenant_a.slug
    assert "No pool yet" in client.get(f"/o/{slug}/pools/").content.decode()
    with tenant_a.scope():
        static = pool_create(name="Shortlist", kind="static", actor=tenant_a.recruiter)
        smart = pool_create(name="Juniors", kind="smart", actor=tenant_a.recruiter,
                            definition={"seniority": ["junior"]})
        bo = CandidateFactory(organization=tenant_a.organization, first_name="Bo", seniority="junior")
    assert "Nobody in this pool yet" in client.get(f"/o/{slug}/pools/{static.pk}/").content.decode()
    client.post(f"/o/{slug}/candidates/{bo.pk}/pools/", {"pool": static.pk})
    for pool in (static, smart):
        page = client.get(f"/o/{slug}/pools/{pool.pk}/").content.decode()
        assert "Bo" in page
        growth = client.get(f"/o/{slug}/pools/{pool.pk}/growth/").content.decode()
        assert "<svg" in growth
    panel = client.get(f"/o/{slug}/candidates/{bo.pk}/").content.decode()
    assert "Shortlist" in panel and "Juniors" in panel
    client.post(f"/o/{slug}/pools/{static.pk}/remove/", {"candidate": bo.pk})
    assert "Nobody in this pool yet" in client.get(f"/o/{slug}/pools/{static.pk}/").content.decode()
    assert client.get(f"/o/{slug}/pools/{smart.pk}/?cursor=forged").status_code == 400


def test_the_bulk_bar_follows_the_filters_of_the_list(tenant_a):
    """Filtering with htmx refreshes the bar, so that "all matches" means the matches on screen."""
    import re
    from html import unescape

    with tenant_a.scope():
        tag = tag_create(name="Seniors")
        CandidateFactory(organization=tenant_a.organization, seniority="senior")
        for _ in range(2):
            CandidateFactory(organization=tenant_a.organization, seniority="junior")
    client = tenant_a.recruiter_client
    partial = client.get(f"/o/{tenant_a.slug}/candidates/", {"seniority": "senior"}, HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert 'id="bulk-form"' in html and "All 1 matches" in html
    query = unescape(re.search(r'name="query" value="([^"]*)"', html).group(1))
    assert "seniority=senior" in query
    response = client.post(f"/o/{tenant_a.slug}/candidates/bulk/", {
        "action": "tag", "tag": tag.pk, "scope": "all", "query": query}, follow=True)
    assert "1 candidate newly tagged" in response.content.decode()
