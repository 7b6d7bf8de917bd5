"""Errors answered before any API view runs are JSON with `detail`, as every API error is.

gunicorn answers some requests itself, before Django sees them (memdash.gunicorn_worker), and
Django answers some before DRF does (core.request_errors). The gunicorn cases run against a real
gunicorn started as `make run` starts it (testkit.web.WebServer, memdash/gunicorn_conf.py),
with requests written byte for byte on a socket.
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from core.api.errors import error_body
from memdash.gunicorn_worker import json_error_response
from testkit.web import WebServer


@pytest.fixture(scope="module")
def web(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = WebServer(workers=1, threads=2).start()
    try:
        yield server
    finally:
        server.stop()


def exchange(server: WebServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as is and read the whole answer (gunicorn closes after its errors)."""
    assert server.port is not None
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def get(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def assert_json_error(answer, status: int, *detail_parts: str) -> dict:
    got_status, headers, body = answer
    assert got_status == status, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    data = json.loads(body)
    assert data == error_body(data["detail"])
    for part in detail_parts:
        assert part in data["detail"]
    return data


def test_an_over_long_url_is_a_json_414(web):
    answer = exchange(web, get("/v1/memories/?user_id=" + "a" * 5000))
    data = assert_json_error(answer, 414, "URI Too Long", "4094", "JSON body")
    print(f"\n414 detail: {data['detail']}")


def test_an_oversized_header_is_a_json_431(web):
    answer = exchange(web, get("/v1/ping/", "X-Padding: " + "p" * 9000))
    assert_json_error(answer, 431, "Request Header Fields Too Large", "smaller headers")


def test_too_many_headers_is_a_json_431(web):
    answer = exchange(web, get("/v1/ping/", *(f"X-Header-{i}: {i}" for i in range(120))))
    assert_json_error(answer, 431, "limit request headers fields")


def test_a_malformed_request_line_is_a_json_400(web):
    answer = exchange(web, b"NOT A REQUEST LINE AT ALL\r\n\r\n")
    assert_json_error(answer, 400, "Bad Request")


def test_an_invalid_header_name_is_a_json_400(web):
    answer = exchange(web, get("/v1/ping/", "Bad Header: x"))
    assert_json_error(answer, 400, "Bad Request")


def test_a_path_that_is_no_utf8_is_a_json_400_under_gunicorn(web):
    answer = exchange(web, get("/v2/entities/user/caf%E9/"))
    assert_json_error(answer, 400, "The URL path is not valid UTF-8")


def test_a_query_string_that_is_no_utf8_is_a_json_400_under_gunicorn(web):
    # Django answers this one (core.middleware), through gunicorn: read with an HTTP client.
    response = httpx.get(f"{web.url}/v1/memories/?user_id=%FF", timeout=60)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The query string is not valid UTF-8")


def test_an_ordinary_request_is_served_by_django(web):
    response = httpx.get(f"{web.url}/v1/ping/", timeout=60)
    assert response.status_code == 401  # no key: Django and DRF answered, in JSON too
    assert "Authentication credentials were not provided" in response.json()["detail"]


def test_gunicorn_runs_with_the_memdash_settings(web):
    log = web.output()
    assert "Using worker: memdash.gunicorn_worker.JsonErrorWorker" in log


def test_an_application_failure_before_its_response_reads_as_the_apis_500():
    response = json_error_response(500, "Internal Server Error", "")
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert json.loads(body) == error_body("Internal server error.")


# --- refused by Django before DRF -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_host_not_allowed_is_a_json_400_on_the_api(client):
    response = client.get("/v1/ping/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json() == error_body("The Host header names no host this server answers for.")
    page = client.get("/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_body_too_large_outside_drf_is_a_json_413(client, settings):
    from django.core.exceptions import RequestDataTooBig
    from django.test import RequestFactory

    from core.request_errors import bad_request

    request = RequestFactory().post("/v1/memories/")
    response = bad_request(request, RequestDataTooBig("too big"))
    assert response.status_code == 413
    assert json.loads(response.content) == error_body(
        "Request body is too large (see MEMDASH_MAX_BODY_BYTES)."
    )


def test_a_csrf_failure_on_an_api_path_is_json():
    from django.test import RequestFactory

    from core.request_errors import csrf_failure

    response = csrf_failure(RequestFactory().post("/v1/memories/"), "CSRF cookie not set.")
    assert response.status_code == 403
    assert json.loads(response.content)["detail"].startswith(
        "CSRF verification failed: CSRF cookie not set."
    )
