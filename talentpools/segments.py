"""Segments: the saved filters of smart pools, checked when saved and turned into a candidate query.

A definition is a JSON object; every key is optional and they combine with AND:

    tags_all, tags_any, tags_none   tag ids
    skills_all, skills_any          skills (lower case)
    seniority, source, language     lists of choice values
    location                        the location starts with this
    furthest_stage                  reached at least this stage in some application
    rejection_reasons               rejected (in some application) for one of these reason ids
    silver_medalist                 true or false
    inactive_days                   no activity in the last N days
    active_within_days              some activity in the last N days
    active_after, active_before     dates (YYYY-MM-DD), in the organization's time zone
    consent                         {topic: state}: granted, not_granted, pending, withdrawn, expired

Do-not-contact candidates are never in a segment; erased candidates are gone from the base.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from consent.models import ConsentPurpose, ConsentState, PurposeKey, State
from crm.models import PIPELINE, Candidate, RejectionReason, Seniority, Source, Stage
from crm.tenancy import current_organization
from crm.text_guard import MESSAGE as UNSTORABLE_MESSAGE
from crm.text_guard import unstorable_in_json

from .models import Tag

MAX_LIST = 50
CONSENT_STATES = {
    "granted": "has given it (confirmed, not expired)",
    "not_granted": "has not given it",
    "pending": "has not confirmed yet",
    "withdrawn": "withdrew it",
    "expired": "let it expire",
}
FIELDS = (
    "tags_all", "tags_any", "tags_none", "skills_all", "skills_any", "seniority", "source", "language",
    "location", "furthest_stage", "rejection_reasons", "silver_medalist", "inactive_days", "active_within_days",
    "active_after", "active_before", "consent",
)
TOPICS = [key for key in PurposeKey.values if key != PurposeKey.TALENT_POOL]
STAGES_REACHED = [stage.value for stage in PIPELINE]


class DefinitionError(ValueError):
    """A definition that cannot be used; `errors` maps each field to its messages."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def _id_list(value, errors, field, known):
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        errors[field] = ["Use a list of ids."]
        return []
    if len(value) > MAX_LIST:
        errors[field] = [f"Use at most {MAX_LIST}."]
        return []
    missing = sorted(set(value) - known(value))
    if missing:
        # Another organization's id is answered like a missing one.
        errors[field] = [f"No such id: {', '.join(map(str, missing))} (deleted, or never existed)."]
    return sorted(set(value))


def _choice_list(value, errors, field, choices):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = ["Use a list of values."]
        return []
    wrong = [v for v in value if v not in choices]
    if wrong:
        errors[field] = [f"Unknown value: {', '.join(wrong)[:200]}. Use {', '.join(choices)}."]
    return sorted(set(value))


def _days(value, errors, field):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 36_500:
        errors[field] = ["Use a whole number of days from 1 to 36500."]
        return None
    return value


def _date(value, errors, field):
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        errors[field] = ["Use a date as YYYY-MM-DD."]
        return None


