"""mem0ai 1.0.11 (in a subprocess) methods that tests/sdk/test_mem0ai_python_legacy.py does not
call: the webhook methods, get_summary() and the client-side-only chat().

Like mem0ai 2.x, 1.0.11 takes the project id as an argument of the webhook methods and sends it
in the path (not in the query string, unlike its other calls).
"""

import pytest

from memories import summaries
from memories.models import Webhook
from tests.conftest import ANY_TIMESTAMP, ANY_UUID
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import JULY_20_2024
from tests.sdk.webhook_payloads import (
    DELETED,
    NOT_FOUND,
    OTHER_RECEIVER,
    RECEIVER,
    UPDATED,
    webhook,
)

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def test_webhooks_are_created_listed_updated_and_deleted(py1, server):
    project_id = server.project.public_id
    hook_id = ref("0.webhook_id")
    results = py1(
        call(
            "create_webhook",
            url=RECEIVER,
            name="audit",
            project_id=project_id,
            event_types=["memory_add", "MEMORY_UPDATE"],
        ),
        call("get_webhooks", project_id),
        call("update_webhook", hook_id, name="audit trail", url=OTHER_RECEIVER),
        call("get_webhooks", project_id=project_id),
        call("delete_webhook", hook_id),
        call("get_webhooks", project_id),
        call("delete_webhook", hook_id),
    )
    created, listed, updated, relisted, deleted, after, again = results
    assert created == webhook(
        project_id, name="audit", event_types=["memory_add", "memory_update"], with_secret=True
    )
    same = {"id": created["webhook_id"], "event_types": ["memory_add", "memory_update"]}
    assert listed == [webhook(project_id, name="audit", **same)]
    assert updated == UPDATED
    assert relisted == [webhook(project_id, name="audit trail", url=OTHER_RECEIVER, **same)]
    assert deleted == DELETED
    assert after == []
    assert again == {"error": "MemoryNotFoundError", "message": NOT_FOUND}


def test_webhook_errors_carry_the_servers_detail(py1, server):
    project_id = server.project.public_id
    no_types, private, other_project, bad_id = py1(
        call("create_webhook", RECEIVER, "n", project_id, []),
        call("create_webhook", "http://localhost/hook", "n", project_id, ["memory_add"]),
        call("get_webhooks", "another-project"),
        call("delete_webhook", 7),
    )
    assert no_types == {
        "error": "ValidationError",
        "message": 'event_types must be a non-empty list, e.g. ["memory_add"]',
    }
    assert private["error"] == "ValidationError"
    assert private["message"].startswith("url points to localhost (127.0.0.1), on this machine")
    assert other_project == {"error": "MemoryNotFoundError", "message": "Project not found"}
    assert bad_id == {
        "error": "ValidationError",
        "message": "webhook_id should be a valid UUID, got '7'",
    }
    assert not Webhook.objects.exists()


def test_get_summary_summarises_the_filtered_memories(py1, fake_llm):
    fake_llm.on("summarise memories", reply={"summary": "Alex loves ramen."})
    *_, by_filters, everything = py1(
        call("add", "Alex loves ramen", user_id="alex", infer=False, timestamp=JULY_20_2024),
        call("add", "Sam plays chess", user_id="sam", infer=False, timestamp=JULY_20_2024),
        call("get_summary", {"user_id": "alex"}),
        call("get_summary"),
    )
    # The org_id and project_id 1.0.11 adds to the body name the key's own project.
    assert by_filters == {
        "summary": "Alex loves ramen.",
        "memory_count": 1,
        "memory_ids": [ANY_UUID],
        "truncated": False,
        "max_memories": summaries.MAX_SUMMARY_MEMORIES,
        "filters": {
            "AND": [{"user_id": "alex"}, {"agent_id": None, "app_id": None, "run_id": None}]
        },
        "generated_at": ANY_TIMESTAMP,
    }
    assert everything["memory_count"] == 2
    (prompt, _whole_project) = fake_llm.calls_for("summarise memories")
    assert "Alex loves ramen" in prompt.user and "Sam plays chess" not in prompt.user


def test_chat_is_not_implemented_client_side(py1):
    assert py1(call("chat")) == [
        {"error": "NotImplementedError", "message": "Chat is not implemented yet"}
    ]
