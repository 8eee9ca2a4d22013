"""Tags: the tagging rows and the candidate's array of tag ids change together."""

from django.db import IntegrityError, transaction

from crm.audit import actor_label
from crm.models import Candidate, User
from crm.services import ServiceError
from crm.text_guard import MESSAGE as UNSTORABLE_MESSAGE
from crm.text_guard import has_unstorable_text

from .models import CandidateTag, JobTag, Tag, TaggingRule, TalentPool


@transaction.atomic
def tag_create(*, name, category="custom", colour="#64748b"):
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Give the tag a name.", field="name")
    if has_unstorable_text(name):
        raise ServiceError(UNSTORABLE_MESSAGE, field="name")
    if len(name) > 60:
        raise ServiceError("Keep tag names to 60 characters.", field="name")
    if Tag.objects.filter(name__iexact=name).exists():
        raise ServiceError("A tag with this name exists already.", field="name")
    tag = Tag(name=name, category=category, colour=colour)
    tag.full_clean(exclude=["organization"], validate_constraints=False)
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as error:
        raise ServiceError("A tag with this name exists already.", field="name") from error
    return tag


@transaction.atomic
def tag_candidates(*, tag, candidate_ids, actor):
    """Tag candidates (idempotent); returns how many were newly tagged."""
    existing = set(CandidateTag.objects.filter(tag=tag, candidate_id__in=candidate_ids).values_list(
        "candidate_id", flat=True))
    ids = [pk for pk in Candidate.objects.filter(pk__in=candidate_ids).values_list("pk", flat=True)
           if pk not in existing]
    CandidateTag.objects.bulk_create([
        CandidateTag(organization_id=tag.organization_id, candidate_id=pk, tag=tag,
                     tagged_by=actor if isinstance(actor, User) else None,
                     tagged_by_label=actor_label(actor) if actor is not None else "rule")
        for pk in ids
    ], ignore_conflicts=True)
    from django.db import connection

    if ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE crm_candidate SET tag_ids = array_append(tag_ids, %s) "
                "WHERE organization_id = %s AND id = ANY(%s) AND NOT (%s = ANY(tag_ids))",
                [tag.pk, tag.organization_id, ids, tag.pk])
    return len(ids)


@transaction.atomic
def untag_candidates(*, tag, candidate_ids):
    from django.db import connection

    deleted, _ = CandidateTag.objects.filter(tag=tag, candidate_id__in=candidate_ids).delete()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE crm_candidate SET tag_ids = array_remove(tag_ids, %s) "
                       "WHERE organization_id = %s AND id = ANY(%s)", [tag.pk, tag.organization_id,
                                                                       list(candidate_ids)])
    return deleted


@transaction.atomic
def tag_rename(*, tag, name):
    name = " ".join((name or "").split())
    if not name or len(name) > 60:
        raise ServiceError("Use 1 to 60 characters.", field="name")
    if has_unstorable_text(name):
        raise ServiceError(UNSTORABLE_MESSAGE, field="name")
    if Tag.objects.filter(name__iexact=name).exclude(pk=tag.pk).exists():
        raise ServiceError("Another tag has this name; merge them instead.", field="name")
    tag.name = name
    tag.save(update_fields=["name"])
    return tag