def clean_definition(raw):
    """Check a definition against the organization in scope; returns the normalized definition.

    Raises DefinitionError with messages per field."""
    if not isinstance(raw, dict):
        raise DefinitionError({"definition": ["Use an object of filters."]})
    # Callers that skip the request check (imports, integrations, tasks) meet the same refusal.
    if (problem := unstorable_in_json(raw)) is not None:
        raise DefinitionError({problem[0]: [f"{UNSTORABLE_MESSAGE} At {problem[1]}."]})
    errors, clean = {}, {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        errors["definition"] = [f"Unknown filter: {', '.join(unknown)[:200]}."]
    for field in FIELDS:
        value = raw.get(field)
        if value in (None, "", [], {}):
            continue
        if field.startswith("tags_"):
            value = _id_list(value, errors, field,
                             lambda ids: set(Tag.objects.filter(pk__in=ids).values_list("pk", flat=True)))
        elif field == "rejection_reasons":
            value = _id_list(value, errors, field, lambda ids: set(
                RejectionReason.objects.filter(pk__in=ids).values_list("pk", flat=True)))
        elif field.startswith("skills_"):
            if isinstance(value, str):
                value = [s for s in value.split(",")]
            if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
                errors[field] = ["Use a list of skills."]
                continue
            value = sorted({" ".join(s.lower().split()) for s in value if s.strip()})
            if len(value) > MAX_LIST or any(len(s) > 50 for s in value):
                errors[field] = [f"Use at most {MAX_LIST} skills of at most 50 characters."]
        elif field == "seniority":
            value = _choice_list(value, errors, field, Seniority.values)
        elif field == "source":
            value = _choice_list(value, errors, field, Source.values)
        elif field == "language":
            value = _choice_list(value, errors, field, [code for code, _ in settings.LANGUAGES])
        elif field == "furthest_stage":
            if value not in STAGES_REACHED:
                errors[field] = [f"Use one of {', '.join(STAGES_REACHED)}."]
        elif field == "location":
            if not isinstance(value, str) or len(value) > 150:
                errors[field] = ["Use at most 150 characters."]
                continue
            value = value.strip().lower()
        elif field == "silver_medalist":
            if not isinstance(value, bool):
                errors[field] = ["Use true or false."]
        elif field in ("inactive_days", "active_within_days"):
            value = _days(value, errors, field)
        elif field in ("active_after", "active_before"):
            value = _date(value, errors, field)
        elif field == "consent":
            if not isinstance(value, dict):
                errors[field] = ["Use an object of topic: state."]
                continue
            wrong = [f"{k}: {v}" for k, v in value.items()
                     if k not in TOPICS or v not in CONSENT_STATES]
            if wrong:
                errors[field] = [f"Unknown topic or state ({', '.join(map(str, wrong))[:200]}); topics are "
                                 f"{', '.join(TOPICS)}, states {', '.join(CONSENT_STATES)}."]
                continue
        if value not in (None, "", [], {}):
            clean[field] = value
    if not errors and "tags_none" in clean and set(clean["tags_none"]) & set(clean.get("tags_all", [])):
        errors["tags_none"] = ["A tag cannot be both required and excluded."]
    if errors:
        raise DefinitionError(errors)
    return clean


def _start_of(day):
    organization = current_organization()
    tz = organization.time_zone if organization is not None else timezone.get_current_timezone()
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=tz)


def _consent_condition(topic, state, purpose_ids, now):
    """A consent filter on the candidate's "topic:state" list (GIN), then the state's expiry where it matters.

    A grant past its `expires_at` counts as expired even before the daily retention run marks it so."""
    states = ConsentState.objects.filter(candidate=OuterRef("pk"), purpose_id=purpose_ids.get(topic))
    granted = Q(consent_topics__contains=[f"{topic}:{State.GRANTED}"]) & Exists(
        states.filter(state=State.GRANTED, expires_at__gt=now))
    if state == "granted":
        return granted
    if state == "not_granted":
        return ~Exists(states.filter(state=State.GRANTED, expires_at__gt=now))
    if state == "expired":
        return Q(consent_topics__overlap=[f"{topic}:{State.EXPIRED}", f"{topic}:{State.GRANTED}"]) & Exists(
            states.filter(Q(state=State.EXPIRED) | Q(state=State.GRANTED, expires_at__lte=now)))
    return Q(consent_topics__contains=[f"{topic}:{state}"])


