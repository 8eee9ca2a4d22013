"""Keyset (cursor) pagination: constant time at any depth, unlike OFFSET.

A cursor is a signed list of the last row's sort values; a tampered cursor is refused with
`InvalidCursor`, which pages show as a message and the API as a 400 on `cursor`.
"""

from dataclasses import dataclass

from django.core import signing
from django.db.models import F, Q
from django.db.models.functions import Coalesce

_signer = signing.Signer(salt="silverpool.keyset")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Ordering:
    """Columns (name, descending) that totally order rows; the last one must be unique (id)."""

    columns: tuple

    def order_by(self, use_indexes=True):
        """ORDER BY clauses; with use_indexes=False, sort expressions no index can serve, so
        that PostgreSQL collects the (few) matching rows through its filter indexes and sorts
        them, instead of walking a sort index through the whole tenant looking for them."""
        if use_indexes:
            return [F(name).desc() if desc else F(name).asc() for name, desc in self.columns]
        return [Coalesce(F(name), F(name)).desc() if desc else Coalesce(F(name), F(name)).asc()
                for name, desc in self.columns]

    def after(self, values):
        """Q for rows strictly after `values` in this ordering (row-wise comparison, expanded)."""
        first, first_desc = self.columns[0]
        # The redundant bound on the first column gives the index scan its starting point.
        bound = Q(**{f"{first}__{'lte' if first_desc else 'gte'}": values[0]})
        condition = Q()
        for i, (name, desc) in enumerate(self.columns):
            step = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
            for prev_name, _ in self.columns[:i]:
                step &= Q(**{prev_name: values[self._index(prev_name)]})
            condition |= step
        return bound & condition

    def _index(self, name):
        return [n for n, _ in self.columns].index(name)

    def values_of(self, row):
        return [getattr(row, name) for name, _ in self.columns]


def encode_cursor(values):
    def plain(value):
        return value.isoformat() if hasattr(value, "isoformat") else value

    return _signer.sign_object([plain(v) for v in values], compress=True)


def decode_cursor(cursor, ordering: Ordering, fields):
    """Turn a cursor back into typed sort values, or raise InvalidCursor."""
    try:
        raw = _signer.unsign_object(cursor)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidCursor("This page link is invalid or has been altered; start again from the first page.") from error
    if not isinstance(raw, list) or len(raw) != len(ordering.columns):
        raise InvalidCursor("This page link does not match the current sort order.")
    try:
        return [fields[name].to_python(value) for (name, _), value in zip(ordering.columns, raw, strict=True)]
    except Exception as error:  # a field that cannot read the value back
        raise InvalidCursor("This page link is invalid or has been altered; start again from the first page.") from error


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    has_previous: bool


def keyset_page(queryset, ordering: Ordering, *, cursor=None, size=25, use_indexes=True):
    """One page of `queryset` in `ordering`, after `cursor`."""
    fields = {f.name: f for f in queryset.model._meta.concrete_fields}
    fields.update({f.attname: f for f in queryset.model._meta.concrete_fields})
    queryset = queryset.order_by(*ordering.order_by(use_indexes))
    if cursor:
        queryset = queryset.filter(ordering.after(decode_cursor(cursor, ordering, fields)))
    rows = list(queryset[: size + 1])
    next_cursor = encode_cursor(ordering.values_of(rows[size - 1])) if len(rows) > size else None
    return Page(rows=rows[:size], next_cursor=next_cursor, has_previous=bool(cursor))


COUNT_CAP = 10_000


def capped_count(queryset, cap=COUNT_CAP):
    """Count up to `cap` + 1 rows: `(count, more)` where `more` means "cap+" should be shown."""
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap
