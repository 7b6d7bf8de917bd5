"""One webhook delivery: the body signed and POSTed to the receiver's checked address.

Receivers verify `X-Memdash-Signature: sha256=<hex>`, the HMAC-SHA256 (key: the webhook's
secret) of `<X-Memdash-Timestamp>.<raw body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from django.conf import settings

from memories.models import Webhook
from memories.webhooks.targets import pinned


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Memdash-Signature header of a delivery."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class DeliveryError(RuntimeError):
    """The receiver did not accept the delivery (retry later). `status` is the HTTP status it
    answered, None when no answer came (a network error, a timeout)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def deliver(webhook: Webhook, body: dict[str, Any]) -> int:
    """POST one signed delivery; returns the receiver's status. Raises DeliveryError on failure
    and ForbiddenTarget when the URL resolves to an address deliveries may not reach."""
    url, pinned_headers, extensions = pinned(webhook.url)
    raw = json.dumps(body, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "memdash-webhooks/1",
        "X-Memdash-Timestamp": timestamp,
        "X-Memdash-Signature": sign(webhook.secret, timestamp, raw),
        "X-Memdash-Webhook-Id": str(webhook.pk),
    }
    try:
        with httpx.Client(timeout=settings.MEMDASH_WEBHOOK_TIMEOUT) as client:
            response = client.post(
                url, content=raw, headers={**headers, **pinned_headers}, extensions=extensions
            )
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{webhook.url}: {exc}") from exc
    if response.status_code >= 300:
        raise DeliveryError(
            f"{webhook.url} answered {response.status_code}", status=response.status_code
        )
    return response.status_code
