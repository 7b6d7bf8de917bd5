"""Request checks that run before URL resolution: API path normalisation, NUL refusal.

The TypeScript SDK builds URLs as `host + path`, so a host ending in "/" yields `//v1/ping/`;
other clients omit trailing slashes, and Django's APPEND_SLASH cannot redirect a POST, PUT or
DELETE without losing its body. Rewriting the path before URL resolution serves all of them.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIXES = ("/v1/", "/v2/", "/v3/", "/api/v1/")
_SLASHES = re.compile(r"/{2,}")


class NormalizeApiPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = _SLASHES.sub("/", request.path_info)
        if path.startswith(API_PREFIXES) and not path.endswith("/"):
            path += "/"
        if path != request.path_info:
            request.path_info = path
            request.path = request.META.get("SCRIPT_NAME", "").rstrip("/") + path
        return self.get_response(request)


class RejectNulMiddleware:
    """A NUL character in the path or query string is a 400, on every page and endpoint.

    PostgreSQL cannot store or even compare text containing NUL: left to reach a query, a
    `?user_id=%00` fails as a 500. (Bodies are checked by the API's parser and form fields.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.lists()
        if "\x00" in request.path_info or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in query
        ):
            detail = "The URL contains a NUL character (%00), which no memdash value can hold."
            if request.path_info.lower().startswith(API_PREFIXES):
                return JsonResponse({"detail": detail}, status=400)
            return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
