"""Reading memories: get, list (v1/v2/v3), search (v1/v2/v3), with pinned shapes."""

import base64
import datetime as dt
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from core.api.errors import error_body
from memories.models import Memory
from tests.conftest import ANY_HASH, ANY_TIMESTAMP, ANY_UUID, add_verbatim

pytestmark = pytest.mark.django_db


def memory_object(text, **overrides):
    """The canonical memory object as every read endpoint returns it."""
    return {
        "id": ANY_UUID,
        "memory": text,
        "user_id": None,
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "session_id": None,
        "actor_id": None,
        "role": "user",
        "hash": ANY_HASH,
        "metadata": None,
        "categories": None,
        "immutable": False,
        "expiration_date": None,
        "created_at": ANY_TIMESTAMP,
        "updated_at": ANY_TIMESTAMP,
        "structured_attributes": {
            "year": 2024,
            "month": 7,
            "day": 20,
            "hour": 8,
            "minute": 30,
            "day_of_week": "saturday",
            "week_of_year": 29,
            "day_of_year": 202,
            "quarter": 3,
            "is_weekend": True,
        },
        "replaced_by": None,
        "synthesized": None,
        "lifecycle_state": None,
        **overrides,
    }


JULY_20 = 1721464236  # 2024-07-20T08:30:36Z


@pytest.fixture
def alex(api):
    """Alex's memories: two long-term, one in a session, plus Bob's and an agent's."""
    add_verbatim(
        api, "Is a vegetarian", user_id="alex", metadata={"food": "vegan"}, timestamp=JULY_20
    )
    add_verbatim(api, "Is allergic to nuts", user_id="alex", timestamp=JULY_20 + 60)
    add_verbatim(
        api,
        "Planning a trip to Japan next month",
        user_id="alex",
        run_id="trip-planning-2024",
        timestamp=JULY_20 + 120,
    )
    add_verbatim(api, "Plays tennis on weekends", user_id="bob", timestamp=JULY_20 + 180)
    add_verbatim(
        api,
        [{"role": "assistant", "content": "My name is Alice."}],
        agent_id="ai-tutor",
        timestamp=JULY_20 + 240,
    )
    return api


def test_get_returns_the_canonical_memory_object(alex):
    memory = Memory.objects.get(memory="Is a vegetarian")
    response = alex.get(f"/v1/memories/{memory.id}/")
    assert response.status_code == 200
    assert response.json() == memory_object(
        "Is a vegetarian", id=str(memory.id), user_id="alex", metadata={"food": "vegan"}
    )


def test_get_ignores_expiry(api):
    add_verbatim(api, "Old coupon code", user_id="alex", expiration_date="2020-01-01")
    memory = Memory.objects.get()
    assert api.get(f"/v1/memories/{memory.id}/").json()["expiration_date"] == "2020-01-01"


def test_v3_list_is_paginated_with_absolute_links(alex):
    response = alex.post(
        "/v3/memories/?page_size=2", {"filters": {"user_id": "alex"}}, format="json"
    )
    body = response.json()
    assert body["count"] == 3
    assert body["next"] == "http://testserver/v3/memories/?page=2&page_size=2"
    assert body["previous"] is None
    assert [m["memory"] for m in body["results"]] == [
        "Planning a trip to Japan next month",
        "Is allergic to nuts",
    ]
    second = alex.post(
        "/v3/memories/?page_size=2&page=2", {"filters": {"user_id": "alex"}}, format="json"
    ).json()
    assert second["next"] is None
    assert second["previous"] == "http://testserver/v3/memories/?page_size=2"
    assert [m["memory"] for m in second["results"]] == ["Is a vegetarian"]


def test_v3_list_does_not_null_scope(alex):
    body = alex.post("/v3/memories/", {"filters": {"user_id": "alex"}}, format="json").json()
    assert body["count"] == 3
    assert body["results"][0]["run_id"] == body["results"][0]["session_id"] == "trip-planning-2024"


def test_v3_list_page_past_the_end_is_404(alex):
    response = alex.post("/v3/memories/?page=5", {"filters": {"user_id": "alex"}}, format="json")
    assert response.status_code == 404
    assert response.json() == error_body("Invalid page.")