@transaction.atomic
def tag_merge(*, source, target, actor):
    """Move every candidate of `source` to `target`, then delete `source`. Locks both tags first."""
    from crm.audit import audit

    if source.pk == target.pk:
        raise ServiceError("Choose another tag to merge into.", field="target")
    locked = {t.pk: t for t in Tag.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk")}
    if len(locked) != 2:
        raise ServiceError("One of these tags no longer exists.", field="target")
    ids = list(CandidateTag.objects.filter(tag=source).values_list("candidate_id", flat=True))
    moved = tag_candidates(tag=target, candidate_ids=ids, actor=actor)
    untag_candidates(tag=source, candidate_ids=ids)
    _replace_tag_in_definitions(source.pk, target.pk)
    for job_id in JobTag.objects.filter(tag=source).values_list("job_id", flat=True):
        JobTag.objects.get_or_create(job_id=job_id, tag=target)
    TaggingRule.objects.filter(tag=source).update(tag=target)
    audit("tag.merged", actor=actor, obj=target, details={"from": source.name, "candidates": len(ids)})
    source.delete()
    return moved


@transaction.atomic
def tag_delete(*, tag, actor):
    from crm.audit import audit

    ids = list(CandidateTag.objects.filter(tag=tag).values_list("candidate_id", flat=True))
    untag_candidates(tag=tag, candidate_ids=ids)
    audit("tag.deleted", actor=actor, details={"name": tag.name, "candidates": len(ids)})
    tag.delete()
    return len(ids)


def _replace_tag_in_definitions(old_id, new_id):
    """Smart pools that named a merged tag name its replacement."""
    for pool in TalentPool.objects.select_for_update().filter(kind="smart"):
        changed = False
        for key in ("tags_all", "tags_any", "tags_none"):
            ids = pool.definition.get(key) or []
            if old_id in ids:
                pool.definition[key] = sorted({new_id if i == old_id else i for i in ids})
                changed = True
        if changed:
            pool.save(update_fields=["definition", "updated_at"])


def smart_pools_naming_tag(tag_id):
    return [pool for pool in TalentPool.objects.filter(kind="smart")
            if any(tag_id in (pool.definition.get(key) or []) for key in ("tags_all", "tags_any", "tags_none"))]


# --- Pools ---------------------------------------------------------------------------------

def _pool_name(name, *, exclude_pk=None):
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Give the pool a name.", field="name")
    if len(name) > 100:
        raise ServiceError("Keep pool names to 100 characters.", field="name")
    if TalentPool.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists():
        raise ServiceError("A pool with this name exists already.", field="name")
    return name


@transaction.atomic
def pool_create(*, name, kind, actor, description="", definition=None):
    """A static pool (members added by hand) or a smart one (a definition checked by `clean_definition`)."""
    from crm.audit import audit

    from .segments import clean_definition

    if kind not in ("static", "smart"):
        raise ServiceError("Choose a hand-picked or a smart pool.", field="kind")
    name = _pool_name(name)
    definition = clean_definition(definition or {}) if kind == "smart" else {}
    pool = TalentPool(name=name, kind=kind, description=(description or "")[:500], definition=definition,
                      created_by=actor if isinstance(actor, User) else None, created_by_label=actor_label(actor))
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError as error:
        raise ServiceError("A pool with this name exists already.", field="name") from error
    audit("pool.created", actor=actor, obj=pool, details={"kind": kind, "definition": definition})
    return pool


@transaction.atomic
def pool_update(*, pool, actor, name=None, description=None, definition=None):
    from crm.audit import audit

    from .segments import clean_definition

    pool = TalentPool.objects.select_for_update().get(pk=pool.pk)
    if name is not None:
        pool.name = _pool_name(name, exclude_pk=pool.pk)
    if description is not None:
        pool.description = description[:500]
    if definition is not None:
        if not pool.is_smart:
            raise ServiceError("Only smart pools have filters.", field="definition")
        pool.definition = clean_definition(definition)
    try:
        with transaction.atomic():
            pool.save()
    except IntegrityError as error:
        raise ServiceError("A pool with this name exists already.", field="name") from error
    audit("pool.updated", actor=actor, obj=pool, details={"definition": pool.definition})
    return pool


@transaction.atomic
def pool_delete(*, pool, actor):
    from crm.audit import audit

    members = pool.members.count()
    audit("pool.deleted", actor=actor, details={"name": pool.name, "kind": pool.kind, "members": members})
    pool.delete()
    return members


@transaction.atomic
def pool_add_members(*, pool, candidate_ids, actor):
    """Add candidates to a static pool (idempotent); returns how many were new."""
    if pool.is_smart:
        raise ServiceError("A smart pool's members come from its filters; add them to a hand-picked pool.",
                           field="pool")
    from .models import PoolMember

    ids = list(Candidate.objects.filter(pk__in=list(candidate_ids)).values_list("pk", flat=True))
    existing = set(PoolMember.objects.filter(pool=pool, candidate_id__in=ids).values_list("candidate_id", flat=True))
    new = [pk for pk in ids if pk not in existing]
    PoolMember.objects.bulk_create([
        PoolMember(organization_id=pool.organization_id, pool=pool, candidate_id=pk,
                   added_by=actor if isinstance(actor, User) else None, added_by_label=actor_label(actor))
        for pk in new], ignore_conflicts=True)
    return len(new)


@transaction.atomic
def pool_remove_members(*, pool, candidate_ids):
    from .models import PoolMember

    if pool.is_smart:
        raise ServiceError("A smart pool's members come from its filters; change the filters instead.", field="pool")
    deleted, _ = PoolMember.objects.filter(pool=pool, candidate_id__in=list(candidate_ids)).delete()
    return deleted


# --- Bulk actions over a selection -----------------------------------------------------------

# Up to this many candidates, a bulk action runs in the request; beyond, a worker runs it with progress.
INLINE_LIMIT = 2_000
# At most this many ids named one by one (a larger set is a filter, a pool, or "all matches").
MAX_EXPLICIT_IDS = 10_000
BATCH = 1_000
BULK_ACTIONS = {"tag": "Tag", "untag": "Untag", "add_to_pool": "Add to pool"}


def resolve_selection(selection):
    """The candidates a selection names: {"candidates": [ids]}, or {"pool": id} and/or {"filter": {list params}}."""
    from django.http import QueryDict

    from crm.filters import CandidateFilter

    from .selectors import BrokenPool, pool_candidates

    if not isinstance(selection, dict) or not selection or set(selection) - {"candidates", "filter", "pool"} or (
            "candidates" in selection and len(selection) > 1):
        raise ServiceError("Name the candidates: a list of ids, or the list's filters and/or a pool.",
                           field="selection")
    if "candidates" in selection:
        ids = selection["candidates"]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ServiceError("Use a list of candidate ids.", field="candidates")
        if not ids:
            raise ServiceError("Select at least one candidate.", field="candidates")
        if len(ids) > MAX_EXPLICIT_IDS:
            raise ServiceError(f"Name at most {MAX_EXPLICIT_IDS:,} candidates one by one; for more, use the "
                               "list's filters (“all matches”) or a pool.", field="candidates")
        return Candidate.objects.filter(pk__in=ids)
    queryset = Candidate.objects.all()
    if "pool" in selection:
        pool_id = selection["pool"]
        pool = TalentPool.objects.filter(pk=pool_id if isinstance(pool_id, int) and not isinstance(pool_id, bool)
                                         else 0).first()
        if pool is None:
            raise ServiceError("No such pool.", field="pool")
        try:
            queryset = pool_candidates(pool)
        except BrokenPool as error:
            raise ServiceError("This pool's filters name something deleted; fix them first.", field="pool") from error
    params = selection.get("filter") or {}
    if not isinstance(params, dict):
        raise ServiceError("Use the list's filters as an object.", field="filter")
    query = QueryDict(mutable=True)
    for key, value in params.items():
        if key in ("cursor", "sort", "size", "page_size", "ordering"):
            continue
        for item in value if isinstance(value, list) else [value]:
            query.appendlist(key, str(item).lower() if isinstance(item, bool) else str(item))
    filterset = CandidateFilter(query, queryset=queryset)
    if not filterset.is_valid():
        raise ServiceError("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()), field="filter")
    return filterset.qs


def _apply(action, target, ids, actor):
    if action == "tag":
        return tag_candidates(tag=target, candidate_ids=ids, actor=actor)
    if action == "untag":
        return untag_candidates(tag=target, candidate_ids=ids)
    return pool_add_members(pool=target, candidate_ids=ids, actor=actor)


def _target(action, target_id):
    model = TalentPool if action == "add_to_pool" else Tag
    target = model.objects.filter(pk=target_id if isinstance(target_id, int) else 0).first()
    if target is None:
        raise ServiceError("No such pool." if model is TalentPool else "No such tag.",
                           field="pool" if model is TalentPool else "tag")
    if action == "add_to_pool" and target.is_smart:
        raise ServiceError("A smart pool's members come from its filters; choose a hand-picked pool.", field="pool")
    return target


def bulk_action(*, action, target_id, selection, actor, return_url=""):
    """Tag, untag or add to a pool every candidate of a selection.

    Small selections run now: returns `(changed, None)`. Larger ones become an operation a worker runs
    in batches with progress: returns `(None, operation)`.
    """
    from crm.operations import operation_create, operation_start
    from crm.pagination import capped_count

    if action not in BULK_ACTIONS:
        raise ServiceError(f"Choose one of {', '.join(BULK_ACTIONS)}.", field="action")
    target = _target(action, target_id)
    queryset = resolve_selection(selection)
    count, more = capped_count(queryset, cap=INLINE_LIMIT)
    if count == 0:
        raise ServiceError("No candidate matches this selection; nothing changed.", field="selection")
    if not more:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True))
            changed = _apply(action, target, ids, actor)
        return changed, None
    from .tasks import run_bulk_action

    verb = {"tag": f"Tag with “{target}”", "untag": f"Remove the tag “{target}” from",
            "add_to_pool": f"Add to the pool “{target}”"}[action]
    operation = operation_create(
        kind=f"bulk.{action}", label=f"{verb} {count:,}+ candidates", total=count,
        params={"action": action, "target": target.pk, "selection": selection}, actor=actor, return_url=return_url)
    operation_start(operation, run_bulk_action)
    return None, operation


