"""Answering the auditor: `GET /v1/audit/` (admin keys) and the dashboard's Audit page (admin and
compliance roles) list the project's log newest first, filtered by kind, action, actor, entity,
memory and dates, in pages; the page downloads what the filters select as CSV or JSON. Unknown
filters and values are 400s that say which, and no other project's row is ever shown."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from audit import query as audit_query
from audit.models import AuditEntry
from core.api.errors import error_body
from tenancy.models import ApiKey, Role
from tenancy.services import create_api_key
from tests.conftest import ANY_TIMESTAMP, add_verbatim, api_client
from tests.dashboard.conftest import htmx, logged_in, make_user

pytestmark = pytest.mark.django_db

MARCH = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def insert(project, at: dt.datetime, tag: str, **values) -> int:
    """A log row of `project` at a given time (as audit.log writes them, by plain SQL); `tag`
    is its target, which names it in these tests."""
    row = {
        "at": at,
        "project_id": project.pk,
        "kind": "read",
        "action": "memories.list",
        "surface": "dashboard",
        "actor_type": "user",
        "actor_name": "olga",
        "actor_label": "user:olga",
        "role": "compliance",
        "target": tag,
        **values,
    }
    for name in ("filters", "details"):
        if row.get(name) is not None:
            row[name] = json.dumps(row[name])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_log ({', '.join(row)}) VALUES ({', '.join(['%s'] * len(row))}) "
            "RETURNING id",
            list(row.values()),
        )
        return cursor.fetchone()[0]


def only_row(response) -> int:
    ids = list(AuditEntry.objects.filter(request_id=response["X-Request-ID"]).values_list("id"))
    assert len(ids) == 1, ids
    return ids[0][0]


@pytest.fixture
def reader(project):
    raw = create_api_key(project, role=Role.VIEWER, name="reader bot")
    return api_client(raw), ApiKey.objects.get(name="reader bot")


@pytest.fixture
def world(api, reader, project, other_project, other_api):
    """In `project`: a search of maria's memories and a get of bob's by the key "reader bot"
    (now), and three rows of March 2025 (two reads by olga, a settings change by alice). In
    `other_project`: its own reads of its own maria, by "outsider key"."""
    client, key = reader
    maria = add_verbatim(api, "Maria likes green tea", user_id="maria")[0]["id"]
    bob = add_verbatim(api, "Bob likes chess", user_id="bob")[0]["id"]
    search = client.post(
        "/v3/memories/search/",
        {"query": "green tea", "filters": {"user_id": "maria"}},
        format="json",
    )
    get = client.get(f"/v1/memories/{bob}/")
    assert search.status_code == get.status_code == 200

    add_verbatim(other_api, "Their maria likes coffee", user_id="maria")
    outsider = other_api.post(
        "/v3/memories/search/", {"query": "coffee", "filters": {"user_id": "maria"}}, format="json"
    )
    assert outsider.status_code == 200

    rows = {
        "search": only_row(search),
        "bob-get": only_row(get),
        "mar-1": insert(
            project,
            MARCH.replace(hour=10),
            "mar-1",
            entities=["user:maria"],
            memory_ids=[maria],
            total=1,
        ),
        "mar-2": insert(
            project,
            MARCH.replace(day=2, hour=23, minute=30),
            "mar-2",
            kind="change",
            action="settings.change",
            actor_name="alice",
            actor_label="user:alice",
            role="admin",
            entities=[],
            details={"before": {"name": "a"}, "after": {"name": "b"}},
        ),
        "mar-3": insert(
            project,
            MARCH.replace(day=3),
            "mar-3",
            action="memory.get",
            entities=["agent:maria"],
        ),
        "other-search": only_row(outsider),
        "other-mar-2": insert(
            other_project,
            MARCH.replace(day=2, hour=12),
            "other-mar-2",
            entities=["user:maria"],
            memory_ids=[maria],
        ),
    }
    return {"maria": maria, "bob": bob, "key": key, "rows": rows}


def names(world, results) -> list[str]:
    """The world's names of the rows in `results`, in order; other rows by their action."""
    by_id = {pk: name for name, pk in world["rows"].items()}
    return [by_id.get(r["id"], r["action"]) for r in results]


