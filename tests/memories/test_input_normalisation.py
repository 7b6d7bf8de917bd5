"""Entity ids are normalised once (stripped, Unicode NFC) on every write and every read, and
ids no one could tell apart from another are refused on writes; a request that is no UTF-8
text is a 400 wherever the bytes are."""

import json
import unicodedata
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from core.api.errors import error_body
from entities.models import Entity
from memories.models import Event, Memory
from tenancy.models import Role
from tests.conftest import add_verbatim
from tests.dashboard.conftest import logged_in, make_user

pytestmark = pytest.mark.django_db

NFC = unicodedata.normalize("NFC", "café")
NFD = unicodedata.normalize("NFD", "café")


def listed(api, filters):
    response = api.post("/v3/memories/", {"filters": filters}, format="json")
    assert response.status_code == 200, response.content
    return sorted(item["memory"] for item in response.json()["results"])


def test_the_two_spellings_of_cafe_differ_before_normalisation():
    assert NFC != NFD and len(NFD) == len(NFC) + 1


# --- one normal form, on writes and reads --------------------------------------------------------


def test_an_id_written_decomposed_is_read_composed_and_back(api):
    add_verbatim(api, "Likes espresso", user_id=NFD, run_id=f" {NFD} ")
    memory = Memory.objects.get()
    assert (memory.user_id, memory.run_id) == (NFC, NFC)
    assert Entity.objects.filter(kind="user", name=NFC).exists()
    assert listed(api, {"user_id": NFC}) == ["Likes espresso"]
    assert listed(api, {"user_id": NFD}) == ["Likes espresso"]
    assert listed(api, {"user_id": {"in": [f" {NFD} ", "other"]}}) == ["Likes espresso"]
    assert listed(api, {"user_id": "*", "run_id": {"nin": [NFD]}}) == []


def test_surrounding_whitespace_is_no_part_of_an_id(api):
    add_verbatim(api, "Alice likes tea", user_id=" alice ")
    assert Memory.objects.get().user_id == "alice"
    assert listed(api, {"user_id": "alice"}) == ["Alice likes tea"]
    assert listed(api, {"user_id": "\talice\n"}) == ["Alice likes tea"]
    v1 = api.get("/v1/memories/", {"user_id": " alice "})
    assert [m["memory"] for m in v1.json()] == ["Alice likes tea"]
    v2 = api.post("/v2/memories/", {"filters": {"user_id": " alice"}}, format="json")
    assert [m["memory"] for m in v2.json()] == ["Alice likes tea"]


