"""The project's attribution setting: by speaker (the default, Mem0's platform guide) or all
ids (the entity-scoping guide: every memory of an add carries every id of the call)."""

import pytest

from memories.models import Event, Memory
from tenancy.models import Attribution
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db

CHAT = [
    {"role": "user", "content": "I love hiking in the Alps"},
    {"role": "assistant", "content": "I will suggest mountain trips"},
]


@pytest.fixture
def path(project):
    return (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )


def ids_of(text):
    memory = Memory.objects.get(memory=text)
    return memory.user_id, memory.agent_id, memory.run_id


def test_by_speaker_is_the_default(api, path):
    assert api.get(path).json()["attribution"] == "speaker"
    add_verbatim(api, CHAT, user_id="alex", agent_id="guide", run_id="trip")
    assert ids_of("I love hiking in the Alps") == ("alex", None, "trip")
    assert ids_of("I will suggest mountain trips") == (None, "guide", "trip")


def test_all_ids_tags_every_memory_with_every_id_of_the_call(api, path, project):
    response = api.patch(path, {"attribution": "all_ids"}, format="json")
    assert response.status_code == 200, response.json()
    assert api.get(path).json()["attribution"] == "all_ids"
    add_verbatim(api, CHAT, user_id="alex", agent_id="guide", run_id="trip")
    assert ids_of("I love hiking in the Alps") == ("alex", "guide", "trip")
    assert ids_of("I will suggest mountain trips") == ("alex", "guide", "trip")
    both = {"AND": [{"user_id": "alex"}, {"agent_id": "guide"}]}
    found = api.post("/v3/memories/", {"filters": both}, format="json").json()["results"]
    assert len(found) == 2
    # The add records how it was attributed (a later erasure reads the call as it was made).
    assert Event.objects.get(event_type="ADD").payload["attribution"] == "all_ids"


def test_all_ids_keeps_a_named_speaker_and_drops_system_messages(api, project):
    project.attribution = Attribution.ALL_IDS
    project.save()
    add_verbatim(
        api,
        [
            {"role": "system", "content": "You are a travel agent"},
            {"role": "user", "content": "Book me a hut", "name": "Sam"},
            {"role": "assistant", "content": "Booked"},
        ],
        user_id="alex",
        agent_id="guide",
    )
    assert set(Memory.objects.values_list("memory", "user_id", "agent_id")) == {
        ("Book me a hut", "sam", "guide"),
        ("Booked", "alex", "guide"),
    }


def test_inference_follows_the_setting(api, project, fake_llm):
    project.attribution = Attribution.ALL_IDS
    project.save()
    fake_llm.on(
        "extract facts",
        reply={
            "facts": [
                {"text": "Loves hiking in the Alps", "message": 1},
                {"text": "Suggests mountain trips", "message": 2},
            ]
        },
    )
    body = {"messages": CHAT, "user_id": "alex", "agent_id": "guide", "async_mode": False}
    response = api.post("/v1/memories/", body, format="json")
    assert response.status_code == 200, response.json()
    assert ids_of("Loves hiking in the Alps") == ("alex", "guide", None)
    assert ids_of("Suggests mountain trips") == ("alex", "guide", None)


def test_an_unknown_mode_is_refused(api, path):
    response = api.patch(path, {"attribution": "everyone"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "attribution must be one of: speaker, all_ids"