def audit(client, query: str = "", **params):
    return client.get(f"/v1/audit/?{query}" if query else "/v1/audit/", params or None)


# --- GET /v1/audit/ --------------------------------------------------------------------------


def test_an_admin_key_lists_the_projects_log_newest_first(api, world, reader):
    response = audit(api)
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    # The reads of now (newest row first), the keys made for this test, then March backwards.
    assert names(world, results) == [
        "bob-get",
        "search",
        "key.create",  # "reader bot"
        "key.create",  # "test admin key"
        "mar-3",
        "mar-2",
        "mar-1",
    ]
    assert body["count"] == 7 and body["next"] is None and body["previous"] is None
    order = [(dt.datetime.fromisoformat(r["at"]), r["id"]) for r in results]
    assert order == sorted(order, reverse=True)

    _client, key = reader
    search = results[1]
    assert search == {
        "id": world["rows"]["search"],
        "at": ANY_TIMESTAMP,
        "kind": "read",
        "action": "memories.search",
        "surface": "api",
        "actor": {
            "type": "key",
            "id": str(key.pk),
            "name": "reader bot",
            "label": key.actor,
            "role": "viewer",
        },
        "ip": "127.0.0.1",
        "user_agent": None,
        "request_id": search["request_id"],
        "path": "/v3/memories/search/",
        "entities": ["user:maria"],
        "filters": {"user_id": "maria"},
        "query": "green tea",
        "memory_ids": [world["maria"]],
        "total": 1,
        "target": None,
        "details": None,
    }
    assert len(search["request_id"]) == 32


