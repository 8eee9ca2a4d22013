import csv
import io
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.models import Activity, AuditEvent, Candidate, Suppression
from crm.services import DuplicateCandidate, ServiceError, candidate_create
from crm.tenancy import organization_scope

from ..factories import CandidateFactory


def url(tenant, path=""):
    return f"/o/{tenant.slug}/candidates/{path}"


NEW = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.test", "source": "referral",
       "headline": "Compiler engineer", "seniority": "principal", "skills": "COBOL, compilers, cobol",
       "location": "Arlington, VA"}


def test_a_recruiter_adds_a_candidate_and_sees_it_on_the_timeline(tenant_a):
    response = tenant_a.recruiter_client.post(url(tenant_a, "new/"), NEW)
    assert response.status_code == 302
    with tenant_a.scope():
        candidate = Candidate.objects.get(email="grace@navy.test")
        assert candidate.skills == ["cobol", "compilers"]  # normalized, no duplicates
        assert Activity.objects.get(candidate=candidate).kind == "created"
    page = tenant_a.recruiter_client.get(response["Location"]).content.decode()
    assert "Grace Hopper" in page and "Added to the talent base (referral)" in page


def test_email_is_unique_per_organization_whatever_its_case(tenant_a, tenant_b):
    with tenant_a.scope():
        existing = candidate_create(actor=tenant_a.admin, first_name="Ada", email="ada@lovelace.test")
    response = tenant_a.recruiter_client.post(url(tenant_a, "new/"), {**NEW, "email": "ADA@Lovelace.test"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "already exists" in page and f'href="/o/{tenant_a.slug}/candidates/{existing.pk}/"' in page
    # Another organization may have the same person.
    assert tenant_b.recruiter_client.post(url(tenant_b, "new/"), {**NEW, "email": "ada@lovelace.test"}).status_code == 302


def test_the_database_also_refuses_a_case_variant(tenant_a):
    with tenant_a.scope():
        CandidateFactory(organization=tenant_a.organization, email="x@y.test")
        with pytest.raises(IntegrityError):
            CandidateFactory(organization=tenant_a.organization, email="X@Y.TEST")


def test_a_suppressed_email_is_refused_by_every_path(tenant_a):
    with tenant_a.scope():
        Suppression.objects.create(email_hash=Suppression.hash_email(" Erased@Person.test "))
        with pytest.raises(ServiceError, match="erased"):
            candidate_create(actor=tenant_a.admin, first_name="E", email="erased@person.test")
    page = tenant_a.recruiter_client.post(url(tenant_a, "new/"), {**NEW, "email": "erased@person.test"})
    assert "erased" in page.content.decode()
    api = tenant_a.api.post("/api/v1/candidates/", {"first_name": "E", "email": "ERASED@person.test"}, format="json")
    assert api.status_code == 400 and "erased" in api.json()["email"][0]
    with tenant_a.scope():
        assert not Candidate.objects.exists()


def test_the_suppression_hash_uses_its_own_key(settings):
    settings.SUPPRESSION_HASH_KEY = "one"
    first = Suppression.hash_email("a@b.test")
    settings.SUPPRESSION_HASH_KEY = "two"
    assert Suppression.hash_email("a@b.test") != first
    assert "a@b.test" not in first


@pytest.mark.parametrize("field,value,message", [
    ("email", "not-an-email", "valid email"),
    ("email", "a" * 250 + "@x.test", "at most 254"),
    ("seniority", "wizard", "not one of the available choices"),
    ("notes", "x" * 1_000_000, "at most 20000"),
    ("first_name", "", "required"),
    ("linkedin_url", "javascript:alert(1)", "valid URL"),
])
def test_bad_input_gets_a_form_error_and_writes_nothing(tenant_a, field, value, message):
    response = tenant_a.recruiter_client.post(url(tenant_a, "new/"), {**NEW, field: value})
    assert response.status_code == 400
    assert message in response.content.decode().replace(",", "")
    with tenant_a.scope():
        assert not Candidate.objects.exists() and not Activity.objects.exists()


def test_html_and_script_are_rendered_escaped(tenant_a):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with tenant_a.scope():
        candidate = candidate_create(actor=tenant_a.admin, first_name=evil, email="evil@x.test", headline=evil,
                                     skills=["<script>x</script>"], notes=evil, location=evil)
    for page_url in (url(tenant_a), url(tenant_a, f"{candidate.pk}/"), url(tenant_a, f"{candidate.pk}/edit/")):
        page = tenant_a.recruiter_client.get(page_url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, page_url
        assert "&lt;script&gt;" in page


def test_search_finds_by_name_email_title_and_skill(tenant_a):
    with tenant_a.scope():
        candidate_create(actor=tenant_a.admin, first_name="Linus", last_name="Torvalds", email="linus@kernel.test",
                         headline="Kernel maintainer", skills=["c", "git"])
        candidate_create(actor=tenant_a.admin, first_name="Guido", last_name="Rossum", email="guido@python.test",
                         headline="Language designer", skills=["python"])
    for term, expected in [("torvalds", "Linus"), ("KERNEL.test", "Linus"), ("maintainer", "Linus"),
                           ("python", "Guido"), ("guido designer", "Guido")]:
        page = tenant_a.recruiter_client.get(url(tenant_a), {"q": term}).content.decode()
        assert expected in page, term
        assert ({"Linus", "Guido"} - {expected}).pop() not in page, term
    nothing = tenant_a.recruiter_client.get(url(tenant_a), {"q": "zzqxv"}).content.decode()
    assert "No candidate matches" in nothing


def test_a_too_short_search_explains_itself(tenant_a):
    response = tenant_a.recruiter_client.get(url(tenant_a), {"q": "ab"})
    assert response.status_code == 400
    assert "at least 3 characters" in response.content.decode()


def test_filters(tenant_a):
    now = timezone.now()
    with tenant_a.scope():
        org = tenant_a.organization
        CandidateFactory(organization=org, first_name="Senior", seniority="senior", source="event",
                         location="Lyon, France", last_activity_at=now - timedelta(days=400))
        CandidateFactory(organization=org, first_name="Junior", seniority="junior", source="referral",
                         location="Paris, France", do_not_contact=True, skills=["rust"])
        CandidateFactory(organization=org, first_name="Silver", seniority="lead", silver_medalist=True,
                         location="Lisbon")
    cases = [
        ({"seniority": "senior"}, {"Senior"}),
        ({"seniority": ["senior", "junior"]}, {"Senior", "Junior"}),
        ({"source": "event"}, {"Senior"}),
        ({"location": "li"}, {"Silver"}),
        ({"location": "LYON"}, {"Senior"}),
        ({"do_not_contact": "true"}, {"Junior"}),
        ({"silver_medalist": "true"}, {"Silver"}),
        ({"skill": "Rust"}, {"Junior"}),
        ({"active_before": (now - timedelta(days=365)).date().isoformat()}, {"Senior"}),
        ({"active_after": (now - timedelta(days=30)).date().isoformat()}, {"Junior", "Silver"}),
    ]
    for params, expected in cases:
        body = tenant_a.api.get("/api/v1/candidates/", params).json()
        assert {c["first_name"] for c in body["results"]} == expected, params
        assert body["count"] == len(expected)


def test_unknown_filter_values_are_json_errors_with_field_names(tenant_a):
    response = tenant_a.api.get("/api/v1/candidates/", {"seniority": "wizard", "active_after": "yesterday"})
    assert response.status_code == 400
    assert set(response.json()) == {"seniority", "active_after"}
    assert tenant_a.api.get("/api/v1/candidates/", {"ordering": "password"}).status_code == 400
    assert tenant_a.api.get("/api/v1/candidates/", {"page_size": "1000"}).status_code == 400


def test_cursor_paging_walks_every_candidate_once_in_order(tenant_a):
    with tenant_a.scope():
        base = timezone.now()
        for i in range(23):
            # Ties on the sort column: the id breaks them.
            CandidateFactory(organization=tenant_a.organization, last_name=f"Name{i % 5}",
                             created_at=base - timedelta(minutes=i // 3))
    for ordering in ["-created_at", "last_name", "-last_name", "last_activity_at"]:
        seen, next_url = [], f"/api/v1/candidates/?page_size=5&ordering={ordering}"
        while next_url:
            body = tenant_a.api.get(next_url).json()
            seen += body["results"]
            next_url = body["next"]
        ids = [c["id"] for c in seen]
        assert len(ids) == 23 and len(set(ids)) == 23, ordering
        key = ordering.lstrip("-")
        values = [(c[key] if key != "last_name" else (c["last_name"], c["first_name"])) for c in seen]
        assert values == sorted(values, reverse=ordering.startswith("-")), ordering


def test_a_tampered_cursor_is_a_clear_error(tenant_a):
    with tenant_a.scope():
        for _ in range(3):
            CandidateFactory(organization=tenant_a.organization)
    next_url = tenant_a.api.get("/api/v1/candidates/?page_size=1").json()["next"]
    tampered = next_url.replace("cursor=", "cursor=X")
    response = tenant_a.api.get(tampered)
    assert response.status_code == 400 and "cursor" in response.json()
    page = tenant_a.recruiter_client.get(url(tenant_a), {"cursor": "garbage"})
    assert page.status_code == 400 and "invalid or has been altered" in page.content.decode()


def test_the_count_is_capped(tenant_a, monkeypatch):
    import crm.selectors

    with tenant_a.scope():
        for _ in range(4):
            CandidateFactory(organization=tenant_a.organization)
    monkeypatch.setattr(crm.selectors, "COUNT_CAP", 3)
    page = tenant_a.recruiter_client.get(url(tenant_a)).content.decode()
    assert "3+" in page


def test_the_list_runs_the_same_number_of_queries_for_10_rows_or_100(tenant_a):
    with tenant_a.scope():
        for _ in range(120):
            CandidateFactory(organization=tenant_a.organization)
    counts = []
    for size in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            response = tenant_a.recruiter_client.get(url(tenant_a), {"size": size})
        assert response.status_code == 200
        assert response.content.decode().count('href="/o/acme/candidates/') - 2 >= size  # rows shown
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_do_not_contact_needs_a_reason_and_lands_on_the_timeline(tenant_a):
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
    dnc_url = url(tenant_a, f"{candidate.pk}/do-not-contact/")
    page = tenant_a.recruiter_client.post(dnc_url, {"do_not_contact": "on", "reason": ""}, follow=True)
    assert "Say why" in page.content.decode()
    page = tenant_a.recruiter_client.post(dnc_url, {"do_not_contact": "on", "reason": "Asked by phone"}, follow=True)
    content = page.content.decode()
    assert "Marked do not contact: Asked by phone" in content
    candidate.refresh_from_db()
    assert candidate.do_not_contact and candidate.do_not_contact_reason == "Asked by phone"
    assert AuditEvent.objects.filter(action="candidate.do_not_contact", object_id=str(candidate.pk)).exists()


def test_a_logged_call_counts_as_activity_but_a_note_does_not(tenant_a):
    old = timezone.now() - timedelta(days=300)
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization, last_activity_at=old)
    tenant_a.recruiter_client.post(url(tenant_a, f"{candidate.pk}/notes/"), {"kind": "note", "text": "Nice person"})
    candidate.refresh_from_db()
    assert candidate.last_activity_at == old
    tenant_a.recruiter_client.post(url(tenant_a, f"{candidate.pk}/notes/"), {"kind": "call", "text": "Called"})
    candidate.refresh_from_db()
    assert candidate.last_activity_at > old


def test_the_timeline_pages_through_older_entries(tenant_a):
    from crm.services import candidate_add_note

    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization)
        for i in range(45):
            candidate_add_note(candidate=candidate, actor=tenant_a.recruiter, kind="note", text=f"note number {i}")
    page = tenant_a.recruiter_client.get(url(tenant_a, f"{candidate.pk}/")).content.decode()
    assert "note number 44" in page and "note number 20" not in page and "Show older" in page
    import re

    more = re.search(r'href="(/o/acme/candidates/\d+/timeline/\?cursor=[^"]+)"', page).group(1)
    older = tenant_a.recruiter_client.get(more.replace("&amp;", "&"), HTTP_HX_REQUEST="true").content.decode()
    assert "note number 24" in older and "note number 44" not in older


def test_csv_export_is_audited_and_formula_safe(tenant_a):
    with tenant_a.scope():
        CandidateFactory(organization=tenant_a.organization, first_name="=HYPERLINK(\"http://evil\")",
                         last_name="+1", headline="@SUM(A1)", skills=["-2", "python"])
    response = tenant_a.recruiter_client.get(url(tenant_a, "export.csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert record["first name"].startswith("'=") and record["last name"] == "'+1"
    assert record["title"] == "'@SUM(A1)" and record["skills"] == "'-2, python"
    assert AuditEvent.objects.filter(action="candidates.exported", actor_user=tenant_a.recruiter).exists()


def test_hiring_managers_do_not_see_the_candidate_base(tenant_a):
    assert tenant_a.hiring_manager_client.get(url(tenant_a)).status_code == 404


# --- API ---------------------------------------------------------------------------------

def test_api_create_retrieve_update_delete(tenant_a):
    created = tenant_a.api.post("/api/v1/candidates/", {"first_name": "Api", "email": "api@x.test",
                                                        "skills": ["Go", "go"], "seniority": "mid"}, format="json")
    assert created.status_code == 201, created.json()
    candidate_id = created.json()["id"]
    assert created.json()["skills"] == ["go"]
    got = tenant_a.api_read.get(f"/api/v1/candidates/{candidate_id}/").json()
    assert got["email"] == "api@x.test"
    patched = tenant_a.api.patch(f"/api/v1/candidates/{candidate_id}/", {"headline": "Gopher",
                                 "do_not_contact": True, "do_not_contact_reason": "GDPR objection"}, format="json")
    assert patched.json()["headline"] == "Gopher" and patched.json()["do_not_contact"] is True
    with tenant_a.scope():
        labels = list(Activity.objects.filter(candidate_id=candidate_id).values_list("actor_label", flat=True))
    assert all("API key" in label for label in labels)
    assert tenant_a.api_read.delete(f"/api/v1/candidates/{candidate_id}/").status_code == 403
    assert tenant_a.api.delete(f"/api/v1/candidates/{candidate_id}/").status_code == 204
    assert tenant_a.api.get(f"/api/v1/candidates/{candidate_id}/").status_code == 404


def test_api_errors_name_their_fields(tenant_a):
    response = tenant_a.api.post("/api/v1/candidates/", {"email": "nope", "seniority": "wizard",
                                                         "skills": "not a list"}, format="json")
    assert response.status_code == 400
    assert {"email", "seniority", "first_name", "skills"} <= set(response.json())
    duplicate = tenant_a.api.post("/api/v1/candidates/", {"first_name": "A", "email": "dup@x.test"}, format="json")
    again = tenant_a.api.post("/api/v1/candidates/", {"first_name": "A", "email": "DUP@x.test"}, format="json")
    assert again.status_code == 400 and again.json()["existing_id"] == duplicate.json()["id"]


def test_upsert_by_external_id_never_duplicates_on_retry(tenant_a):
    body = {"first_name": "Retry", "email": "retry@x.test", "headline": "QA"}
    first = tenant_a.api.put("/api/v1/candidates/by-external-id/ats-42/", body, format="json")
    second = tenant_a.api.put("/api/v1/candidates/by-external-id/ats-42/", body, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    changed = tenant_a.api.put("/api/v1/candidates/by-external-id/ats-42/", {"headline": "QA lead"}, format="json")
    assert changed.json()["headline"] == "QA lead" and changed.json()["external_id"] == "ats-42"
    with tenant_a.scope():
        assert Candidate.objects.count() == 1
    assert tenant_a.api.get("/api/v1/candidates/by-external-id/ats-42/").json()["id"] == first.json()["id"]


def test_upsert_by_email_matches_case_insensitively(tenant_a):
    first = tenant_a.api.put("/api/v1/candidates/by-email/Mixed@Case.test/", {"first_name": "M"}, format="json")
    second = tenant_a.api.put("/api/v1/candidates/by-email/mixed@case.test/", {"last_name": "C"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["first_name"] == "M" and second.json()["last_name"] == "C"


def test_a_service_error_is_raised_for_duplicates_in_code(tenant_a):
    with tenant_a.scope():
        candidate_create(actor=None, first_name="A", email="a@a.test")
        with pytest.raises(DuplicateCandidate):
            candidate_create(actor=None, first_name="B", email="A@A.test")


def test_the_candidate_page_shows_registered_panels(tenant_a):
    from crm.panels import _candidate_panels, register_candidate_panel

    register_candidate_panel("probe", order=99, render=lambda request, c: f"<section>Probe for {c.pk}</section>")
    try:
        with tenant_a.scope():
            candidate = CandidateFactory(organization=tenant_a.organization)
        page = tenant_a.recruiter_client.get(url(tenant_a, f"{candidate.pk}/")).content.decode()
        assert f"Probe for {candidate.pk}" in page
    finally:
        _candidate_panels.pop("probe")


def test_candidate_events_are_sent_after_commit_only(tenant_a, django_capture_on_commit_callbacks):
    from crm.events import candidate_created

    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    candidate_created.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks, organization_scope(tenant_a.organization):
            candidate = candidate_create(actor=None, first_name="Ev", email="ev@x.test")
        assert received == []
        for callback in callbacks:
            callback()
        assert received == [{"signal": candidate_created, "organization_id": tenant_a.organization.pk,
                             "candidate_id": candidate.pk}]
    finally:
        candidate_created.disconnect(receiver)
