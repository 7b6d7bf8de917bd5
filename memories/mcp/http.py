"""POST /mcp/: one Model Context Protocol exchange per HTTP request, served by the `mcp` SDK.

memdash is a WSGI application and the SDK's Streamable HTTP transport is an ASGI one. The
transport runs *stateless* with *JSON responses*: each POST carries one JSON-RPC message and
gets its answer as one JSON body, with no session to remember between requests and no stream
left open. That fits gunicorn's threaded workers (any worker can answer any request, and no
thread is held by an idle stream) and leaves the protocol itself (version negotiation, its
headers and status codes, JSON-RPC errors) to the SDK.

The view bridges the two in-process: it hands the request to a session manager of its own
inside `async_to_sync`, which runs an event loop on a helper thread while the request's thread
waits. The tools call back through `sync_to_async(thread_sensitive=True)`, which runs them on
that waiting thread, so their ORM calls use the request's database connection (closed by
Django when the request ends) and see the request's audit context. a2wsgi, the usual way to put
an ASGI app under WSGI, serves every request from one shared event loop thread: there the
tools' database work would need threads of their own (connections nobody closes) and would
lose the request's context. This bridge needs neither, and works the same under gunicorn and
under Django's live server.

What cannot end inside one request is refused instead of held open: a GET (the optional event
stream) or DELETE is a 405, and the tools' server offers no `subscriptions/listen`.
Authentication happens here, before the SDK sees the request: the REST API's key check
(`Authorization: Token <key>` or `Bearer <key>`), a 401 JSON answer otherwise. Django has
already checked the Host header against ALLOWED_HOSTS, the DNS-rebinding protection the SDK
would otherwise add.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
from asgiref.sync import async_to_sync
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from starlette.types import Message, Receive, Scope

from audit import context as audit_context
from core.api.errors import error_body
from memories.mcp import tools
from tenancy.authentication import ApiKeyAuthentication
from tenancy.models import ApiKey

# Request headers the SDK has no use for and should never hold: the caller's credentials.
_WITHHELD_HEADERS = {b"authorization", b"cookie"}
NO_KEY = (
    "Authentication credentials were not provided. Send 'Authorization: Bearer <your API key>' "
    "(or 'Token <your API key>'): the key of the project whose memories the tools use."
)

POST_ONLY = (
    "The MCP endpoint takes POST requests only: memdash serves MCP statelessly, with no event "
    "stream to GET and no session to DELETE."
)


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    """The MCP endpoint: authenticate the API key, then let the SDK answer the message."""
    if request.method != "POST":
        # The spec's answer for a server without a GET event stream (and sessions to DELETE);
        # the SDK would open a stream that never ends.
        response = JsonResponse(error_body(POST_ONLY), status=405)
        response["Allow"] = "POST"
        return response
    authentication = ApiKeyAuthentication()
    try:
        found = authentication.authenticate(Request(request))
    except APIException as exc:  # a bad or revoked key (401), a project being deleted (410)
        return _refused(str(exc.detail), exc.status_code, authentication)
    if found is None:
        return _refused(NO_KEY, 401, authentication)
    key: ApiKey = found[1]
    audit_context.update(
        surface="mcp", actor=audit_context.key_actor(key), project_id=key.project_id
    )
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse(
            error_body("Request body is too large (see MEMDASH_MAX_BODY_BYTES)."), status=413
        )
    token = tools.serve_as(key)
    try:
        answer = async_to_sync(_exchange)(_asgi_scope(request), body)
    finally:
        tools.stop_serving(token)
    return answer.as_response()


def _refused(detail: str, status: int, authentication: ApiKeyAuthentication) -> JsonResponse:
    response = JsonResponse(error_body(detail), status=status)
    if status == 401:
        response["WWW-Authenticate"] = authentication.authenticate_header(None)  # type: ignore[arg-type]
    return response


@dataclass
class _Answer:
    """What the SDK sent back through ASGI `send`, collected for a Django response."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers") or [])
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def as_response(self) -> HttpResponse:
        response = HttpResponse(bytes(self.body), status=self.status)
        del response["Content-Type"]  # the SDK's own, if it sent one (a 202 has none)
        for name, value in self.headers:
            if name.lower() != b"content-length":
                response[name.decode("latin-1")] = value.decode("latin-1")
        return response


async def _exchange(scope: Scope, body: bytes) -> _Answer:
    """Serve one request with a session manager of its own: stateless, nothing outlives it."""
    answer = _Answer()
    # The SDK's own in-process client reaches the low-level server the same way.
    manager = StreamableHTTPSessionManager(
        app=tools.server._lowlevel_server, json_response=True, stateless=True
    )
    async with manager.run():
        await manager.handle_request(scope, _receive(body), answer.send)
    return answer


def _receive(body: bytes) -> Receive:
    """ASGI `receive`: the whole body at once (Django has read it), then nothing.

    WSGI cannot tell when a client goes away, so no `http.disconnect` is ever reported; the
    SDK's watchers for one are cancelled when its answer is complete.
    """
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


def _asgi_scope(request: HttpRequest) -> Scope:
    """The ASGI HTTP scope of a Django request, without its credentials."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.items()
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        "headers": [(n, v) for n, v in headers if n not in _WITHHELD_HEADERS],
        "server": (request.META.get("SERVER_NAME", ""), int(request.get_port() or 0)),
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
    }
