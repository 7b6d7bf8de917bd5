"""Mem0's page-number pagination ({count, next, previous, results}) without unbounded work.

`count` is exact up to settings.MEMDASH_COUNT_CAP and reported as the cap beyond it; whether a
next page exists is learned by fetching one extra row, not from the count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from memdash.errors import InvalidRequest, NotFound


def parse_positive_int(value: Any, name: str, *, default: int, maximum: int | None = None) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a positive integer")
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{name} must be a positive integer, got {value!r}") from exc
    if number < 1:
        raise InvalidRequest(f"{name} must be at least 1, got {number}")
    if maximum is not None and number > maximum:
        raise InvalidRequest(f"{name} must be at most {maximum}, got {number}")
    return number


def capped_count(queryset: QuerySet, cap: int) -> int:
    """Rows in `queryset`, counting no further than `cap`."""
    return min(queryset.order_by()[: cap + 1].count(), cap)


def paginate(
    request: Request,
    queryset: QuerySet,
    *,
    page: int,
    page_size: int,
    serialize: Callable[[Any], dict],
    extra: dict | None = None,
) -> dict:
    """One page of `queryset` (already ordered) in Mem0's paginated shape, with absolute links."""
    offset = (page - 1) * page_size
    rows = list(queryset[offset : offset + page_size + 1])
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    if page > 1 and not rows:
        raise NotFound("Invalid page.")
    count = (
        offset + len(rows) if not has_next else capped_count(queryset, settings.MEMDASH_COUNT_CAP)
    )
    url = request.build_absolute_uri()
    url = replace_query_param(url, "page_size", page_size)
    next_url = replace_query_param(url, "page", page + 1) if has_next else None
    if page <= 1:
        previous_url = None
    elif page == 2:
        previous_url = remove_query_param(url, "page")
    else:
        previous_url = replace_query_param(url, "page", page - 1)
    body = {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [serialize(row) for row in rows],
    }
    if extra:
        body.update(extra)
    return body
