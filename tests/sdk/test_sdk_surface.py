"""Every public method of the official clients is called by a test against a live memdash.

The methods are enumerated from the installed clients themselves, so a new SDK release that adds
a method fails here until it has a test:

- mem0ai 2.2.1 `MemoryClient`, `AsyncMemoryClient`, `Project`, `AsyncProject`: `inspect`, here;
- mem0ai 1.0.11 `MemoryClient` and `Project` (the classes tests/sdk/py_runner.py drives):
  `inspect`, in the 1.0.11 interpreter;
- npm mem0ai 3.x `MemoryClient`: the prototype's methods, by tests/sdk/js/surface.mjs in node.

`TESTED` maps each method to the tests ("path::test_name") that call it with pinned payloads.
The check fails when a method has no entry, when an entry names a method the client no longer
has, a test that does not exist (found with `ast`) or a test that never mentions the method.
Methods that never reach the server (`chat()` raises NotImplementedError) map to the test that
asserts exactly that; deprecated aliases map to a test that calls the alias.

Run with `-s` to see, per client, "N of M server-reaching methods tested".
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sdk.conftest import JS_DIR, LEGACY_PYTHON, ROOT

pytestmark = pytest.mark.sdk

SDK = "tests/sdk"
PY = f"{SDK}/test_mem0ai_python.py"
PY_SURFACE = f"{SDK}/test_mem0ai_python_surface.py"
PY_ASYNC = f"{SDK}/test_mem0ai_python_async.py"
LEGACY = f"{SDK}/test_mem0ai_python_legacy.py"
LEGACY_SURFACE = f"{SDK}/test_mem0ai_python_legacy_surface.py"
JS = f"{SDK}/test_mem0ai_js.py"
JS_SURFACE = f"{SDK}/test_mem0ai_js_surface.py"
EXPORTS = f"{SDK}/test_exports_clients.py"
ENTITIES = f"{SDK}/test_entity_clients.py"
PROFILES = f"{SDK}/test_profile_clients.py"
PROJECTS = f"{SDK}/test_project_clients.py"

# --- the registry ------------------------------------------------------------------------------

# A client's method name -> the tests ("path::test_name") that call it against the live server.
Registry = dict[str, tuple[str, ...]]

PYTHON_2: Registry = {
    "add": (f"{PY}::test_add_verbatim_attributes_user_and_assistant_messages",),
    "get": (f"{PY}::test_get_pins_the_whole_memory_object",),
    "get_all": (f"{PY}::test_get_all_pages_with_absolute_links",),
    "search": (f"{PY}::test_search_ranks_within_filters_and_honours_options",),
    "update": (f"{PY}::test_update_returns_the_memory_and_history_records_each_change",),
    "history": (f"{PY}::test_update_returns_the_memory_and_history_records_each_change",),
    "delete": (f"{PY}::test_delete_removes_the_memory_and_history_outlives_it",),
    "delete_all": (f"{PY}::test_delete_all_by_run_leaves_other_sessions_intact",),
    "batch_update": (f"{PY}::test_batch_update_and_batch_delete",),
    "batch_delete": (f"{PY}::test_batch_update_and_batch_delete",),
    "feedback": (f"{PY}::test_feedback_is_recorded_and_cleared",),
    "users": (
        f"{PY}::test_users_lists_entities_and_delete_users_removes_them_with_their_memories",
    ),
    "delete_users": (
        f"{PY}::test_users_lists_entities_and_delete_users_removes_them_with_their_memories",
    ),
    "reset": (
        f"{PY}::test_users_lists_entities_and_delete_users_removes_them_with_their_memories",
        f"{ENTITIES}::test_reset_leaves_nothing_of_10000_entities_with_mem0ai_2",
    ),
    # Deprecated aliases of project.get() / project.update().
    "get_project": (f"{PY}::test_deprecated_project_methods_still_work",),
    "update_project": (f"{PY}::test_deprecated_project_methods_still_work",),
    "create_memory_export": (
        f"{EXPORTS}::test_python_export_is_built_then_found_by_id_and_by_filters",
    ),
    "get_memory_export": (
        f"{EXPORTS}::test_python_export_is_built_then_found_by_id_and_by_filters",
    ),
    "get_webhooks": (f"{PY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "create_webhook": (f"{PY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "update_webhook": (f"{PY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "delete_webhook": (f"{PY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "get_summary": (
        f"{PROFILES}::test_get_summary_summarises_the_filtered_memories",
        f"{PROFILES}::test_get_summary_without_an_llm_raises_the_501",
    ),
    "get_profile": (
        f"{PROFILES}::test_generate_profile_is_written_by_the_worker",
        f"{PROFILES}::test_get_profile_of_an_unknown_user_raises_not_found",
    ),
    "generate_profile": (f"{PROFILES}::test_generate_profile_is_written_by_the_worker",),
    "sample_profiles": (
        f"{PROFILES}::test_sample_profiles_picks_recent_users_and_the_job_counts_them",
    ),
    "get_profile_job": (f"{PROFILES}::test_get_profile_job_takes_a_job_id_or_the_status_url",),
    "get_profile_settings": (f"{PROFILES}::test_get_profile_settings_starts_disabled",),
    "update_profile_settings": (
        f"{PROFILES}::test_update_profile_settings_nests_schema_and_instructions_under_user",
    ),
    "chat": (f"{PY_SURFACE}::test_chat_is_not_implemented_client_side",),
}

PYTHON_2_ASYNC: Registry = {
    "add": (f"{PY_ASYNC}::test_add_verbatim_attributes_user_and_assistant_messages",),
    "get": (f"{PY_ASYNC}::test_add_verbatim_attributes_user_and_assistant_messages",),
    "get_all": (f"{PY_ASYNC}::test_get_all_pages_with_absolute_links",),
    "search": (f"{PY_ASYNC}::test_search_ranks_within_filters_and_honours_options",),
    "update": (f"{PY_ASYNC}::test_update_returns_the_memory_and_history_records_each_change",),
    "history": (f"{PY_ASYNC}::test_update_returns_the_memory_and_history_records_each_change",),
    "delete": (f"{PY_ASYNC}::test_delete_removes_the_memory_and_history_outlives_it",),
    "delete_all": (f"{PY_ASYNC}::test_delete_all_by_run_and_by_filters",),
    "batch_update": (f"{PY_ASYNC}::test_batch_update_and_batch_delete",),
    "batch_delete": (f"{PY_ASYNC}::test_batch_update_and_batch_delete",),
    "feedback": (f"{PY_ASYNC}::test_feedback_is_recorded_and_cleared",),
    "users": (f"{PY_ASYNC}::test_users_lists_entities_and_delete_users_and_reset_remove_them",),
    "delete_users": (
        f"{PY_ASYNC}::test_users_lists_entities_and_delete_users_and_reset_remove_them",
    ),
    "reset": (f"{PY_ASYNC}::test_users_lists_entities_and_delete_users_and_reset_remove_them",),
    # Deprecated aliases of project.get() / project.update().
    "get_project": (f"{PY_ASYNC}::test_deprecated_project_methods_still_work",),
    "update_project": (f"{PY_ASYNC}::test_deprecated_project_methods_still_work",),
    "create_memory_export": (
        f"{PY_ASYNC}::test_memory_export_stays_pending_without_a_worker",
        f"{PY_ASYNC}::test_memory_export_is_built_by_a_worker_with_the_llm",
    ),
    "get_memory_export": (
        f"{PY_ASYNC}::test_memory_export_stays_pending_without_a_worker",
        f"{PY_ASYNC}::test_memory_export_is_built_by_a_worker_with_the_llm",
    ),
    "get_webhooks": (f"{PY_ASYNC}::test_webhooks_are_created_listed_updated_and_deleted",),
    "create_webhook": (f"{PY_ASYNC}::test_webhooks_are_created_listed_updated_and_deleted",),
    "update_webhook": (f"{PY_ASYNC}::test_webhooks_are_created_listed_updated_and_deleted",),
    "delete_webhook": (f"{PY_ASYNC}::test_webhooks_are_created_listed_updated_and_deleted",),
    "get_summary": (
        f"{PROFILES}::test_get_summary_summarises_the_filtered_memories",
        f"{PROFILES}::test_get_summary_without_an_llm_raises_the_501",
    ),
    "get_profile": (
        f"{PROFILES}::test_generate_profile_is_written_by_the_worker",
        f"{PROFILES}::test_get_profile_of_an_unknown_user_raises_not_found",
    ),
    "generate_profile": (f"{PROFILES}::test_generate_profile_is_written_by_the_worker",),
    "sample_profiles": (
        f"{PROFILES}::test_sample_profiles_picks_recent_users_and_the_job_counts_them",
    ),
    "get_profile_job": (f"{PROFILES}::test_get_profile_job_takes_a_job_id_or_the_status_url",),
    "get_profile_settings": (f"{PROFILES}::test_get_profile_settings_starts_disabled",),
    "update_profile_settings": (
        f"{PROFILES}::test_update_profile_settings_nests_schema_and_instructions_under_user",
    ),
    "chat": (f"{PY_ASYNC}::test_chat_is_not_implemented_client_side",),
}

PROJECT_2: Registry = {
    "get": (
        f"{PY}::test_project_get_and_update",
        f"{PROJECTS}::test_get_returns_the_project_with_its_members",
    ),
    "update": (
        f"{PY}::test_project_get_and_update",
        f"{PROJECTS}::test_update_changes_the_settings",
    ),
    "create": (f"{PROJECTS}::test_create_makes_a_project_the_keys_creator_administers",),
    "delete": (f"{PROJECTS}::test_delete_removes_the_project_and_its_key",),
    "get_members": (f"{PROJECTS}::test_get_members_lists_them",),
    "add_member": (f"{PROJECTS}::test_add_member_invites_a_new_email",),
    "update_member": (f"{PROJECTS}::test_update_member_changes_the_role",),
    "remove_member": (f"{PROJECTS}::test_remove_member_keeps_the_last_admin",),
}

ASYNC_PROJECT_2: Registry = {
    "get": (
        f"{PY_ASYNC}::test_project_get_and_update",
        f"{PROJECTS}::test_get_with_the_async_client",
    ),
    "update": (
        f"{PY_ASYNC}::test_project_get_and_update",
        f"{PROJECTS}::test_update_with_the_async_client",
    ),
    "create": (f"{PROJECTS}::test_create_with_the_async_client",),
    "delete": (f"{PROJECTS}::test_delete_with_the_async_client",),
    "get_members": (f"{PROJECTS}::test_get_members_with_the_async_client",),
    "add_member": (f"{PROJECTS}::test_add_member_with_the_async_client",),
    "update_member": (f"{PROJECTS}::test_update_member_with_the_async_client",),
    "remove_member": (f"{PROJECTS}::test_remove_member_with_the_async_client",),
}

PYTHON_1: Registry = {
    "add": (f"{LEGACY}::test_add_get_update_history_delete",),
    "get": (f"{LEGACY}::test_add_get_update_history_delete",),
    "update": (
        f"{LEGACY}::test_add_get_update_history_delete",
        f"{LEGACY}::test_update_with_a_timestamp_back_dates_the_memory",
    ),
    "history": (f"{LEGACY}::test_add_get_update_history_delete",),
    "delete": (f"{LEGACY}::test_add_get_update_history_delete",),
    "get_all": (
        f"{LEGACY}::test_get_all_v2_wraps_the_bare_list_and_paginates_with_page_and_page_size",
    ),
    "search": (f"{LEGACY}::test_search_v2_returns_scored_memories",),
    "delete_all": (f"{LEGACY}::test_delete_all_by_run_leaves_other_sessions_intact",),
    "batch_update": (f"{LEGACY}::test_batch_update_and_batch_delete",),
    "batch_delete": (f"{LEGACY}::test_batch_update_and_batch_delete",),
    "users": (f"{LEGACY}::test_users_delete_users_and_reset",),
    "delete_users": (f"{LEGACY}::test_users_delete_users_and_reset",),
    "reset": (f"{LEGACY}::test_users_delete_users_and_reset",),
    # The request succeeds; the client then fails in its own telemetry call.
    "feedback": (f"{LEGACY}::test_feedback_reaches_the_server_but_the_client_then_fails",),
    # Deprecated aliases of project.get() / project.update().
    "get_project": (f"{LEGACY}::test_project_get_and_update_including_legacy_options",),
    "update_project": (f"{LEGACY}::test_project_get_and_update_including_legacy_options",),
    "create_memory_export": (
        f"{EXPORTS}::test_legacy_export_is_built_then_found_by_id_and_by_filters",
    ),
    "get_memory_export": (
        f"{EXPORTS}::test_legacy_export_is_built_then_found_by_id_and_by_filters",
    ),
    "get_webhooks": (f"{LEGACY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "create_webhook": (f"{LEGACY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "update_webhook": (f"{LEGACY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "delete_webhook": (f"{LEGACY_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "get_summary": (f"{LEGACY_SURFACE}::test_get_summary_summarises_the_filtered_memories",),
    "chat": (f"{LEGACY_SURFACE}::test_chat_is_not_implemented_client_side",),
}

PROJECT_1: Registry = {
    "get": (
        f"{LEGACY}::test_project_get_and_update_including_legacy_options",
        f"{PROJECTS}::test_get_with_mem0ai_1_0_11",
    ),
    "update": (
        f"{LEGACY}::test_project_get_and_update_including_legacy_options",
        f"{PROJECTS}::test_update_with_mem0ai_1_0_11",
    ),
    "create": (f"{PROJECTS}::test_create_with_mem0ai_1_0_11",),
    "delete": (f"{PROJECTS}::test_delete_with_mem0ai_1_0_11",),
    "get_members": (f"{PROJECTS}::test_get_members_with_mem0ai_1_0_11",),
    "add_member": (f"{PROJECTS}::test_add_member_with_mem0ai_1_0_11",),
    "update_member": (f"{PROJECTS}::test_update_member_with_mem0ai_1_0_11",),
    "remove_member": (f"{PROJECTS}::test_remove_member_with_mem0ai_1_0_11",),
}

NPM: Registry = {
    "ping": (f"{JS}::test_ping_succeeds_and_project_calls_can_use_its_org_and_project",),
    "add": (f"{JS}::test_add_get_update_history_delete",),
    "get": (f"{JS}::test_add_get_update_history_delete",),
    "update": (
        f"{JS}::test_add_get_update_history_delete",
        f"{JS}::test_update_expiration_date_and_timestamp",
    ),
    "history": (f"{JS}::test_add_get_update_history_delete",),
    "delete": (f"{JS}::test_add_get_update_history_delete",),
    "getAll": (f"{JS}::test_get_all_pages_with_absolute_links",),
    "search": (f"{JS}::test_search_and_filters",),
    "deleteAll": (f"{JS}::test_delete_all_by_run_leaves_other_sessions_intact",),
    "batchUpdate": (f"{JS}::test_batch_update_and_batch_delete",),
    "batchDelete": (f"{JS}::test_batch_update_and_batch_delete",),
    "users": (f"{JS}::test_users_and_entity_deletion",),
    "deleteUsers": (
        f"{JS}::test_users_and_entity_deletion",
        f"{ENTITIES}::test_delete_users_of_10000_entities_leaves_nothing_with_npm",
    ),
    # Deprecated (deleteUsers replaces it).
    "deleteUser": (f"{JS}::test_users_and_entity_deletion",),
    "feedback": (f"{JS}::test_feedback",),
    "getProject": (
        f"{JS}::test_ping_succeeds_and_project_calls_can_use_its_org_and_project",
        f"{PROJECTS}::test_getProject_and_updateProject_with_npm",
    ),
    "updateProject": (
        f"{JS}::test_project_update_keeps_category_names_verbatim",
        f"{PROJECTS}::test_getProject_and_updateProject_with_npm",
    ),
    "createMemoryExport": (f"{EXPORTS}::test_npm_export_is_built_then_found_by_id_and_by_filters",),
    "getMemoryExport": (f"{EXPORTS}::test_npm_export_is_built_then_found_by_id_and_by_filters",),
    "getWebhooks": (f"{JS_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "createWebhook": (f"{JS_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "updateWebhook": (f"{JS_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "deleteWebhook": (f"{JS_SURFACE}::test_webhooks_are_created_listed_updated_and_deleted",),
    "getProfile": (f"{PROFILES}::test_npm_generate_profile_and_get_profile",),
    "generateProfile": (f"{PROFILES}::test_npm_generate_profile_and_get_profile",),
    "getProfileSettings": (
        f"{PROFILES}::test_npm_get_profile_settings_and_update_profile_settings",
    ),
    "updateProfileSettings": (
        f"{PROFILES}::test_npm_get_profile_settings_and_update_profile_settings",
    ),
    "sampleProfiles": (f"{PROFILES}::test_npm_sample_profiles_and_get_profile_job",),
    "getProfileJob": (f"{PROFILES}::test_npm_sample_profiles_and_get_profile_job",),
}

# Methods that never send a request: their test asserts what they raise.
CLIENT_SIDE = {"chat"}


# --- enumerating the clients -------------------------------------------------------------------


def public_methods(cls: type) -> set[str]:
    return {name for name, value in inspect.getmembers(cls, callable) if not name.startswith("_")}


def python_2(class_name: str) -> set[str]:
    from mem0.client import main, project

    return public_methods(getattr(main, class_name, None) or getattr(project, class_name))


_LEGACY_ENUMERATION = """
import inspect, json
from mem0.client.main import MemoryClient
from mem0.client.project import Project

