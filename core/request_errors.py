"""Django's error views for requests refused before any API view runs, in the API's JSON.

Some refusals happen in Django itself, outside DRF's exception handler: a Host header not in
ALLOWED_HOSTS (DisallowedHost, a 400), a body larger than MEMDASH_MAX_BODY_BYTES read outside
DRF (RequestDataTooBig, answered as 413 as the API answers it), other SuspiciousOperations, a
PermissionDenied or a CSRF failure. Under the API prefixes these answer error_body JSON, like
core.errors.not_found does for 404s; elsewhere Django's own pages are kept.

memdash.urls names bad_request and permission_denied as handler400 and handler403;
settings.CSRF_FAILURE_VIEW names csrf_failure.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults

from core.api.errors import error_body
from core.middleware import API_PREFIXES


def _on_api(request: HttpRequest) -> bool:
    return request.path_info.lower().startswith(API_PREFIXES)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _on_api(request):
        return defaults.bad_request(request, exception)  # type: ignore[arg-type]
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(
            error_body("Request body is too large (see MEMDASH_MAX_BODY_BYTES)."), status=413
        )
    if isinstance(exception, DisallowedHost):
        # Not Django's message, which suggests editing this server's ALLOWED_HOSTS.
        detail = "The Host header names no host this server answers for."
    else:  # Django's other messages (too many fields, ...) are meant for the caller
        detail = str(exception) if exception is not None and str(exception) else "Bad request."
    return JsonResponse(error_body(detail), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not _on_api(request):
        return defaults.permission_denied(request, exception)  # type: ignore[arg-type]
    detail = str(exception) if exception is not None and str(exception) else "Permission denied."
    return JsonResponse(error_body(detail), status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not _on_api(request):
        return csrf.csrf_failure(request, reason)
    detail = "CSRF verification failed" + (f": {reason}" if reason else ".")
    return JsonResponse(
        error_body(f"{detail} API requests authenticate with 'Authorization: Token <key>'."),
        status=403,
    )
