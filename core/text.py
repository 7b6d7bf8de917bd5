"""What text and JSON PostgreSQL can store, checked once for API bodies, query strings, URLs,
dashboard forms and LLM replies; and the one normal form of entity ids.

PostgreSQL cannot store a NUL character in text or JSONB, and a lone UTF-16 surrogate ("\\ud800",
legal in JSON escapes) cannot even be encoded to UTF-8; either would surface as a 500 deep in a
write. JSONB has no NaN or Infinity, which Python's json module accepts (and `1e309` parses as
infinity). Nesting is bounded too: nothing legitimate nests deeper than MAX_DEPTH, and walking
such values recursively would exhaust Python's stack.
"""

from __future__ import annotations

import codecs
import json
import math
import re
import unicodedata
from typing import Any

MAX_DEPTH = 64
# The charsets a request may declare. Python also has codecs such as zlib, bz2 and base64 that
# are no text encoding at all: decoding a body "in" zlib would inflate it past every size limit.
TEXT_CHARSETS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
    | {"ascii", "iso8859-1", "cp1252"}
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Unicode categories no entity id may contain: control characters (Cc), invisible format
# characters (Cf: zero-width spaces and joiners, U+FEFF, bidi controls, soft hyphens) and the
# line and paragraph separators. Two ids that look the same would otherwise be two entities.
_INVISIBLE = {
    "Cf": "an invisible character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def quoted(value: Any) -> str:
    """A value as an error message quotes it: never more than 40 characters, whatever was sent."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def readable_charset(name: str) -> bool:
    """Whether a request declaring `charset=name` can be decoded as text."""
    try:
        return codecs.lookup(name).name in TEXT_CHARSETS
    except LookupError:
        return False


def unstorable_text(value: str) -> str | None:
    """Why `value` cannot be stored as PostgreSQL text, or None if it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (\\u0000), which cannot be stored"
    return "contains an unpaired UTF-16 surrogate, which is not valid Unicode text"


def normal_id(value: str) -> str:
    """An entity id (user_id, agent_id, app_id, run_id) as memdash stores and compares it.

    Without surrounding whitespace, and in Unicode normal form C: "café" typed on a Mac (NFD,
    "e" + U+0301) and elsewhere (NFC, U+00E9) is one id, and " alice " is "alice". Every write
    and every read of an id goes through this, so they always agree.
    """
    return unicodedata.normalize("NFC", value.strip())


def unwritable_id(value: str) -> str | None:
    """Why a normalised id cannot be written, as the end of a sentence naming the field; or
    None if it can. Reads accept any id (a bare "*" is the filter language's "any")."""
    if value == "*":
        return 'is "*", which reads take as "any id"; choose another id'
    for char in value:
        category = unicodedata.category(char)
        what = "a control character" if category == "Cc" else _INVISIBLE.get(category)
        if what:
            name = unicodedata.name(char, "")
            code = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            return f"contains {what} ({code}); ids must be visible text"
    return None


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:20]} is out of range")
    return number


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def strict_loads(text: str | bytes) -> Any:
    """json.loads without NaN, Infinity or out-of-range numbers.

    Raises ValueError for what does not parse, RecursionError for absurd nesting; callers then
    check the value with json_problem.
    """
    return json.loads(text, parse_float=_finite, parse_constant=_no_constants)


def json_problem(data: Any, *, root: str) -> str | None:
    """The first unstorable string or over-deep nesting in a parsed JSON value, as a sentence."""
    stack: list[tuple[Any, str, int]] = [(data, root, 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where} nests deeper than {MAX_DEPTH} levels."
        if isinstance(value, str):
            problem = unstorable_text(value)
            if problem:
                return f"{where} {problem}."
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{where} is {value}, which JSON cannot hold."
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = unstorable_text(key)
                if problem:
                    return f"A key in {where} {problem}."
                stack.append(
                    (item, f"{where}.{key if len(key) <= 40 else key[:40] + '...'}", depth + 1)
                )
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
    return None
