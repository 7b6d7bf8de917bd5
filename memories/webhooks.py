"""Project webhooks: HMAC-signed POSTs to subscriber URLs when memories change.

Changes are collected by the code that makes them and queued with `notify_on_commit`, so a
rolled-back transaction notifies nobody. Each delivery is its own Celery task with retries.

Receivers verify `X-Memdash-Signature: sha256=<hex>`, the HMAC-SHA256 (key: the webhook's
secret) of `<X-Memdash-Timestamp>.<raw body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from core.errors import InvalidRequest
from core.queueing import send_on_commit
from memories.models import Memory, Webhook

EVENT_TYPES = {
    "ADD": Webhook.EventType.MEMORY_ADD,
    "UPDATE": Webhook.EventType.MEMORY_UPDATE,
    "DELETE": Webhook.EventType.MEMORY_DELETE,
    "CATEGORIZE": Webhook.EventType.MEMORY_CATEGORIZE,
}
# Mem0 also lists ingest job types; memdash accepts them so clients can subscribe, but has no
# ingest jobs that would fire them.
ACCEPTED_ONLY = {
    "ingest_job_completed",
    "ingest_job_partially_completed",
    "ingest_job_failed",
    "ingest_job_cancelled",
}
# The task that POSTs one change to one webhook (registered by memories.tasks).
DELIVERY_TASK = "memories.tasks.deliver_webhook"
# Bulk deletes larger than this send one summary delivery instead of one per memory.
PER_MEMORY_LIMIT = 1000


def normalize_event_type(value: Any) -> str:
    """Accept Mem0's spellings: "memory_add", "MEMORY_ADD", "memory.add", "memory:add", "ADD"."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("event_types must be a list of names such as memory_add")
    name = value.strip().lower().replace(".", "_").replace(":", "_").replace("-", "_")
    if name.upper() in EVENT_TYPES:
        return EVENT_TYPES[name.upper()]
    if name in Webhook.EventType.values or name in ACCEPTED_ONLY:
        return name
    allowed = ", ".join([*Webhook.EventType.values, *sorted(ACCEPTED_ONLY)])
    raise InvalidRequest(f"Unknown webhook event type {value!r}; use one of: {allowed}")


def memory_change(event: str, memory: Memory) -> dict:
    return {
        "type": EVENT_TYPES[event],
        "body": {
            "event_details": {
                "id": str(memory.pk),
                "data": {"memory": memory.memory},
                "event": event,
            }
        },
    }


def categorize_change(memory: Memory) -> dict:
    return {
        "type": Webhook.EventType.MEMORY_CATEGORIZE,
        "body": {
            "event_details": {
                "event": "CATEGORIZE",
                "memory_id": str(memory.pk),
                "categories": memory.categories or [],
            }
        },
    }


def bulk_delete_change(count: int, event_id: str) -> dict:
    return {
        "type": Webhook.EventType.MEMORY_DELETE,
        "body": {"event_details": {"event": "DELETE", "count": count, "event_id": event_id}},
    }


def has_subscribers(project_id: int) -> bool:
    return Webhook.objects.filter(project_id=project_id, is_active=True).exists()


def notify_on_commit(project_id: int, changes: list[dict[str, Any]]) -> None:
    """Queue one delivery per (subscribed webhook, change) once the transaction commits."""
    if not changes:
        return
    hooks = list(Webhook.objects.filter(project_id=project_id, is_active=True))
    for change in changes:
        for hook in hooks:
            if change["type"] in hook.event_types:
                send_on_commit(DELIVERY_TASK, str(hook.pk), change["body"])


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class DeliveryError(RuntimeError):
    """The receiver did not accept the delivery (retry later)."""


class ForbiddenTarget(RuntimeError):
    """The webhook's URL leads somewhere memdash does not send deliveries (no retry helps)."""


# IPv6 ranges that carry an IPv4 address in their last 32 bits and reach it: NAT64 (well-known
# and local-use prefixes), IPv4-compatible and IPv4-translated addresses.
_EMBEDS_IPV4 = [
    ipaddress.ip_network(net)
    for net in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
]


def _judged(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The address, and any IPv4 address it leads to (6to4, NAT64, mapped forms)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        yield address.ipv4_mapped  # the same host as the IPv4 address: judge (and name) that
        return
    yield address
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour:
            yield address.sixtofour
        elif any(address in net for net in _EMBEDS_IPV4) and int(address) > 1:
            yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _problem(host: str, addresses: set[str]) -> str | None:
    for text in sorted(addresses):
        for address in _judged(ipaddress.ip_address(text.split("%")[0])):
            if address.is_link_local or address.is_multicast or address.is_unspecified:
                return (
                    f"points to {host} ({address}), a link-local, multicast or unspecified address"
                )
            if not address.is_global and not settings.MEMDASH_WEBHOOK_ALLOW_PRIVATE:
                return (
                    f"points to {host} ({address}), on this machine or a private network; "
                    "set MEMDASH_WEBHOOK_ALLOW_PRIVATE=true to allow such receivers"
                )
    return None


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def _resolve(host: str) -> list[str]:
    """The host's addresses, in the resolver's order; [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def target_problem(url: str, *, resolve: bool) -> str | None:
    """Why `url` may not receive webhooks, as the end of a sentence, or None if it may.

    Without `resolve` only what the URL itself says is judged (an IP literal, "localhost"), as
    when a webhook is saved: its host may not resolve yet. With it, every address the host
    resolves to is judged, so a public name pointing inside is refused too.
    """
    host = _host(url)
    if resolve:
        return _problem(host, set(_resolve(host)))
    try:
        return _problem(host, {str(ipaddress.ip_address(host.strip("[]")))})
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            return _problem(host, {"127.0.0.1"})
        return None


def _pinned(url: str) -> tuple[str, dict, dict]:
    """(URL, headers, httpx extensions) that reach `url`'s host at an address judged allowed.

    The connection goes to the address that was checked, not to whatever a second lookup
    returns (a name re-pointed between check and connect, "DNS rebinding"); the Host header and
    TLS server name stay the URL's, so virtual hosts and certificates work as before.
    """
    host = _host(url)
    addresses = _resolve(host)
    if not addresses:
        return url, {}, {}  # unresolvable: the client fails, and the delivery is retried
    problem = _problem(host, set(addresses))
    if problem:
        raise ForbiddenTarget(f"{url} {problem}")
    parts = urlsplit(url)
    address = addresses[0]
    userinfo, _, host_header = parts.netloc.rpartition("@")
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if userinfo:
        netloc = f"{userinfo}@{netloc}"
    return (
        parts._replace(netloc=netloc).geturl(),
        {"Host": host_header},
        {"sni_hostname": host} if parts.scheme == "https" else {},
    )


def deliver(webhook: Webhook, body: dict) -> int:
    """POST one signed delivery; returns the receiver's status. Raises DeliveryError on failure
    and ForbiddenTarget when the URL resolves to an address deliveries may not reach."""
    url, pinned_headers, extensions = _pinned(webhook.url)
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
        raise DeliveryError(f"{webhook.url} answered {response.status_code}")
    return response.status_code