def public(cls):
    return sorted(n for n, v in inspect.getmembers(cls, callable) if not n.startswith("_"))

print(json.dumps({"MemoryClient": public(MemoryClient), "Project": public(Project)}))
"""


@functools.cache
def python_1_classes() -> dict[str, list[str]]:
    if not LEGACY_PYTHON.exists():
        pytest.fail("mem0ai 1.0.11 is not installed: run `make sdk`")
    done = subprocess.run(
        [str(LEGACY_PYTHON), "-c", _LEGACY_ENUMERATION],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "MEM0_TELEMETRY": "false"},
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def python_1(class_name: str) -> set[str]:
    return set(python_1_classes()[class_name])


def npm() -> set[str]:
    if not (JS_DIR / "node_modules" / "mem0ai").exists():
        pytest.fail("npm mem0ai is not installed: run `make sdk`")
    done = subprocess.run(
        ["node", "surface.mjs"], cwd=JS_DIR, capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout))


@dataclass(frozen=True)
class Client:
    name: str
    tested: Registry
    enumerate_methods: functools.partial[set[str]]


CLIENTS = [
    Client("mem0ai 2.2.1 MemoryClient", PYTHON_2, functools.partial(python_2, "MemoryClient")),
    Client(
        "mem0ai 2.2.1 AsyncMemoryClient",
        PYTHON_2_ASYNC,
        functools.partial(python_2, "AsyncMemoryClient"),
    ),
    Client("mem0ai 2.2.1 Project", PROJECT_2, functools.partial(python_2, "Project")),
    Client(
        "mem0ai 2.2.1 AsyncProject", ASYNC_PROJECT_2, functools.partial(python_2, "AsyncProject")
    ),
    Client("mem0ai 1.0.11 MemoryClient", PYTHON_1, functools.partial(python_1, "MemoryClient")),
    Client("mem0ai 1.0.11 Project", PROJECT_1, functools.partial(python_1, "Project")),
    Client("npm mem0ai MemoryClient", NPM, functools.partial(npm)),
]


# --- reading the tests -------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleTests:
    """The test functions of one file and, for each, the names it mentions."""

    tests: dict[str, set[str]]


def mentioned(node: ast.AST) -> set[str]:
    """Attribute names, bare names and string constants (with their last dotted part, for
    runner calls like "project.update") in `node`."""
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            names.add(child.attr)
        elif isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            names.update({child.value, child.value.rsplit(".", 1)[-1]})
    return names


@functools.cache
def read_test_module(path: str) -> ModuleTests | None:
    """None when the file does not exist."""
    file = ROOT / path
    if not file.exists():
        return None
    tree = ast.parse(file.read_text(), filename=str(file))
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }

    def reach(name: str) -> set[str]:
        # What a test mentions, itself or through the module's helpers it calls (transitively).
        seen: set[str] = set()
        names: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            found = mentioned(functions[current])
            names |= found
            todo.extend(n for n in found if n in functions and n not in seen)
        return names

    tests: dict[str, set[str]] = {
        name: reach(name) for name in functions if name.startswith("test_")
    }
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(
                    item, ast.FunctionDef | ast.AsyncFunctionDef
                ) and item.name.startswith("test_"):
                    tests[f"{node.name}::{item.name}"] = mentioned(item)
    return ModuleTests(tests)


def problem_with(method: str, test_id: str) -> str | None:
    """Why `test_id` does not prove `method` is tested, or None."""
    path, _, name = test_id.partition("::")
    module = read_test_module(path)
    if module is None:
        return f"{test_id}: {path} does not exist (yet)"
    if name not in module.tests:
        return f"{test_id}: {path} has no test named {name}"
    if method not in module.tests[name]:
        return f"{test_id}: the test never mentions {method}"
    return None


# --- the checks --------------------------------------------------------------------------------


def audit(name: str, methods: set[str], tested: Registry) -> tuple[str, list[str]]:
    """(the "N of M" summary, the problems) of a client with `methods` and its registry."""
    problems = [
        f"{name}.{method} has no entry in the registry: write a test that calls it against "
        "the live server and map it in tests/sdk/test_sdk_surface.py"
        for method in sorted(methods - tested.keys())
    ]
    problems += [
        f"{name} has no method {method}: remove its entry"
        for method in sorted(tested.keys() - methods)
    ]
    proven = set()
    for method in sorted(methods & tested.keys()):
        found = [problem_with(method, test_id) for test_id in tested[method]]
        problems += [f"{name}.{method}: {problem}" for problem in found if problem]
        if not any(found):
            proven.add(method)
    reaching = methods - CLIENT_SIDE
    summary = (
        f"{name}: {len(proven & reaching)} of {len(reaching)} server-reaching methods tested; "
        f"client-side only: {', '.join(sorted(methods & CLIENT_SIDE)) or 'none'}"
    )
    return summary, problems


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.name)
def test_every_public_method_is_called_by_a_live_test(client: Client) -> None:
    summary, problems = audit(client.name, client.enumerate_methods(), client.tested)
    print(summary)
    assert not problems, "\n".join([summary, *problems])


def test_the_audit_names_each_kind_of_gap() -> None:
    summary, problems = audit(
        "sdk",
        {"add", "get", "chat", "brand_new"},
        {
            "add": (f"{PY}::test_add_verbatim_attributes_user_and_assistant_messages",),
            "get": (f"{PY}::test_add_skips_exact_duplicates_in_the_same_scope",),
            "chat": (f"{PY}::test_no_such_test", f"{SDK}/test_not_written.py::test_chat"),
            "retired": (f"{PY}::test_get_pins_the_whole_memory_object",),
        },
    )
    assert summary == "sdk: 1 of 3 server-reaching methods tested; client-side only: chat"
    assert problems == [
        "sdk.brand_new has no entry in the registry: write a test that calls it against the live "
        "server and map it in tests/sdk/test_sdk_surface.py",
        "sdk has no method retired: remove its entry",
        f"sdk.chat: {PY}::test_no_such_test: {PY} has no test named test_no_such_test",
        f"sdk.chat: {SDK}/test_not_written.py::test_chat: {SDK}/test_not_written.py does not "
        "exist (yet)",
        f"sdk.get: {PY}::test_add_skips_exact_duplicates_in_the_same_scope: the test never "
        "mentions get",
    ]


def test_the_registry_names_tests_by_their_path_from_the_repository() -> None:
    for client in CLIENTS:
        for method, test_ids in client.tested.items():
            assert test_ids, f"{client.name}.{method}: an entry names at least one test"
            for test_id in test_ids:
                path = Path(test_id.partition("::")[0])
                assert path.parts[:2] == ("tests", "sdk") and path.suffix == ".py", test_id
