"""Input found by fuzzing the live API: each case is a 4xx with a clear `detail`, never a 500,
and leaves nothing written (or, for reads, nothing unreadable)."""

import json
from urllib.parse import urlencode

import pytest

from core.api.errors import error_body
from memories.models import Event, Memory, MemoryHistory, Webhook
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db

NUL = "a\u0000b"
SURROGATE = "\ud800"


def post_raw(api, path, text, method="POST"):
    """Send `text` as the JSON body exactly (json.dumps escapes NUL and lone surrogates)."""
    return api.generic(method, path, text, content_type="application/json")


def add_body(**extra):
    return {
        "messages": [{"role": "user", "content": "hi"}],
        "user_id": "u",
        "infer": False,
        **extra,
    }


def assert_400(response, detail_part):
    assert response.status_code == 400, response.content
    assert detail_part in response.json()["detail"]


def assert_nothing_written():
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()
    assert not Event.objects.exists()


# --- text PostgreSQL cannot store: NUL and unpaired surrogates, anywhere in a body ---------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (add_body(messages=[{"role": "user", "content": NUL}]), "body.messages[0].content"),
        (add_body(messages=[{"role": "user", "content": SURROGATE}]), "body.messages[0].content"),
        (add_body(metadata={"k": NUL}), "body.metadata.k"),
        (add_body(metadata={NUL: 1}), "A key in body.metadata"),
        (add_body(source=NUL), "body.source"),  # an ignored key still reaches the Event
        (add_body(output_format=SURROGATE), "body.output_format"),
        (add_body(filters={"user_id": NUL}), "body.filters.user_id"),
    ],
)
def test_unstorable_text_in_an_add_is_refused(api, body, where):
    response = post_raw(api, "/v3/memories/add/", json.dumps(body))
    assert_400(response, where)
    assert "NUL" in response.json()["detail"] or "surrogate" in response.json()["detail"]
    assert_nothing_written()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v3/memories/", {"filters": {"user_id": NUL}}),
        ("/v3/memories/search/", {"query": SURROGATE, "filters": {"user_id": "u"}}),
        ("/v2/memories/", {"filters": {"metadata": {"k": {"contains": NUL}}}}),
        ("/v1/memories/search/", {"query": "q", "user_id": "u", "categories": [NUL]}),
    ],
)
def test_unstorable_text_in_a_read_is_refused(api, path, body):
    response = post_raw(api, path, json.dumps(body))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "cannot be stored" in detail or "not valid Unicode" in detail


def test_unstorable_text_in_updates_is_refused_and_changes_nothing(api):
    memory_id = add_verbatim(api, "Likes tea", user_id="u")[0]["id"]
    response = post_raw(
        api, f"/v1/memories/{memory_id}/", json.dumps({"metadata": {"k": NUL}}), "PUT"
    )
    assert_400(response, "body.metadata.k")
    batch = {"memories": [{"memory_id": memory_id, "text": "new", "metadata": {"a": NUL}}]}
    assert_400(post_raw(api, "/v1/batch/", json.dumps(batch), "PUT"), "NUL")
    memory = Memory.objects.get()
    assert (memory.memory, memory.metadata) == ("Likes tea", None)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/memories/?user_id=%00",
        "/v1/entities/?type=%00",
        "/v2/entities/user/a%00b/",
    ],
)
def test_nul_in_the_url_is_a_400(api, path):
    assert_400(api.get(path), "NUL")
    assert_400(api.delete(path), "NUL")


def test_nul_in_a_dashboard_url_is_a_400_too(client):
    response = client.get("/memories/?user_id=%00")
    assert response.status_code == 400


def test_project_and_webhook_settings_refuse_unstorable_text(api, project):
    path = (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )
    assert_400(post_raw(api, path, json.dumps({"custom_instructions": NUL}), "PATCH"), "NUL")
    hooks = f"/api/v1/webhooks/projects/{project.public_id}/"
    body = {"name": SURROGATE, "url": "https://example.test/hook", "event_types": ["memory_add"]}
    assert_400(post_raw(api, hooks, json.dumps(body)), "surrogate")
    assert not Webhook.objects.exists()


# --- numbers and nesting the JSON parser used to let through ----------------------------------


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/v3/memories/search/", '{"query": "q", "filters": {"user_id": "u"}, "top_k": 1e309}'),
        ("/v3/memories/", '{"filters": {"user_id": "u"}, "page": -1e309}'),
        ("/v3/memories/", '{"filters": {"user_id": "u"}, "page_size": NaN}'),
    ],
)
def test_infinite_and_nan_numbers_are_refused(api, path, text):
    assert_400(post_raw(api, path, text), "JSON parse error")


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deep_nesting_is_refused(api, depth):
    text = '{"filters": ' + '{"AND": [' * depth + '{"user_id": "u"}' + "]}" * depth + "}"
    assert_400(post_raw(api, "/v3/memories/", text), "nests deeper than 64 levels")


