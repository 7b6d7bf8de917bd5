"""Request checks that run before URL resolution: API path normalisation, unreadable requests.

The TypeScript SDK builds URLs as `host + path`, so a host ending in "/" yields `//v1/ping/`;
other clients omit trailing slashes, and Django's APPEND_SLASH cannot redirect a POST, PUT or
DELETE without losing its body. Rewriting the path before URL resolution serves all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.http import parse_header_parameters

from core.api.errors import error_body
from core.text import readable_charset

API_PREFIXES = ("/v1/", "/v2/", "/v3/", "/api/v1/")
_SLASHES = re.compile(r"/{2,}")


class NormalizeApiPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = _SLASHES.sub("/", request.path_info)
        if path.startswith(API_PREFIXES) and not path.endswith("/"):
            path += "/"
        if path != request.path_info:
            request.path_info = path
            request.path = request.META.get("SCRIPT_NAME", "").rstrip("/") + path
        return self.get_response(request)


class RejectUnreadableRequestMiddleware:
    """A 400 for requests no view could read, on every page and endpoint.

    - A NUL character in the path or query string: PostgreSQL cannot store or even compare
      text containing NUL, so `?user_id=%00` would fail as a 500 in the first query.
    - A declared charset that is no text encoding (`charset=zlib`): Django and the API's parser
      would decode the query string and bodies with it, and fail or inflate them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.encoding and not readable_charset(request.encoding):
            return _refuse(request, _charset_detail(request.encoding))
        query = request.GET.lists()
        if "\x00" in request.path_info or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in query
        ):
            return _refuse(
                request, "The URL contains a NUL character (%00), which no memdash value can hold."
            )
        return self.get_response(request)


def _charset_detail(charset: str) -> str:
    return f"charset {charset[:40]!r} is not a text encoding; use UTF-8."


def _refuse(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path_info.lower().startswith(API_PREFIXES):
        return JsonResponse(error_body(detail), status=400)
    return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


def refuse_unreadable_charsets(app: WSGIApplication) -> WSGIApplication:
    """WSGI wrapper: a 400 for a declared charset that is no text encoding (`charset=zlib`).

    When the URL has a query string, Django decodes it with that charset while it builds the
    request, before any middleware runs: RejectUnreadableRequestMiddleware cannot catch that
    case, and the request would end as a 500. memdash.wsgi wraps the application in this.
    """

    def checked(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        _, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
        charset = params.get("charset")
        if charset and not readable_charset(charset):
            body = json.dumps(error_body(_charset_detail(charset))).encode()
            start_response(
                "400 Bad Request",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return app(environ, start_response)

    return checked
