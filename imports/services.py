"""Importing candidates: upload, map the columns, a dry run, then the import in batches.

The dry run and the import are one pass over the file with `write` off or on, so the dry run
says exactly what the import will do. Existing candidates are matched by their id in the ATS,
then by email (without case), and updated, never duplicated; a suppressed (erased) address is
refused; applications land at their stage without any email or event; consent is never
inferred: a consent column needs an evidence note for the file, recorded in the ledger as an
import with evidence. Each batch is its own transaction (a row goes in whole or not at all), and
running the same file again changes nothing.
"""

import io
import logging
from datetime import UTC

from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from crm.audit import actor_label, audit
from crm.models import (
    CLOSED_STAGES,
    PIPELINE,
    Activity,
    ActivityKind,
    Application,
    Candidate,
    Job,
    JobStatus,
    RejectionReason,
    Stage,
    User,
    candidate_search_text,
)
from crm.selectors import suppressed_emails
from crm.services import ServiceError, suppressions_move_to_current_key

from . import parsing
from .models import CandidateImport, ImportFileChunk, ImportMapping, ImportProblem, ImportStatus

logger = logging.getLogger(__name__)
BATCH = 2_000
# Up to this many rows, the dry run and the import run in the request; beyond, a worker runs them.
INLINE_ROWS = 2_000
UPDATABLE = ("first_name", "last_name", "phone", "location", "headline", "seniority", "linkedin_url", "language",
             "external_id")


def _user(actor):
    return actor if isinstance(actor, User) else None


@transaction.atomic
def import_upload(*, data, filename, actor):
    """Read the file's shape, keep the file, and propose a mapping (this organization's last one, else the presets).

    `data` is bytes or a binary file (an upload on disk): it is read in chunks, never whole."""
    stream = parsing.binary(data)
    shape = parsing.inspect(stream)
    remembered = ImportMapping.objects.first()
    mapping = parsing.suggest_mapping(shape.headers, remembered.mapping if remembered else None)
    candidate_import = CandidateImport.objects.create(
        filename=(filename or "import.csv")[:255], size=0, encoding=shape.encoding,
        delimiter=shape.delimiter, headers=shape.headers, mapping=mapping, created_by=_user(actor),
        created_by_label=actor_label(actor))
    stream.seek(0)
    size = 0
    for position, chunk in enumerate(iter(lambda: stream.read(parsing.CHUNK), b"")):
        ImportFileChunk.objects.create(candidate_import=candidate_import, position=position, data=chunk)
        size += len(chunk)
    candidate_import.size = size
    candidate_import.save(update_fields=["size"])
    audit("import.uploaded", actor=actor, obj=candidate_import, details={"filename": filename, "bytes": size})
    return candidate_import


class _StoredFile(io.RawIOBase):
    """An import's file read back one stored chunk at a time."""

    def __init__(self, candidate_import_id):
        super().__init__()
        self.candidate_import_id = candidate_import_id
        self.position = 0
        self.pending = memoryview(b"")

    def readable(self):
        return True

    def readinto(self, buffer):
        if not self.pending:
            chunk = ImportFileChunk.objects.filter(candidate_import_id=self.candidate_import_id,
                                                   position=self.position).values_list("data", flat=True)
            chunk = next(iter(chunk), None)
            if chunk is None:
                return 0
            self.pending = memoryview(bytes(chunk))
            self.position += 1
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def stored_file(candidate_import):
    """The import's file as a binary stream, a chunk in memory at a time."""
    return io.BufferedReader(_StoredFile(candidate_import.pk), buffer_size=parsing.CHUNK)


def file_removed(candidate_import):
    """Whether the import's file was dropped by an erasure (nothing more can be read from it)."""
    return candidate_import.size > 0 and not ImportFileChunk.objects.filter(
        candidate_import_id=candidate_import.pk).exists()


FILE_REMOVED = ("This file was removed when a person in it was erased; upload it again (the erased person's "
                "line is then refused).")


def sample_rows(candidate_import, count=3):
    if file_removed(candidate_import):
        return []
    samples = []
    for _, values in parsing.rows(stored_file(candidate_import), _shape(candidate_import)):
        samples.append(values)
        if len(samples) >= count:
            break
    return samples


