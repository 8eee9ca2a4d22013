"""The audit log is tenant-bound: every organization action is on that organization's audit page."""

import ast
import csv
import io
from pathlib import Path

import pytest

from crm.audit import PLATFORM_EVENTS, AuditWithoutOrganization, audit
from crm.models import AuditEvent, RejectionReason
from crm.services import application_create, job_save
from talentpools.services import pool_add_members, pool_create

from ..factories import CandidateFactory

ROOT = Path(__file__).resolve().parents[2]


def _csv(response):
    assert response.status_code == 200, response.status_code
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_refuses_to_write_outside_an_organization(tenant_a, tenant_b):
    before = AuditEvent.objects.count()
    with pytest.raises(AuditWithoutOrganization):
        audit("candidates.exported", actor=tenant_a.recruiter, details={})
    with pytest.raises(AuditWithoutOrganization), tenant_a.scope():
        audit("candidates.exported", actor=tenant_a.recruiter, platform=True)  # not a platform event
    with tenant_b.scope():
        other = CandidateFactory(organization=tenant_b.organization)
    with pytest.raises(AuditWithoutOrganization), tenant_a.scope():
        audit("candidate.deleted", actor=tenant_a.recruiter, obj=other)  # another organization's row
    assert AuditEvent.objects.count() == before


def test_platform_events_are_the_only_rows_without_an_organization():
    """Every `platform=True` call in the code names an event of the allow-list."""
    found = []
    for path in ROOT.glob("*/**/*.py"):
        if any(part in (".venv", "tests", "bench", "node_modules") for part in path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "audit":
                platform = [k for k in node.keywords if k.arg == "platform"]
                if platform and not (isinstance(platform[0].value, ast.Constant) and not platform[0].value.value):
                    found.append((path.name, node.args[0].value))
    assert found and all(action in PLATFORM_EVENTS for _, action in found), found


def test_every_organization_action_is_audited_in_its_organization(tenant_a, tenant_b,
                                                                   django_capture_on_commit_callbacks):
    """Organization actions through the pages and the API (the streaming exports included): each audit row
    carries the organization, and the exports are on the organization's audit page."""
    slug = tenant_a.slug
    with tenant_a.scope():
        candidate = CandidateFactory(organization=tenant_a.organization, first_name="Ada", last_name="Quill",
                                     email="ada.quill@audit.test")
        job = job_save(actor=tenant_a.recruiter, title="Platform engineer", status="open")
        application = application_create(actor=tenant_a.recruiter, candidate=candidate, job=job, stage="screening")
        pool = pool_create(name="Shortlist", kind="static", actor=tenant_a.recruiter)
        pool_add_members(pool=pool, candidate_ids=[candidate.pk], actor=tenant_a.recruiter)
        reason = RejectionReason.objects.first()
    AuditEvent.objects.all().delete()  # what follows goes through requests only

    # Streaming CSV exports: read after the request has left the organization's scope.
    rows = _csv(tenant_a.recruiter_client.get(f"/o/{slug}/candidates/export.csv?q=Quill"))
    assert rows[1][3] == "ada.quill@audit.test"
    rows = _csv(tenant_a.recruiter_client.get(f"/o/{slug}/pools/{pool.pk}/export.csv"))
    assert [r[3] for r in rows[1:]] == ["ada.quill@audit.test"]
    # The candidate's copy of their data, page (JSON and CSV) and API.
    assert tenant_a.recruiter_client.get(f"/o/{slug}/candidates/{candidate.pk}/export/").status_code == 200
    assert tenant_a.recruiter_client.get(f"/o/{slug}/candidates/{candidate.pk}/export/?format=csv").status_code == 200
    assert tenant_a.api_read.get(f"/api/v1/candidates/{candidate.pk}/export/").status_code == 200
    # Decisions through the API.
    with django_capture_on_commit_callbacks(execute=True):
        rejected = tenant_a.api.post(f"/api/v1/applications/{application.pk}/reject/",
                                     {"reason": reason.pk, "send_email": "none", "skip_reason": "called them"},
                                     format="json")
        assert rejected.status_code == 200, rejected.json()
        assert tenant_a.api.post(f"/api/v1/applications/{application.pk}/undo-rejection/").status_code == 200
    # Settings: an invitation.
    invited = tenant_a.admin_client.post(f"/o/{slug}/settings/members/",
                                         {"email": "new.member@audit.test", "role": "recruiter"})
    assert invited.status_code == 200
    # Erasure through the API.
    assert tenant_a.api.post(f"/api/v1/candidates/{candidate.pk}/erase/", {"reason": "Their request"},
                             format="json").status_code == 204

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"candidates.exported", "candidate.exported", "application.rejected", "application.rejection_undone",
            "candidate.erased"} <= actions, actions
    stray = list(AuditEvent.objects.exclude(organization=tenant_a.organization).values_list("action", flat=True))
    assert stray == []
    assert AuditEvent.objects.filter(action="candidates.exported").count() == 2

    page = tenant_a.admin_client.get(f"/o/{slug}/settings/audit/").content.decode()
    assert page.count("candidates.exported") == 2 and "candidate.exported" in page and "candidate.erased" in page
    # The other organization's audit page shows none of it.
    other = tenant_b.admin_client.get(f"/o/{tenant_b.slug}/settings/audit/").content.decode()
    assert "candidates.exported" not in other and "candidate.erased" not in other
    assert AuditEvent.objects.filter(action="member.invited", organization=tenant_a.organization).exists()


def test_a_public_page_audits_inside_the_organization_it_concerns(tenant_a, client):
    """An erased person coming back through the public confirmation page (no member, no organization URL)."""
    from django.urls import reverse

    from consent.services import opt_in_request
    from consent.tokens import confirm_token
    from crm.services import suppression_add

    with tenant_a.scope():
        suppression_add(email="back.again@audit.test", reason="erased")
        pending = opt_in_request(organization=tenant_a.organization, source="public_form",
                                 data={"email": "back.again@audit.test", "first_name": "Back",
                                       "consents": {"job_offers": "monthly"}})
    response = client.post(reverse("consent:confirm", kwargs={"token": confirm_token(pending)}))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="suppression.lifted_by_opt_in")
    assert event.organization_id == tenant_a.organization.pk
