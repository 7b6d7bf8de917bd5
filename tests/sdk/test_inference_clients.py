"""Inference through the seed-era Python client and the npm client, with a real worker.

(mem0ai 2.x runs the seed inference examples in tests/memories/test_seed_inference.py.)
"""

import httpx
import pytest

from testkit.workers import wait_for
from tests.sdk.conftest import call

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]

ALEX = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {
        "role": "assistant",
        "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy.",
    },
]
ALEX_FACTS = {
    "facts": [
        {"text": t, "message": 1}
        for t in ("Name is Alex", "Is a vegetarian", "Is allergic to nuts")
    ]
}


def finished_event(server, event_id: str) -> dict:
    with httpx.Client(
        base_url=server.host, headers={"Authorization": f"Token {server.api_key}"}
    ) as http:
        return wait_for(
            lambda: (
                (e := http.get(f"/v1/event/{event_id}/").json())["status"]
                in ("SUCCEEDED", "FAILED")
                and e
            ),
            message="the add event",
        )


def test_legacy_client_add_is_queued_then_listed(py1, server, on_redis, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    (queued,) = py1(call("add", ALEX, user_id="alex", metadata={"food": "vegan"}))
    assert queued == {
        "results": [
            {
                "message": "Memory processing has been queued for background execution",
                "status": "PENDING",
                "event_id": queued["results"][0]["event_id"],
            }
        ],
        "relations": [],
    }
    assert finished_event(server, queued["results"][0]["event_id"])["status"] == "SUCCEEDED"
    (listed,) = py1(call("get_all", user_id="alex"))
    assert sorted(m["memory"] for m in listed["results"]) == [
        "Is a vegetarian",
        "Is allergic to nuts",
        "Name is Alex",
    ]


def test_legacy_client_sync_add_returns_the_seed_output(py1, on_redis, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    (result,) = py1(call("add", ALEX, user_id="alex", async_mode=False))
    assert [(r["memory"], r["event"]) for r in result["results"]] == [
        ("Name is Alex", "ADD"),
        ("Is a vegetarian", "ADD"),
        ("Is allergic to nuts", "ADD"),
    ]


def test_npm_client_add_is_queued_then_listed(js, server, on_redis, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    (queued,) = js(call("add", ALEX, {"user_id": "alex"}))
    assert queued == {
        "message": "Memory processing has been queued for background execution",
        "status": "PENDING",
        "eventId": queued["eventId"],
    }
    assert finished_event(server, queued["eventId"])["status"] == "SUCCEEDED"
    (listed,) = js(call("getAll", {"filters": {"user_id": "alex"}}))
    assert sorted(m["memory"] for m in listed["results"]) == [
        "Is a vegetarian",
        "Is allergic to nuts",
        "Name is Alex",
    ]
    assert {m["userId"] for m in listed["results"]} == {"alex"}