@transaction.atomic
def import_set_mapping(*, candidate_import, mapping, evidence_note, actor):
    """Keep the mapping (and remember it for this organization's next file); refuse one that cannot work."""
    candidate_import = CandidateImport.objects.select_for_update().get(pk=candidate_import.pk)
    if candidate_import.status not in (ImportStatus.UPLOADED, ImportStatus.CHECKED, ImportStatus.FAILED):
        raise ServiceError("This import is under way or finished; upload the file again to change it.",
                           field="mapping")
    mapping = {header: (mapping.get(header) or "") for header in candidate_import.headers}
    problems = parsing.check_mapping(mapping, candidate_import.headers)
    if problems:
        raise ServiceError(" ".join(problems), field="mapping")
    evidence_note = (evidence_note or "").strip()
    if "consent" in mapping.values() and not evidence_note:
        raise ServiceError("A consent column needs the evidence for the whole file: say how, when and where these "
                           "people agreed to be kept.", field="evidence_note")
    candidate_import.mapping = mapping
    candidate_import.evidence_note = evidence_note[:2000]
    candidate_import.status = ImportStatus.UPLOADED
    candidate_import.preview = {}
    candidate_import.save(update_fields=["mapping", "evidence_note", "status", "preview"])
    remembered, _ = ImportMapping.objects.get_or_create(organization_id=candidate_import.organization_id)
    remembered.mapping = {**remembered.mapping, **{parsing.key_of(h): f for h, f in mapping.items()}}
    remembered.save()
    return candidate_import


def start(*, candidate_import, write, actor):
    """The dry run (write=False) or the import: now when the file is small, else in the background.

    Returns the operation when it runs in the background, else None (the import holds the result)."""
    from crm.operations import operation_create, operation_start

    with transaction.atomic():
        locked = CandidateImport.objects.select_for_update().get(pk=candidate_import.pk)
        allowed = (ImportStatus.CHECKED,) if write else (ImportStatus.UPLOADED, ImportStatus.CHECKED,
                                                         ImportStatus.FAILED)
        if file_removed(locked):
            raise ServiceError(FILE_REMOVED, field="status")
        if locked.status not in allowed:
            raise ServiceError("Check the file (the dry run) first." if write and locked.status == "uploaded" else
                               f"This import is {locked.get_status_display().lower()}.", field="status")
        locked.status = ImportStatus.IMPORTING if write else ImportStatus.CHECKING
        locked.save(update_fields=["status"])
    rows = sum(1 for _ in parsing.rows(stored_file(locked), _shape(locked)))
    CandidateImport.objects.filter(pk=locked.pk).update(rows=rows)
    if rows <= INLINE_ROWS:
        run(locked.pk, write=write, actor=actor)
        return None
    from .tasks import run_import

    verb = "Import" if write else "Check"
    operation = operation_create(kind="import.run" if write else "import.check",
                                 label=f"{verb} {rows:,} rows of {locked.filename}", total=rows,
                                 params={"import": locked.pk, "write": write}, actor=actor,
                                 return_url=f"/o/{locked.organization.slug}/imports/{locked.pk}/")
    CandidateImport.objects.filter(pk=locked.pk).update(operation=operation)
    operation_start(operation, run_import)
    return operation


def _shape(candidate_import):
    return parsing.FileShape(candidate_import.encoding, candidate_import.delimiter, candidate_import.headers)


def run_operation(operation, progress):
    run(operation.params["import"], write=operation.params["write"],
        actor=operation.created_by_api_key or operation.created_by, progress=progress)
    candidate_import = CandidateImport.objects.get(pk=operation.params["import"])
    counts = candidate_import.result if operation.params["write"] else candidate_import.preview
    return {**counts, "message": summary(counts, write=operation.params["write"])}


def summary(counts, *, write):
    if not counts:
        return ""
    verb = ("created", "updated") if write else ("to create", "to update")
    suppressed = counts.get("suppressed", 0)
    erased = f" (of which {suppressed:,} erased at their request)" if suppressed else ""
    return (f"{counts.get('created', 0):,} {verb[0]}, {counts.get('updated', 0):,} {verb[1]}, "
            f"{counts.get('unchanged', 0):,} unchanged, {counts.get('rejected', 0):,} rows refused{erased}.")


