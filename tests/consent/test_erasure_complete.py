"""After an erasure, no column of any table holds the person's name or email (the suppression hash aside)."""

import json

from django.db import connection
from django.utils import timezone

from consent.services import opt_in_confirm, opt_in_request
from crm.models import ActivityKind, RejectionReason
from crm.services import (
    application_create,
    application_reject,
    candidate_add_note,
    candidate_set_do_not_contact,
    feedback_note_create,
    job_save,
)
from imports import services as imports
from outreach import dispatch
from outreach import models as outreach_models
from outreach.models import Campaign, EmailTemplate, Message, MessageEvent, Rsvp
from outreach.services import review_approve
from talentpools.services import pool_add_members, pool_create, tag_candidates, tag_create

from ..factories import CandidateFactory

FIRST, LAST, EMAIL = "Quillonia", "Zarathustrine", "quillonia.zara@erasure.test"
OTHER_EMAIL = "rowena.brightwater@erasure.test"
TEXT_TYPES = ("text", "character varying", "json", "jsonb", "bytea", "ARRAY", "inet")


def _hits(needles):
    """(table, column, needle, rows) for every text-like column of every table holding one of `needles`."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name, data_type FROM information_schema.columns
                          WHERE table_schema = 'public' AND data_type = ANY(%s)
                          AND table_name IN (SELECT table_name FROM information_schema.tables
                                             WHERE table_schema = 'public' AND table_type = 'BASE TABLE')""",
                       [list(TEXT_TYPES)])
        columns = cursor.fetchall()
        assert len(columns) > 100  # every app's tables are there
        hits = []
        for table, column, data_type in columns:
            if (table, column) == ("crm_suppression", "email_hash"):
                continue
            value = f"encode(\"{column}\", 'escape')" if data_type == "bytea" else f"\"{column}\"::text"
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE {value} ILIKE %s', [f"%{needle}%"])
                count = cursor.fetchone()[0]
                if count:
                    hits.append((table, column, needle, count))
        return hits


