"""Errors shared by the API and the dashboard, and the API's error responses.

Services raise MemdashError subclasses; they know nothing about HTTP. The API
turns each into JSON (core.api.errors.error_body: `detail`, the key the Python SDK reads, with
Mem0's `error` and `details`) and the status code that makes the SDKs raise the matching
exception class.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.api.errors import error_body
from core.middleware import API_PREFIXES
from core.outages import (
    DATABASE_UNAVAILABLE,
    is_database_outage,
    unavailable_response,
    with_retry_after,
)


class MemdashError(Exception):
    """A request memdash refuses, with a message meant for the caller."""

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(MemdashError):
    status_code = status.HTTP_400_BAD_REQUEST


class NotFound(MemdashError, Http404):
    """Nothing of that id in the caller's project. An Http404 too, so dashboard views can let
    a service's NotFound become their 404 page."""

    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(MemdashError):
    status_code = status.HTTP_403_FORBIDDEN


class Conflict(MemdashError):
    """The request collides with work under way (an erasure of the same subject, say)."""

    status_code = status.HTTP_409_CONFLICT


class Locked(MemdashError):
    """The data is under a legal hold (memories.holds): it cannot be deleted while it lasts."""

    status_code = status.HTTP_423_LOCKED


class ImmutableMemoryError(MemdashError):
    status_code = status.HTTP_400_BAD_REQUEST


class UpstreamFailed(MemdashError):
    """A provider (the LLM) answered with something unusable."""

    status_code = status.HTTP_502_BAD_GATEWAY


class UpstreamUnavailable(MemdashError):
    """A provider (the LLM, the embedder) is down or too slow; try again later."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class QueueUnavailable(UpstreamUnavailable):
    """The broker of the task queue cannot be reached, so queued work cannot be sent to it."""


class InferenceUnavailable(MemdashError):
    """Memory inference was requested but cannot run on this server."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED


class EmbeddingError(UpstreamUnavailable):
    """The embedding provider failed (possibly transiently)."""


class FilterError(MemdashError, ValueError):
    """A filter the filter language does not accept. The message says which key and why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        # The API answers with this; forms and other callers show the bare message.
        self.detail = f"Invalid filters: {detail}"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MemdashError):
        refusal = Response(error_body(exc.detail), status=exc.status_code)
        if exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
            with_retry_after(refusal)
        return refusal
    if is_database_outage(exc):
        return with_retry_after(Response(error_body(DATABASE_UNAVAILABLE), status=503))
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("Request body is too large (see MEMDASH_MAX_BODY_BYTES)."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, exceptions.NotAuthenticated):
        clearer = exceptions.NotAuthenticated(
            "Authentication credentials were not provided. Send 'Authorization: Token <your API key>'."
        )
        # DRF's exception handler reads this attribute to send WWW-Authenticate.
        clearer.auth_header = getattr(exc, "auth_header", None)  # type: ignore[attr-defined]
        exc = clearer
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(_flatten(exc.detail), details={"errors": exc.detail})
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = error_body(str(response.data["detail"]))
    return response


def _flatten(detail: Any, prefix: str = "") -> str:
    """Turn DRF's nested validation errors into one readable sentence."""
    if isinstance(detail, dict):
        parts = [
            _flatten(value, f"{prefix}{key}." if key != "non_field_errors" else prefix)
            for key, value in detail.items()
        ]
        return " ".join(p for p in parts if p)
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            label = prefix.rstrip(".")
            text = " ".join(str(item) for item in detail)
            return f"{label}: {text}" if label else text
        return " ".join(
            _flatten(item, f"{prefix}{i}." if isinstance(item, dict | list) else prefix)
            for i, item in enumerate(detail)
            if item
        )
    label = prefix.rstrip(".")
    return f"{label}: {detail}" if label else str(detail)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404 for paths no URL matches: JSON under the API prefixes, Django's page elsewhere."""
    if request.path_info.lower().startswith(API_PREFIXES):
        return JsonResponse(error_body(f"No API endpoint at {request.path_info}."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 for a bug; 503 when what failed is a service memdash needs (core.outages).

    Django calls this inside the `except` block of the exception that escaped the view or a
    middleware (session, auth, audit), so sys.exc_info() names it.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, MemdashError) and exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        return unavailable_response(request, exc.detail)
    if exc is not None and is_database_outage(exc):
        return unavailable_response(request, DATABASE_UNAVAILABLE)
    if request.path_info.lower().startswith(API_PREFIXES):
        return JsonResponse(error_body("Internal server error."), status=500)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)
