"""npm mem0ai 3.x (in node) methods that tests/sdk/test_mem0ai_js.py does not call: the webhook
methods.

The client learns the project id from its background ping: `getWebhooks()` and
`createWebhook({name, url, eventTypes})` use it (getWebhooks also takes `{projectId}`),
`updateWebhook({webhookId, ...})` sends only the fields that are not null, and `deleteWebhook`
takes `{webhookId}` or the bare id. Answers are camel-cased; an error's message is the raw body.
"""

import json

import pytest

from memories.models import Webhook
from tests.sdk.conftest import call, ref
from tests.sdk.payloads import camel
from tests.sdk.webhook_payloads import (
    DELETED,
    NOT_FOUND,
    OTHER_RECEIVER,
    RECEIVER,
    UPDATED,
    webhook,
)

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def failure(result):
    """(error name, the body's detail) of a call that threw: the message is the raw body."""
    return result["error"], json.loads(result["message"])["detail"]


def test_webhooks_are_created_listed_updated_and_deleted(js, server):
    project_id = server.project.public_id
    hook_id = ref("0.webhookId")
    results = js(
        call(
            "createWebhook",
            {"name": "audit", "url": RECEIVER, "eventTypes": ["memory_add", "memory_delete"]},
        ),
        call("getWebhooks"),
        call("updateWebhook", {"webhookId": hook_id, "name": None, "eventTypes": ["memory_add"]}),
        call("getWebhooks", {"projectId": project_id}),
        call("updateWebhook", {"webhookId": hook_id, "url": OTHER_RECEIVER}),
        call("getWebhooks"),
        call("deleteWebhook", {"webhookId": hook_id}),
        call("getWebhooks"),
    )
    created, listed, updated, relisted, moved, after_move, deleted, after = results
    assert created == camel(
        webhook(
            project_id,
            name="audit",
            event_types=["memory_add", "memory_delete"],
            with_secret=True,
        )
    )
    hook = {"id": created["webhookId"], "name": "audit"}
    assert listed == camel(
        [webhook(project_id, **hook, event_types=["memory_add", "memory_delete"])]
    )
    assert updated == moved == UPDATED
    assert relisted == camel([webhook(project_id, **hook, event_types=["memory_add"])])
    assert after_move == camel(
        [webhook(project_id, **hook, url=OTHER_RECEIVER, event_types=["memory_add"])]
    )
    assert deleted == DELETED
    assert after == []


def test_delete_webhook_takes_the_bare_id_and_errors_carry_the_raw_body(js, server):
    results = js(
        call("createWebhook", {"name": "audit", "url": RECEIVER, "eventTypes": ["memory_add"]}),
        call("deleteWebhook", ref("0.webhookId")),
        call("deleteWebhook", ref("0.webhookId")),
        call("createWebhook", {"name": "n", "url": RECEIVER, "eventTypes": ["memory_explode"]}),
        call("createWebhook", {"name": "n", "url": RECEIVER}),
        call("getWebhooks", {"projectId": "another-project"}),
        call("updateWebhook", {"webhookId": "7", "name": "n"}),
    )
    _created, deleted, again, unknown_type, no_types, other_project, bad_id = results
    assert deleted == DELETED
    assert failure(again) == ("MemoryNotFoundError", NOT_FOUND)
    name, detail = failure(unknown_type)
    assert name == "ValidationError"
    assert detail.startswith("Unknown webhook event type 'memory_explode'; use one of: memory_add")
    # eventTypes left out: JSON.stringify drops the undefined event_types.
    assert failure(no_types) == (
        "ValidationError",
        'event_types must be a non-empty list, e.g. ["memory_add"]',
    )
    assert failure(other_project) == ("MemoryNotFoundError", "Project not found")
    assert failure(bad_id) == ("ValidationError", "webhook_id should be a valid UUID, got '7'")
    assert not Webhook.objects.exists()