def bulk_action_run(operation, progress):
    """The worker side of `bulk_action`: batches of ids in id order, each batch its own transaction."""
    params = operation.params
    actor = operation.created_by_api_key or operation.created_by
    target = _target(params["action"], params["target"])
    queryset = resolve_selection(params["selection"])
    total = queryset.order_by().count()
    progress(0, total)
    done = changed = 0
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        with transaction.atomic():
            changed += _apply(params["action"], target, ids, actor)
        done += len(ids)
        last = ids[-1]
        progress(min(done, total))
    noun = {"tag": "newly tagged", "untag": "untagged", "add_to_pool": "added to the pool"}[params["action"]]
    return {"changed": changed, "seen": done, "message": f"{done:,} candidates done: {changed:,} {noun}."}


# --- Tagging rules --------------------------------------------------------------------------

def rule_candidates(rule):
    """The candidates a rule's condition selects (the same query for one candidate and for the base)."""
    from django.db.models import Q

    candidates = Candidate.objects.all()
    if rule.condition == "keyword":
        word = rule.value.strip().lower()
        return candidates.filter(Q(headline__icontains=word) | Q(skills__contains=[word]))
    if rule.condition == "silver_medalist":
        return candidates.filter(silver_medalist=True)
    if rule.condition == "source":
        return candidates.filter(source=rule.value)
    if rule.condition == "rejection_reason":
        # The candidate row mirrors the reasons of rejected applications (crm.mirrors), as smart pools read them.
        return candidates.filter(rejection_reason_ids__contains=[int(rule.value or 0)])
    return candidates.none()


