"""Streamed downloads: CSV and JSON lists written row by row, so a large selection never sits
in memory (the dashboard's Activity and Audit downloads)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone


class _Echo:
    """A file-like object whose write returns what it is given (csv.writer to a generator)."""

    def write(self, value: str) -> str:
        return value


def _attachment(
    response: StreamingHttpResponse, name: str, extension: str
) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{extension}"'
    return response


def csv_download(
    name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """`rows` under `header` as `<name>-<time>.csv`."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    return _attachment(response, name, "csv")


def json_download(name: str, items: Iterable[Any]) -> StreamingHttpResponse:
    """`items` as one JSON array, `<name>-<time>.json`."""

    def chunks() -> Iterator[str]:
        yield "["
        for n, item in enumerate(items):
            yield ("," if n else "") + json.dumps(item, ensure_ascii=False)
        yield "]"

    response = StreamingHttpResponse(chunks(), content_type="application/json")
    return _attachment(response, name, "json")
