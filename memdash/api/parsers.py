"""The API's JSON parser: DRF's, refusing what would otherwise fail later as a 500.

Numbers such as 1e309 parse as infinity, a thousand levels of nesting exhaust Python's
recursion, some strings cannot be stored, and a charset such as zlib is no text encoding at
all (memdash.text). All are a 400 naming the problem, before any view runs.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from memdash.text import MAX_DEPTH, json_problem, readable_charset, strict_loads


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        if not readable_charset(encoding):
            raise ParseError(f"charset {encoding[:40]!r} is not a text encoding; send UTF-8 JSON")
        try:
            data = strict_loads(codecs.getreader(encoding)(stream).read())
        except RecursionError:
            raise ParseError(f"JSON parse error - nests deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc
        problem = json_problem(data, root="body")
        if problem:
            raise ParseError(problem)
        return data