def test_pages_follow_next_and_previous_links(api, world):
    everything = [r["id"] for r in audit(api).json()["results"]]
    seen, url, pages = [], "/v1/audit/?page_size=2", 0
    while url:
        body = api.get(url).json()
        assert body["count"] == len(everything)
        seen += [r["id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    assert seen == everything and pages == 4
    assert api.get("/v1/audit/?page_size=2&page=9").status_code == 404


def test_deep_pages_follow_keyset_cursors(api, world, settings):
    # Past MEMDASH_MAX_PAGE_OFFSET rows, links carry a (at, id) cursor instead of an offset.
    settings.MEMDASH_MAX_PAGE_OFFSET = 0
    everything = [r["id"] for r in audit(api).json()["results"]]
    seen, url, last = [], "/v1/audit/?page_size=3&kind=read", None
    while url:
        body = api.get(url).json()
        seen += [r["id"] for r in body["results"]]
        assert body["next"] is None or "cursor=after." in body["next"]
        url, last = body["next"], body
    reads = [pk for pk in everything if pk in set(seen)]
    assert seen == reads and len(seen) == 4  # search, bob-get, mar-3, mar-1
    # ... the filter kept on every link, and back from the last page.
    assert "kind=read" in last["previous"] and "cursor=before." in last["previous"]
    back = api.get(last["previous"]).json()
    assert [r["id"] for r in back["results"]] == seen[:3]
    bad = api.get("/v1/audit/?cursor=after.bm90LWEtY3Vyc29y")
    assert bad.status_code == 400 and "invalid page cursor" in bad.json()["detail"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.COMPLIANCE])
def test_keys_below_admin_are_refused(project, world, role):
    client = api_client(create_api_key(project, role=role, name=f"{role} key"))
    response = client.get("/v1/audit/")
    assert response.status_code == 403
    assert response.json() == error_body(
        f"This API key has the {role} role; this operation needs admin."
    )


def test_no_key_no_log(world):
    from rest_framework.test import APIClient

    response = APIClient().get("/v1/audit/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Authentication credentials were not provided.")


FILTERS = [
    # (query, the rows it selects, newest first)
    ("kind=read", ["bob-get", "search", "mar-3", "mar-1"]),
    ("kind=change", ["key.create", "key.create", "mar-2"]),
    ("action=memories.search", ["search"]),
    ("action=memory.get", ["bob-get", "mar-3"]),
    ("action=settings.change", ["mar-2"]),
    # A family: every action of it ("memory." is not "memories.").
    ("action=key.", ["key.create", "key.create"]),
    ("action=memory.", ["bob-get", "mar-3"]),
    ("action=memories.", ["search", "mar-1"]),
    ("action=webhook.", []),
    # An actor by a key's name, its prefix, or its label; a user by name or label.
    ("actor=reader+bot", ["bob-get", "search"]),
    ("actor={prefix}", ["bob-get", "search"]),
    ("actor=api-key:{prefix}", ["bob-get", "search"]),
    ("actor=olga", ["mar-3", "mar-1"]),
    ("actor=user:alice", ["mar-2"]),
    ("actor=system", ["key.create", "key.create"]),
    ("actor=outsider+key", []),
    ("actor=nobody", []),
    # An entity as kind:id, or a bare id of any kind.
    ("entity=user:maria", ["search", "mar-1"]),
    ("entity=maria", ["search", "mar-3", "mar-1"]),
    ("entity=agent:maria", ["mar-3"]),
    ("entity=bob", ["bob-get"]),
    ("entity=user:nobody", []),
    ("memory_id={maria}", ["search", "mar-1"]),
    ("memory_id={bob}", ["bob-get"]),
    ("memory_id=00000000-0000-0000-0000-000000000000", []),
    # Dates: a bare until includes its whole day; times may carry an offset.
    ("since=2025-03-02&until=2025-03-02", ["mar-2"]),
    ("until=2025-03-02", ["mar-2", "mar-1"]),
    ("until=2025-03-01", ["mar-1"]),
    ("until=2025-03-02T23:00:00Z", ["mar-1"]),
    ("until=2025-03-03T00:30:00%2B01:00", ["mar-2", "mar-1"]),
    ("since=2025-03-01T12:00:00Z&until=2025-03-03", ["mar-3", "mar-2"]),
    ("since=2025-03-03&kind=read", ["bob-get", "search", "mar-3"]),
    ("since=2025-03-04&until=2025-03-31", []),
    # Together, and blank values ignored.
    ("kind=read&entity=maria&until=2025-03-31", ["mar-3", "mar-1"]),
    ("kind=read&actor=olga&memory_id={maria}", ["mar-1"]),
    ("kind=&action=&entity=+&since=", None),  # everything
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q for q, _ in FILTERS])
def test_each_filter_narrows(api, world, query, expected):
    everything = names(world, audit(api).json()["results"])
    query = query.format(prefix=world["key"].prefix, maria=world["maria"], bob=world["bob"])
    response = audit(api, query)
    assert response.status_code == 200, response.content
    assert names(world, response.json()["results"]) == (
        everything if expected is None else expected
    )


def test_logins_of_the_projects_members_are_in_its_log(api, project, other_project, world):
    # Logins belong to no project: a member's appear in the project's log, an outsider's not.
    logged_in(make_user("maya", project, Role.VIEWER))
    logged_in(make_user("otto", other_project, Role.ADMIN))
    results = audit(api, "action=login").json()["results"]
    assert [(r["action"], r["target"]) for r in results] == [("login", "maya")]


UNKNOWN = ["user_id=maria", "Kind=read", "actor_name=olga", "search=tea", "entities=user:maria"]


@pytest.mark.parametrize("query", UNKNOWN)
def test_an_unknown_parameter_is_a_400_that_names_it(api, world, query):
    response = audit(api, query)
    assert response.status_code == 400
    name = query.split("=")[0]
    detail = response.json()["detail"]
    assert detail.startswith(f"unknown audit filter '{name}'; filters are action, actor, "), detail


