import pytest

from crm.models import Candidate
from talentpools.models import CandidateTag, Tag
from talentpools.services import tag_candidates, tag_create, untag_candidates

from ..factories import CandidateFactory


@pytest.fixture
def tagged(tenant_a):
    with tenant_a.scope():
        python, rust, silver = (tag_create(name=n) for n in ("Python", "Rust", "Silver medalist"))
        people = {name: CandidateFactory(organization=tenant_a.organization, first_name=name)
                  for name in ("Ada", "Bo", "Cy", "Di")}
        tag_candidates(tag=python, candidate_ids=[people["Ada"].pk, people["Bo"].pk], actor=tenant_a.recruiter)
        tag_candidates(tag=rust, candidate_ids=[people["Bo"].pk, people["Cy"].pk], actor=tenant_a.recruiter)
        tag_candidates(tag=silver, candidate_ids=[people["Ada"].pk], actor=tenant_a.recruiter)
    return {"python": python, "rust": rust, "silver": silver, "people": people}


def names(tenant, **params):
    return {c["first_name"] for c in tenant.api.get("/api/v1/candidates/", params).json()["results"]}


def test_the_array_stays_in_step_with_the_tagging_rows(tenant_a, tagged):
    with tenant_a.scope():
        again = tag_candidates(tag=tagged["python"], candidate_ids=[tagged["people"]["Ada"].pk],
                               actor=tenant_a.recruiter)
        assert again == 0  # idempotent
        for candidate in Candidate.objects.all():
            rows = set(CandidateTag.objects.filter(candidate=candidate).values_list("tag_id", flat=True))
            assert set(candidate.tag_ids) == rows and len(candidate.tag_ids) == len(rows)
        untag_candidates(tag=tagged["python"], candidate_ids=[tagged["people"]["Ada"].pk])
        ada = Candidate.objects.get(pk=tagged["people"]["Ada"].pk)
        assert tagged["python"].pk not in ada.tag_ids and tagged["silver"].pk in ada.tag_ids


def test_all_any_and_none_tag_filters(tenant_a, tagged):
    p, r = tagged["python"].pk, tagged["rust"].pk
    assert names(tenant_a, tags_all=f"{p},{r}") == {"Bo"}
    assert names(tenant_a, tags_any=f"{p},{r}") == {"Ada", "Bo", "Cy"}
    assert names(tenant_a, tags_none=f"{p},{r}") == {"Di"}
    assert tenant_a.api.get("/api/v1/candidates/", {"tags_any": "python"}).status_code == 400


def test_tag_names_are_unique_by_case_and_never_blank(tenant_a, tagged):
    assert tenant_a.api.post("/api/v1/tags/", {"name": "PYTHON"}, format="json").status_code == 400
    assert tenant_a.api.post("/api/v1/tags/", {"name": "   "}, format="json").status_code == 400
    assert tenant_a.api.post("/api/v1/tags/", {"name": "x" * 61}, format="json").status_code == 400
    assert tenant_a.api.post("/api/v1/tags/", {"name": "Go"}, format="json").status_code == 201
    with tenant_a.scope():
        assert Tag.objects.count() == 4


def test_tagging_a_candidate_through_the_api(tenant_a, tagged, tenant_b):
    di = tagged["people"]["Di"]
    response = tenant_a.api.post(f"/api/v1/candidates/{di.pk}/tags/", {"tag": tagged["rust"].pk}, format="json")
    assert [t["name"] for t in response.json()] == ["Rust"]
    with tenant_b.scope():
        theirs = tag_create(name="Theirs")
    refused = tenant_a.api.post(f"/api/v1/candidates/{di.pk}/tags/", {"tag": theirs.pk}, format="json")
    assert refused.status_code == 400 and refused.json() == {"tag": ["No such tag."]}


def test_rename_merge_and_delete_from_the_pages(tenant_a, tagged):
    base = f"/o/{tenant_a.slug}/tags/"
    client = tenant_a.recruiter_client
    page = client.get(base).content.decode()
    assert "Python" in page and f"?tags_all={tagged['python'].pk}" in page
    dup = client.post(f"{base}{tagged['rust'].pk}/", {"action": "rename", "name": "python"}, follow=True)
    assert "merge them instead" in dup.content.decode()
    edit = client.get(f"{base}{tagged['python'].pk}/").content.decode()
    assert "On <a" in edit and "2 candidates" in edit
    client.post(f"{base}{tagged['python'].pk}/", {"action": "merge", "target": tagged["rust"].pk})
    with tenant_a.scope():
        assert not Tag.objects.filter(pk=tagged["python"].pk).exists()
        rust_people = set(Candidate.objects.filter(tag_ids__contains=[tagged["rust"].pk]).values_list(
            "first_name", flat=True))
    assert rust_people == {"Ada", "Bo", "Cy"}
    client.post(f"{base}{tagged['silver'].pk}/", {"action": "delete"})
    with tenant_a.scope():
        assert not Candidate.objects.filter(tag_ids__contains=[tagged["silver"].pk]).exists()


def test_the_candidate_page_tags_and_untags(tenant_a, tagged):
    di = tagged["people"]["Di"]
    url = f"/o/{tenant_a.slug}/candidates/{di.pk}/"
    tenant_a.recruiter_client.post(f"{url}tags/", {"tag": tagged["rust"].pk})
    page = tenant_a.recruiter_client.get(url).content.decode()
    assert 'id="tags-panel"' in page and "Remove the tag Rust" in page
    tenant_a.recruiter_client.post(f"{url}tags/", {"tag": tagged["rust"].pk, "remove": "1"})
    di.refresh_from_db()
    assert di.tag_ids == []