def run(import_id, *, write, actor, progress=None):
    """The pass over the file; any unexpected error leaves the import failed with the batches done kept."""
    candidate_import = CandidateImport.objects.get(pk=import_id)
    try:
        counts = _pass(candidate_import, write=write, actor=actor, progress=progress)
    except Exception:
        logger.exception("import %s failed", import_id)
        CandidateImport.objects.filter(pk=import_id).update(status=ImportStatus.FAILED, finished_at=timezone.now())
        raise
    fields = {"status": ImportStatus.DONE if write else ImportStatus.CHECKED}
    if write:
        fields.update(result=counts, finished_at=timezone.now())
        audit("import.finished", actor=actor, obj=candidate_import, details=counts)
    else:
        fields["preview"] = counts
    CandidateImport.objects.filter(pk=import_id).update(**fields)
    return counts


class _Pass:
    """What one pass knows across batches: who each email and ATS id became, the tags, jobs and reasons."""

    def __init__(self, candidate_import, write, actor):
        self.candidate_import = candidate_import
        self.write = write
        self.actor = actor
        self.label = actor_label(actor)
        self.organization_id = candidate_import.organization_id
        self.by_email = {}  # lower email -> (line, candidate id or None in a dry run)
        self.by_external = {}
        self.tags = {name.lower(): pk for pk, name in _tag_rows()}
        self.jobs = {}
        self.reasons = {label.lower(): pk for pk, label in RejectionReason.objects.values_list("pk", "label")}
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0, "suppressed": 0,
                       "applications": 0, "tags_created": 0, "consents": 0}
        self.problems = []
        self.new_tag_names = set()


def _tag_rows():
    from talentpools.models import Tag

    return Tag.objects.values_list("pk", "name")


def _pass(candidate_import, *, write, actor, progress):
    state = _Pass(candidate_import, write, actor)
    ImportProblem.objects.filter(candidate_import=candidate_import).delete()
    batch, done = [], 0
    for line, values in parsing.rows(stored_file(candidate_import), _shape(candidate_import)):
        checked = parsing.check_row(line, values, candidate_import.mapping)
        if isinstance(checked, list):
            state.problems.extend(checked)
            state.counts["rejected"] += 1
        else:
            batch.append(checked)
        done += 1
        if len(batch) >= BATCH:
            _batch(state, batch)
            batch = []
            if progress:
                progress(done)
    if batch:
        _batch(state, batch)
    _flush_problems(state)
    if progress:
        progress(done)
    return state.counts


def _flush_problems(state):
    if state.problems:
        ImportProblem.objects.bulk_create([
            ImportProblem(organization_id=state.organization_id, candidate_import=state.candidate_import,
                          line=p.line, column=(p.column or "")[:200], value=(p.value or "")[:200], reason=p.reason[:300])
            for p in state.problems], batch_size=5000)
        state.problems = []


def _refuse(state, row, column, reason):
    header = next((h for h, f in state.candidate_import.mapping.items() if f == column), column)
    value = row.candidate.get(column, "") if isinstance(row.candidate.get(column, ""), str) else ""
    state.problems.append(parsing.RowProblem(line=row.line, column=header, value=value[:200], reason=reason))
    state.counts["rejected"] += 1


def _batch(state, rows):
    with transaction.atomic():
        _batch_in_transaction(state, rows)
    _flush_problems(state)