def test_an_id_inside_filters_of_an_add_is_normalised_too(api):
    response = api.post(
        "/v3/memories/add/",
        {"messages": "Likes tea", "filters": {"user_id": f" {NFD}"}, "infer": False},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert Memory.objects.get().user_id == NFC


def test_a_speakers_name_is_normalised_like_an_id(api):
    messages = [{"role": "user", "content": "I like tea", "name": f" {NFD} "}]
    add_verbatim(api, messages, run_id="chat")
    assert Memory.objects.get().user_id == NFC


def test_a_bare_star_still_means_any_id_on_reads_and_eq_star_stays_literal(api):
    add_verbatim(api, "Alice likes tea", user_id="alice")
    assert listed(api, {"user_id": "*"}) == ["Alice likes tea"]
    assert listed(api, {"user_id": " * "}) == ["Alice likes tea"]
    assert listed(api, {"user_id": {"eq": "*"}}) == []


def test_empty_ids_keep_meaning_no_id(api):
    add_verbatim(api, "Alice likes tea", user_id="alice", agent_id=" ")
    assert Memory.objects.get().agent_id is None
    assert listed(api, {"user_id": "alice", "agent_id": "  "}) == ["Alice likes tea"]


def test_entity_paths_find_an_entity_by_either_spelling(api):
    add_verbatim(api, "Likes espresso", user_id=NFC)
    for spelling in (NFC, NFD, f" {NFD} "):
        response = api.get(f"/v2/entities/user/{quote(spelling)}/")
        assert response.status_code == 200, (spelling, response.content)
        assert response.json()[0]["name"] == NFC
    assert api.delete(f"/v2/entities/user/{quote(NFD)}/").status_code == 200
    assert not Memory.objects.exists()
    assert not Entity.objects.exists()


def test_an_entity_stored_before_normalisation_keeps_its_exact_name(api, project):
    """Ids written before this change are not rewritten: their exact spelling still finds them."""
    Entity.objects.create(project=project, kind="user", name="alice ")
    Entity.objects.create(project=project, kind="user", name="alice")
    response = api.get(f"/v2/entities/user/{quote('alice ')}/")
    assert response.json()[0]["name"] == "alice "
    assert api.delete(f"/v2/entities/user/{quote('alice ')}/").status_code == 200
    assert list(Entity.objects.values_list("name", flat=True)) == ["alice"]


def test_creating_an_entity_normalises_its_id(api):
    response = api.post("/v1/users/", {"user_id": f" {NFD} "}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user_id"] == NFC
    again = api.post("/v1/users/", {"user_id": NFC}, format="json")
    assert again.status_code == 200
    assert list(Entity.objects.values_list("name", flat=True)) == [NFC]


def test_a_delete_by_id_normalises_and_a_blank_id_deletes_nothing(api):
    add_verbatim(api, "Alice likes tea", user_id="alice")
    add_verbatim(api, "Bob likes coffee", user_id="bob")
    # A blank id names no entity: refused like no id at all, never "every memory".
    for query in (
        "user_id=%20",
        "user_id=%09&agent_id=%20",
        "filters=" + quote("{'user_id': ' '}"),
    ):
        response = api.delete(f"/v1/memories/?{query}")
        assert response.status_code == 400, (query, response.content)
        assert Memory.objects.count() == 2
    response = api.delete("/v1/memories/?" + "user_id=%20alice%20")
    assert response.status_code == 200, response.content
    assert list(Memory.objects.values_list("user_id", flat=True)) == ["bob"]
    # Given twice, as a parameter and in mem0ai 2.x's `filters`: the same id once normalised.
    both = "user_id=bob&filters=" + quote("{'user_id': ' bob'}")
    assert api.delete(f"/v1/memories/?{both}").status_code == 200
    assert not Memory.objects.exists()


@pytest.fixture
def alice_client(project):
    return logged_in(make_user("alice", project, Role.ADMIN))


def test_the_dashboard_filters_by_the_normal_form(alice_client, api):
    add_verbatim(api, "Likes espresso", user_id=NFC)
    page = alice_client.get("/", {"user_id": NFD})
    assert page.status_code == 200
    assert "Likes espresso" in page.content.decode()
    entity_page = alice_client.get(f"/entities/user/{quote(NFD)}/")
    assert entity_page.status_code == 200
    assert "Likes espresso" in entity_page.content.decode()


@pytest.mark.sdk
@pytest.mark.django_db(transaction=True)
def test_the_python_sdk_reads_an_id_in_either_spelling_and_is_told_what_is_refused(
    live_server, project
):
    from django.db import connections
    from mem0 import MemoryClient
    from mem0.exceptions import ValidationError

    from tenancy.services import create_api_key

    # As tests/sdk/conftest.py: the client's kept-alive connections would otherwise keep a
    # live-server thread, and its database session, past the test.
    connection_settings = connections.settings["default"]
    saved, connection_settings["CONN_MAX_AGE"] = connection_settings["CONN_MAX_AGE"], 0
    key = create_api_key(project, role=Role.ADMIN, name="sdk")
    client = MemoryClient(api_key=key, host=live_server.url)
    try:
        client.add("Likes espresso", user_id=NFD, infer=False)
        page = client.get_all(filters={"user_id": f" {NFC} "})
        assert [m["memory"] for m in page["results"]] == ["Likes espresso"]
        assert page["results"][0]["user_id"] == NFC
        with pytest.raises(ValidationError, match=r"user_id: contains an invisible character"):
            client.add("hi", user_id="ali\u200bce", infer=False)
    finally:
        client.client.close()
        connection_settings["CONN_MAX_AGE"] = saved


# --- ids that would look like another: refused on writes -----------------------------------------


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("ali\u200bce", "an invisible character (U+200B ZERO WIDTH SPACE)"),
        ("\ufeffalice", "an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
        ("ali\u200dce", "an invisible character (U+200D ZERO WIDTH JOINER)"),
        ("alice\u202egnp.exe", "an invisible character (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("ali\u2060ce", "an invisible character (U+2060 WORD JOINER)"),
        ("ali\u00adce", "an invisible character (U+00AD SOFT HYPHEN)"),
        ("ali\x07ce", "a control character (U+0007)"),
        ("ali\nce", "a control character (U+000A)"),
        ("ali\u2028ce", "a line separator (U+2028 LINE SEPARATOR)"),
    ],
)
@pytest.mark.parametrize("field", ["user_id", "agent_id", "run_id"])
def test_an_id_with_an_invisible_character_is_refused_on_add(api, field, value, named):
    body = {"messages": "Likes tea", "infer": False, field: value}
    if field != "user_id":
        body["user_id"] = "alice"
    response = api.post("/v3/memories/add/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == f"{field}: contains {named}; ids must be visible text"
    assert not Memory.objects.exists()
    assert not Event.objects.exists()
    assert not Entity.objects.exists()


def test_a_bare_star_is_refused_as_an_id_to_write(api):
    response = api.post("/v3/memories/add/", {"messages": "hi", "user_id": " * "}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        'user_id: is "*", which reads take as "any id"; choose another id'
    )
    created = api.post("/v1/agents/", {"agent_id": "*"}, format="json")
    assert created.status_code == 400
    assert created.json()["detail"].startswith('agent_id: is "*"')
    assert not Memory.objects.exists() and not Entity.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"messages": "hi", "filters": {"user_id": "a\u200bb"}, "infer": False},
        {"messages": [{"role": "user", "content": "hi", "name": "a\u200bb"}], "run_id": "r"},
        {"messages": [{"role": "user", "content": "hi", "name": "*"}], "run_id": "r"},
    ],
)
def test_ids_inside_filters_and_speaker_names_are_checked_too(api, body):
    response = api.post("/v3/memories/add/", {"infer": False, **body}, format="json")
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "U+200B" in detail or '"*"' in detail
    assert "filters.user_id" in detail or "messages: [0].name" in detail
    assert not Memory.objects.exists()


