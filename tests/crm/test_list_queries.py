"""A page of candidates costs the same few queries however many rows it shows.

Rows are read with only the columns a page shows; a column read on a row outside them costs one
query per row (the API's list answered 20 candidates with 169 queries).
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ..factories import CandidateFactory


def _queries(get):
    with CaptureQueriesContext(connection) as captured:
        response = get()
    assert response.status_code == 200
    return len(captured.captured_queries)


def _add(tenant, n):
    with tenant.scope():
        CandidateFactory.create_batch(n, organization=tenant.organization)


def test_the_api_list_reads_20_rows_in_no_more_queries_than_2(tenant_a):
    _add(tenant_a, 2)
    few = _queries(lambda: tenant_a.api_read.get("/api/v1/candidates/?page_size=20"))
    _add(tenant_a, 18)
    response = tenant_a.api_read.get("/api/v1/candidates/?page_size=20")
    assert len(response.json()["results"]) == 20 and response.json()["results"][0]["phone"] is not None
    many = _queries(lambda: tenant_a.api_read.get("/api/v1/candidates/?page_size=20"))
    assert many <= few, f"{few} queries for 2 rows, {many} for 20"


def test_the_candidate_list_page_reads_20_rows_in_no_more_queries_than_2(tenant_a):
    url = f"/o/{tenant_a.slug}/candidates/"
    _add(tenant_a, 2)
    few = _queries(lambda: tenant_a.recruiter_client.get(url))
    _add(tenant_a, 18)
    many = _queries(lambda: tenant_a.recruiter_client.get(url))
    assert many <= few, f"{few} queries for 2 rows, {many} for 20"
