"""Path normalisation for API clients.

The TypeScript SDK builds URLs as `host + path`, so a host ending in "/" yields `//v1/ping/`;
other clients omit trailing slashes, and Django's APPEND_SLASH cannot redirect a POST, PUT or
DELETE without losing its body. Rewriting the path before URL resolution serves all of them.
"""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse

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
