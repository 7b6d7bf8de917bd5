"""The memories page: full page vs partial, filters as pills in the URL, paging, counts."""

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from memories import holds
from memories.models import Memory
from memories.subjects import Subject
from tests.dashboard.conftest import HOSTILE, bulk_memories, htmx, remember

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(project, other_project):
    """Memories of several scopes, plus one of another project that must never show."""
    alex = remember(
        project, "I am allergic to nuts", user_id="alex", metadata={"diet": "vegan", "tier": 1}
    )
    remember(project, "Prefers window seats", agent_id="travel-bot")
    remember(project, "Planning a trip to Japan", user_id="bob", app_id="concierge", run_id="r-1")
    Memory.objects.filter(pk=alex[0].pk).update(categories=["health", "food"])
    remember(
        project,
        "Old promo code",
        user_id="bob",
        expiration_date=timezone.now().date() - dt.timedelta(days=1),
    )
    remember(other_project, "globex secret", user_id="alex")
    return project


def texts(response) -> list[str]:
    return [m.memory for m in response.context["rows"]]


def test_full_page_lists_the_projects_unexpired_memories(alice_client, world):
    response = alice_client.get("/")
    assert response.status_code == 200
    assert response.templates[0].name == "memories/list.html"
    assert sorted(texts(response)) == [
        "I am allergic to nuts",
        "Planning a trip to Japan",
        "Prefers window seats",
    ]
    content = response.content.decode()
    assert "<html" in content
    assert "globex secret" not in content
    assert 'id="memory-count"' in content


def test_partial_is_the_table_with_oob_count_and_pills(alice_client, world):
    response = alice_client.get("/?user_id=alex", headers=htmx("memory-table"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<section id="memory-table"')
    assert '<span id="memory-count" class="sub" hx-swap-oob="true">' in content
    assert (
        'id="filter-pills" class="pills" aria-label="Active filters" hx-swap-oob="true"' in content
    )
    assert 'id="filter-controls" class="filter-controls" hx-swap-oob="true"' in content
    assert texts(response) == ["I am allergic to nuts"]
    assert response["HX-Push-Url"] == "/?user_id=alex"
    assert {"HX-Request", "HX-Target", "HX-History-Restore-Request"} <= {
        v.strip() for v in response["Vary"].split(",")
    }


def test_partial_does_not_overwrite_the_box_being_typed_in(alice_client, world):
    typing = alice_client.get("/?q=nut", headers=htmx("memory-table", **{"HX-Trigger": "filter-q"}))
    assert 'id="search-boxes"' not in typing.content.decode()
    pill = alice_client.get("/", headers=htmx("memory-table"))
    assert 'id="search-boxes" class="search-boxes" hx-swap-oob="true"' in pill.content.decode()


@pytest.mark.parametrize(
    "headers",
    [
        {"HX-Request": "true", "HX-Target": "memory-table", "HX-History-Restore-Request": "true"},
        {"HX-Request": "true", "HX-Target": "memory-table", "HX-Boosted": "true"},
        {"HX-Request": "true", "HX-Target": "somewhere-else"},
    ],
    ids=["history-restore", "boosted", "other-target"],
)
def test_full_page_for_history_restore_boosted_and_foreign_targets(alice_client, world, headers):
    response = alice_client.get("/?user_id=alex", headers=headers)
    content = response.content.decode()
    assert "<html" in content
    assert "hx-swap-oob" not in content
    assert "HX-Push-Url" not in response


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("user_id=bob", ["Planning a trip to Japan"]),
        (
            "user_id=alex&user_id=bob",
            ["I am allergic to nuts", "Planning a trip to Japan"],
        ),
        ("agent_id=travel-bot", ["Prefers window seats"]),
        ("app_id=concierge", ["Planning a trip to Japan"]),
        ("run_id=r-1", ["Planning a trip to Japan"]),
        ("category=food", ["I am allergic to nuts"]),
        ("meta=diet%3Dvegan", ["I am allergic to nuts"]),
        ("meta=tier%3D1", ["I am allergic to nuts"]),
        ("q=JAPAN", ["Planning a trip to Japan"]),
        ("user_id=bob&show_expired=1", ["Old promo code", "Planning a trip to Japan"]),
        (
            "filters=" + json.dumps({"NOT": {"user_id": "alex"}}),
            ["Planning a trip to Japan", "Prefers window seats"],
        ),
        ("user_id=alex&agent_id=nobody", []),
    ],
)
def test_filters(alice_client, world, query, expected):
    response = alice_client.get(f"/?{query}")
    assert response.status_code == 200
    assert sorted(texts(response)) == expected


