"""Keyset pages and cheap counts: how the dashboard's lists page, and the API's past
MEMDASH_MAX_PAGE_OFFSET rows (core/api/pagination.py), without OFFSET.

A cursor is an opaque token for (sort key, id) of a row; a page starts strictly after (or
before) it, so fetching page 1,000 costs what page 1 costs, on a btree over (project, -key, -id).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone


class InvalidCursor(ValueError):
    """A page cursor that does not decode (edited by hand or from another list)."""


@dataclass
class KeysetPage:
    """One page of a list ordered by (key desc, id desc), and the cursors around it.

    `older` fetches the rows after this page, `newer` the rows before it; either is None at the
    corresponding end of the list.
    """

    rows: list[Any]
    older: str | None
    newer: str | None
    # Where the older and newer pages start in the list (their rows before), for a list that
    # tracks its position in the pager's links (the memory list's `at`); None leaves it out.
    older_at: int | None = None
    newer_at: int | None = None


def encode_cursor(value: dt.datetime, pk: Any) -> str:
    raw = json.dumps([value.isoformat(), str(pk)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, model: type[models.Model]) -> tuple[dt.datetime, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        moment, pk = json.loads(raw)
        if not isinstance(moment, str) or not isinstance(pk, str | int) or isinstance(pk, bool):
            raise TypeError("a cursor holds a time and an id")
        value = dt.datetime.fromisoformat(moment)
        pk = model._meta.pk.to_python(pk)
    except (ValueError, TypeError, ValidationError, RecursionError) as exc:
        raise InvalidCursor(f"invalid page cursor {token[:40]!r}") from exc
    if timezone.is_naive(value):
        raise InvalidCursor("page cursor without a time zone")
    return value, pk


def keyset_page(
    queryset: models.QuerySet[Any],
    *,
    key: str,
    size: int,
    older: str | None = None,
    newer: str | None = None,
) -> KeysetPage:
    """A page of `queryset` ordered by (`key` desc, id desc), never with OFFSET.

    The cursor condition repeats `key <= value` (or `>=`) on its own, so PostgreSQL can start
    the index scan at the cursor instead of filtering its way there from the top; every list
    has a btree on (project, -key, -id) for this. Reaching the newest end from `newer` returns
    the first page, so the top of the list always shows `size` rows.
    """
    model = queryset.model
    if older:
        value, pk = decode_cursor(older, model)
        rows = list(
            queryset.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "id__lt": pk}))
            .filter(**{f"{key}__lte": value})
            .order_by(f"-{key}", "-id")[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(
            rows=rows,
            older=cursor_of(rows[-1], key) if more else None,
            newer=cursor_of(rows[0], key) if rows else None,
        )
    if newer:
        value, pk = decode_cursor(newer, model)
        rows = list(_before(queryset, key, value, pk).order_by(key, "id")[: size + 1])
        if len(rows) > size:
            rows = rows[:size][::-1]
            return KeysetPage(
                rows=rows, older=cursor_of(rows[-1], key), newer=cursor_of(rows[0], key)
            )
    rows = list(queryset.order_by(f"-{key}", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows=rows, older=cursor_of(rows[-1], key) if more else None, newer=None)


def requested_page(
    queryset: models.QuerySet[Any], query: Mapping[str, str], *, key: str, size: int
) -> KeysetPage:
    """The page a dashboard URL asks for with its `older` or `newer` cursor.

    A cursor that does not decode (edited by hand, or kept from another list) gets the first
    page: the top of the list is a better answer to a stale link than an error.
    """
    try:
        return keyset_page(
            queryset, key=key, size=size, older=query.get("older"), newer=query.get("newer")
        )
    except InvalidCursor:
        return keyset_page(queryset, key=key, size=size)


def rows_before(
    queryset: models.QuerySet[Any], row: models.Model, *, key: str, cap: int
) -> int | None:
    """How many rows of `queryset` come before `row` in the (`key` desc, id desc) order,
    counted no further than `cap` (None past it): where a page starting at `row` stands."""
    counted, capped = capped_count(_before(queryset, key, getattr(row, key), row.pk), cap)
    return None if capped else counted


def _before(queryset: models.QuerySet[Any], key: str, value: Any, pk: Any) -> models.QuerySet[Any]:
    """The rows that come before (`value`, `pk`) in the (`key` desc, id desc) order. The
    `key >= value` repeated on its own lets PostgreSQL start the index scan at the cursor."""
    return queryset.filter(Q(**{f"{key}__gt": value}) | Q(**{key: value, "id__gt": pk})).filter(
        **{f"{key}__gte": value}
    )


def cursor_of(row: models.Model, key: str) -> str:
    """The cursor of `row` in a list ordered by `key`."""
    return encode_cursor(getattr(row, key), row.pk)


def capped_count(queryset: models.QuerySet[Any], cap: int) -> tuple[int, bool]:
    """Rows of `queryset`, counted no further than `cap`: (count, whether more rows match).

    COUNT over a LIMITed subquery stops reading at the limit, so a count never costs more
    than reading `cap` index entries, however large the table.
    """
    counted = queryset.order_by()[: cap + 1].count()
    return (cap, True) if counted > cap else (counted, False)


def planner_estimate(queryset: models.QuerySet[Any]) -> int:
    """PostgreSQL's estimate of how many rows `queryset` returns (EXPLAIN, nothing is read).

    Instant at any size; accurate for plain scopes, rough for selective JSON or text filters.
    """
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
