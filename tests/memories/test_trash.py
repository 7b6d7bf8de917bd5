"""The trash: every ordinary delete keeps the memory, invisible to every read as on the
Platform; restore brings it back with its id, purge removes it; the beat purges what is due."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEntry
from entities.models import Entity
from memories import erasure, trash
from memories.models import Event, Memory, MemoryHistory, TrashedMemory
from memories.subjects import Subject
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria(api):
    """maria's three memories and bob's one; returns maria's ids."""
    ids = [
        add_verbatim(api, text, user_id="maria", metadata={"topic": "tea"})[0]["id"]
        for text in ("Maria likes green tea", "Maria takes the night train", "Maria has a cat")
    ]
    add_verbatim(api, "Bob plays chess", user_id="bob")
    return ids


def invisible(api, memory_id: str) -> None:
    """Nothing the Platform's clients call can see the memory."""
    assert api.get(f"/v1/memories/{memory_id}/").status_code == 404
    listed = api.post("/v3/memories/", {"filters": {"user_id": "*"}}, format="json").json()
    assert memory_id not in {m["id"] for m in listed["results"]}
    found = api.post(
        "/v3/memories/search/",
        {"query": "tea train cat", "filters": {"user_id": "*"}},
        format="json",
    ).json()
    assert memory_id not in {m["id"] for m in found["results"]}


DELETES = {
    "one": lambda api, ids: api.delete(f"/v1/memories/{ids[0]}/"),
    "batch": lambda api, ids: api.delete(
        "/v1/batch/", {"memories": [{"memory_id": pk} for pk in ids]}, format="json"
    ),
    "by filter": lambda api, ids: api.delete("/v1/memories/?user_id=maria"),
    "entity": lambda api, ids: api.delete("/v2/entities/user/maria/"),
}


@pytest.mark.parametrize("path", DELETES)
def test_every_delete_path_puts_memories_in_the_trash(api, maria, path):
    response = DELETES[path](api, maria)
    assert response.status_code in (200, 204), response.content
    gone = [pk for pk in maria if not Memory.objects.filter(pk=pk).exists()]
    assert gone and set(gone) <= {
        str(pk) for pk in TrashedMemory.objects.values_list("pk", flat=True)
    }
    for pk in gone:
        invisible(api, pk)
        row = TrashedMemory.objects.get(pk=pk)
        assert row.trashed_by.startswith("api-key:")
        assert row.purge_after - row.trashed_at == dt.timedelta(days=30)
        assert len(row.embedding) == 384 and row.metadata == {"topic": "tea"}
        # The history says DELETE, as before the trash existed.
        assert MemoryHistory.objects.filter(memory_id=pk).latest("created_at").event == "DELETE"
    assert Memory.objects.filter(user_id="bob").count() == 1


