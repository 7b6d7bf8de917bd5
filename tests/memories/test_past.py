"""Point in time: a scripted sequence of adds, updates, deletes, a restore and an erasure,
rebuilt at several instants from history alone (memories.past, `as_of` on POST /v3/memories/)."""

from __future__ import annotations

import datetime as dt

import pytest

from memories import erasure
from memories.models import MemoryHistory
from memories.subjects import Subject
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def at(hours: int) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def stamp(memory_id: str, hours: int) -> None:
    """Date the memory's newest history row `hours` after T0 (the script's clock)."""
    row = MemoryHistory.objects.filter(memory_id=memory_id).order_by("-created_at", "-id").first()
    assert row is not None
    MemoryHistory.objects.filter(pk=row.pk).update(created_at=at(hours))


@pytest.fixture
def script(api, editor_api):
    """What the support bot knew about maria, hour by hour."""
    tea = add_verbatim(api, "Maria likes green tea", user_id="maria", metadata={"src": "chat"})[0][
        "id"
    ]
    stamp(tea, 0)
    train = add_verbatim(api, "Maria takes the night train", user_id="maria")[0]["id"]
    stamp(train, 1)
    bob = add_verbatim(api, "Bob plays chess", user_id="bob")[0]["id"]
    stamp(bob, 1)
    api.put(f"/v1/memories/{tea}/", {"text": "Maria likes oolong tea"}, format="json")
    stamp(tea, 2)
    api.delete(f"/v1/memories/{train}/")
    stamp(train, 3)
    api.put(
        f"/v1/memories/{tea}/",
        {"text": "Maria likes black tea", "metadata": {"src": "call"}},
        format="json",
    )
    stamp(tea, 4)
    editor_api.post("/v1/trash/restore/", {"memory_ids": [train]}, format="json")
    stamp(train, 5)
    return {"tea": tea, "train": train, "bob": bob}


def as_of(api, when, filters=None, **extra):
    body = {
        "as_of": when if isinstance(when, str) else when.isoformat(),
        "filters": filters or {"user_id": "maria"},
        **extra,
    }
    response = api.post("/v3/memories/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        (-1, []),
        (0, ["Maria likes green tea"]),
        (1, ["Maria takes the night train", "Maria likes green tea"]),
        (2, ["Maria takes the night train", "Maria likes oolong tea"]),
        (3, ["Maria likes oolong tea"]),  # the train memory was deleted
        (4, ["Maria likes black tea"]),
        (5, ["Maria takes the night train", "Maria likes black tea"]),  # restored
    ],
)
def test_the_set_at_each_instant(api, script, hours, expected):
    body = as_of(api, at(hours) + dt.timedelta(minutes=30))
    assert [m["memory"] for m in body["results"]] == expected
    assert body["count"] == len(expected)


def test_a_past_memory_says_since_when_it_existed_and_who_changed_it_last(api, script):
    (tea,) = [
        m
        for m in as_of(api, at(2) + dt.timedelta(minutes=1))["results"]
        if m["id"] == script["tea"]
    ]
    assert tea["created_at"].startswith("2026-03-01T09:00")
    assert tea["updated_at"].startswith("2026-03-01T11:00")
    assert tea["changed_by"].startswith("api-key:")
    assert tea["metadata"] == {"src": "chat"}


def test_metadata_is_matched_as_it_was_then(api, script):
    assert [
        m["memory"]
        for m in as_of(api, at(2), {"AND": [{"user_id": "maria"}, {"metadata": {"src": "chat"}}]})[
            "results"
        ]
    ] == ["Maria likes oolong tea"]
    # By hour 4 the memory says src=call: the old value no longer matches.
    assert (
        as_of(api, at(4), {"AND": [{"user_id": "maria"}, {"metadata": {"src": "chat"}}]})["results"]
        == []
    )


def test_a_bare_date_means_the_end_of_that_day_and_other_scopes_stay_out(api, script):
    body = as_of(api, "2026-03-01", {"user_id": "*"})
    assert {m["memory"] for m in body["results"]} == {
        "Maria takes the night train",
        "Maria likes black tea",
        "Bob plays chess",
    }
    assert as_of(api, "2026-03-01", {"user_id": "bob"})["count"] == 1


def test_erased_subjects_have_no_past(api, project, script):
    record = erasure.start(project, Subject("user", "maria"), actor="officer")
    erasure.run(record.event_id)
    assert as_of(api, at(2))["results"] == []
    assert [m["memory"] for m in as_of(api, at(2), {"user_id": "bob"})["results"]] == [
        "Bob plays chess"
    ]


def test_bad_moments_and_filters_are_400s(api, script):
    for body, detail in [
        ({"as_of": "yesterday"}, "as_of"),
        ({"as_of": 5}, "as_of must be"),
        ({"as_of": "2026-03-01", "filters": {"keywords": "tea"}}, "not by 'keywords'"),
        ({"as_of": "2026-03-01", "filters": {"OR": [{"user_id": "maria"}]}}, "not by 'OR'"),
    ]:
        response = api.post("/v3/memories/", body, format="json")
        assert response.status_code == 400 and detail in response.json()["detail"], response.json()