def _rule_value(condition, value):
    from crm.models import RejectionReason, Source

    value = " ".join((value or "").split())
    if condition == "keyword":
        if not 2 <= len(value) <= 50:
            raise ServiceError("Give a keyword of 2 to 50 characters.", field="value")
        return value.lower()
    if condition == "source":
        if value not in Source.values:
            raise ServiceError("Choose a source.", field="value")
        return value
    if condition == "rejection_reason":
        reason = RejectionReason.objects.filter(pk=int(value) if value.isdigit() else 0).first()
        if reason is None:
            raise ServiceError("Choose one of your rejection reasons.", field="value")
        return str(reason.pk)
    if condition == "silver_medalist":
        return ""
    raise ServiceError("Choose a condition.", field="condition")


@transaction.atomic
def rule_create(*, condition, value, tag_id, actor, name=""):
    from crm.audit import audit

    from .models import RuleCondition

    if condition not in RuleCondition.values:
        raise ServiceError("Choose a condition.", field="condition")
    value = _rule_value(condition, value)
    tag = Tag.objects.filter(pk=tag_id if isinstance(tag_id, int) else 0).first()
    if tag is None:
        raise ServiceError("Choose one of your tags.", field="tag")
    name = " ".join((name or "").split())[:100] or rule_label(condition, value, tag)
    rule = TaggingRule.objects.create(name=name, condition=condition, value=value, tag=tag,
                                      created_by=actor if isinstance(actor, User) else None)
    audit("tagging_rule.created", actor=actor, obj=rule, details={"condition": condition, "value": value,
                                                                   "tag": tag.name})
    return rule