def test_restore_brings_a_memory_back_with_its_id_to_list_search_and_history(
    api, editor_api, maria
):
    api.delete("/v2/entities/user/maria/")
    assert not Entity.objects.filter(kind="user", name="maria").exists()
    response = editor_api.post("/v1/trash/restore/", {"memory_ids": maria[:2]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["restored"] == 2
    back = api.get(f"/v1/memories/{maria[0]}/").json()
    assert back["memory"] == "Maria likes green tea" and back["metadata"] == {"topic": "tea"}
    found = api.post(
        "/v3/memories/search/",
        {"query": "green tea", "filters": {"user_id": "maria"}},
        format="json",
    ).json()
    assert maria[0] in {m["id"] for m in found["results"]}
    history = api.get(f"/v1/memories/{maria[0]}/history/").json()
    assert [h["event"] for h in history] == ["ADD", "DELETE", "RESTORE"]
    assert history[-1]["new_memory"] == "Maria likes green tea"
    # The entity is back too, and the third memory is still in the trash.
    assert Entity.objects.filter(kind="user", name="maria").exists()
    assert [str(pk) for pk in TrashedMemory.objects.values_list("pk", flat=True)] == [maria[2]]
    event = Event.objects.get(pk=response.json()["event_id"])
    assert event.event_type == "RESTORE" and event.metadata == {"user_id": "maria"}


def test_restore_and_purge_are_all_or_nothing_and_need_an_editor(
    api, viewer_api, editor_api, maria
):
    api.delete(f"/v1/memories/{maria[0]}/")
    body = {"memory_ids": [maria[0], maria[1]]}  # the second is not in the trash
    missing = editor_api.post("/v1/trash/restore/", body, format="json")
    assert missing.status_code == 404 and "nothing was restored" in missing.json()["detail"]
    assert TrashedMemory.objects.filter(pk=maria[0]).exists()
    assert (
        viewer_api.post("/v1/trash/restore/", {"memory_ids": [maria[0]]}, format="json").status_code
        == 403
    )
    bad = editor_api.post("/v1/trash/purge/", {"memory_ids": ["nope"]}, format="json")
    assert bad.status_code == 400 and "UUID" in bad.json()["detail"]
    empty = editor_api.post("/v1/trash/purge/", {"memory_ids": []}, format="json")
    assert empty.status_code == 400


def test_purge_removes_it_for_good_and_keeps_the_history(api, editor_api, maria):
    api.delete(f"/v1/memories/{maria[0]}/")
    response = editor_api.post("/v1/trash/purge/", {"memory_ids": [maria[0]]}, format="json")
    assert response.status_code == 200 and response.json()["purged"] == 1
    assert not TrashedMemory.objects.exists()
    assert (
        editor_api.post("/v1/trash/restore/", {"memory_ids": [maria[0]]}, format="json").status_code
        == 404
    )
    assert MemoryHistory.objects.filter(memory_id=maria[0]).count() == 2  # ADD, DELETE


def test_the_beat_purges_what_is_due_in_batches_and_keeps_the_rest(api, maria, project):
    api.delete("/v1/memories/?user_id=maria")
    TrashedMemory.objects.filter(pk=maria[0]).update(
        purge_after=timezone.now() - dt.timedelta(minutes=1)
    )
    assert trash.purge_expired() == 1
    assert {str(pk) for pk in TrashedMemory.objects.values_list("pk", flat=True)} == set(maria[1:])
    event = Event.objects.filter(event_type="PURGE").get()
    assert event.actor == "trash" and event.results == {"purged": 1, "held": 0}
    assert event.progress == {"done": 1, "total": 1}
    assert trash.purge_expired(timezone.now() + dt.timedelta(days=31)) == 2


@override_settings(MEMDASH_TRASH_DAYS=0)
def test_with_the_trash_off_deletes_are_final(api, maria):
    api.delete("/v1/memories/?user_id=maria")
    assert not Memory.objects.filter(user_id="maria").exists()
    assert not TrashedMemory.objects.exists()


def test_the_trash_lists_filters_pages_and_logs_its_reads(api, viewer_api, maria):
    api.delete("/v1/memories/?user_id=maria")
    api.delete("/v1/memories/?user_id=bob")
    everything = viewer_api.get("/v1/trash/").json()
    assert everything["count"] == 4
    first = everything["results"][0]
    assert {"trashed_at", "trashed_by", "purge_after", "memory", "user_id"} <= set(first)
    marias = viewer_api.get("/v1/trash/?user_id=maria&page_size=2")
    assert marias.status_code == 200
    body = marias.json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    row = AuditEntry.objects.get(request_id=marias["X-Request-ID"])
    assert row.action == "trash.list" and row.entities == ["user:maria"] and row.total == 3
    filtered = viewer_api.post(
        "/v1/trash/list/",
        {"filters": {"AND": [{"user_id": "maria"}, {"keywords": "cat"}]}},
        format="json",
    ).json()
    assert [m["memory"] for m in filtered["results"]] == ["Maria has a cat"]
    bad = viewer_api.post("/v1/trash/list/", {"filters": {"colour": "red"}}, format="json")
    assert bad.status_code == 400


def test_another_projects_trash_is_out_of_reach(api, other_api, maria):
    api.delete(f"/v1/memories/{maria[0]}/")
    assert other_api.get("/v1/trash/").json()["count"] == 0
    assert (
        other_api.post("/v1/trash/restore/", {"memory_ids": [maria[0]]}, format="json").status_code
        == 404
    )
    assert (
        other_api.post("/v1/trash/purge/", {"memory_ids": [maria[0]]}, format="json").status_code
        == 404
    )
    assert TrashedMemory.objects.filter(pk=maria[0]).exists()


def test_an_erasure_bypasses_the_trash_and_empties_it_of_the_subject(api, maria, project):
    api.delete(f"/v1/memories/{maria[0]}/")  # in the trash
    record = erasure.start(project, Subject("user", "maria"), actor="officer")
    erasure.run(record.event_id)
    assert not TrashedMemory.objects.exists()  # the trashed one is gone, the others never came
    assert not Memory.objects.filter(user_id="maria").exists()
    record.refresh_from_db()
    assert (record.counts["memories"], record.counts["trash"]) == (2, 1)
    assert record.receipt["counts"]["trash"] == 1
