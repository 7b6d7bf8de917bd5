"""Who is asking, for the audit log: the request's id, address and client, and its actor.

The middleware opens a context per request (a context variable, so services and signal
handlers deep in a call write their rows without being handed the request); the API's key
authentication and the dashboard's project check then fill in the actor and the project.
Outside a request (management commands, workers) the context is the system.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.middleware import API_PREFIXES

REQUEST_ID_HEADER = "X-Request-ID"
# A client's own request id is kept when it looks like one (it ties the log to their logs).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass(frozen=True)
class Actor:
    type: str  # "key", "user", "anonymous" or "system"
    id: str = ""
    name: str = ""
    label: str = ""  # as history rows and Events name it: "api-key:m0-abc", "user:alice"
    role: str = ""


SYSTEM = Actor("system", label="system")
ANONYMOUS = Actor("anonymous")


@dataclass(frozen=True)
class Context:
    surface: str = "system"  # "api", "dashboard", "mcp" (memories.mcp) or "system"
    actor: Actor = SYSTEM
    project_id: int | None = None
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    path: str = ""


OUTSIDE_REQUESTS = Context()
_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "memdash_audit", default=None
)


def current() -> Context:
    return _current.get() or OUTSIDE_REQUESTS


def update(**changes: Any) -> None:
    """Fill in what the request learns later (its actor, its project)."""
    _current.set(replace(current(), **changes))


def key_actor(key: Any) -> Actor:
    """An API key (tenancy.ApiKey, duck-typed: this app sits below tenancy)."""
    return Actor("key", str(key.pk), key.name or "", key.actor, key.role)


def user_actor(user: Any, role: str = "") -> Actor:
    return Actor("user", str(user.pk), user.get_username(), f"user:{user.get_username()}", role)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the peer's, unless the peer is one of MEMDASH_TRUSTED_PROXIES.
    Then X-Forwarded-For is read from the right (each proxy appends the address it saw), and
    the first address that is not a trusted proxy is the client; what a client wrote itself
    at the left of the header is never believed."""
    peer = _address(request.META.get("REMOTE_ADDR"))
    proxies = _networks(tuple(settings.MEMDASH_TRUSTED_PROXIES))
    if peer is None or not _trusted(peer, proxies):
        return str(peer) if peer else None
    hops = request.headers.get("X-Forwarded-For", "").split(",")
    for hop in reversed([h.strip() for h in hops if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # not an address: what lies to its left cannot be trusted either
        peer = address
        if not _trusted(address, proxies):
            break
    return str(peer)


def _address(value: str | None) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address((value or "").strip())
    except ValueError:
        return None


@cache
def _networks(values: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(value, strict=False) for value in values)


def _trusted(
    address: IPv4Address | IPv6Address, proxies: tuple[IPv4Network | IPv6Network, ...]
) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


class AuditContextMiddleware:
    """Opens the audit context of each request and answers its request id in X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        user = getattr(request, "user", None)
        actor = user_actor(user) if user is not None and user.is_authenticated else ANONYMOUS
        context = Context(
            surface="api" if path.lower().startswith(API_PREFIXES) else "dashboard",
            actor=actor,
            request_id=_request_id(request),
            ip=client_ip(request),
            user_agent=(request.headers.get("User-Agent") or "")[:500],
            path=path[:500],
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response[REQUEST_ID_HEADER] = context.request_id
        return response