def _seed(tenant, capture):
    """The person reaches every table through the product's own flows."""
    organization = tenant.organization
    with tenant.scope():
        referrer = CandidateFactory(organization=organization, first_name="Rowena", last_name="Brightwater",
                                    email=OTHER_EMAIL)
        # A referral through the public form, confirmed: consent ledger with its evidence, referral lines.
        pending = opt_in_request(organization=organization, source="referral", referrer=referrer,
                                 ip_address="203.0.113.77", user_agent=f"Mozilla/5.0 ({FIRST} laptop)",
                                 data={"email": EMAIL, "first_name": FIRST, "last_name": LAST,
                                       "headline": f"{FIRST} {LAST}, data engineer",
                                       "consents": {"job_offers": "monthly", "events": "monthly"}})
        person = opt_in_confirm(pending=pending, ip_address="203.0.113.78", user_agent=f"{LAST} browser")
        candidate_add_note(candidate=person, actor=tenant.recruiter, kind=ActivityKind.CALL,
                           text=f"Called {FIRST}; reach her at {EMAIL}")
        candidate_set_do_not_contact(candidate=person, actor=tenant.recruiter, do_not_contact=True,
                                     reason=f"{FIRST} asked for a pause")
        candidate_set_do_not_contact(candidate=person, actor=tenant.recruiter, do_not_contact=False)
        # An application rejected after an interview, with feedback, its email approved and sent.
        job = job_save(actor=tenant.recruiter, title="Data engineer", status="open")
        application = application_create(actor=tenant.recruiter, candidate=person, job=job, stage="interview")
        feedback_note_create(application=application, author=tenant.hiring_manager, shareable=True,
                             strengths=f"{FIRST} explained the pipeline well")
        feedback_note_create(application=application, author=tenant.hiring_manager, note=f"{LAST}: internal")
        with capture(execute=True):
            application_reject(application=application, reason=RejectionReason.objects.first(),
                               note=f"{FIRST} {LAST} not senior enough", actor=tenant.recruiter,
                               notice_plan="now")
        notice = Message.objects.get(application=application)
        review_approve(message=notice, actor=tenant.recruiter)
    for _ in range(3):
        ids = dispatch.claim_due()
        if ids:
            dispatch.send_batch(ids)
    with tenant.scope():
        notice.refresh_from_db()
        assert notice.status == "sent" and notice.to_email == EMAIL
        MessageEvent.objects.create(message=notice, event_type="delivered", event_id="evt-erasure-1",
                                    occurred_at=timezone.now(), description=f"Delivered to {EMAIL}",
                                    payload={"Recipient": EMAIL, "Tag": f"{FIRST} {LAST}"})
        if hasattr(outreach_models, "Reply"):
            outreach_models.Reply.objects.create(
                message=notice, candidate=person, received_at=timezone.now(), from_email=EMAIL,
                subject="Re: your application", text=f"Thanks! {FIRST}", provider="postmark",
                dedupe_key="reply-erasure-1")
        # Tags, a hand-picked pool, an event RSVP.
        tag = tag_create(name="Data")
        tag_candidates(tag=tag, candidate_ids=[person.pk, referrer.pk], actor=tenant.recruiter)
        pool = pool_create(name="Data people", kind="static", actor=tenant.recruiter)
        pool_add_members(pool=pool, candidate_ids=[person.pk, referrer.pk], actor=tenant.recruiter)
        campaign = Campaign.objects.create(name="Data meetup", topic="events", event_name="Data meetup",
                                           template=EmailTemplate.objects.filter(kind="campaign_event").first()
                                           or EmailTemplate.objects.first())
        Rsvp.objects.create(campaign=campaign, candidate=person, answer="yes")
        # An ATS export naming the person twice (the second line a row error holding her address).
        upload = imports.import_upload(
            data=(f"Email,First name,Last name\n{EMAIL},{FIRST},{LAST}\n{EMAIL.upper()},{FIRST},{LAST}\n"
                  f"{OTHER_EMAIL},Rowena,Brightwater\nnot-an-email,Someone,Else\n").encode(),
            filename="ats-export.csv", actor=tenant.recruiter)
        imports.import_set_mapping(candidate_import=upload, mapping=upload.mapping, evidence_note="",
                                   actor=tenant.recruiter)
        imports.start(candidate_import=upload, write=False, actor=tenant.recruiter)
    # An export whose filters name her (audited with them).
    response = tenant.recruiter_client.get(f"/o/{tenant.slug}/candidates/export.csv?q={LAST}")
    assert EMAIL in b"".join(response.streaming_content).decode()
    assert tenant.recruiter_client.get(f"/o/{tenant.slug}/candidates/{person.pk}/export/").status_code == 200
    return person, upload


def test_erasure_leaves_no_name_nor_email_in_any_column(tenant_a, tenant_b, django_capture_on_commit_callbacks):
    person, upload = _seed(tenant_a, django_capture_on_commit_callbacks)
    before = {(table, column) for table, column, _, _ in _hits([EMAIL, FIRST, LAST])}
    # The seed reached the tables that matter (else the scan below proves nothing).
    for table in ("crm_candidate", "crm_activity", "crm_auditevent", "crm_feedbacknote", "crm_application",
                  "consent_consentevidence", "consent_pendingoptin", "outreach_message", "outreach_messageevent",
                  "imports_importfilechunk", "imports_importproblem"):
        assert any(t == table for t, _ in before), (table, sorted(before))

    done = tenant_a.admin_client.post(f"/o/{tenant_a.slug}/candidates/{person.pk}/erase/",
                                      {"reason": "Her request of 3 May", "confirmation": EMAIL})
    assert done.status_code == 302

    assert _hits([EMAIL, FIRST, LAST]) == []
    # The scan still sees the people who were not erased: the referrer, in her row and the upload's rows.
    kept = {(table, column) for table, column, _, _ in _hits([OTHER_EMAIL, "Brightwater"])}
    assert ("crm_candidate", "email") in kept
    with tenant_a.scope():
        from crm.models import AuditEvent
        from imports.models import ImportProblem

        assert AuditEvent.objects.filter(action="application.rejected", object_repr="(erased)").exists()
        assert AuditEvent.objects.filter(action="candidate.erased", details__reason="Her request of 3 May").exists()
        # The upload keeps its row and the other row errors; its file, holding her, is gone.
        assert imports.file_removed(upload)
        assert ImportProblem.objects.filter(candidate_import=upload, value="not-an-email").exists()
        assert Message.objects.filter(pk__isnull=False, to_email="erased@invalid").exists()
    # Running the upload again says why it cannot.
    page = tenant_a.recruiter_client.post(f"/o/{tenant_a.slug}/imports/{upload.pk}/mapping/",
                                          {f"col_{i}": f for i, f in enumerate(upload.mapping.values())})
    assert page.status_code == 400 and "removed when a person in it was erased" in page.content.decode()
    assert json.dumps(tenant_a.recruiter_client.get(f"/o/{tenant_a.slug}/imports/{upload.pk}/").status_code) == "200"