def test_date_range_filters_created_at(alice_client, project):
    bulk_memories(project, 3, start=dt.datetime(2024, 7, 1, 12, tzinfo=dt.UTC), user_id="u")
    bulk_memories(project, 2, start=dt.datetime(2024, 8, 1, 12, tzinfo=dt.UTC), user_id="v")
    response = alice_client.get("/?date_from=2024-07-01&date_to=2024-07-31")
    assert {m.user_id for m in response.context["rows"]} == {"u"}
    assert len(response.context["rows"]) == 3
    assert alice_client.get("/?date_from=2024-08-01").context["count"].value == 2


def test_semantic_search_ranks_within_the_filter(alice_client, world):
    response = alice_client.get("/?search=what+food+can+they+not+eat&user_id=alex")
    rows = response.context["rows"]
    assert response.context["searching"] is True
    assert rows[0].memory == "I am allergic to nuts"
    assert all(m.user_id == "alex" for m in rows)
    assert 0 < rows[0].score <= 1
    assert b"Delete all" not in response.content


def test_pills_are_the_filter_and_remove_one_value_each(alice_client, world):
    response = alice_client.get("/?user_id=alex&user_id=bob&category=food&q=nuts")
    pills = {(p.label, p.value): p.query.urlencode() for p in response.context["pills"]}
    assert pills == {
        ("user", "alex"): "user_id=bob&category=food&q=nuts",
        ("user", "bob"): "user_id=alex&category=food&q=nuts",
        ("category", "food"): "user_id=alex&user_id=bob&q=nuts",
        ("text contains", "nuts"): "user_id=alex&user_id=bob&category=food",
    }
    content = response.content.decode()
    assert 'href="/?user_id=bob&amp;category=food&amp;q=nuts"' in content
    assert 'hx-get="/?user_id=bob&amp;category=food&amp;q=nuts"' in content
    assert "Clear all" in content


def test_the_url_filter_is_the_apis_filter_language(alice_client, world):
    response = alice_client.get(
        "/?user_id=alex&category=food&meta=diet%3Dvegan&date_from=2024-01-01"
    )
    assert response.context["api_filter"] == {
        "AND": [
            {"user_id": "alex"},
            {"categories": {"in": ["food"]}},
            {"metadata": {"diet": "vegan"}},
            {"created_at": {"gte": "2024-01-01"}},
        ]
    }


def test_add_filter_row_redirects_to_the_canonical_url(alice_client, world):
    response = alice_client.get("/?user_id=alex&add_field=category&add_value=food&date_from=&q=")
    assert response.status_code == 302
    assert response["Location"] == "/?user_id=alex&category=food"


def test_add_filter_row_over_htmx_pushes_the_canonical_url(alice_client, world):
    response = alice_client.get(
        "/?add_field=meta&add_value=diet%3Dvegan&sort=created&date_to=",
        headers=htmx("memory-table"),
    )
    assert response["HX-Push-Url"] == "/?meta=diet%3Dvegan"
    assert texts(response) == ["I am allergic to nuts"]


def test_bad_metadata_pair_is_an_error_state_not_a_crash(alice_client, world):
    response = alice_client.get("/?add_field=meta&add_value=novalue")
    assert response.status_code == 400
    assert "key=value" in response.context["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("filters=%7Bnot-json", "not valid JSON"),
        ("filters=" + json.dumps({"colour": "red"}), "Unknown filter key 'colour'"),
        ("date_from=yesterday", "Enter a valid date"),
    ],
)
def test_bad_filters_show_the_error(alice_client, world, query, message):
    full = alice_client.get(f"/?{query}")
    assert full.status_code == 400
    assert message in full.context["error"]
    partial = alice_client.get(f"/?{query}", headers=htmx("memory-table"))
    assert partial.status_code == 200  # htmx 2 swaps only 2xx responses
    assert 'role="alert"' in partial.content.decode()


def test_hostile_text_and_metadata_are_escaped(alice_client, project):
    remember(project, HOSTILE, user_id=HOSTILE, metadata={"note": HOSTILE})
    for url in ["/", f"/?user_id={HOSTILE}", f"/?q={HOSTILE}"]:
        content = alice_client.get(url).content.decode()
        assert "<script>alert" not in content
        assert "<img src=x" not in content
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content