def rule_label(condition, value, tag):
    from crm.models import RejectionReason, Source

    if condition == "keyword":
        return f"“{value}” in title or skills → {tag.name}"
    if condition == "source":
        return f"From {Source(value).label.lower()} → {tag.name}"
    if condition == "rejection_reason":
        reason = RejectionReason.objects.filter(pk=int(value)).first()
        return f"Rejected for {reason.label if reason else 'a removed reason'} → {tag.name}"
    return f"Silver medalist → {tag.name}"


def rules_apply_to_candidate(*, candidate_id):
    """Add the tag of every active rule the candidate matches (on the domain events). Returns tags added."""
    added = 0
    for rule in TaggingRule.objects.filter(active=True).select_related("tag"):
        if rule_candidates(rule).filter(pk=candidate_id).exists():
            added += tag_candidates(tag=rule.tag, candidate_ids=[candidate_id], actor=None)
    return added


def rules_run_over_base(*, rule_ids, actor, return_url=""):
    """Run rules over the existing base as an operation with progress."""
    from crm.operations import operation_create, operation_start

    rules = list(TaggingRule.objects.filter(pk__in=rule_ids, active=True))
    if not rules:
        raise ServiceError("Choose at least one active rule.", field="rules")
    from .tasks import run_rules

    total = Candidate.objects.count() * len(rules)
    label = f"Run {len(rules)} tagging rule{'s' if len(rules) > 1 else ''} over the talent base"
    operation = operation_create(kind="rules.run", label=label, total=total,
                                 params={"rules": [r.pk for r in rules]}, actor=actor, return_url=return_url)
    operation_start(operation, run_rules)
    return operation


def rules_run(operation, progress):
    """The worker side of `rules_run_over_base`: each rule walks the base in id order, in batches."""
    rules = list(TaggingRule.objects.filter(pk__in=operation.params["rules"]).select_related("tag"))
    per_rule = Candidate.objects.count()
    progress(0, per_rule * max(1, len(rules)))
    tagged = 0
    for index, rule in enumerate(rules):
        last, seen = 0, 0
        while True:
            ids = list(Candidate.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH * 5])
            if not ids:
                break
            matching = list(rule_candidates(rule).filter(pk__in=ids).values_list("pk", flat=True))
            if matching:
                with transaction.atomic():
                    tagged += tag_candidates(tag=rule.tag, candidate_ids=matching, actor=None)
            seen += len(ids)
            last = ids[-1]
            progress(index * per_rule + min(seen, per_rule))
    return {"tagged": tagged, "message": f"{tagged:,} tags added by {len(rules)} rule(s)."}


@transaction.atomic
def job_tags_set(*, job, tag_ids):
    """The tags that describe what a job needs (matching ranks candidates who carry them higher)."""
    known = set(Tag.objects.filter(pk__in=list(tag_ids)).values_list("pk", flat=True))
    JobTag.objects.filter(job=job).exclude(tag_id__in=known).delete()
    existing = set(JobTag.objects.filter(job=job).values_list("tag_id", flat=True))
    JobTag.objects.bulk_create([JobTag(organization_id=job.organization_id, job=job, tag_id=pk)
                                for pk in known - existing], ignore_conflicts=True)
    return known