def test_deeply_nested_metadata_is_refused(api):
    body = add_body()
    text = json.dumps(body)[:-1] + ', "metadata": {"k": ' + "[" * 1000 + "]" * 1000 + "}}"
    assert_400(post_raw(api, "/v3/memories/add/", text), "nests deeper")
    assert_nothing_written()


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"page": 1.5}, "page must be a positive integer, got 1.5"),
        ({"page_size": 1e300}, "page_size must be at most 1000, got 1000000000000"),
    ],
)
def test_page_numbers_must_be_whole(api, body, detail):
    response = api.post("/v3/memories/", {"filters": {"user_id": "u"}, **body}, format="json")
    assert_400(response, detail)
    assert len(response.json()["detail"]) < 120


# --- timestamps and dates at the edges of what can be stored and read back ---------------------


@pytest.mark.parametrize(
    "timestamp",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1800-01-01", -5_000_000_000, "²"],
)
def test_timestamps_outside_the_readable_range_are_refused(api, timestamp):
    response = api.post("/v3/memories/add/", add_body(timestamp=timestamp), format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("timestamp: must")
    assert_nothing_written()


def test_an_update_with_a_bad_timestamp_changes_nothing(api):
    memory_id = add_verbatim(api, "Likes tea", user_id="u")[0]["id"]
    before = Memory.objects.get().created_at
    response = api.put(
        f"/v1/memories/{memory_id}/", {"timestamp": "9999-12-31T23:59:59-01:00"}, format="json"
    )
    assert_400(response, "timestamp: must fall within the years 1900-2999")
    assert Memory.objects.get().created_at == before
    assert api.get(f"/v1/memories/{memory_id}/").status_code == 200


def test_timestamps_are_stored_in_utc(api):
    add_verbatim(api, "Early riser", user_id="u", timestamp="2024-07-20T08:30:00+02:00")
    assert (
        api.post("/v3/memories/", {"filters": {"user_id": "u"}}, format="json").json()["results"][
            0
        ]["created_at"]
        == "2024-07-20T06:30:00+00:00"
    )


@pytest.mark.parametrize(
    "filters",
    [
        {"user_id": "u", "created_at": "9999-12-31"},
        {"user_id": "u", "created_at": {"lte": "9999-12-31"}},
        {"user_id": "u", "updated_at": {"in": ["9999-12-31"]}},
    ],
)
def test_date_filters_at_year_9999_work(api, filters):
    add_verbatim(api, "Likes tea", user_id="u")
    response = api.post("/v3/memories/", {"filters": filters}, format="json")
    assert response.status_code == 200


def test_a_date_filter_past_year_9999_in_utc_is_a_400(api):
    filters = {"user_id": "u", "created_at": {"lt": "9999-12-31T23:59:59-01:00"}}
    response = api.post("/v3/memories/", {"filters": filters}, format="json")
    assert_400(response, "outside the years 1-9999 in UTC")


def test_end_date_9999_on_the_legacy_list(api):
    add_verbatim(api, "Likes tea", user_id="u")
    response = api.get("/v1/memories/?user_id=u&end_date=9999-12-31")
    assert response.status_code == 200
    assert len(response.json()) == 1


# --- sizes the database columns or the storage budget cannot take ------------------------------


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (add_body(user_id=None, filters={"user_id": "x" * 300}), "filters.user_id: Ensure"),
        (
            add_body(messages=[{"role": "user", "content": "hi", "name": "N" * 300}]),
            "[0].name has 300 characters; at most 255",
        ),
        (add_body(metadata={"blob": "x" * 70_000}), "metadata: is 70,012 bytes as JSON"),
    ],
)
def test_oversized_values_are_refused(api, body, detail):
    assert_400(api.post("/v3/memories/add/", body, format="json"), detail)
    assert_nothing_written()


def test_oversized_project_name_and_webhook_fields(api, project):
    path = (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )
    assert_400(api.patch(path, {"name": "x" * 300}, format="json"), "name has 300 characters")
    hooks = f"/api/v1/webhooks/projects/{project.public_id}/"
    long_url = "https://example.test/" + "p" * 2010
    body = {"name": "n", "url": long_url, "event_types": ["memory_add"]}
    assert_400(api.post(hooks, body, format="json"), "url has 2031 characters; at most 2000")
    body = {"name": "n" * 300, "url": "https://example.test/", "event_types": ["memory_add"]}
    assert_400(api.post(hooks, body, format="json"), "name has 300 characters; at most 200")
    assert not Webhook.objects.exists()


# --- DELETE /v1/memories/?filters=... (mem0ai 2.x sends a Python repr) -------------------------


@pytest.mark.parametrize(
    ("filters", "detail"),
    [
        ("{[1]: 2}", "filters must be an object of entity ids"),
        ("-" * 3000 + "1", "filters must be an object of entity ids"),
        ("{'user_id': {'x': 1}}", "filters.user_id must be a string id, got dict"),
        ("{'user_id': b'x'}", "filters.user_id must be a string id, got bytes"),
    ],
)
def test_delete_filters_that_are_not_entity_ids(api, filters, detail):
    add_verbatim(api, "Likes tea", user_id="u")
    response = api.delete(f"/v1/memories/?{urlencode({'filters': filters})}")
    assert_400(response, detail)
    assert Memory.objects.count() == 1