def test_creating_an_entity_with_an_invisible_character_is_refused(api):
    response = api.post("/v1/runs/", {"run_id": "run\u200b1"}, format="json")
    assert response.status_code == 400
    assert "run_id: contains an invisible character (U+200B" in response.json()["detail"]
    assert not Entity.objects.exists()


def test_reads_of_an_id_with_an_invisible_character_find_nothing_rather_than_refuse(api):
    add_verbatim(api, "Alice likes tea", user_id="alice")
    assert listed(api, {"user_id": "ali\u200bce"}) == []


# --- bytes that are no UTF-8 text ----------------------------------------------------------------


def raw_get(client, path, query=""):
    """A GET whose path and query string reach the server as these bytes, percent-escapes kept."""
    return client.generic("GET", path, QUERY_STRING=query)


@pytest.mark.parametrize(
    "query", ["user_id=%FF", "user_id=caf%E9", "x%C3=1&user_id=u", "user_id=%C3"]
)
def test_a_query_string_that_is_no_utf8_is_a_400(api, query):
    add_verbatim(api, "Likes tea", user_id="u")
    response = raw_get(api, "/v1/memories/", query)
    assert response.status_code == 400, response.content
    assert response.json() == error_body(
        "The query string is not valid UTF-8 once percent-decoded; "
        "percent-encode the UTF-8 bytes of each character (é is %C3%A9)."
    )


def test_a_query_string_in_utf8_is_read(api):
    add_verbatim(api, "Likes espresso", user_id=NFC)
    response = raw_get(api, "/v1/memories/", "user_id=caf%C3%A9")
    assert [m["memory"] for m in response.json()] == ["Likes espresso"]


def wsgi_get(path):
    """A GET through memdash.wsgi.application, the application gunicorn serves (the test client
    would build Django's request itself, past the WSGI wrapper that checks the raw path)."""
    from django.test import RequestFactory

    from memdash.wsgi import application

    environ = RequestFactory()._base_environ(PATH_INFO=path, REQUEST_METHOD="GET")
    started = []
    body = b"".join(application(environ, lambda status, headers: started.append(status)))
    return started[0], body


def test_a_path_that_is_no_utf8_is_a_400():
    # PATH_INFO holds the percent-decoded bytes, one character per byte (latin-1).
    status, body = wsgi_get("/v2/entities/user/caf\xe9/")
    assert status == "400 Bad Request"
    assert json.loads(body) == error_body(
        "The URL path is not valid UTF-8; percent-encode the UTF-8 bytes of each character."
    )
    status, body = wsgi_get("/entities/user/caf\xe9/")
    assert (status, body.decode()) == ("400 Bad Request", json.loads(json.dumps(body.decode())))
    assert body.decode().startswith("The URL path is not valid UTF-8")


def test_a_path_in_utf8_is_read(api):
    add_verbatim(api, "Likes espresso", user_id=NFC)
    status, _body = wsgi_get("/v2/entities/user/caf\xc3\xa9/")
    assert status == "401 Unauthorized"  # past the check (the request carries no key)


def test_an_authorization_header_that_is_no_utf8_is_a_400():
    response = APIClient().get("/v1/memories/?user_id=u", HTTP_AUTHORIZATION="Token \xff\xfe")
    assert response.status_code == 400
    assert response.json() == error_body("The Authorization header is not valid UTF-8 text.")


def test_a_json_body_that_is_no_utf8_is_a_400(api):
    for body in (b'{"messages": "caf\xe9", "user_id": "u"}', b'{"user_id": "u"}\xc3'):
        response = api.generic("POST", "/v3/memories/add/", body, content_type="application/json")
        assert response.status_code == 400, body
        assert "the body is not valid utf-8 text" in response.json()["detail"]
    assert not Event.objects.exists()


def test_a_declared_latin1_charset_is_read_as_latin1(api):
    add_verbatim(api, "Likes espresso", user_id=NFC)
    response = api.generic(
        "GET",
        "/v1/memories/",
        QUERY_STRING="user_id=caf%E9",
        content_type="text/plain; charset=latin-1",
    )
    assert response.status_code == 200, response.content
    assert [m["memory"] for m in response.json()] == ["Likes espresso"]


def test_dashboard_requests_that_are_no_utf8_get_a_plain_400(alice_client):
    response = alice_client.generic("GET", "/", QUERY_STRING="user_id=%FF")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    form = alice_client.generic(
        "POST",
        "/settings/",
        b"name=caf%E9",
        content_type="application/x-www-form-urlencoded",
    )
    assert form.status_code == 400
    assert form.content.decode() == "The form body is not valid UTF-8 once percent-decoded."
