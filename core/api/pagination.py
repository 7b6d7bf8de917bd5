"""Mem0's page-number pagination ({count, next, previous, results}) without unbounded work.

`count` is exact up to settings.MEMDASH_COUNT_CAP and reported as the cap beyond it; whether a
next page exists is learned by fetching one extra row, not from the count.

Page numbers are served by OFFSET, which PostgreSQL pays for row by row, so they only reach
MEMDASH_MAX_PAGE_OFFSET rows deep. Past that, `next` and `previous` carry a keyset `cursor`
(the links still look like Mem0's, with a `cursor` parameter added), so a client that follows
the links can walk any number of rows at the cost of page 1 each time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.errors import InvalidRequest, NotFound
from core.keyset import InvalidCursor, capped_count, cursor_of, keyset_page
from core.text import quoted

# Mem0's page sizes: 100 rows unless asked, at most 1000.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# A cursor names the row a page starts after (`next`) or ends before (`previous`).
AFTER, BEFORE = "after.", "before."


def parse_positive_int(value: Any, name: str, *, default: int, maximum: int | None = None) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise InvalidRequest(f"{name} must be a positive integer, got {quoted(value)}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidRequest(f"{name} must be a positive integer, got {quoted(value)}") from exc
    if number < 1:
        raise InvalidRequest(f"{name} must be at least 1, got {quoted(number)}")
    if maximum is not None and number > maximum:
        raise InvalidRequest(f"{name} must be at most {maximum}, got {quoted(number)}")
    return number


def paginate(
    request: Request,
    queryset: QuerySet[Any],
    *,
    source: Mapping[str, Any],
    order_key: str,
    serialize: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """The page of `queryset` that `source` (query string or body) asks for with `page` and
    `page_size`, in Mem0's paginated shape with absolute links.

    `queryset` is ordered by (`order_key` desc, id desc), the order its keyset cursors follow.
    """
    page = parse_positive_int(source.get("page"), "page", default=1)
    page_size = parse_positive_int(
        source.get("page_size"), "page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )
    token = request.query_params.get("cursor")
    if token:
        rows, has_next, page = _page_at_cursor(queryset, token, order_key, page, page_size)
    else:
        rows, has_next = _page_at_offset(queryset, page, page_size)
    if page > 1 and not rows:
        raise NotFound("Invalid page.")
    # Once on cursors, stay on them: the page number is only the label the link carried.
    by_cursor = bool(token)
    if has_next or by_cursor:
        count, _capped = capped_count(queryset, settings.MEMDASH_COUNT_CAP)
    else:  # the last page of page numbers: the count is known without counting
        count = (page - 1) * page_size + len(rows)
    url = replace_query_param(request.build_absolute_uri(), "page_size", page_size)
    url = remove_query_param(url, "cursor")
    next_url = None
    if has_next:
        next_url = replace_query_param(url, "page", page + 1)
        if by_cursor or page * page_size > settings.MEMDASH_MAX_PAGE_OFFSET:
            next_url = replace_query_param(
                next_url, "cursor", AFTER + cursor_of(rows[-1], order_key)
            )
    if page <= 1:
        previous_url = None
    elif by_cursor or (page - 2) * page_size > settings.MEMDASH_MAX_PAGE_OFFSET:
        previous_url = replace_query_param(url, "page", page - 1)
        previous_url = replace_query_param(
            previous_url, "cursor", BEFORE + cursor_of(rows[0], order_key)
        )
    elif page == 2:
        previous_url = remove_query_param(url, "page")
    else:
        previous_url = replace_query_param(url, "page", page - 1)
    return {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [serialize(row) for row in rows],
    }


def _page_at_offset(queryset: QuerySet[Any], page: int, page_size: int) -> tuple[list[Any], bool]:
    offset = (page - 1) * page_size
    if offset > settings.MEMDASH_MAX_PAGE_OFFSET:
        raise InvalidRequest(
            f"page {page} with page_size {page_size} starts {offset:,} rows deep; page numbers "
            f"reach {settings.MEMDASH_MAX_PAGE_OFFSET:,} rows. Follow the `next` links (past that "
            "depth they carry a cursor) or narrow the filters."
        )
    rows = list(queryset[offset : offset + page_size + 1])
    return rows[:page_size], len(rows) > page_size


def _page_at_cursor(
    queryset: QuerySet[Any], token: str, order_key: str, page: int, page_size: int
) -> tuple[list[Any], bool, int]:
    """The page after or before a cursor: (rows, has_next, page number it really is)."""
    direction, _, position = token.partition(".")
    try:
        if not position:
            raise InvalidCursor(f"invalid page cursor {token[:40]!r}")
        if direction + "." == AFTER:
            # Some row precedes the cursor, so this is page 2 at least, whatever the link said.
            page = max(page, 2)
            window = keyset_page(queryset, key=order_key, size=page_size, older=position)
        elif direction + "." == BEFORE:
            window = keyset_page(queryset, key=order_key, size=page_size, newer=position)
            # Walking back can reach the top of the list: that is page 1, whatever the link said.
            if window.newer is None:
                page = 1
        else:
            raise InvalidCursor(f"invalid page cursor {token[:40]!r}")
    except InvalidCursor as exc:
        raise InvalidRequest(f"{exc}; use the `next` and `previous` links as given") from exc
    return window.rows, window.older is not None, page


def paginate_list(
    request: Request,
    rows: list[Any],
    *,
    source: Mapping[str, Any],
    serialize: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """Mem0's page shape over rows already in memory (a rebuilt view, not a table): page
    numbers only, and an exact count."""
    page = parse_positive_int(source.get("page"), "page", default=1)
    page_size = parse_positive_int(
        source.get("page_size"), "page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
    )
    shown = rows[(page - 1) * page_size : page * page_size]
    if page > 1 and not shown:
        raise NotFound("Invalid page.")
    url = replace_query_param(request.build_absolute_uri(), "page_size", page_size)
    has_next = page * page_size < len(rows)
    previous_url = None
    if page == 2:
        previous_url = remove_query_param(url, "page")
    elif page > 2:
        previous_url = replace_query_param(url, "page", page - 1)
    return {
        "count": len(rows),
        "next": replace_query_param(url, "page", page + 1) if has_next else None,
        "previous": previous_url,
        "results": [serialize(row) for row in shown],
    }
