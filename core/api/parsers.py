"""The API's JSON parser: DRF's, refusing what would otherwise fail later as a 500.

Numbers such as 1e309 parse as infinity, a thousand levels of nesting exhaust Python's
recursion, some strings cannot be stored (core.text), and some bodies are no text in their
charset. All are a 400 naming the problem, before any view runs. (A charset that is no text
encoding never gets here: see core.middleware.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from core.text import MAX_DEPTH, json_problem, strict_loads


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            # Decoded whole: a stream reader would drop an incomplete sequence at the end.
            data = strict_loads(stream.read().decode(encoding))
        except RecursionError:
            raise ParseError(f"JSON parse error - nests deeper than {MAX_DEPTH} levels") from None
        except UnicodeDecodeError as exc:
            raise ParseError(
                f"JSON parse error - the body is not valid {encoding[:40]} text "
                f"(byte {exc.object[exc.start]:#04x} at position {exc.start})"
            ) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        problem = json_problem(data, root="body")
        if problem:
            raise ParseError(problem)
        return data
