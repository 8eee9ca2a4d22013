"""A person's data as registries: each app says what it holds about a candidate, for their copy (GDPR
Art. 15) and for their erasure (Art. 17).

The core cannot import the apps above it, so each app registers its eraser in its
AppConfig.ready(): `register_eraser("outreach.messages", erase_messages)`. `erase_person()`
runs them all, in `order`, inside the caller's transaction and before the candidate row goes (so
that rows reached through the candidate are still found); the audit log is scrubbed last, with
the objects the other erasers reported through `Erasure.forget_in_audit()`.
"""

from dataclasses import dataclass, field

from django.db.models import Q

_erasers = {}  # name -> (order, function)
_export_sections = {}  # name -> (order, function)


def register_export_section(name, function, *, order=100):
    """`function(candidate)` returns the section `name` of the candidate's copy of their data (JSON-ready)."""
    _export_sections[name] = (order, function)


def export_person(candidate):
    """Everything the registered apps hold about the candidate that they may read, section by section."""
    ordered = sorted(_export_sections.items(), key=lambda item: (item[1][0], item[0]))
    return {name: function(candidate) for name, (_, function) in ordered}


def register_eraser(name, function, *, order=100):
    """`function(erasure)` removes what its app holds about `erasure.candidate`; returns how many rows it changed.

    Registering the same name again replaces the eraser (ready() may run more than once in tests)."""
    _erasers[name] = (order, function)


def registered_erasers():
    return [name for name, _ in sorted(_erasers.items(), key=lambda item: (item[1][0], item[0]))]


@dataclass
class Erasure:
    """The person being erased, as the erasers need them, and what they found along the way."""

    candidate: object
    email: str
    full_name: str
    # (object type, object id) of audit rows that name the person: their text goes, the event stays.
    audit_objects: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)

    @property
    def organization_id(self):
        return self.candidate.organization_id

    def forget_in_audit(self, object_type, ids):
        self.audit_objects.update((object_type, str(pk)) for pk in ids)

    def mentions(self, *fields, name_parts=False):
        """A filter on text columns: any of `fields` holds the person's email or full name (or, with
        `name_parts`, their first or last name alone, as a search typed into a filter would)."""
        needles = [self.email, self.full_name]
        if name_parts:
            needles += [self.candidate.first_name.strip(), self.candidate.last_name.strip()]
        condition = Q()
        for name in fields:
            for needle in needles:
                if needle:
                    condition |= Q(**{f"{name}__icontains": needle})
        return condition

    def names_the_person(self, text):
        text = (text or "").lower()
        return bool(self.email and self.email in text) or bool(self.full_name and self.full_name.lower() in text)


def erase_person(candidate):
    """Run every registered eraser for `candidate`; returns {eraser: rows changed}. Call inside a transaction."""
    full_name = " ".join(f"{candidate.first_name} {candidate.last_name}".split())
    erasure = Erasure(candidate=candidate, email=(candidate.email or "").strip().lower(), full_name=full_name)
    erasure.forget_in_audit("Candidate", [candidate.pk])
    for name in registered_erasers():
        erasure.counts[name] = _erasers[name][1](erasure) or 0
    return erasure


# --- The core's own erasers ---------------------------------------------------------------------------------

def erase_activity(erasure):
    """The person's timeline, and the lines on other people's timelines that name them (referrals)."""
    from .models import Activity

    own = Activity.all_tenants.filter(organization_id=erasure.organization_id, candidate_id=erasure.candidate.pk)
    linked = Activity.all_tenants.filter(organization_id=erasure.organization_id).filter(
        Q(details__referrer_id=erasure.candidate.pk) | Q(details__referred_id=erasure.candidate.pk))
    return own.delete()[0] + linked.delete()[0]


def erase_pipeline(erasure):
    """Applications, their stage history and the hiring managers' feedback (notes included)."""
    from .models import Application, FeedbackNote, StageChange

    applications = Application.all_tenants.filter(organization_id=erasure.organization_id,
                                                   candidate_id=erasure.candidate.pk)
    ids = list(applications.values_list("pk", flat=True))
    erasure.forget_in_audit("Application", ids)
    feedback = FeedbackNote.all_tenants.filter(organization_id=erasure.organization_id, application_id__in=ids)
    erasure.forget_in_audit("FeedbackNote", feedback.values_list("pk", flat=True))
    removed = feedback.delete()[0]
    removed += StageChange.all_tenants.filter(organization_id=erasure.organization_id,
                                              application_id__in=ids).delete()[0]
    return removed + applications.delete()[0]


def erase_audit_text(erasure):
    """Audit rows about the person (or naming them, e.g. an export filtered on their name) keep the event, who
    did it and when; the object's name and the details go."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    from .models import AuditEvent

    by_object = Q()
    for object_type, object_id in erasure.audit_objects:
        by_object |= Q(object_type=object_type, object_id=object_id)
    # details is JSON: searched as its text.
    rows = AuditEvent.objects.filter(organization_id=erasure.organization_id).annotate(
        details_text=Cast("details", TextField()))
    naming = erasure.mentions("object_repr", "details_text", name_parts=True)
    ids = list(rows.filter(by_object | naming).values_list("pk", flat=True))
    return AuditEvent.objects.filter(pk__in=ids).update(object_repr="(erased)", details={})


# --- The core's sections of the copy ---------------------------------------------------------------------

PROFILE_FIELDS = ["first_name", "last_name", "email", "phone", "language", "location", "headline", "seniority",
                  "skills", "linkedin_url", "portfolio_url", "source", "external_id", "do_not_contact",
                  "do_not_contact_reason", "email_status", "silver_medalist", "last_activity_at", "created_at"]


def iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_profile(candidate):
    return {name: iso(getattr(candidate, name)) for name in PROFILE_FIELDS}


def export_applications(candidate):
    """Applications with the feedback marked shareable (as a recruiter worded it for them); internal notes stay."""
    from .models import Application, FeedbackNote

    applications = Application.objects.filter(candidate=candidate).select_related("job", "rejection_reason")
    return [{
        "job": a.job.title, "stage": a.stage, "furthest_stage": a.furthest_stage, "applied_at": iso(a.applied_at),
        "decided_at": iso(a.decided_at),
        "rejection_reason": a.rejection_reason.candidate_text if a.rejection_reason else "",
        "feedback": [{"strengths": f.candidate_strengths, "areas_to_improve": f.candidate_improvements}
                     for f in FeedbackNote.objects.filter(application=a, shareable=True).order_by("id")],
    } for a in applications.order_by("applied_at", "id")]


def register_core():
    register_eraser("crm.activity", erase_activity, order=10)
    register_eraser("crm.pipeline", erase_pipeline, order=20)
    register_eraser("crm.audit", erase_audit_text, order=1000)
    register_export_section("profile", export_profile, order=0)
    register_export_section("applications", export_applications, order=10)
