"""Which URLs may receive webhook deliveries: none on this machine or a private network
(unless MEMDASH_WEBHOOK_ALLOW_PRIVATE), never a link-local one (cloud metadata services).

URLs are judged when a webhook is saved (what the URL itself says) and again at each delivery
(every address its host resolves to), and a delivery connects to the address it judged.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


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


def pinned(url: str) -> tuple[str, dict[str, str], dict[str, Any]]:
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
