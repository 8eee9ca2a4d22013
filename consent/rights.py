"""A candidate's rights: a copy of everything held about them, and erasure."""

import csv
import io

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.audit import audit
from crm.models import Activity, Application, AuditEvent, FeedbackNote
from crm.services.suppression import suppression_add

from .models import ConsentRecord, PendingOptIn

PROFILE_FIELDS = ["first_name", "last_name", "email", "phone", "language", "location", "headline", "seniority",
                  "skills", "linkedin_url", "portfolio_url", "source", "external_id", "do_not_contact",
                  "do_not_contact_reason", "email_status", "silver_medalist", "last_activity_at", "created_at"]


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def candidate_export(candidate):
    """Everything about the candidate that they may read; internal notes stay internal."""
    from outreach.models import Message

    applications = Application.objects.filter(candidate=candidate).select_related("job", "rejection_reason")
    return {
        "profile": {name: _iso(getattr(candidate, name)) for name in PROFILE_FIELDS},
        "applications": [{
            "job": a.job.title, "stage": a.stage, "furthest_stage": a.furthest_stage, "applied_at": _iso(a.applied_at),
            "decided_at": _iso(a.decided_at),
            "rejection_reason": a.rejection_reason.candidate_text if a.rejection_reason else "",
            "feedback": [{"strengths": f.candidate_strengths, "areas_to_improve": f.candidate_improvements}
                         for f in FeedbackNote.objects.filter(application=a, shareable=True)],
        } for a in applications],
        "consent": [{"purpose": r.purpose.key, "action": r.action, "source": r.source, "frequency": r.frequency,
                     "text": r.text.text if r.text else "", "text_version": r.text.version if r.text else None,
                     "at": _iso(r.created_at)}
                    for r in ConsentRecord.objects.filter(candidate=candidate).select_related("purpose", "text")],
        "emails": [{"subject": m.subject, "kind": m.kind, "status": m.status, "sent_at": _iso(m.sent_at)}
                   for m in Message.objects.filter(candidate=candidate).order_by("created_at")],
    }


def export_csv(data):
    """The export as one CSV: a section column, then field and value (formula-safe)."""
    from crm.services import csv_safe

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "field", "value"])
    for field, value in data["profile"].items():
        writer.writerow(["profile", "", field, csv_safe(value)])
    for section in ("applications", "consent", "emails"):
        for index, item in enumerate(data[section], 1):
            for field, value in item.items():
                writer.writerow([section, index, field, csv_safe(value if not isinstance(value, list) else
                                                                 "; ".join(str(v) for v in value))])
    return out.getvalue()


@transaction.atomic
def candidate_erase(*, candidate, actor, reason):
    """Erase every personal trace of the candidate; keep a suppression entry and the fact of the erasure."""
    from outreach.models import Message, MessageEvent

    reason = " ".join((reason or "").split())
    if not reason:
        from crm.services import ServiceError

        raise ServiceError("Say why the candidate is erased (e.g. “their request of 3 May”).", field="reason")
    email = candidate.email
    messages = Message.objects.filter(candidate=candidate)
    MessageEvent.objects.filter(message__in=messages).delete()
    messages.update(to_email="erased@invalid", subject="", html="", text="", headers={}, context={}, candidate=None,
                    status_reason="erased")
    PendingOptIn.objects.filter(email__iexact=email).delete()
    # Audit rows keep the fact, not the person's data.
    AuditEvent.objects.filter(organization_id=candidate.organization_id, object_type="Candidate",
                              object_id=str(candidate.pk)).update(object_repr="(erased)", details={})
    Activity.objects.filter(candidate=candidate).delete()
    # A referral line on someone else's timeline names the erased person too.
    Activity.objects.filter(Q(details__referrer_id=candidate.pk) | Q(details__referred_id=candidate.pk)).delete()
    suppression_add(email=email, reason="erased")
    candidate_id = candidate.pk
    candidate.delete()  # applications, notes, consent ledger and evidence, tags go with it
    audit("candidate.erased", actor=actor, details={"candidate_id": candidate_id, "reason": reason,
                                                    "at": timezone.now().isoformat()})
    return candidate_id
