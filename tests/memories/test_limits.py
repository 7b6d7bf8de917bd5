"""The input limits live in memories.services, so every surface refuses the same input with
the same words: the API (add, update, batch) and direct callers (the dashboard's edit form:
tests/dashboard/test_memory_detail.py)."""

from __future__ import annotations

import pytest

from core.api.errors import error_body
from core.errors import InvalidRequest
from memories import services
from memories.attribution import Message, Scope
from memories.models import Event, Memory, MemoryHistory
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db

TOO_LONG = "x" * 21
BIG = {"blob": "y" * 80}


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.MEMDASH_MAX_MEMORY_CHARS = 20
    settings.MEMDASH_MAX_METADATA_BYTES = 50


def nothing_changed(*texts: str) -> None:
    assert sorted(Memory.objects.values_list("memory", flat=True)) == sorted(texts)
    assert not MemoryHistory.objects.filter(event="UPDATE").exists()


def test_the_service_refuses_before_writing(project):
    with pytest.raises(InvalidRequest, match="21 characters; the limit is 20"):
        services.add_memories(
            project, messages=[Message("user", TOO_LONG)], scope=Scope(user_id="u"), actor="t"
        )
    with pytest.raises(InvalidRequest, match="bytes as JSON; at most 50"):
        services.add_memories(
            project,
            messages=[Message("user", "fine")],
            scope=Scope(user_id="u"),
            actor="t",
            metadata=BIG,
        )
    assert not Event.objects.exists()
    assert not Memory.objects.exists()


def test_the_api_update_and_batch_refuse_with_the_services_words(api):
    memory_id = add_verbatim(api, "short", user_id="u")[0]["id"]
    response = api.put(f"/v1/memories/{memory_id}/", {"text": TOO_LONG}, format="json")
    assert response.status_code == 400
    assert response.json() == error_body(
        "text has 21 characters; the limit is 20 (MEMDASH_MAX_MEMORY_CHARS)"
    )
    response = api.put(
        "/v1/batch/", {"memories": [{"memory_id": memory_id, "metadata": BIG}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("memories[0].metadata: is 92 bytes as JSON")
    nothing_changed("short")
