"""A candidate's rights: a copy of everything held about them, and erasure.

Both go through the registries of `crm.erasure`: each app registers, in its AppConfig.ready(),
its sections of the copy and what it erases, so that no app reaches into a higher one.
"""

import csv
import io

from django.db import transaction
from django.utils import timezone

from crm.audit import audit
from crm.erasure import erase_person, export_person, iso
from crm.services.suppression import suppression_add

from .models import ConsentEvidence, ConsentRecord, ConsentState, PendingOptIn


def candidate_export(candidate):
    """Everything about the candidate that they may read; internal notes stay internal."""
    return export_person(candidate)


def export_consent(candidate):
    """The consent ledger, each step with the text agreed to and its evidence (address, browser, note)."""
    records = ConsentRecord.objects.filter(candidate=candidate).select_related("purpose", "text", "evidence")
    entries = []
    for r in records.order_by("created_at", "id"):
        evidence = getattr(r, "evidence", None)
        entries.append({
            "purpose": r.purpose.key, "action": r.action, "source": r.source, "frequency": r.frequency,
            "text": r.text.text if r.text else "", "text_version": r.text.version if r.text else None,
            "at": iso(r.created_at),
            "ip_address": evidence.ip_address if evidence else None,
            "user_agent": evidence.user_agent if evidence else "",
            "evidence_note": evidence.note if evidence else "",
        })
    return entries


def _flat(field, value):
    """(field, cell) pairs of one value: lists of objects (an email's events) become numbered fields."""
    from crm.services import csv_safe

    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for index, item in enumerate(value, 1):
            for key, sub in (item.items() if isinstance(item, dict) else [("value", item)]):
                yield from _flat(f"{field}.{index}.{key}", sub)
    elif isinstance(value, list):
        yield field, csv_safe("; ".join(str(v) for v in value))
    else:
        yield field, csv_safe(value)


def export_csv(data):
    """The export as one CSV: a section column, then item, field and value (formula-safe)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "field", "value"])
    for section, content in data.items():
        items = [content] if isinstance(content, dict) else content
        for index, item in enumerate(items, 1):
            for field, value in item.items():
                for name, cell in _flat(field, value):
                    writer.writerow([section, "" if isinstance(content, dict) else index, name, cell])
    return out.getvalue()


def erase_consent(erasure):
    """The evidence of every consent step (address, browser, note), and join requests made with the address.

    The ledger rows themselves hold no personal text and go with the candidate."""
    candidate = erasure.candidate
    evidence = ConsentEvidence.all_tenants.filter(organization_id=erasure.organization_id,
                                                  record__candidate_id=candidate.pk)
    removed = evidence.delete()[0]
    pending = PendingOptIn.all_tenants.filter(organization_id=erasure.organization_id)
    removed += pending.filter(email__iexact=erasure.email).delete()[0]
    removed += ConsentState.all_tenants.filter(organization_id=erasure.organization_id,
                                               candidate_id=candidate.pk).delete()[0]
    return removed


@transaction.atomic
def candidate_erase(*, candidate, actor, reason):
    """Erase every personal trace of the candidate; keep a suppression entry and the fact of the erasure.

    Each app's registered eraser runs first (crm.erasure), then the candidate row goes."""
    reason = " ".join((reason or "").split())
    if not reason:
        from crm.services import ServiceError

        raise ServiceError("Say why the candidate is erased (e.g. “their request of 3 May”).", field="reason")
    email = candidate.email
    erase_person(candidate)
    suppression_add(email=email, reason="erased")
    candidate_id = candidate.pk
    candidate.delete()  # what no eraser took (consent ledger rows, tags) goes with it
    audit("candidate.erased", actor=actor, details={"candidate_id": candidate_id, "reason": reason,
                                                    "at": timezone.now().isoformat()})
    return candidate_id
