"""What talent pools hold about a person: tags and hand-picked pool memberships (see crm.erasure)."""

from crm.erasure import iso

from .models import CandidateTag, PoolMember


def export_tags(candidate):
    tags = CandidateTag.objects.filter(candidate=candidate).select_related("tag").order_by("tag__name")
    return [{"tag": t.tag.name, "since": iso(t.created_at)} for t in tags]


def export_pools(candidate):
    members = PoolMember.objects.filter(candidate=candidate).select_related("pool").order_by("pool__name")
    return [{"pool": m.pool.name, "description": m.pool.description, "since": iso(m.added_at)} for m in members]


def erase_memberships(erasure):
    organization_id, candidate_id = erasure.organization_id, erasure.candidate.pk
    erasure.forget_in_audit("PoolMember", PoolMember.all_tenants.filter(
        organization_id=organization_id, candidate_id=candidate_id).values_list("pk", flat=True))
    removed = PoolMember.all_tenants.filter(organization_id=organization_id, candidate_id=candidate_id).delete()[0]
    return removed + CandidateTag.all_tenants.filter(organization_id=organization_id,
                                                     candidate_id=candidate_id).delete()[0]