def test_v3_list_page_and_page_size_may_come_in_the_body(alex):
    body = alex.post(
        "/v3/memories/", {"filters": {"user_id": "alex"}, "page": 2, "page_size": 1}, format="json"
    ).json()
    assert [m["memory"] for m in body["results"]] == ["Is allergic to nuts"]


def test_v3_list_requires_a_positive_entity_scope(alex):
    for body in (
        {},
        {"filters": {"metadata": {"food": "vegan"}}},
        {"filters": {"user_id": {"ne": "x"}}},
    ):
        response = alex.post("/v3/memories/", body, format="json")
        assert response.status_code == 400
        assert "filters" in response.json()["detail"]


def test_v3_rejects_top_level_entity_ids(alex):
    response = alex.post("/v3/memories/", {"user_id": "alex"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(
        "Top-level entity parameters (user_id) are not supported"
    )


def test_v3_list_wildcard_and_date_range_and_categories(alex):
    Memory.objects.filter(memory="Is allergic to nuts").update(categories=["health", "food"])
    body = alex.post(
        "/v3/memories/",
        {
            "filters": {
                "AND": [
                    {"user_id": "*"},
                    {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
                ]
            },
            "categories": ["health"],
        },
        format="json",
    ).json()
    assert [m["memory"] for m in body["results"]] == ["Is allergic to nuts"]


def test_v3_list_hides_expired_unless_asked(api):
    add_verbatim(api, "Expired fact", user_id="alex", expiration_date="2020-01-01")
    add_verbatim(
        api, "Expires today", user_id="alex", expiration_date=timezone.now().date().isoformat()
    )
    visible = api.post("/v3/memories/", {"filters": {"user_id": "alex"}}, format="json").json()
    assert [m["memory"] for m in visible["results"]] == ["Expires today"]
    everything = api.post(
        "/v3/memories/", {"filters": {"user_id": "alex"}, "show_expired": True}, format="json"
    ).json()
    assert everything["count"] == 2


def test_v3_list_fields_restricts_keys(alex):
    body = alex.post(
        "/v3/memories/", {"filters": {"user_id": "bob"}, "fields": ["memory"]}, format="json"
    ).json()
    assert body["results"] == [{"id": ANY_UUID, "memory": "Plays tennis on weekends"}]


def test_v2_list_applies_implicit_null_scoping_and_returns_a_bare_list(alex):
    body = alex.post("/v2/memories/", {"filters": {"user_id": "alex"}}, format="json").json()
    assert [m["memory"] for m in body] == ["Is allergic to nuts", "Is a vegetarian"]


def test_v2_list_accepts_top_level_ids_from_the_1_0_sdk_and_paginates_on_request(alex):
    body = alex.post(
        "/v2/memories/?page=1&page_size=50",
        {"user_id": "alex", "run_id": "trip-planning-2024"},
        format="json",
    ).json()
    assert body["count"] == 1
    assert body["results"][0]["memory"] == "Planning a trip to Japan next month"


def test_v2_list_without_entity_filters_is_unscoped(alex):
    body = alex.post(
        "/v2/memories/", {"filters": {"metadata": {"food": "vegan"}}}, format="json"
    ).json()
    assert [m["memory"] for m in body] == ["Is a vegetarian"]


def test_v1_get_list_by_query_params(alex):
    body = alex.get("/v1/memories/?user_id=alex").json()
    assert [m["memory"] for m in body] == ["Is allergic to nuts", "Is a vegetarian"]
    paged = alex.get("/v1/memories/?user_id=alex&page=1&page_size=1").json()
    assert paged["count"] == 2
    assert paged["next"] == "http://testserver/v1/memories/?page=2&page_size=1&user_id=alex"


def test_v1_get_list_needs_an_entity_and_limits_limit(alex):
    response = alex.get("/v1/memories/")
    assert response.status_code == 400
    assert response.json() == error_body(
        "One of the filters: app_id, user_id, agent_id, run_id is required!"
    )
    assert alex.get("/v1/memories/?user_id=alex&limit=201").status_code == 400


def test_v1_get_list_with_version_v2_reads_filters_from_the_body(alex):
    response = alex.generic(
        "GET",
        "/v1/memories/?version=v2",
        '{"filters": {"metadata": {"food": "vegan"}}}',
        content_type="application/json",
    )
    assert [m["memory"] for m in response.json()] == ["Is a vegetarian"]


def test_v1_list_keywords_and_categories_params(alex):
    Memory.objects.filter(memory="Is a vegetarian").update(categories=["likes", "food_preferences"])
    assert [
        m["memory"] for m in alex.get("/v1/memories/?user_id=alex&categories=likes,travel").json()
    ] == ["Is a vegetarian"]
    assert [m["memory"] for m in alex.get("/v1/memories/?user_id=alex&keywords=NUTS").json()] == [
        "Is allergic to nuts"
    ]


# --- search ---------------------------------------------------------------------------------------


def test_v3_search_ranks_semantically_and_scores_in_unit_interval(alex):
    body = alex.post(
        "/v3/memories/search/",
        {"query": "What food allergies does Alex have?", "filters": {"user_id": "alex"}},
        format="json",
    ).json()
    results = body["results"]
    assert results[0]["memory"] == "Is allergic to nuts"
    assert all(0 <= r["score"] <= 1 for r in results)
    assert results == sorted(results, key=lambda r: -r["score"])
    assert set(results[0]) == set(memory_object("x")) | {"score"}


def test_v3_search_top_k_and_threshold(alex):
    one = alex.post(
        "/v3/memories/search/",
        {"query": "food", "filters": {"user_id": "*"}, "top_k": 1},
        format="json",
    ).json()
    assert len(one["results"]) == 1
    none = alex.post(
        "/v3/memories/search/",
        {"query": "food", "filters": {"user_id": "*"}, "threshold": 0.99},
        format="json",
    ).json()
    assert none == {"results": []}


def test_v3_search_respects_scope(alex):
    body = alex.post(
        "/v3/memories/search/",
        {"query": "tennis", "filters": {"user_id": "alex"}, "threshold": 0},
        format="json",
    ).json()
    assert "Plays tennis on weekends" not in [r["memory"] for r in body["results"]]


def test_v3_search_keyword_match_boosts_score(alex):
    body = alex.post(
        "/v3/memories/search/",
        {"query": "Japan", "filters": {"user_id": "alex"}, "threshold": 0},
        format="json",
    ).json()
    assert body["results"][0]["memory"] == "Planning a trip to Japan next month"


def test_v3_search_validation(alex):
    cases = [
        ({"filters": {"user_id": "alex"}}, "query is required"),
        ({"query": "  ", "filters": {"user_id": "alex"}}, "query is required"),
        ({"query": "x", "filters": {"user_id": "alex"}, "top_k": 0}, "top_k must be at least 1"),
        (
            {"query": "x", "filters": {"user_id": "alex"}, "top_k": 1001},
            "top_k must be at most 1000",
        ),
        (
            {"query": "x", "filters": {"user_id": "alex"}, "threshold": 2},
            "threshold must be between 0 and 1",
        ),
        (
            {"query": "x", "filters": {"user_id": "alex"}, "threshold": "high"},
            "threshold must be a number",
        ),
        ({"query": "x", "user_id": "alex"}, "Top-level entity parameters"),
    ]
    for body, message in cases:
        response = alex.post("/v3/memories/search/", body, format="json")
        assert response.status_code == 400, body
        assert message in response.json()["detail"]


def test_v2_search_returns_a_bare_list_and_accepts_filters_without_entities(alex):
    body = alex.post(
        "/v2/memories/search/",
        {
            "query": "What do you know about me?",
            "filters": {"metadata": {"food": "vegan"}},
            "threshold": 0,
        },
        format="json",
    ).json()
    assert [r["memory"] for r in body] == ["Is a vegetarian"]


def test_v2_search_with_top_level_user_id_applies_null_scoping(alex):
    body = alex.post(
        "/v2/memories/search/",
        {"query": "trip to Japan", "user_id": "alex", "threshold": 0},
        format="json",
    ).json()
    assert "Planning a trip to Japan next month" not in [r["memory"] for r in body]


def test_v1_search_output_formats(alex):
    bare = alex.post(
        "/v1/memories/search/", {"query": "nuts", "user_id": "alex"}, format="json"
    ).json()
    assert isinstance(bare, list)
    wrapped = alex.post(
        "/v1/memories/search/",
        {"query": "nuts", "user_id": "alex", "output_format": "v1.1"},
        format="json",
    ).json()
    assert wrapped["results"][0]["memory"] == "Is allergic to nuts"
    assert wrapped["relations"] == []


def test_v1_search_with_version_v2_query_uses_filters(alex):
    body = alex.post(
        "/v1/memories/search/?version=v2",
        {
            "query": "What do you know about me?",
            "filters": {"OR": [{"user_id": "bob"}, {"agent_id": {"in": ["ai-tutor"]}}]},
            "threshold": 0,
        },
        format="json",
    ).json()
    assert {r["memory"] for r in body["results"]} == {
        "Plays tennis on weekends",
        "My name is Alice.",
    }


def test_search_hides_expired_unless_asked(api):
    add_verbatim(api, "Coupon code SAVE10 for shoes", user_id="alex", expiration_date="2020-01-01")
    body = {"query": "coupon for shoes", "filters": {"user_id": "alex"}}
    assert api.post("/v3/memories/search/", body, format="json").json() == {"results": []}
    shown = api.post("/v3/memories/search/", {**body, "show_expired": True}, format="json").json()
    assert len(shown["results"]) == 1


def test_search_through_hnsw_for_large_scopes(alex, settings):
    # Force the approximate path: any scope above 2 rows goes through the HNSW index.
    settings.MEMDASH_EXACT_SEARCH_LIMIT = 2
    body = alex.post(
        "/v3/memories/search/", {"query": "nut allergy", "filters": {"user_id": "*"}}, format="json"
    ).json()
    assert body["results"][0]["memory"] == "Is allergic to nuts"


def test_history_lists_every_change_oldest_first(api):
    memory_id = add_verbatim(api, "Likes chicken", user_id="alex")[0]["id"]
    api.put(f"/v1/memories/{memory_id}/", {"text": "Turned vegetarian"}, format="json")
    history = api.get(f"/v1/memories/{memory_id}/history/").json()
    assert history == [
        {
            "id": ANY_UUID,
            "memory_id": memory_id,
            "input": [{"role": "user", "content": "Likes chicken"}],
            "old_memory": None,
            "new_memory": "Likes chicken",
            "user_id": "alex",
            "agent_id": None,
            "app_id": None,
            "run_id": None,
            "session_id": None,
            "categories": None,
            "event": "ADD",
            "metadata": None,
            "actor": history[0]["actor"],
            "event_id": ANY_UUID,
            "created_at": ANY_TIMESTAMP,
            "updated_at": ANY_TIMESTAMP,
        },
        {
            "id": ANY_UUID,
            "memory_id": memory_id,
            "input": None,
            "old_memory": "Likes chicken",
            "new_memory": "Turned vegetarian",
            "user_id": "alex",
            "agent_id": None,
            "app_id": None,
            "run_id": None,
            "session_id": None,
            "categories": None,
            "event": "UPDATE",
            "metadata": None,
            "actor": history[0]["actor"],
            "event_id": ANY_UUID,
            "created_at": ANY_TIMESTAMP,
            "updated_at": ANY_TIMESTAMP,
        },
    ]
    assert history[0]["actor"].startswith("api-key:m0-")


def test_history_outlives_the_memory(api):
    memory_id = add_verbatim(api, "Temporary", user_id="alex")[0]["id"]
    api.delete(f"/v1/memories/{memory_id}/")
    assert [h["event"] for h in api.get(f"/v1/memories/{memory_id}/history/").json()] == [
        "ADD",
        "DELETE",
    ]


def test_structured_attributes_follow_created_at(api):
    add_verbatim(
        api, "x", user_id="u", timestamp=dt.datetime(2025, 1, 4, 13, 5, tzinfo=dt.UTC).timestamp()
    )
    attrs = api.post("/v3/memories/", {"filters": {"user_id": "u"}}, format="json").json()[
        "results"
    ][0]["structured_attributes"]
    assert attrs == {
        "year": 2025,
        "month": 1,
        "day": 4,
        "hour": 13,
        "minute": 5,
        "day_of_week": "saturday",
        "week_of_year": 1,
        "day_of_year": 4,
        "quarter": 1,
        "is_weekend": True,
    }


# --- deep pages: page numbers reach MEMDASH_MAX_PAGE_OFFSET rows, links page by cursor past it ---


@pytest.fixture
def seven_facts(api, settings):
    """Seven memories from one call (one created_at: pages must break the tie by id)."""
    settings.MEMDASH_MAX_PAGE_OFFSET = 2
    add_verbatim(api, [{"role": "user", "content": f"fact {n}"} for n in range(7)], user_id="sam")
    return list(
        Memory.objects.filter(user_id="sam").newest_first().values_list("memory", flat=True)
    )


def _v3_page(api, url):
    response = api.post(url, {"filters": {"user_id": "sam"}}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_following_next_links_walks_past_the_page_number_depth_by_cursor(api, seven_facts):
    url, seen, links = "/v3/memories/?page_size=2", [], []
    while url:
        body = _v3_page(api, url)
        assert body["count"] == 7
        seen += [m["memory"] for m in body["results"]]
        links.append(body["next"])
        url = body["next"]
    assert seen == seven_facts
    # Page 2 starts 2 rows deep (a page number); page 3 would start 4 rows deep (a cursor).
    assert links[0] == "http://testserver/v3/memories/?page=2&page_size=2"
    for link, page in ((links[1], "3"), (links[2], "4")):
        query = parse_qs(urlsplit(link).query)
        assert query["page"] == [page]
        assert query["page_size"] == ["2"]
        assert query["cursor"][0].startswith("after.")
    assert links[3] is None


def test_previous_links_walk_back_to_page_one(api, seven_facts):
    url = "/v3/memories/?page_size=2"
    for _ in range(3):
        url = _v3_page(api, url)["next"]
    last = _v3_page(api, url)
    assert [m["memory"] for m in last["results"]] == seven_facts[6:]
    back, seen = last["previous"], []
    assert "cursor=before." in back
    while back:
        body = _v3_page(api, back)
        seen = [m["memory"] for m in body["results"]] + seen
        back = body["previous"]
    assert seen == seven_facts[:6]
    assert body["previous"] is None


def test_page_numbers_past_the_depth_are_refused_with_the_way_forward(api, seven_facts):
    response = api.post(
        "/v3/memories/?page=4&page_size=2", {"filters": {"user_id": "sam"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == error_body(
        "page 4 with page_size 2 starts 6 rows deep; page numbers reach 2 rows. "
        "Follow the `next` links (past that depth they carry a cursor) or narrow the filters."
    )


def _token(*position) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "after.garbage",
        "sideways.abc",
        "nonsense",
        "after.",
        "after." + _token("2024-01-01T00:00:00+00:00", None),
        "before." + _token("2024-01-01T00:00:00+00:00", True),
        "after." + _token(1, 2),
        "after." + _token("2024-01-01T00:00:00", str(uuid.uuid4())),
    ],
)
def test_a_mangled_cursor_is_a_400(api, seven_facts, cursor):
    response = api.post(
        f"/v3/memories/?page=3&page_size=2&cursor={cursor}",
        {"filters": {"user_id": "sam"}},
        format="json",
    )
    assert response.status_code == 400
    assert "page cursor" in response.json()["detail"]


def test_a_cursor_without_its_page_number_keeps_paging_by_cursor(api, seven_facts):
    """Links past the depth carry both; a client that drops `page` still walks every row once."""
    second = _v3_page(api, "/v3/memories/?page_size=2")["next"]
    body = _v3_page(api, second)
    cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
    url, seen = f"/v3/memories/?page_size=2&cursor={cursor}", []
    while url:
        body = _v3_page(api, url)
        seen += [m["memory"] for m in body["results"]]
        assert body["count"] == 7
        url = body["next"]
        assert url is None or "cursor=after." in url
    assert seen == seven_facts[4:]
