"""The API's JSON parser: DRF's, refusing what would otherwise fail later as a 500.

Numbers such as 1e309 parse as infinity, a thousand levels of nesting exhaust Python's
recursion, and some strings cannot be stored (memdash.text). All are a 400 naming where the
problem is, before any view runs.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from memdash.text import MAX_DEPTH, json_problem


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(text, parse_float=_finite, parse_constant=_no_constants)
        except RecursionError:
            raise ParseError(f"JSON parse error - nests deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        problem = json_problem(data, root="body")
        if problem:
            raise ParseError(problem)
        return data