BAD = [
    ("kind=foo", "kind must be read or change, got 'foo'"),
    ("kind=READ", "kind must be read or change, got 'READ'"),
    ("action=nope", "unknown action 'nope'; actions are memory.get, "),
    ("action=memories", "unknown action 'memories'"),
    ("action=nope.", "unknown action 'nope.'"),
    ("entity=team:maria", "entity is an id, or kind:id with kind one of user, agent, app, run"),
    ("memory_id=notauuid", "memory_id should be a UUID, got 'notauuid'"),
    ("since=garbage", "since must be a date (YYYY-MM-DD) or an ISO time, got 'garbage'"),
    ("until=2025-13-01", "until must be a date (YYYY-MM-DD) or an ISO time, got '2025-13-01'"),
    ("until=yesterday", "until must be a date"),
    ("since=2025-03-03&until=2025-03-02", "since is after until"),
    (f"actor={'x' * 301}", "actor has 301 characters; at most 300"),
    ("page_size=0", "page_size must be at least 1"),
    ("page=two", "page must be a positive integer"),
]


@pytest.mark.parametrize(("query", "detail"), BAD, ids=[q[:30] for q, _ in BAD])
def test_a_bad_value_is_a_400_that_says_why(api, world, query, detail):
    response = audit(api, query)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


def test_another_projects_rows_are_never_shown(api, other_api, world, other_project):
    theirs = {world["rows"]["other-search"], world["rows"]["other-mar-2"]}
    for query in ("", "entity=maria", "kind=read", "until=2025-03-31", "actor=outsider+key"):
        ids = {r["id"] for r in audit(api, query).json()["results"]}
        assert not ids & theirs, query
    # ... and the other project's admin sees its own rows, none of this project's.
    mine = set(world["rows"].values()) - theirs
    results = audit(other_api).json()["results"]
    assert {r["id"] for r in results} >= theirs
    assert not {r["id"] for r in results} & mine
    # Naming the other project is a 404, not an answer from the key's own.
    named = audit(api, f"project_id={other_project.public_id}")
    assert named.status_code == 404
    assert "This API key belongs to project" in named.json()["detail"]


def test_reading_the_log_is_not_itself_a_read_of_memories(api, world):
    response = audit(api)
    assert not AuditEntry.objects.filter(request_id=response["X-Request-ID"]).exists()


# --- the dashboard's Audit page --------------------------------------------------------------


def page_names(world, response) -> list[str]:
    by_id = {pk: name for name, pk in world["rows"].items()}
    return [by_id.get(e.id, e.action) for e in response.context["page"].rows]


@pytest.fixture
def olga(project):
    return logged_in(make_user("olga", project, Role.COMPLIANCE))


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.COMPLIANCE, 200), (Role.EDITOR, 403), (Role.VIEWER, 403)],
)
def test_the_page_is_for_admins_and_compliance_officers(project, world, role, status):
    client = logged_in(make_user(f"user-{role}", project, role))
    response = client.get("/audit/")
    assert response.status_code == status
    content = response.content.decode()
    if status == 403:
        assert f"Your role in this project is {role}; this needs compliance." in content
        assert "reader bot" not in content
    else:
        assert "<h1>Audit</h1>" in content


def test_anonymous_visitors_go_to_the_login_page(world):
    from django.test import Client

    response = Client().get("/audit/?kind=read")
    assert response.status_code == 302 and response["Location"].startswith("/login")


def test_the_page_lists_the_log_with_actors_by_name(olga, world):
    response = olga.get("/audit/")
    assert response.status_code == 200
    # olga's own membership and login (made before the world) are in her project's log too.
    assert page_names(world, response) == [
        "bob-get",
        "search",
        "key.create",
        "key.create",
        "login",
        "member.add",
        "mar-3",
        "mar-2",
        "mar-1",
    ]
    content = response.content.decode()
    prefix = world["key"].prefix
    assert f'<span class="actor">reader bot <small class="muted">{prefix}</small>' in content
    assert "query <q>green tea</q>" in content
    assert "other-mar-2" not in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=read&entity=maria", ["search", "mar-3", "mar-1"]),
        ("actor=reader+bot", ["bob-get", "search"]),
        ("action=settings.", ["mar-2"]),
        ("memory_id={maria}&until=2025-03-31", ["mar-1"]),
        ("since=2025-03-02&until=2025-03-02", ["mar-2"]),
    ],
)
def test_the_page_filters_like_the_api(olga, api, world, query, expected):
    query = query.format(maria=world["maria"])
    response = olga.get(f"/audit/?{query}")
    assert response.status_code == 200
    assert page_names(world, response) == expected
    assert names(world, audit(api, query).json()["results"]) == expected


