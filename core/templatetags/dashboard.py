"""Small presentation filters for the dashboard templates (all output stays auto-escaped)."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)
# Past this many tokens a word diff costs more than it tells; show old and new whole instead.
MAX_DIFF_TOKENS = 4000


def word_diff(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """Word-level diff of two texts as [(op, text)], op in "equal", "delete", "insert".

    Whitespace and punctuation are their own tokens, so a changed word is shown as that word
    removed and the new one added, and joining the texts of equal+delete (or equal+insert)
    segments gives back the old (or new) text exactly.
    """
    a = _TOKENS.findall(old or "")
    b = _TOKENS.findall(new or "")
    if len(a) + len(b) > MAX_DIFF_TOKENS:
        return _merge([("delete", "".join(a)), ("insert", "".join(b))])
    segments: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(("equal", "".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(("delete", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(("insert", "".join(b[j1:j2])))
    return _merge(segments)


def _merge(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for op, text in segments:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


@register.simple_tag
def diff_words(old: str | None, new: str | None) -> list[tuple[str, str]]:
    """`{% diff_words old new as segments %}`: see word_diff."""
    return word_diff(old, new)


@register.filter
def pretty_json(value: Any) -> str:
    """Indented JSON for <pre> blocks (escaped by the template like any other string)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.filter
def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


@register.filter
def thousands(value: Any) -> str:
    """1234567 -> "1,234,567"."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def ago(value: dt.datetime | None) -> str:
    """ "just now", "5 minutes ago", "2 days, 3 hours ago"."""
    if not value:
        return ""
    if timezone.now() - value < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value)} ago"


@register.filter
def clip(value: Any, length: int) -> str:
    """Like truncatechars, but a plain slice: Django's Truncator is slow on long lists."""
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


@register.filter
def short_id(value: Any) -> str:
    """The first block of a UUID, enough to tell rows apart on screen."""
    return str(value).split("-")[0]


@register.inclusion_tag("_actor.html", takes_context=True)
def actor(context: template.Context, label: str | None) -> dict[str, Any]:
    """Who did something, by name: an API key's name with its prefix in small type (revoked
    keys marked), a dashboard user's name; labels come as history rows and Events store them
    ("api-key:m0-abc", "user:alice"). The page's `key_names` (tenancy's context processor)
    maps key labels to keys."""
    names = context.get("key_names") or {}
    key = names.get(label) if label else None
    if key is not None:
        return {
            "name": key.name or "unnamed key",
            "detail": key.prefix,
            "revoked": not key.is_active,
        }
    if label and label.startswith("user:"):
        return {"name": label[5:], "detail": "user", "revoked": False}
    return {"name": label or "unknown", "detail": "", "revoked": False}