def segment_queryset(definition, *, now=None):
    """The candidates a (clean) definition selects, in the organization in scope, do-not-contact excluded."""
    now = now or timezone.now()
    candidates = Candidate.objects.filter(do_not_contact=False)
    d = definition
    if d.get("seniority"):
        candidates = candidates.filter(seniority__in=d["seniority"])
    if d.get("source"):
        candidates = candidates.filter(source__in=d["source"])
    if d.get("language"):
        candidates = candidates.filter(language__in=d["language"])
    if d.get("location"):
        candidates = candidates.filter(location__lower__startswith=d["location"])
    if "silver_medalist" in d:
        candidates = candidates.filter(silver_medalist=d["silver_medalist"])
    # Nobody is active before being added (a table constraint): the bound on created_at is
    # redundant but lets the "newest first" index start where the matches begin.
    if d.get("inactive_days"):
        bound = now - timedelta(days=d["inactive_days"])
        candidates = candidates.filter(last_activity_at__lt=bound, created_at__lt=bound)
    if d.get("active_within_days"):
        candidates = candidates.filter(last_activity_at__gte=now - timedelta(days=d["active_within_days"]))
    if d.get("active_after"):
        candidates = candidates.filter(last_activity_at__gte=_start_of(d["active_after"]))
    if d.get("active_before"):
        bound = _start_of(d["active_before"])
        candidates = candidates.filter(last_activity_at__lt=bound, created_at__lt=bound)
    if d.get("furthest_stage"):
        candidates = candidates.filter(furthest_stage_rank__gte=STAGES_REACHED.index(d["furthest_stage"]))
    # Array tests cost more per row than the comparisons above: PostgreSQL filters in this order.
    if d.get("tags_all"):
        candidates = candidates.filter(tag_ids__contains=d["tags_all"])
    if d.get("tags_any"):
        candidates = candidates.filter(tag_ids__overlap=d["tags_any"])
    if d.get("tags_none"):
        candidates = candidates.exclude(tag_ids__overlap=d["tags_none"])
    if d.get("skills_all"):
        candidates = candidates.filter(skills__contains=d["skills_all"])
    if d.get("skills_any"):
        candidates = candidates.filter(skills__overlap=d["skills_any"])
    # Application outcomes and consent states are read from the candidate row (kept in step by triggers).
    if d.get("rejection_reasons"):
        candidates = candidates.filter(rejection_reason_ids__overlap=d["rejection_reasons"])
    if d.get("consent"):
        purpose_ids = dict(ConsentPurpose.objects.filter(key__in=list(d["consent"])).values_list("key", "pk"))
        for topic, state in sorted(d["consent"].items()):
            candidates = candidates.filter(_consent_condition(topic, state, purpose_ids, now))
    return candidates


def default_sort(definition):
    """A pool reads in order of last activity when it filters on activity (the index then starts there)."""
    return "-last_activity_at" if any(k in definition for k in (
        "inactive_days", "active_within_days", "active_after", "active_before")) else "-created_at"


def describe(definition):
    """The definition in words, for pool pages and exports."""
    tags = dict(Tag.objects.filter(pk__in=[
        *definition.get("tags_all", []), *definition.get("tags_any", []), *definition.get("tags_none", [])
    ]).values_list("pk", "name"))
    reasons = dict(RejectionReason.objects.filter(pk__in=definition.get("rejection_reasons", [])).values_list(
        "pk", "label"))
    names = lambda ids, known: ", ".join(known.get(i, f"#{i} (deleted)") for i in ids)  # noqa: E731
    parts = []
    d = definition
    if d.get("tags_all"):
        parts.append(f"tagged {names(d['tags_all'], tags).replace(', ', ' and ')}")
    if d.get("tags_any"):
        parts.append(f"tagged {names(d['tags_any'], tags).replace(', ', ' or ')}")
    if d.get("tags_none"):
        parts.append(f"not tagged {names(d['tags_none'], tags).replace(', ', ' or ')}")
    if d.get("skills_all"):
        parts.append(f"skills {' and '.join(d['skills_all'])}")
    if d.get("skills_any"):
        parts.append(f"skills {' or '.join(d['skills_any'])}")
    if d.get("seniority"):
        parts.append(" or ".join(Seniority(s).label.lower() for s in d["seniority"]))
    if d.get("source"):
        parts.append("from " + " or ".join(Source(s).label.lower() for s in d["source"]))
    if d.get("language"):
        parts.append("speaking " + " or ".join(d["language"]))
    if d.get("location"):
        parts.append(f"in {d['location']}…")
    if d.get("furthest_stage"):
        parts.append(f"reached {Stage(d['furthest_stage']).label.lower()} or later")
    if d.get("rejection_reasons"):
        parts.append(f"rejected for {names(d['rejection_reasons'], reasons).replace(', ', ' or ')}")
    if "silver_medalist" in d:
        parts.append("silver medalists" if d["silver_medalist"] else "not silver medalists")
    if d.get("inactive_days"):
        parts.append(f"no activity for {d['inactive_days']} days")
    if d.get("active_within_days"):
        parts.append(f"active in the last {d['active_within_days']} days")
    if d.get("active_after"):
        parts.append(f"active since {d['active_after']}")
    if d.get("active_before"):
        parts.append(f"inactive since {d['active_before']}")
    for topic, state in sorted(d.get("consent", {}).items()):
        parts.append(f"{PurposeKey(topic).label.lower()}: {CONSENT_STATES[state]}")
    return "; ".join(parts) or "everyone who may be contacted"