def _batch_in_transaction(state, rows):
    now = timezone.now()
    emails = {row.candidate["email"] for row in rows}
    externals = {row.candidate["external_id"] for row in rows if row.candidate.get("external_id")}
    suppressed = suppressed_emails(emails)
    if state.write and suppressed:
        suppressions_move_to_current_key(emails=suppressed)  # the addresses are in hand: off any fallback key
    existing = {}
    # Only what matching and the comparison need: loading whole rows costs more than the lookup itself.
    fields = ("id", "organization_id", "email", "first_name", "last_name", "headline", "skills", *UPDATABLE)
    for candidate in Candidate.objects.annotate(email_lower=Lower("email")).filter(
            email_lower__in=list(emails)).only(*fields):
        existing[("email", candidate.email_lower)] = candidate
    if externals:
        for candidate in Candidate.objects.filter(external_id__in=list(externals)).only(*fields):
            existing[("external", candidate.external_id)] = candidate
    creates, updates, unchanged, kept = [], {}, [], []
    for row in rows:
        email = row.candidate["email"]
        external = row.candidate.get("external_id", "")
        if email in suppressed:
            _refuse(state, row, "email", "This person asked to be erased: they come back only by opting in "
                                         "themselves.")
            state.counts["suppressed"] += 1
            continue
        # Someone met on an earlier line (this batch or before): their id, or the row creating them.
        earlier = state.by_email.get(email) or (state.by_external.get(external) if external else None)
        if earlier is not None:
            if row.application:
                kept.append((row, earlier[1]))  # another application of someone met above: one row per application
                continue
            _refuse(state, row, "email", f"Same person as line {earlier[0]} (emails are compared without case): "
                                         "imported once.")
            continue
        match = (existing.get(("external", external)) if external else None) or existing.get(("email", email))
        if match is not None and external and match.external_id and match.external_id != external:
            _refuse(state, row, "external_id", f"This email belongs to a candidate with another ATS id "
                                               f"({match.external_id}).")
            continue
        if match is None:
            creates.append(row)
            _remember(state, row, row)
        else:
            changes = _changes(match, row.candidate)
            if changes:
                updates[match.pk] = (match, changes, row)
            else:
                unchanged.append((row, match))
            _remember(state, row, match.pk)
    state.counts["created"] += len(creates)
    state.counts["updated"] += len(updates)
    state.counts["unchanged"] += len(unchanged)
    if not state.write:
        state.counts["applications"] += sum(1 for row in rows if row.application and row.candidate["email"]
                                            not in suppressed)
        new_tags = {t.lower() for row in rows for t in row.tags} - set(state.tags) - state.new_tag_names
        state.new_tag_names |= new_tags
        state.counts["tags_created"] += len(new_tags)
        state.counts["consents"] += sum(1 for row in rows if row.consent)
        return
    _ensure_tags(state, rows)
    created = _create(state, creates, now)
    by_row = {id(row): candidate for row, candidate in created}
    for row, candidate in created:
        _remember(state, row, candidate.pk, replace=True)
    _update(state, updates, now)
    resolved = [(row, by_row[id(ref)] if not isinstance(ref, int) else Candidate(pk=ref)) for row, ref in kept]
    people = [*created, *[(row, match) for match, _, row in updates.values()], *unchanged, *resolved]
    _tags(state, people, {candidate.pk for _, candidate in created})
    _applications(state, people, now)
    _consents(state, people)


def _remember(state, row, who, replace=False):
    """`who` is a candidate's id, or (until it is created) the row that creates them."""
    keys = [(state.by_email, row.candidate["email"])]
    if row.candidate.get("external_id"):
        keys.append((state.by_external, row.candidate["external_id"]))
    for table, key in keys:
        if replace or key not in table:
            table[key] = (row.line, who)


def _copy(model, columns, rows, *, with_ids=False):
    """Write rows with COPY (an import's volume makes INSERT statements the bottleneck); returns their ids.

    Ids come from the table's sequence first, so that the rows written can be referred to at once."""
    from psycopg.types.json import Jsonb

    table = model._meta.db_table
    rows = list(rows)
    if not rows:
        return []
    ids = []
    with connection.cursor() as cursor:
        if with_ids:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                           [table, len(rows)])
            ids = [row[0] for row in cursor.fetchall()]
        names = (["id"] if with_ids else []) + list(columns)
        with cursor.cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for index, row in enumerate(rows):
                values = [Jsonb(v) if isinstance(v, dict) else v for v in row]
                copy.write_row([ids[index], *values] if with_ids else values)
    return ids


def _changes(candidate, values):
    changes = {}
    for name in UPDATABLE:
        value = values.get(name)
        if value and getattr(candidate, name) != value:
            changes[name] = value
    if values.get("skills"):
        merged = list(dict.fromkeys([*candidate.skills, *values["skills"]]))[:50]
        if merged != candidate.skills:
            changes["skills"] = merged
    return changes


CANDIDATE_COLUMNS = ("organization_id", "first_name", "last_name", "email", "phone", "language", "location",
                     "headline", "seniority", "skills", "linkedin_url", "portfolio_url", "source", "external_id",
                     "do_not_contact", "do_not_contact_reason", "email_status", "silver_medalist",
                     "silver_medalist_note", "last_activity_at", "notes", "tag_ids", "search_text", "created_at",
                     "updated_at")
ACTIVITY_COLUMNS = ("organization_id", "candidate_id", "kind", "summary", "body", "details", "actor_user_id",
                    "actor_label", "occurred_at")


class _Created:
    """A candidate just written by COPY: what the rest of the batch needs of it."""

    __slots__ = ("pk", "created_at")

    def __init__(self, pk, created_at):
        self.pk, self.created_at = pk, created_at


