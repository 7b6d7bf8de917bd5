"""The client's address in the audit log: the peer's, or behind a trusted proxy the one it saw."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import RequestFactory, override_settings

from audit.context import client_ip
from memdash.settings import BASE_DIR


def address(peer: str, forwarded: str | None = None) -> str | None:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=peer, **headers))


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    assert address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert address("not an address") is None


@override_settings(MEMDASH_TRUSTED_PROXIES=["10.0.0.0/8", "::1"])
@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.1.2.3", "198.51.100.7", "198.51.100.7"),
        # Two proxies of ours: the first address from the right that is not ours.
        ("10.1.2.3", "198.51.100.7, 10.9.9.9", "198.51.100.7"),
        # What the client wrote at the left is never believed.
        ("10.1.2.3", "1.1.1.1, 198.51.100.7", "198.51.100.7"),
        # Garbage stops the walk at the last address a trusted proxy reported.
        ("10.1.2.3", "1.1.1.1, junk, 10.9.9.9", "10.9.9.9"),
        ("10.1.2.3", None, "10.1.2.3"),
        ("::1", "2001:db8::5", "2001:db8::5"),
        # A peer that is not a trusted proxy: its header is ignored.
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
    ],
)
def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(peer, forwarded, client):
    assert address(peer, forwarded) == client


def test_a_trusted_proxy_that_is_no_address_stops_the_server_at_start_up():
    env = {**os.environ, "MEMDASH_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "DJANGO_SETTINGS_MODULE": "memdash.settings"},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "MEMDASH_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in (
        result.stderr
    )
