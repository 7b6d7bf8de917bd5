"""mem0ai 2.x (in-process) methods that tests/sdk/test_mem0ai_python.py does not call: the
webhook methods and the client-side-only chat().

The webhook methods take the project id as an argument (`get_webhooks(project_id)`,
`create_webhook(url, name, project_id, event_types)`) and send it in the path; memdash accepts
only the key's own project there.
"""

import pytest
from mem0 import MemoryClient
from mem0.exceptions import AuthenticationError, MemoryNotFoundError, ValidationError

from memories.models import Webhook
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.sdk.webhook_payloads import (
    DELETED,
    NOT_FOUND,
    OTHER_RECEIVER,
    RECEIVER,
    UPDATED,
    webhook,
)

pytestmark = [pytest.mark.sdk, pytest.mark.django_db(transaction=True)]


def test_webhooks_are_created_listed_updated_and_deleted(py_client, server):
    project_id = server.project.public_id
    created = py_client.create_webhook(
        url=RECEIVER,
        name="audit",
        project_id=project_id,
        event_types=["memory_add", "memory.delete", "ADD"],
    )
    # Mem0's other spellings of an event type are stored as the canonical name, once.
    assert created == webhook(
        project_id, name="audit", event_types=["memory_add", "memory_delete"], with_secret=True
    )
    hook_id = created["webhook_id"]
    assert py_client.get_webhooks(project_id) == [
        webhook(project_id, id=hook_id, name="audit", event_types=["memory_add", "memory_delete"])
    ]

    assert (
        py_client.update_webhook(
            hook_id, name="audit trail", url=OTHER_RECEIVER, event_types=["memory_update"]
        )
        == UPDATED
    )
    # The fields left out (None) are not sent and keep their values.
    assert py_client.update_webhook(hook_id, name="trail") == UPDATED
    assert py_client.get_webhooks(project_id) == [
        webhook(
            project_id,
            id=hook_id,
            name="trail",
            url=OTHER_RECEIVER,
            event_types=["memory_update"],
        )
    ]

    assert py_client.delete_webhook(hook_id) == DELETED
    assert py_client.get_webhooks(project_id) == []
    with pytest.raises(MemoryNotFoundError, match=f"^{NOT_FOUND}$"):
        py_client.delete_webhook(hook_id)


def test_webhook_errors_carry_the_servers_detail(py_client, server):
    project_id = server.project.public_id
    with pytest.raises(ValidationError, match="^Unknown webhook event type 'memory_explode'"):
        py_client.create_webhook(
            url=RECEIVER, name="n", project_id=project_id, event_types=["memory_explode"]
        )
    with pytest.raises(ValidationError, match="^url points to 127.0.0.1 .*private network"):
        py_client.create_webhook(
            url="http://127.0.0.1:9/hook", name="n", project_id=project_id, event_types=["ADD"]
        )
    with pytest.raises(MemoryNotFoundError, match="^Project not found$"):
        py_client.get_webhooks("another-project")
    # The signature says webhook_id: int (Mem0's ids once were); memdash's are UUIDs.
    with pytest.raises(ValidationError, match="^webhook_id should be a valid UUID, got '42'"):
        py_client.update_webhook(42, name="n")
    assert not Webhook.objects.exists()


def test_only_admin_keys_manage_webhooks(server):
    key = create_api_key(server.project, role=Role.EDITOR, name="editor")
    client = MemoryClient(api_key=key, host=server.host)
    with pytest.raises(AuthenticationError, match="needs admin"):
        client.get_webhooks(server.project.public_id)
    with pytest.raises(AuthenticationError, match="needs admin"):
        client.create_webhook(RECEIVER, "n", server.project.public_id, ["memory_add"])
    client.client.close()


def test_chat_is_not_implemented_client_side(py_client):
    with pytest.raises(NotImplementedError, match="^Chat is not implemented yet$"):
        py_client.chat()