def _create(state, rows, now):
    values, created = [], []
    defaults = {"phone": "", "language": "", "location": "", "headline": "", "seniority": "", "skills": [],
                "linkedin_url": "", "portfolio_url": "", "source": "imported", "external_id": "",
                "do_not_contact": False, "do_not_contact_reason": "", "email_status": "unknown",
                "silver_medalist": False, "silver_medalist_note": "", "notes": "", "tag_ids": [], "updated_at": now,
                "organization_id": state.organization_id}
    for row in rows:
        data = {**defaults, **{k: v for k, v in row.candidate.items() if k not in ("source", "source_label")}}
        created_at = data.get("created_at") or now
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        data["created_at"] = data["last_activity_at"] = min(created_at, now)
        data["search_text"] = candidate_search_text(data["first_name"], data["last_name"], data["email"],
                                                    data["headline"], data["skills"])
        # Written with its tags' ids: the tagging rows follow in the same transaction.
        data["tag_ids"] = sorted({state.tags[t.lower()] for t in row.tags if t.lower() in state.tags})
        values.append([data[column] for column in CANDIDATE_COLUMNS])
        created.append(data["created_at"])
    candidates = [_Created(pk, at) for pk, at in zip(
        _copy(Candidate, CANDIDATE_COLUMNS, values, with_ids=True), created, strict=True)]
    name = state.candidate_import.filename
    user_id = state.actor.pk if isinstance(state.actor, User) else None
    details = {"import_id": state.candidate_import.pk}
    _copy(Activity, ACTIVITY_COLUMNS, (
        [state.organization_id, candidate.pk, ActivityKind.CREATED.value,
         (f"Imported from {name}" + (f" (source in your ATS: {row.candidate['source_label']})"
                                     if row.candidate.get("source_label") else ""))[:300],
         "", details, user_id, state.label, candidate.created_at]
        for row, candidate in zip(rows, candidates, strict=True)))
    return list(zip(rows, candidates, strict=True))


def _update(state, updates, now):
    if not updates:
        return
    changed_fields = set()
    for match, changes, _ in updates.values():
        for name, value in changes.items():
            setattr(match, name, value)
        match.search_text = candidate_search_text(match.first_name, match.last_name, match.email, match.headline,
                                                  match.skills)
        match.updated_at = now
        changed_fields |= set(changes)
    Candidate.objects.bulk_update([m for m, _, _ in updates.values()],
                                  [*sorted(changed_fields), "search_text", "updated_at"], batch_size=1000)
    name = state.candidate_import.filename
    Activity.objects.bulk_create([
        Activity(organization_id=state.organization_id, candidate=match, kind=ActivityKind.UPDATED,
                 summary=f"Updated by the import of {name}: {', '.join(sorted(changes))}"[:300],
                 details={"import_id": state.candidate_import.pk, "fields": sorted(changes)},
                 actor_user=_user(state.actor), actor_label=state.label, occurred_at=now)
        for match, changes, _ in updates.values()], batch_size=1000)


def _ensure_tags(state, rows):
    from talentpools.models import Tag

    wanted = {t.lower(): t for row in rows for t in row.tags}
    missing = [name for key, name in wanted.items() if key not in state.tags]
    if missing:
        Tag.objects.bulk_create([Tag(organization_id=state.organization_id, name=name, category="custom")
                                 for name in missing], ignore_conflicts=True)
        state.tags = {name.lower(): pk for pk, name in _tag_rows()}
        state.counts["tags_created"] += len(missing)


def _tags(state, people, created_ids):
    from talentpools.models import CandidateTag

    pairs = {(candidate.pk, state.tags[t.lower()]) for row, candidate in people for t in row.tags
             if t.lower() in state.tags}
    if not pairs:
        return
    known = {c for c, _ in pairs} - created_ids
    have = set(CandidateTag.objects.filter(candidate_id__in=known).values_list("candidate_id", "tag_id")) \
        if known else set()
    new = sorted(pairs - have)
    if not new:
        return
    user_id = state.actor.pk if isinstance(state.actor, User) else None
    now = timezone.now()
    _copy(CandidateTag, ("organization_id", "candidate_id", "tag_id", "tagged_by_id", "tagged_by_label",
                         "created_at"),
          ([state.organization_id, candidate_id, tag_id, user_id, state.label, now] for candidate_id, tag_id in new))
    # Candidates created in this batch carry their tag ids already; the others' arrays follow their rows here.
    ids = sorted({candidate_id for candidate_id, _ in new} - created_ids)
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("""
                UPDATE crm_candidate c SET tag_ids = COALESCE((SELECT array_agg(ct.tag_id ORDER BY ct.tag_id)
                    FROM talentpools_candidatetag ct
                    WHERE ct.organization_id = c.organization_id AND ct.candidate_id = c.id), '{}')
                WHERE c.organization_id = %s AND c.id = ANY(%s)
            """, [state.organization_id, ids])