def test_filters_are_pills_in_the_url(olga, world):
    response = olga.get("/audit/?kind=read&actor=reader+bot&entity=maria&since=2025-03-01")
    content = response.content.decode()
    assert 'aria-label="Remove filter kind read"' in content
    assert 'aria-label="Remove filter by reader bot"' in content
    assert 'aria-label="Remove filter entity maria"' in content
    assert 'aria-label="Remove filter since 2025-03-01"' in content
    # Removing one keeps the others, through htmx too.
    assert (
        'href="/audit/?actor=reader+bot&amp;entity=maria&amp;since=2025-03-01"\n'
        '     hx-get="/audit/?actor=reader+bot&amp;entity=maria&amp;since=2025-03-01" '
        'hx-target="#audit-table"' in content
    )
    assert '<a class="clear" href="/audit/"' in content
    # The downloads carry the same filters.
    assert (
        'href="/audit/?kind=read&amp;actor=reader+bot&amp;entity=maria&amp;since=2025-03-01'
        '&amp;format=csv"' in content
    )


def test_a_partial_swaps_the_table_and_pushes_the_canonical_url(olga, world):
    response = olga.get("/audit/?kind=read&entity=&actor=", headers=htmx("audit-table"))
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section id="audit-table"')
    assert response["HX-Push-Url"] == "/audit/?kind=read"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("kind=foo", "kind must be read or change, got &#x27;foo&#x27;"),
        ("action=nope", "unknown action &#x27;nope&#x27;"),
        ("memory_id=notauuid", "memory_id should be a UUID"),
        ("since=garbage", "since must be a date (YYYY-MM-DD) or an ISO time"),
        ("since=2025-03-03&until=2025-03-02", "since is after until"),
        ("entity=team:x", "entity is an id, or kind:id"),
        ("format=xml", "format must be csv or json"),
        ("entitty=maria", "unknown audit filter &#x27;entitty&#x27;; filters are action,"),
    ],
)
def test_a_bad_filter_is_a_clear_400_not_an_empty_page(olga, world, query, message):
    response = olga.get(f"/audit/?{query}")
    assert response.status_code == 400
    content = response.content.decode()
    assert "This filter cannot be applied." in content and message in content
    assert response.context["page"].rows == []
    if "format" not in query:
        # A download of a bad filter is the same page, not a file.
        download = olga.get(f"/audit/?{query}&format=csv")
        assert download.status_code == 400 and not download.streaming
    # htmx swaps only successful answers: the partial says it with a 200.
    partial = olga.get(f"/audit/?{query}", headers=htmx("audit-table"))
    assert partial.status_code == 200 and message in partial.content.decode()


def test_next_and_previous_pages(olga, project, world):
    # 60 more reads in February: more than a page (50).
    start = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    extra = [
        insert(project, start + dt.timedelta(hours=i), f"feb-{i}", entities=["user:maria"])
        for i in range(60)
    ]
    first = olga.get("/audit/?entity=maria")
    rows = first.context["page"].rows
    assert len(rows) == 50
    # newest first: the current search, March, then February backwards.
    assert [e.target for e in rows[:4]] == ["", "mar-3", "mar-1", "feb-59"]
    older = re.search(r'rel="next" href="([^"]+)"', first.content.decode())
    assert older, "no link to the next page"
    url = html.unescape(older[1])
    assert url.startswith("/audit/?entity=maria&older=")
    second = olga.get(url)
    assert second.status_code == 200
    following = second.context["page"].rows
    assert [e.id for e in rows + following] == [
        world["rows"]["search"],
        world["rows"]["mar-3"],
        world["rows"]["mar-1"],
        *reversed(extra),
    ]
    assert second.context["page"].older is None
    newer = re.search(r'rel="prev" href="([^"]+)"', second.content.decode())
    back = olga.get(html.unescape(newer[1]))
    assert [e.id for e in back.context["page"].rows] == [e.id for e in rows]


