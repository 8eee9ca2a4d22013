"""The candidate base: profiles, timeline, do-not-contact, upserts and exports."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..audit import actor_label, audit
from ..events import candidate_created, candidate_updated, send_on_commit
from ..models import (
    ACTIVITY_KINDS_THAT_COUNT,
    NOTES_MAX_LENGTH,
    Activity,
    ActivityKind,
    Candidate,
    User,
)
from ..tenancy import require_organization_id
from .errors import ServiceError


class DuplicateCandidate(ServiceError):
    def __init__(self, existing):
        super().__init__(f"A candidate with this email already exists: {existing.full_name}.", field="email")
        self.existing = existing


CANDIDATE_FIELDS = (
    "first_name", "last_name", "email", "phone", "language", "location", "headline", "seniority", "skills",
    "linkedin_url", "portfolio_url", "source", "external_id", "notes",
)


def normalize_skills(skills):
    """Lowercase, trimmed, without duplicates, in the order given."""
    seen = {}
    for skill in skills or []:
        skill = " ".join(str(skill).split()).lower()
        if skill:
            seen.setdefault(skill, None)
    return list(seen)


def _check_email_may_be_used(email, *, exclude_pk=None):
    from ..selectors import is_suppressed

    if is_suppressed(email):
        raise ServiceError(
            "This person asked for their data to be erased; they can only come back by opting in themselves.",
            field="email",
        )
    existing = Candidate.objects.filter(email__iexact=email.strip()).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise DuplicateCandidate(existing)


def _validated(candidate):
    candidate.skills = normalize_skills(candidate.skills)
    for name in ("first_name", "last_name", "phone", "location", "headline", "external_id"):
        setattr(candidate, name, " ".join(str(getattr(candidate, name) or "").split()))
    candidate.email = (candidate.email or "").strip()
    # Constraints are checked by the duplicate test above and by the database.
    candidate.full_clean(exclude=["organization"], validate_constraints=False)
    return candidate


def activity_record(*, candidate, kind, summary, actor=None, body="", details=None, occurred_at=None):
    """Add a line to the candidate's timeline; what counts as activity moves `last_activity_at`."""
    occurred_at = occurred_at or timezone.now()
    activity = Activity.objects.create(
        organization_id=candidate.organization_id,
        candidate=candidate,
        kind=kind,
        summary=summary[:300],
        body=body,
        details=details or {},
        actor_user=actor if isinstance(actor, User) else None,
        actor_label=actor_label(actor) if actor is not None else "",
        occurred_at=occurred_at,
    )
    if kind in ACTIVITY_KINDS_THAT_COUNT and occurred_at > candidate.last_activity_at:
        Candidate.objects.filter(pk=candidate.pk, last_activity_at__lt=occurred_at).update(last_activity_at=occurred_at)
        candidate.last_activity_at = occurred_at
    return activity


@transaction.atomic
def candidate_create(*, actor, **fields):
    """Add a candidate; refuses suppressed and duplicate emails (case-insensitive)."""
    unknown = set(fields) - set(CANDIDATE_FIELDS) - {"do_not_contact", "do_not_contact_reason", "created_at",
                                                     "last_activity_at"}
    if unknown:
        raise ServiceError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    candidate = _validated(Candidate(organization_id=require_organization_id(), **fields))
    _check_email_may_be_used(candidate.email)
    if candidate.do_not_contact:
        candidate.do_not_contact_at = timezone.now()
    candidate.save()
    activity_record(candidate=candidate, kind=ActivityKind.CREATED, actor=actor, occurred_at=candidate.created_at,
                    summary=f"Added to the talent base ({candidate.get_source_display().lower()})")
    send_on_commit(candidate_created, organization_id=candidate.organization_id, candidate_id=candidate.pk)
    return candidate


@transaction.atomic
def candidate_update(*, candidate, actor, data):
    """Change profile fields; returns the names of the fields that changed."""
    candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
    changed = []
    for name, value in data.items():
        if name not in CANDIDATE_FIELDS:
            raise ServiceError(f"Unknown field: {name}.")
        if name == "skills":
            value = normalize_skills(value)
        if getattr(candidate, name) != value:
            setattr(candidate, name, value)
            changed.append(name)
    if not changed:
        return candidate, []
    _validated(candidate)
    if "email" in changed:
        _check_email_may_be_used(candidate.email, exclude_pk=candidate.pk)
    candidate.save()
    labels = ", ".join(str(Candidate._meta.get_field(name).verbose_name) for name in changed)
    activity_record(candidate=candidate, kind=ActivityKind.UPDATED, actor=actor, summary=f"Updated {labels}",
                    details={"fields": changed})
    send_on_commit(candidate_updated, organization_id=candidate.organization_id, candidate_id=candidate.pk,
                   fields=changed)
    return candidate, changed


