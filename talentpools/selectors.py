"""Reads of tags and pools, always within the organization in scope."""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm.models import Candidate

from .models import PoolMember, TalentPool
from .segments import DefinitionError, clean_definition, segment_queryset

# Pool pages count their members up to this many ("1,000+"): a pool is read, and counted exactly, by campaigns.
POOL_COUNT_CAP = 1_000


class BrokenPool(Exception):
    """A smart pool whose saved filters no longer hold (a deleted tag or reason): `errors` says which."""

    def __init__(self, errors):
        super().__init__(str(errors))
        self.errors = errors


def pool_candidates(pool):
    """A pool's members as a candidate queryset (a smart pool's filters are evaluated now)."""
    if pool.is_smart:
        try:
            definition = clean_definition(pool.definition)
        except DefinitionError as error:
            raise BrokenPool(error.errors) from error
        return segment_queryset(definition)
    return Candidate.objects.filter(Exists(PoolMember.objects.filter(pool=pool, candidate=OuterRef("pk"))))


def pools():
    return TalentPool.objects.all()


def pool_growth(pool, *, months=12):
    """Members by the month they joined (the pool for hand-picked pools, the base for smart ones), cumulative."""
    organization = pool.organization

    def compute():
        tz = organization.time_zone
        now = timezone.now().astimezone(tz)
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        index = first.year * 12 + first.month - 1 - (months - 1)
        start = first.replace(year=index // 12, month=index % 12 + 1)
        if pool.is_smart:
            rows = pool_candidates(pool).values(month=TruncMonth("created_at", tzinfo=tz)).annotate(n=Count("id"))
            before = pool_candidates(pool).filter(created_at__lt=start).count()
            rows = rows.filter(created_at__gte=start)
        else:
            members = PoolMember.objects.filter(pool=pool)
            rows = members.filter(added_at__gte=start).values(month=TruncMonth("added_at", tzinfo=tz)).annotate(
                n=Count("id"))
            before = members.filter(added_at__lt=start).count()
        counts = {row["month"].strftime("%Y-%m"): row["n"] for row in rows.order_by()}
        series, cursor, total = [], start, before
        for _ in range(months):
            total += counts.get(cursor.strftime("%Y-%m"), 0)
            series.append({"month": cursor.strftime("%b %Y"), "short": cursor.strftime("%b"),
                           "count": total, "added": counts.get(cursor.strftime("%Y-%m"), 0)})
            cursor = (cursor + timedelta(days=32)).replace(day=1)
        return series

    key = f"pool:growth:{pool.pk}:{pool.updated_at.timestamp()}"
    return cache.get_or_set(key, compute, 600)


def pools_for_candidate(candidate, *, smart_limit=30):
    """The hand-picked pools a candidate is in (with who added them), and the smart pools they match."""
    memberships = list(PoolMember.objects.filter(candidate=candidate).select_related("pool", "added_by")
                       .order_by("pool__name"))
    matching = []
    for pool in TalentPool.objects.filter(kind="smart").order_by("name")[:smart_limit]:
        try:
            if pool_candidates(pool).filter(pk=candidate.pk).exists():
                matching.append(pool)
        except BrokenPool:
            continue
    return memberships, matching
