"""The official clients' project methods against a live memdash: mem0ai 2.2.1 (`MemoryClient`
and `AsyncMemoryClient`'s async project), mem0ai 1.0.11 (`py1`), and the npm client's
getProject / updateProject (npm has no members API). One test per SDK method.

`server` is a project ("sdk-compat" of "SDK Org") with an admin key made by owner@example.com;
`owner` makes that person the project's admin member, as the dashboard would.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from django.contrib.auth.models import User
from mem0 import AsyncMemoryClient
from mem0.exceptions import AuthenticationError, MemoryNotFoundError, ValidationError

from memories.models import Memory
from tenancy.models import Membership, Project, Role
from tests.conftest import ANY_TIMESTAMP
from tests.sdk.conftest import call

pytestmark = pytest.mark.django_db(transaction=True)

INVITED = (
    " No dashboard user had this email, so an invited user was created (username = the email);"
    " they can sign in once an admin sets their password."
)


@pytest.fixture
def owner(server):
    user = User.objects.get(email=server.owner_email)
    Membership.objects.create(user=user, project=server.project, role=Role.ADMIN)
    return user


@pytest.fixture
def bob(server):
    user = User.objects.create_user("bob", email="bob@example.com")
    Membership.objects.create(user=user, project=server.project, role=Role.VIEWER)
    return user


OWNER = {
    "username": "owner",
    "email": "owner@example.com",
    "role": "OWNER",
    "memdash_role": "admin",
}
BOB_READER = {
    "username": "bob",
    "email": "bob@example.com",
    "role": "READER",
    "memdash_role": "viewer",
}


def roles(server):
    return dict(server.project.memberships.values_list("user__username", "role"))


def run_async(server, use: Callable[[Any], Coroutine[Any, Any, Any]]) -> Any:
    """`use(client.project)` with a fresh AsyncMemoryClient, in a thread of its own (Playwright's
    sync API, in the browser tests, leaves an event loop running in the main thread)."""

    async def scenario():
        client = AsyncMemoryClient(api_key=server.api_key, host=server.host)
        try:
            return await use(client.project)
        finally:
            await client.async_client.aclose()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, scenario()).result()


# --- mem0ai 2.2.1, MemoryClient ---------------------------------------------------------------


def test_get_returns_the_project_with_its_members(py_client, server, owner):
    project = py_client.project.get(fields=["members"])
    assert (project["project_id"], project["org_id"], project["name"]) == (
        server.project.public_id,
        server.project.organization.public_id,
        "sdk-compat",
    )
    assert (project["members"], project["user_role"], project["created_at"]) == (
        [OWNER],
        "admin",
        ANY_TIMESTAMP,
    )


def test_update_changes_the_settings(py_client, server):
    assert py_client.project.update(custom_instructions="Food only.", decay=True) == {
        "message": "Project updated successfully"
    }
    server.project.refresh_from_db()
    assert (server.project.custom_instructions, server.project.options["decay"]) == (
        "Food only.",
        True,
    )


def test_create_makes_a_project_the_keys_creator_administers(py_client, server):
    created = py_client.project.create("second-bot", description="A second one")
    project = Project.objects.get(public_id=created["project_id"])
    assert created == {"message": "Project created successfully.", "project_id": project.public_id}
    assert (project.organization_id, project.description) == (
        server.project.organization_id,
        "A second one",
    )
    assert dict(project.memberships.values_list("user__email", "role")) == {
        "owner@example.com": "admin"
    }
    with pytest.raises(ValidationError, match="already has a project named 'second-bot'"):
        py_client.project.create("second-bot")


def test_get_members_lists_them(py_client, owner, bob):
    assert py_client.project.get_members() == {"members": [BOB_READER, OWNER]}


def test_add_member_invites_a_new_email(py_client, server, owner):
    assert py_client.project.add_member("carol@example.com") == {
        "message": "Added carol@example.com to project 'sdk-compat' as READER." + INVITED
    }
    assert roles(server) == {"owner": "admin", "carol@example.com": "viewer"}
    with pytest.raises(ValidationError, match="already a member"):
        py_client.project.add_member("carol@example.com", role="OWNER")


def test_update_member_changes_the_role(py_client, server, owner, bob):
    assert py_client.project.update_member("bob@example.com", "OWNER") == {
        "message": "bob@example.com is now OWNER of project 'sdk-compat'."
    }
    assert roles(server)["bob"] == "admin"
    with pytest.raises(MemoryNotFoundError, match="not a member"):
        py_client.project.update_member("nobody@example.com", "READER")


def test_remove_member_keeps_the_last_admin(py_client, server, owner, bob):
    assert py_client.project.remove_member("bob@example.com") == {
        "message": "Removed bob@example.com from project 'sdk-compat'."
    }
    assert roles(server) == {"owner": "admin"}
    with pytest.raises(ValidationError, match="last admin"):
        py_client.project.remove_member("owner@example.com")


def test_delete_removes_the_project_and_its_key(py_client, server):
    py_client.add("I like tea", user_id="alex", infer=False)
    assert py_client.project.delete() == {"message": "Project deleted successfully"}
    assert not Project.objects.filter(pk=server.project.pk).exists()
    assert not Memory.objects.exists()
    with pytest.raises(AuthenticationError, match="Invalid API key"):
        py_client.project.get()


# --- mem0ai 2.2.1, AsyncMemoryClient ----------------------------------------------------------


def test_get_with_the_async_client(server, owner):
    project = run_async(server, lambda project: project.get())
    assert (project["project_id"], project["members"]) == (server.project.public_id, [OWNER])


def test_update_with_the_async_client(server):
    result = run_async(server, lambda project: project.update(multilingual=True))
    assert result == {"message": "Project updated successfully"}
    server.project.refresh_from_db()
    assert server.project.options["multilingual"] is True


def test_create_with_the_async_client(server):
    created = run_async(server, lambda project: project.create("async-bot"))
    assert created == {
        "message": "Project created successfully.",
        "project_id": Project.objects.get(name="async-bot").public_id,
    }


def test_get_members_with_the_async_client(server, owner, bob):
    assert run_async(server, lambda project: project.get_members()) == {
        "members": [BOB_READER, OWNER]
    }


def test_add_member_with_the_async_client(server, owner, bob):
    # An existing user: found by email, in any case.
    User.objects.create_user("dora", email="Dora@Example.com")
    result = run_async(server, lambda project: project.add_member("dora@example.com", "OWNER"))
    assert result == {"message": "Added Dora@example.com to project 'sdk-compat' as OWNER."}
    assert roles(server)["dora"] == "admin"


def test_update_member_with_the_async_client(server, owner, bob):
    result = run_async(server, lambda project: project.update_member("bob@example.com", "OWNER"))
    assert result == {"message": "bob@example.com is now OWNER of project 'sdk-compat'."}


def test_remove_member_with_the_async_client(server, owner, bob):
    result = run_async(server, lambda project: project.remove_member("bob@example.com"))
    assert result == {"message": "Removed bob@example.com from project 'sdk-compat'."}
    assert roles(server) == {"owner": "admin"}


def test_delete_with_the_async_client(server):
    assert run_async(server, lambda project: project.delete()) == {
        "message": "Project deleted successfully"
    }
    assert not Project.objects.filter(pk=server.project.pk).exists()


# --- mem0ai 1.0.11 ------------------------------------------------------------------------------


def test_get_with_mem0ai_1_0_11(py1, server, owner):
    (project,) = py1(call("project.get", fields=["members"]))
    assert (project["project_id"], project["members"]) == (server.project.public_id, [OWNER])


def test_update_with_mem0ai_1_0_11(py1, server):
    (result,) = py1(call("project.update", custom_instructions="Legacy.", enable_graph=True))
    assert result == {"message": "Project updated successfully"}
    server.project.refresh_from_db()
    assert (server.project.custom_instructions, server.project.options["enable_graph"]) == (
        "Legacy.",
        True,
    )


def test_create_with_mem0ai_1_0_11(py1, server):
    (created,) = py1(call("project.create", "legacy-bot", description="old client"))
    assert created == {
        "message": "Project created successfully.",
        "project_id": Project.objects.get(name="legacy-bot").public_id,
    }


def test_get_members_with_mem0ai_1_0_11(py1, owner, bob):
    assert py1(call("project.get_members")) == [{"members": [BOB_READER, OWNER]}]


def test_add_member_with_mem0ai_1_0_11(py1, server, owner):
    added, again = py1(
        call("project.add_member", "erin@example.com", role="OWNER"),
        call("project.add_member", "erin@example.com"),
    )
    assert added == {
        "message": "Added erin@example.com to project 'sdk-compat' as OWNER." + INVITED
    }
    assert again["error"] == "ValidationError"
    assert roles(server)["erin@example.com"] == "admin"


def test_update_member_with_mem0ai_1_0_11(py1, server, owner, bob):
    assert py1(call("project.update_member", "bob@example.com", "OWNER")) == [
        {"message": "bob@example.com is now OWNER of project 'sdk-compat'."}
    ]


def test_remove_member_with_mem0ai_1_0_11(py1, server, owner, bob):
    removed, last = py1(
        call("project.remove_member", "bob@example.com"),
        call("project.remove_member", "owner@example.com"),
    )
    assert removed == {"message": "Removed bob@example.com from project 'sdk-compat'."}
    assert last["error"] == "ValidationError"
    assert "last admin" in last["message"]


def test_delete_with_mem0ai_1_0_11(py1, server):
    assert py1(call("project.delete")) == [{"message": "Project deleted successfully"}]
    assert not Project.objects.filter(pk=server.project.pk).exists()


# --- npm mem0ai 3.x: getProject / updateProject still work ----------------------------------


def test_getProject_and_updateProject_with_npm(js, server, owner):
    updated, project = js(
        call("updateProject", {"customInstructions": "From npm."}),
        call("getProject", {"fields": ["members"]}),
    )
    assert updated == {"message": "Project updated successfully"}
    assert (project["projectId"], project["customInstructions"], project["members"]) == (
        server.project.public_id,
        "From npm.",
        [
            {
                "username": "owner",
                "email": "owner@example.com",
                "role": "OWNER",
                "memdashRole": "admin",
            }
        ],
    )