def test_delete_filters_that_disagree_with_a_parameter(api):
    add_verbatim(api, "Likes tea", user_id="u")
    response = api.delete("/v1/memories/?user_id=u&filters={'user_id': 'v'}")
    assert_400(response, "user_id is 'u' as a parameter but 'v' in filters")
    assert Memory.objects.count() == 1


# --- reads that would silently cover the whole project, and loose types ------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/memories/", {}),
        ("/v2/memories/search/", {"query": "tea"}),
        ("/v1/memories/search/", {"query": "tea"}),
    ],
)
def test_legacy_reads_need_some_filter(api, path, body):
    add_verbatim(api, "Likes tea", user_id="u")
    assert_400(api.post(path, body, format="json"), "filters is required")


def test_legacy_v1_get_with_version_v2_needs_some_filter(api):
    assert_400(api.get("/v1/memories/?version=v2"), "filters is required")


def test_memory_text_must_be_a_string(api):
    memory_id = add_verbatim(api, "Likes tea", user_id="u")[0]["id"]
    response = api.put(f"/v1/memories/{memory_id}/", {"text": 123}, format="json")
    assert_400(response, "text: must be a string, got int")
    assert Memory.objects.get().memory == "Likes tea"


def test_unknown_entity_type_on_the_entity_list(api):
    assert_400(api.get("/v1/entities/?type=bogus"), "type must be one of user, agent, app, run")


def test_capitalised_api_path_gets_a_json_404(api):
    response = api.post("/V3/memories/add/", add_body(), format="json")
    assert response.status_code == 404
    assert response.json() == error_body("No API endpoint at /V3/memories/add/.")


@pytest.mark.parametrize("switch", ["rerank", "filter_memories", "only_metadata_based_search"])
def test_ignored_search_switches_must_still_be_booleans(api, switch):
    body = {"query": "food", "user_id": "u", switch: "x" * 10_000}
    response = api.post("/v1/memories/search/", body, format="json")
    assert (response.status_code, response.json()) == (
        400,
        error_body(f"{switch} must be true or false, got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."),
    )
    body[switch] = True
    assert api.post("/v1/memories/search/", body, format="json").status_code == 200


# --- charsets that are no text encoding, and JSON inside query strings ---------------------------


@pytest.mark.parametrize("charset", ["zlib", "bz2", "rot13", "base64"])
def test_a_charset_that_is_no_text_encoding_is_refused(api, charset):
    import zlib

    body = zlib.compress(json.dumps(add_body(metadata={"pad": "x" * 100_000})).encode())
    content_type = f"application/json; charset={charset}"
    response = api.generic("POST", "/v3/memories/add/", body, content_type=content_type)
    assert response.status_code == 400
    assert response.json() == error_body(f"charset {charset!r} is not a text encoding; use UTF-8.")
    assert_nothing_written()


def test_a_charset_that_is_no_text_encoding_never_reaches_django():
    """Django would decode the query string with it while building the request, before any
    middleware: the WSGI application refuses it first."""
    from django.test import RequestFactory

    from memdash.wsgi import application

    environ = RequestFactory()._base_environ(
        PATH_INFO="/v1/memories/",
        QUERY_STRING="user_id=u",
        REQUEST_METHOD="GET",
        CONTENT_TYPE="application/json; charset=zlib",
    )
    started = []
    body = b"".join(application(environ, lambda status, headers: started.append(status)))
    assert started == ["400 Bad Request"]
    assert json.loads(body) == error_body("charset 'zlib' is not a text encoding; use UTF-8.")


@pytest.mark.parametrize(
    ("metadata", "detail"),
    [
        ('{"k": "\\u0000"}', "metadata.k contains a NUL character"),
        ('{"k": NaN}', "metadata must be a JSON object"),
        ('{"k": 1e999}', "metadata must be a JSON object"),
        ('{"a":' + "[" * 5000, "metadata must be a JSON object"),
        ('{"a":' + "[" * 100 + "]" * 100 + "}", "nests deeper than 64 levels"),
    ],
)
def test_json_in_the_query_string_is_checked_like_a_body(api, metadata, detail):
    assert_400(
        api.get("/v1/memories/?" + urlencode({"user_id": "u", "metadata": metadata})), detail
    )


@pytest.mark.parametrize("repr_", ["{'user_id': '\\x00'}", "{'user_id': '\\ud800'}"])
def test_delete_filters_spelling_out_unstorable_text_are_refused(api, repr_):
    add_verbatim(api, "Likes tea", user_id="u")
    response = api.delete("/v1/memories/?" + urlencode({"filters": repr_}))
    assert_400(response, "filters.user_id")
    assert Memory.objects.count() == 1