def test_the_copy_holds_everything_held_about_the_person(tenant_a, tenant_b, django_capture_on_commit_callbacks):
    import csv
    import io

    person, _ = _seed(tenant_a, django_capture_on_commit_callbacks)
    data = tenant_a.api_read.get(f"/api/v1/candidates/{person.pk}/export/").json()
    assert data == json.loads(tenant_a.recruiter_client.get(
        f"/o/{tenant_a.slug}/candidates/{person.pk}/export/").content)
    assert data["profile"]["email"] == EMAIL and data["profile"]["last_name"] == LAST
    (application,) = data["applications"]
    assert application["feedback"] == [{"strengths": f"{FIRST} explained the pipeline well", "areas_to_improve": ""}]
    assert f"{LAST}: internal" not in json.dumps(data)
    # The consent ledger with its evidence: the address and browser of the request and of the confirmation.
    evidence = {(c["action"], c["ip_address"], c["user_agent"]) for c in data["consent"]}
    assert ("requested", "203.0.113.77", f"Mozilla/5.0 ({FIRST} laptop)") in evidence
    assert ("confirmed", "203.0.113.78", f"{LAST} browser") in evidence
    # Emails with their provider events, the RSVP, pools, tags and replies.
    rejection = next(e for e in data["emails"] if e["kind"] == "rejection_after_interview")
    assert rejection["status"] == "sent" and rejection["to"] == EMAIL
    assert [e["type"] for e in rejection["events"]] == ["delivered"]
    assert any(e["kind"] == "consent_confirmation" for e in data["emails"])  # sent before she was a candidate
    assert [(r["event"], r["answer"]) for r in data["rsvps"]] == [("Data meetup", "yes")]
    assert [p["pool"] for p in data["pools"]] == ["Data people"]
    assert [t["tag"] for t in data["tags"]] == ["Data"]
    if hasattr(outreach_models, "Reply"):
        assert [r["text"] for r in data["replies"]] == [f"Thanks! {FIRST}"]
    # Nothing of the referrer, who shares her pool and tag.
    assert OTHER_EMAIL not in json.dumps(data) and "Brightwater" not in json.dumps(data)
    # The CSV holds the same, nested lists as numbered fields.
    rows = list(csv.reader(io.StringIO(tenant_a.recruiter_client.get(
        f"/o/{tenant_a.slug}/candidates/{person.pk}/export/?format=csv").content.decode())))
    cells = {(r[0], r[2], r[3]) for r in rows[1:]}
    assert ("consent", "ip_address", "203.0.113.77") in cells and ("pools", "pool", "Data people") in cells
    assert any(section == "emails" and field.startswith("events.1.type") and value == "delivered"
               for section, field, value in cells)
    # Another organization's key reads no copy of her.
    assert tenant_b.api_read.get(f"/api/v1/candidates/{person.pk}/export/").status_code == 404