def _job(state, application):
    key = ("external", application["job_external_id"]) if application["job_external_id"] else \
        ("title", application["job"].lower())
    if key in state.jobs:
        return state.jobs[key]
    jobs = Job.objects.all()
    job = (jobs.filter(external_id=application["job_external_id"]).first() if application["job_external_id"]
           else jobs.filter(title__iexact=application["job"]).order_by("-created_at").first())
    if job is None:
        # A job of the old ATS: kept closed, so that nobody can apply to it by mistake.
        job = Job.objects.create(title=application["job"] or f"Job {application['job_external_id']}",
                                 external_id=application["job_external_id"], status=JobStatus.CLOSED,
                                 closed_at=timezone.now())
    state.jobs[key] = job
    return job


def _reason(state, label):
    if not label:
        return None
    pk = state.reasons.get(label.lower())
    if pk is None:
        # A reason of the old ATS: kept, inactive, so that the history reads right without cluttering the list.
        reason = RejectionReason.objects.create(label=label, active=False, position=999)
        pk = state.reasons[label.lower()] = reason.pk
    return pk


APPLICATION_COLUMNS = ("organization_id", "candidate_id", "job_id", "stage", "furthest_stage", "stage_before_close",
                       "decided_at", "decider_label", "rejection_reason_id", "rejection_note", "offer_declined_reason",
                       "offer_declined_note", "external_id", "notice_plan", "notice_skip_reason", "applied_at",
                       "moved_at", "version")


def _applications(state, people, now):
    wanted = [(row, candidate) for row, candidate in people if row.application and row.application["stage"]]
    if not wanted:
        return
    externals = [row.application["external_id"] for row, _ in wanted if row.application["external_id"]]
    known_external = set(Application.objects.filter(external_id__in=externals).values_list("external_id", flat=True))
    pairs = [(row, candidate.pk, _job(state, row.application)) for row, candidate in wanted]
    existing_pairs = set(Application.objects.filter(
        candidate_id__in=[c.pk for _, c in wanted], job_id__in=[j.pk for _, _, j in pairs]).values_list(
        "candidate_id", "job_id"))
    applications, silver = [], []
    for row, candidate_id, job in pairs:
        data = row.application
        if data["external_id"] and data["external_id"] in known_external:
            continue
        if (candidate_id, job.pk) in existing_pairs:
            continue
        existing_pairs.add((candidate_id, job.pk))
        stage = data["stage"]
        applied = data["applied_at"] or now
        if applied.tzinfo is None:
            applied = applied.replace(tzinfo=UTC)
        closed = stage in CLOSED_STAGES
        applications.append({
            "organization_id": state.organization_id, "candidate_id": candidate_id, "job_id": job.pk, "stage": stage,
            "furthest_stage": stage if stage in PIPELINE else Stage.APPLIED, "stage_before_close": "",
            "applied_at": applied, "moved_at": applied,
            "decided_at": applied if closed or stage == Stage.HIRED else None,
            "decider_label": f"Imported ({state.label})",
            "rejection_reason_id": _reason(state, data["rejection_reason"]) if stage == Stage.REJECTED else None,
            "rejection_note": "", "offer_declined_reason": "", "offer_declined_note": "",
            "external_id": data["external_id"], "notice_plan": "none",
            "notice_skip_reason": "imported from another ATS" if closed else "", "version": 1})
        if stage == Stage.OFFER_DECLINED:
            silver.append(candidate_id)
    _copy(Application, APPLICATION_COLUMNS, ([a[c] for c in APPLICATION_COLUMNS] for a in applications))
    state.counts["applications"] += len(applications)
    if silver:
        Candidate.objects.filter(pk__in=silver).update(silver_medalist=True,
                                                       silver_medalist_note="Declined an offer (imported)")


