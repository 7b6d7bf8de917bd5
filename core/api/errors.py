"""The body of every API error, in one place.

The SDKs read `detail` (mem0ai raises with it; the npm client shows the raw body). Mem0's own
API reference describes `{"error": ..., "details": {...}}`. Every error memdash answers carries
all three, so a client written against either finds what it looks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def error_body(
    detail: str, *, details: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """`{"detail": ..., "error": ..., "details": {"message": ..., ...}}`.

    `details` adds machine-readable parts (a validation error's fields); `extra` adds top-level
    keys some Mem0 operations document (the exports' `message`, an event's `status`).
    """
    return {
        "detail": detail,
        "error": detail,
        "details": {"message": detail, **(details or {})},
        **extra,
    }
