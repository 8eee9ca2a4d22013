"""Tags: the tagging rows and the candidate's array of tag ids change together."""

from django.db import IntegrityError, transaction

from crm.audit import actor_label
from crm.models import Candidate, User
from crm.services import ServiceError

from .models import CandidateTag, Tag


@transaction.atomic
def tag_create(*, name, category="custom", colour="#64748b"):
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Give the tag a name.", field="name")
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
