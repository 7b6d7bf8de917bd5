"""Request checks that run before URL resolution: API path normalisation, unreadable requests
(NUL, a charset that is no text encoding, bytes that are no UTF-8 text).

The TypeScript SDK builds URLs as `host + path`, so a host ending in "/" yields `//v1/ping/`;
other clients omit trailing slashes, and Django's APPEND_SLASH cannot redirect a POST, PUT or
DELETE without losing its body. Rewriting the path before URL resolution serves all of them.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote_to_bytes
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
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
    - Bytes that are not text in the request's charset (UTF-8 unless it declares another), in
      the query string (percent-decoded), a form body or the Authorization and Idempotency-Key
      headers. Django would read them as U+FFFD (the replacement character), so `?user_id=%FF`
      would silently read, or write, another id than the one sent. (JSON bodies are checked by
      the API's parser, core.api.parsers; the path by refuse_unreadable_requests, below.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.encoding and not readable_charset(request.encoding):
            return _refuse(request, _charset_detail(request.encoding))
        undecodable = _undecodable_part(request)
        if undecodable:
            return _refuse(request, undecodable)
        query = request.GET.lists()
        if "\x00" in request.path_info or any(
            "\x00" in name or any("\x00" in value for value in values) for name, values in query
        ):
            return _refuse(
                request, "The URL contains a NUL character (%00), which no memdash value can hold."
            )
        return self.get_response(request)


# Headers whose values memdash reads as text (WSGI hands every header over as latin-1).
TEXT_HEADERS = {"HTTP_AUTHORIZATION": "Authorization", "HTTP_IDEMPOTENCY_KEY": "Idempotency-Key"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def _undecodable_part(request: HttpRequest) -> str | None:
    """The part of the request that is no text, as the sentence a 400 answers; None if all is.

    WSGI gives the query string (raw) and header values as str holding one character per byte
    (latin-1): their bytes are checked here, as Django and DRF would decode them (headers
    always as UTF-8).
    """
    charset = request.encoding or settings.DEFAULT_CHARSET
    meta = request.META
    if not _decodes(unquote_to_bytes(_wsgi_bytes(meta.get("QUERY_STRING", ""))), charset):
        return (
            f"The query string is not valid {_charset_name(charset)} once percent-decoded; "
            "percent-encode the UTF-8 bytes of each character (é is %C3%A9)."
        )
    for key, header in TEXT_HEADERS.items():
        if key in meta and not _decodes(_wsgi_bytes(meta[key]), "utf-8"):
            return f"The {header} header is not valid UTF-8 text."
    if request.content_type == FORM_CONTENT_TYPE:
        try:
            body = request.body
        except RequestDataTooBig:
            return None  # answered by whoever reads the body (413 on the API, 400 elsewhere)
        if not _decodes(unquote_to_bytes(body), charset):
            return f"The form body is not valid {_charset_name(charset)} once percent-decoded."
    return None


def _wsgi_bytes(value: str) -> bytes:
    """The bytes a WSGI str stands for (a test client may hand over text itself)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def _decodes(data: bytes, charset: str) -> bool:
    try:
        data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _charset_name(charset: str) -> str:
    return "UTF-8" if codecs.lookup(charset).name == "utf-8" else charset[:40]


def _charset_detail(charset: str) -> str:
    return f"charset {charset[:40]!r} is not a text encoding; use UTF-8."


def _refuse(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path_info.lower().startswith(API_PREFIXES):
        return JsonResponse(error_body(detail), status=400)
    return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


PATH_DETAIL = "The URL path is not valid UTF-8; percent-encode the UTF-8 bytes of each character."


def refuse_unreadable_requests(app: WSGIApplication) -> WSGIApplication:
    """WSGI wrapper: a 400 for what Django would misread while it builds the request, before
    any middleware (RejectUnreadableRequestMiddleware) could see it. memdash.wsgi wraps the
    application in this.

    - A declared charset that is no text encoding (`charset=zlib`): when the URL has a query
      string, Django decodes it with that charset, and the request would end as a 500.
    - A path that is no UTF-8 (`/v2/entities/user/caf%E9/`): Django replaces the environ's
      PATH_INFO with its text, in which the bad bytes are percent-escaped again, so from then
      on they cannot be told from a name that holds "%E9" itself.
    """

    def checked(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        _, params = parse_header_parameters(environ.get("CONTENT_TYPE", ""))
        charset = params.get("charset")
        if charset and not readable_charset(charset):
            return _refuse_early(path, _charset_detail(charset), start_response)
        if not _decodes(_wsgi_bytes(path), "utf-8"):
            return _refuse_early(path, PATH_DETAIL, start_response)
        return app(environ, start_response)

    return checked


def _refuse_early(path: str, detail: str, start_response: StartResponse) -> Iterable[bytes]:
    """_refuse's answers, for a request Django has not built."""
    if _SLASHES.sub("/", path).lower().startswith(API_PREFIXES):
        body, content_type = json.dumps(error_body(detail)).encode(), "application/json"
    else:
        body, content_type = detail.encode(), "text/plain; charset=utf-8"
    start_response(
        "400 Bad Request", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    )
    return [body]