def test_a_stale_cursor_gets_the_first_page(olga, world):
    response = olga.get("/audit/?older=not-a-cursor")
    assert response.status_code == 200 and len(response.context["page"].rows) == 9


def download(response) -> str:
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content).decode()


def test_csv_download_of_what_the_filters_select(olga, world):
    response = olga.get("/audit/?kind=read&entity=maria&format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="memdash-audit-\d{8}-\d{6}\.csv"', response["Content-Disposition"]
    )
    lines = list(csv.reader(io.StringIO(download(response))))
    assert lines[0] == list(audit_query.CSV_COLUMNS)
    rows = [dict(zip(lines[0], line, strict=True)) for line in lines[1:]]
    assert [(r["action"], r["target"]) for r in rows] == [
        ("memories.search", ""),
        ("memory.get", "mar-3"),
        ("memories.list", "mar-1"),
    ]
    search = rows[0]
    assert search["actor_name"] == "reader bot" and search["actor_label"] == world["key"].actor
    assert (search["query"], search["filters"]) == ("green tea", '{"user_id": "maria"}')
    assert (search["entities"], search["memory_ids"]) == ("user:maria", world["maria"])
    assert rows[2]["at"] == "2025-03-01T10:00:00+00:00"


def test_csv_download_of_everything(olga, world):
    lines = list(csv.reader(io.StringIO(download(olga.get("/audit/?format=csv")))))
    shown = olga.get("/audit/").context["page"].rows
    assert len(lines) == 1 + len(shown)
    assert [line[2] for line in lines[1:]] == [e.action for e in shown]
    assert "other-mar-2" not in "".join(",".join(line) for line in lines)


def test_json_download_of_what_the_filters_select(olga, api, world):
    response = olga.get("/audit/?actor=reader+bot&format=json")
    assert response["Content-Type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="memdash-audit-\d{8}-\d{6}\.json"', response["Content-Disposition"]
    )
    entries = json.loads(download(response))
    # The same entries as the API gives.
    assert entries == audit(api, "actor=reader+bot").json()["results"]
    assert [e["id"] for e in entries] == [world["rows"]["bob-get"], world["rows"]["search"]]


def test_an_empty_download_is_still_well_formed(olga, world):
    assert json.loads(download(olga.get("/audit/?actor=nobody&format=json"))) == []
    lines = list(csv.reader(io.StringIO(download(olga.get("/audit/?actor=nobody&format=csv")))))
    assert lines == [list(audit_query.CSV_COLUMNS)]


def test_another_projects_log_is_not_on_the_page(project, other_project, world):
    theirs = {world["rows"]["other-search"], world["rows"]["other-mar-2"]}
    mine = set(world["rows"].values()) - theirs
    ours = logged_in(make_user("olga", project, Role.COMPLIANCE))
    for query in ("", "?entity=maria", "?since=2025-03-02&until=2025-03-02"):
        ids = {e.id for e in ours.get(f"/audit/{query}").context["page"].rows}
        assert ids and not ids & theirs, query
    downloaded = json.loads(download(ours.get("/audit/?entity=maria&format=json")))
    assert not {e["id"] for e in downloaded} & theirs
    # Their admin sees theirs only.
    charlie = logged_in(make_user("charlie", other_project, Role.ADMIN))
    ids = {e.id for e in charlie.get("/audit/").context["page"].rows}
    assert theirs <= ids and not ids & mine


def test_a_user_without_a_project_sees_no_log(world):
    stranger = logged_in(get_user_model().objects.create_user("stranger", password="pw-123456"))
    response = stranger.get("/audit/")
    assert response.status_code == 403
    assert "reader bot" not in response.content.decode()