def test_keyset_pages_walk_older_and_newer_without_offset(alice_client, project):
    bulk_memories(project, 120, user_id="pager")
    first = alice_client.get("/")
    assert len(first.context["rows"]) == 50
    assert first.context["rows"][0].memory == "pager fact number 119"
    assert first.context["page"].newer is None
    with CaptureQueriesContext(connection) as queries:
        second = alice_client.get("/", {"older": first.context["page"].older})
    assert all("OFFSET" not in q["sql"] for q in queries.captured_queries)
    assert second.context["rows"][0].memory == "pager fact number 69"
    third = alice_client.get("/", {"older": second.context["page"].older})
    assert [m.memory for m in third.context["rows"]][-1] == "pager fact number 0"
    assert third.context["page"].older is None
    back = alice_client.get("/", {"newer": third.context["page"].newer})
    assert texts(back) == texts(second)
    top = alice_client.get("/", {"newer": second.context["page"].newer})
    assert texts(top) == texts(first)
    assert top.context["page"].newer is None


def test_paging_links_keep_the_filter(alice_client, project):
    bulk_memories(project, 60, user_id="pager")
    response = alice_client.get("/?user_id=pager&sort=updated")
    older = response.context["page"].older
    link = [
        a
        for a in response.content.decode().split('href="')
        if a.startswith("/?user_id=pager&amp;sort=updated&amp;older=")
    ]
    assert link
    partial = alice_client.get(
        f"/?user_id=pager&sort=updated&older={older}", headers=htmx("memory-table")
    )
    query = parse_qs(urlsplit(partial["HX-Push-Url"]).query)
    assert query == {"user_id": ["pager"], "sort": ["updated"], "older": [older]}


def test_sort_by_updated(alice_client, project):
    rows = bulk_memories(project, 3, user_id="s")
    Memory.objects.filter(pk=rows[0].pk).update(updated_at=timezone.now() + dt.timedelta(hours=1))
    assert texts(alice_client.get("/?sort=updated"))[0] == rows[0].memory
    assert texts(alice_client.get("/"))[0] == rows[2].memory


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        # A well-formed cursor holding a null id (hand-edited): not a query on id < NULL.
        "WyIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIixudWxsXQ",
    ],
)
def test_garbage_cursor_falls_back_to_the_first_page(alice_client, world, cursor):
    response = alice_client.get(f"/?older={cursor}")
    assert response.status_code == 200
    assert len(response.context["rows"]) == 3


def test_count_is_exact_under_the_cap_and_capped_over_it(alice_client, project, settings):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 30
    bulk_memories(project, 60, user_id="many")
    response = alice_client.get("/")
    count = response.context["count"]
    assert (count.value, count.exact) == (30, False)
    assert count.estimate is not None
    assert str(count).startswith("30+")
    bulk_memories(project, 5, user_id="few")
    few = alice_client.get("/?user_id=few").context["count"]
    assert (few.value, few.exact, str(few)) == (5, True, "5")


def test_outsiders_partial_shows_only_their_project(charlie_client, world):
    response = charlie_client.get("/?user_id=alex", headers=htmx("memory-table"))
    assert texts(response) == ["globex secret"]


def test_empty_project_shows_the_empty_state(alice_client):
    content = alice_client.get("/").content.decode()
    assert "No memories yet." in content


def test_no_match_shows_how_to_widen(alice_client, world):
    content = alice_client.get("/?user_id=nobody").content.decode()
    assert "No memory matches" in content


def test_viewers_see_no_bulk_controls(viewer_client, world):
    content = viewer_client.get("/").content.decode()
    assert 'name="ids"' not in content
    assert "Delete all" not in content


def test_editors_see_bulk_controls(editor_client, world):
    content = editor_client.get("/").content.decode()
    assert 'name="ids"' in content
    assert "Delete all 3 matching" in content


def test_list_is_get_only(alice_client):
    assert alice_client.post("/").status_code == 405


def test_query_count_is_bounded_on_full_page_and_partial(
    alice_client, project, django_assert_max_num_queries, settings
):
    settings.MEMDASH_DASHBOARD_COUNT_CAP = 100
    for user in ("a", "b", "c"):
        bulk_memories(project, 60, user_id=user, agent_id="bot")
    alice_client.get("/")  # warm the session
    # Each bound counts the access-log row the page writes (audit.log) and the query for the
    # project's active legal holds (the rows' lock badges; a second one only when there are).
    with django_assert_max_num_queries(10):
        alice_client.get("/?agent_id=bot")
    with django_assert_max_num_queries(8):
        alice_client.get("/?agent_id=bot", headers=htmx("memory-table"))


def test_held_memories_carry_a_lock_badge(alice_client, project):
    remember(project, "Maria's held line", user_id="maria")
    remember(project, "Bob's free line", user_id="bob")
    holds.place(project, Subject("user", "maria"), name="Case 7", actor="user:alice")
    content = alice_client.get("/").content.decode()
    rows = content.split("<tr>")
    held = next(r for r in rows if "Maria&#x27;s held line" in r)
    free = next(r for r in rows if "Bob&#x27;s free line" in r)
    assert "badge lock" in held and "badge lock" not in free