def _consents(state, people):
    if not state.candidate_import.evidence_note:
        return
    from consent.models import Action, ConsentPurpose, ConsentState, Source, State
    from consent.services import record

    purpose = ConsentPurpose.objects.filter(key="talent_pool").first()
    agreeing = [candidate for row, candidate in people if row.consent]
    if purpose is None or not agreeing:
        return
    granted = set(ConsentState.objects.filter(purpose=purpose, state=State.GRANTED,
                                              candidate_id__in=[c.pk for c in agreeing]).values_list(
        "candidate_id", flat=True))
    for candidate in Candidate.objects.filter(pk__in=[c.pk for c in agreeing]).exclude(pk__in=granted):
        record(candidate=candidate, purpose=purpose, action=Action.CONFIRMED, source=Source.IMPORT,
               actor=state.actor, note=f"{state.candidate_import.filename}: {state.candidate_import.evidence_note}")
        state.counts["consents"] += 1


def problems_csv_rows(candidate_import):
    """Rows of the row-errors CSV (header first); the query is made now, in the organization's scope."""
    from crm.services import csv_safe

    problems = ImportProblem.objects.filter(candidate_import=candidate_import).order_by("line", "id")

    def rows():
        yield ["line", "column", "value", "reason"]
        for problem in problems.iterator():
            yield [problem.line, csv_safe(problem.column), csv_safe(problem.value), problem.reason]

    return rows()



# --- Erasure ---------------------------------------------------------------------------------------------

def _lines_naming(candidate_import, erasure):
    """The lines of the stored file whose cells hold the person's email, full name, or first and last name."""
    first = erasure.candidate.first_name.strip().lower()
    last = erasure.candidate.last_name.strip().lower()
    lines = []
    for line, values in parsing.rows(stored_file(candidate_import), _shape(candidate_import)):
        cells = [c for v in values.values() for c in (v if isinstance(v, list) else [v])]
        lowered = {c.strip().lower() for c in cells}
        if any(erasure.names_the_person(c) for c in cells) or (first and last and first in lowered
                                                                and last in lowered):
            lines.append(line)
    return lines


def _may_hold(candidate_import, erasure):
    """A quick pass over the stored bytes: does the file hold the person's email or last name anywhere?"""
    encoding = "utf-8" if candidate_import.encoding.lower().startswith("utf") else candidate_import.encoding
    needles = [n.lower().encode(encoding, "ignore") for n in (erasure.email, erasure.candidate.last_name.strip(),
                                                                erasure.full_name) if n]
    needles = [n for n in needles if n]
    if any(not n.isascii() for n in needles):
        return True  # bytes.lower() folds ASCII only: let the line-by-line pass decide
    overlap = max((len(n) for n in needles), default=0)
    tail = b""
    chunks = ImportFileChunk.all_tenants.filter(candidate_import_id=candidate_import.pk).order_by("position")
    for chunk in chunks.values_list("data", flat=True).iterator(chunk_size=1):
        text = tail + bytes(chunk).lower()
        if any(n in text for n in needles):
            return True
        tail = text[-overlap:] if overlap else b""
    return False


def erase_person_from_uploads(erasure):
    """Uploaded files and row errors that hold the person.

    A file with the person on any line is dropped whole (its stored chunks), processed or not: a finished
    import never reads its file again, and one still waiting must be uploaded again, where the erased address
    is refused. The import keeps its counts, headers and mapping. Row errors of the person's lines, or naming
    them, go; the others stay."""
    removed = 0
    imports = CandidateImport.all_tenants.filter(organization_id=erasure.organization_id).order_by("id")
    for candidate_import in imports:
        problems = ImportProblem.all_tenants.filter(organization_id=erasure.organization_id,
                                                    candidate_import_id=candidate_import.pk)
        naming = problems.filter(erasure.mentions("value"))
        lines = []
        if _may_hold(candidate_import, erasure):
            try:
                lines = _lines_naming(candidate_import, erasure)
            except Exception:  # a file that cannot be read back as CSV cannot be checked line by line: drop it
                logger.warning("import %s: file unreadable during an erasure; removed", candidate_import.pk)
                lines = [0]
            if lines:
                removed += ImportFileChunk.all_tenants.filter(candidate_import_id=candidate_import.pk).delete()[0]
        removed += naming.delete()[0] + problems.filter(line__in=lines).delete()[0]
        if erasure.names_the_person(candidate_import.filename):
            CandidateImport.all_tenants.filter(pk=candidate_import.pk).update(filename="(erased).csv")
            erasure.forget_in_audit("CandidateImport", [candidate_import.pk])
            removed += 1
    return removed