@transaction.atomic
def candidate_set_do_not_contact(*, candidate, actor, do_not_contact, reason=""):
    """Flag (with a reason) or clear do-not-contact; recorded on the timeline and audited."""
    reason = " ".join((reason or "").split())
    if do_not_contact and not reason:
        raise ServiceError("Say why this person must not be contacted.", field="reason")
    if len(reason) > 300:
        raise ServiceError("Keep the reason under 300 characters.", field="reason")
    candidate = Candidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.do_not_contact == do_not_contact and candidate.do_not_contact_reason == reason:
        return candidate
    candidate.do_not_contact = do_not_contact
    candidate.do_not_contact_reason = reason if do_not_contact else ""
    candidate.do_not_contact_at = timezone.now() if do_not_contact else None
    candidate.save(update_fields=["do_not_contact", "do_not_contact_reason", "do_not_contact_at"])
    summary = f"Marked do not contact: {reason}" if do_not_contact else "Do-not-contact flag cleared"
    activity_record(candidate=candidate, kind=ActivityKind.DO_NOT_CONTACT, actor=actor, summary=summary)
    audit("candidate.do_not_contact" if do_not_contact else "candidate.do_not_contact_cleared", actor=actor,
          obj=candidate, details={"reason": reason})
    send_on_commit(candidate_updated, organization_id=candidate.organization_id, candidate_id=candidate.pk,
                   fields=["do_not_contact"])
    return candidate


@transaction.atomic
def candidate_add_note(*, candidate, actor, kind, text):
    text = (text or "").strip()
    if not text:
        raise ServiceError("Write something first.", field="text")
    if len(text) > NOTES_MAX_LENGTH:
        raise ServiceError(f"Keep it under {NOTES_MAX_LENGTH:,} characters.", field="text")
    if kind not in (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.INTERVIEW):
        raise ServiceError("Choose note, call or interview.", field="kind")
    first_line = text.splitlines()[0]
    return activity_record(candidate=candidate, kind=kind, actor=actor, summary=first_line[:120], body=text)


@transaction.atomic
def candidate_delete(*, candidate, actor):
    audit("candidate.deleted", actor=actor, obj=candidate)
    candidate.delete()


@transaction.atomic
def candidate_upsert(*, actor, match, key, data):
    """Create or update the candidate whose `match` ("external_id" or "email") equals `key`.

    Returns (candidate, created). An ATS retrying the same request finds the row it created.
    """
    lookup = {"external_id": key} if match == "external_id" else {"email__iexact": key.strip()}
    existing = Candidate.objects.select_for_update().filter(**lookup).first()
    if existing is not None:
        data = {k: v for k, v in data.items() if k != match}
        candidate, _ = candidate_update(candidate=existing, actor=actor, data=data)
        return candidate, False
    data = {**data, match: key}
    try:
        with transaction.atomic():
            return candidate_create(actor=actor, **data), True
    except IntegrityError:
        # A concurrent request created it between our look-up and our insert: update that one.
        existing = Candidate.objects.select_for_update().get(**lookup)
        candidate, _ = candidate_update(candidate=existing, actor=actor,
                                        data={k: v for k, v in data.items() if k != match})
        return candidate, False


CSV_COLUMNS = [
    ("id", "id"), ("first_name", "first name"), ("last_name", "last name"), ("email", "email"),
    ("phone", "phone"), ("headline", "title"), ("location", "location"), ("seniority", "seniority"),
    ("skills", "skills"), ("source", "source"), ("external_id", "external id"),
    ("do_not_contact", "do not contact"), ("silver_medalist", "silver medalist"),
    ("email_status", "email status"), ("last_activity_at", "last activity"), ("created_at", "created"),
]


def csv_safe(value):
    """Spreadsheets execute cells starting with = + - @ (and tab, CR): make them text."""
    if isinstance(value, list):
        value = ", ".join(value)
    value = "" if value is None else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def candidates_export_rows(*, queryset, actor, description):
    """Rows of a CSV export (header first). The export is audited now, in the organization's scope, before
    the response streams them."""
    audit("candidates.exported", actor=actor, details={"filters": description})

    def rows():
        yield [label for _, label in CSV_COLUMNS]
        for candidate in queryset.order_by("id").only(*[name for name, _ in CSV_COLUMNS]).iterator(chunk_size=2000):
            yield [csv_safe(getattr(candidate, name)) for name, _ in CSV_COLUMNS]

    return rows()
