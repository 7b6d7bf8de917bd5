"""Expected webhook payloads for the SDK tests (the webhook methods of every client).

The receiver URLs are on `.test` names: a webhook is saved without resolving its host, and the
tests never add memories, so no delivery is ever attempted.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import ANY_TIMESTAMP, ANY_UUID

RECEIVER = "https://hooks.example.test/mem0"
OTHER_RECEIVER = "https://audit.example.test/in"
UPDATED = {"message": "Webhook updated successfully"}
DELETED = {"message": "Webhook deleted successfully"}
NOT_FOUND = "Webhook not found"


class _AnySecret:
    """A webhook's signing secret: 64 hexadecimal characters."""

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, str)
            and len(other) == 64
            and all(c in "0123456789abcdef" for c in other)
        )

    def __repr__(self) -> str:
        return "ANY_SECRET"


ANY_SECRET = _AnySecret()


def webhook(
    project_id: str,
    *,
    name: str,
    url: str = RECEIVER,
    event_types: list[str],
    is_active: bool = True,
    id: Any = ANY_UUID,
    with_secret: bool = False,
) -> dict[str, Any]:
    """A webhook as memdash serves it: with its secret when just created, without in lists."""
    data: dict[str, Any] = {
        "webhook_id": id,
        "name": name,
        "url": url,
        "event_types": event_types,
        "owner": None,
        "is_active": is_active,
        "project": project_id,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
    }
    if with_secret:
        data["secret"] = ANY_SECRET
    return data
