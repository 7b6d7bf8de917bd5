"""Active filters shown as removable pills, for every dashboard list (templates/_pills.html)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import QueryDict


@dataclass(frozen=True)
class Pill:
    """One active filter; `query` is the list's query string without it."""

    label: str
    value: str
    query: QueryDict
    param: str


def given_filters(params: QueryDict, labels: Iterable[tuple[str, str]]) -> QueryDict:
    """The filters of `labels` a request gives, trimmed, blank ones dropped: what a list's
    pills, links and downloads carry."""
    query = QueryDict(mutable=True)
    for param, _label in labels:
        value = (params.get(param) or "").strip()
        if value:
            query[param] = value
    return query


def pills(
    query: QueryDict,
    labels: Iterable[tuple[str, str]],
    *,
    shown: Callable[[str, str], str] = lambda param, value: value,
) -> list[Pill]:
    """A pill per value of each (param, label) present in `query`, in the order of `labels`.

    `shown` turns a raw value into what the pill says (e.g. "key = value" for metadata).
    """
    found = []
    for param, label in labels:
        for value in query.getlist(param):
            rest = query.copy()
            others = [v for v in rest.getlist(param) if v != value]
            if others:
                rest.setlist(param, others)
            else:
                rest.pop(param)
            found.append(Pill(label, shown(param, value), rest, param))
    return found
