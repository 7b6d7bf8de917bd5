"""Filters of the memory table's optional columns (templates/memories/_table.html)."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def metadata_value(metadata: Any, key: str) -> str:
    """One metadata key's value as a cell shows it: strings as they are, anything else as
    compact JSON, "" when the memory has no such key."""
    if not isinstance(metadata, dict) or key not in metadata:
        return ""
    value = metadata[key]
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@register.filter
def metadata_pair(metadata: Any, key: str) -> str:
    """`key=value` for the list's metadata filter (`?meta=`) when the key holds a plain value
    (text, number, true/false), so its cell can link to the memories sharing it; "" otherwise
    (a missing key, a list or an object, which that filter cannot state)."""
    if not isinstance(metadata, dict) or key not in metadata:
        return ""
    value = metadata[key]
    if isinstance(value, dict | list) or value is None:
        return ""
    return f"{key}={metadata_value(metadata, key)}"
