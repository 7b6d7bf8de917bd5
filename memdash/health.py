"""Health endpoints for load balancers and orchestrators: GET /healthz and GET /readyz.

- /healthz (liveness): the process answers HTTP. It touches nothing else, so a database outage
  never makes an orchestrator restart web processes that would recover on their own.
- /readyz (readiness): the process can serve: the database answers `SELECT 1`, the broker
  accepts a connection, and the embedder has embedded a word (once per process; after that it
  is in memory). Each check has a short timeout, so the answer comes in a few seconds at most.

No API key is needed and the answers hold no data of any project: only each check's status and,
for a failing one, the first line of its error.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from celery import current_app
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.api.errors import error_body
from core.outages import with_retry_after
from memories import embeddings

# Seconds each check may take, at most (the embedder's first load excepted: see _embedder).
CHECK_TIMEOUT_SECONDS = 3
MAX_REASON_CHARS = 200

_embedder_ready = False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, Callable[[], None]] = {
        "database": _database,
        "broker": _broker,
        "embedder": _embedder,
    }
    results: dict[str, dict[str, str]] = {}
    for name, check in checks.items():
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the reason says which
            results[name] = {"status": "failing", "reason": _reason(exc)}
        else:
            results[name] = {"status": "ok"}
    failing = [name for name, result in results.items() if result["status"] != "ok"]
    if not failing:
        return JsonResponse({"status": "ok", "checks": results})
    detail = "Not ready: " + "; ".join(f"{name}: {results[name]['reason']}" for name in failing)
    body = error_body(detail, status="unavailable", checks=results)
    return with_retry_after(JsonResponse(body, status=503))


def _database() -> None:
    """`SELECT 1` on a connection of its own, with connect and statement timeouts: the
    request's connection has no connect timeout, and a check must not change its state. It
    does not start the embedded server either; the web process's first query does that."""
    params = connection.get_connection_params()
    with psycopg.connect(
        **params,
        connect_timeout=CHECK_TIMEOUT_SECONDS,
        options=f"-c statement_timeout={CHECK_TIMEOUT_SECONDS * 1000}",
    ) as conn:
        conn.execute("SELECT 1")


def _broker() -> None:
    """A connection to the task queue's broker, without retries."""
    with current_app.connection_for_write(connect_timeout=CHECK_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=0, timeout=CHECK_TIMEOUT_SECONDS)


def _embedder() -> None:
    """Embed one word, once per process: the first call loads the local model (seconds, and
    it is the one slow check), later ones only confirm it was loaded."""
    global _embedder_ready
    if not _embedder_ready:
        embeddings.embed_one("ready")
        _embedder_ready = True


def _reason(exc: Exception) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0]
    reason = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
    return reason[:MAX_REASON_CHARS]
