"""The gunicorn worker memdash runs (memdash.gunicorn_conf): gthread's, with JSON error bodies.

gunicorn answers some requests itself, before Django sees them: a request line longer than
`limit_request_line` (414), too many or too large headers (431), a malformed request line or
header (400), an application that failed before starting its response (500). It writes those
answers as small HTML pages, which the SDKs show as raw markup; this worker writes them in the
body every memdash error has (core.api.errors.error_body), with gunicorn's status and message.

gunicorn decides the status and message in `Worker.handle_error`, then writes the page with
`gunicorn.util.write_error`; it has no setting for the body. The worker replaces that one
function in its own process when it starts, so the decision (and its logging) stays gunicorn's.
"""

from __future__ import annotations

import json
import socket

from gunicorn import util  # type: ignore[import-untyped]  # gunicorn ships no type hints
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from core.api.errors import error_body

# What the caller can do about an error gunicorn refuses, by status.
HINTS = {
    414: "send long parameters in a JSON body instead (POST /v3/memories/ takes filters)",
    431: "send fewer or smaller headers",
}


def json_error_response(status: int, reason: str, message: str) -> bytes:
    """The whole HTTP response for one of gunicorn's own errors, with a JSON error body."""
    if not message:
        detail = f"{reason.capitalize()}."
    else:
        detail = f"{reason}: {message}"
        if status in HINTS:
            detail += f"; {HINTS[status]}."
    body = json.dumps(error_body(detail)).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + body


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error's signature and socket handling, with a JSON body."""
    util.write_nonblock(sock, json_error_response(status_int, reason, mesg))


class JsonErrorWorker(ThreadWorker):
    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()
