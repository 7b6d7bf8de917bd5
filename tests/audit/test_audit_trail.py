"""Every change that is not a memory change writes exactly one audit-trail row, with who made it
(key, dashboard user or the system), the project, the target and what changed: one table row per
way of changing keys, members, settings and webhooks, of logging in and out, and of exporting
and erasing. Failed, refused and no-op changes write none, and no secret ever reaches the log."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Max
from django.test import Client, override_settings

from audit.models import AuditEntry
from audit.query import CHANGES
from memories import erasure, holds, retention
from memories.models import Erasure, Export, Webhook
from memories.subjects import Subject
from memories.webhooks import subscriptions
from tenancy import services
from tenancy.models import ApiKey, Membership, Organization, Project, Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client

pytestmark = pytest.mark.django_db

UA = "audit-trail-test/1"
PASSWORD = "Sturdy-Pw-7Qz!x"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, project: Project | None = None, role: str | None = None, **extra):
    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", PASSWORD, **extra
    )
    if project is not None:
        Membership.objects.create(user=user, project=project, role=role)
    return user


def browser(user=None) -> Client:
    """A dashboard client with a known user agent, logged in as `user` if given."""
    client = Client(headers={"User-Agent": UA})
    if user is not None:
        client.force_login(user)
    return client


def keyed(project: Project, role: str, name: str):
    raw = create_api_key(project, role=role, name=name)
    client = api_client(raw)
    client.defaults["HTTP_USER_AGENT"] = UA
    return client, ApiKey.objects.get(name=name)


def last_id() -> int:
    return AuditEntry.objects.aggregate(top=Max("id"))["top"] or 0


def changes_since(mark: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(id__gt=mark, kind="change").order_by("id"))


# --- who ------------------------------------------------------------------------------------

# (surface, actor_type, actor_id, actor_name, actor_label, role)
Who = tuple[str, str, str, str, str, str]
SYSTEM: Who = ("system", "system", "", "", "system", "")


def by_key(key: ApiKey) -> Who:
    return ("api", "key", str(key.pk), key.name, key.actor, key.role)


def by_user(user, role: str = "") -> Who:
    name = user.get_username()
    return ("dashboard", "user", str(user.pk), name, f"user:{name}", role)


ANONYMOUS: Who = ("dashboard", "anonymous", "", "", "", "")


@dataclass
class World:
    """`project` with an admin key ("ops bot"), a compliance key ("officer"), its admin `alice`
    on the dashboard, and one memory of maria's."""

    project: Project
    admin: Any
    admin_key: ApiKey
    officer: Any
    officer_key: ApiKey
    alice: Any
    alice_client: Client
    mark: int = 0

    def begin(self) -> None:
        """The change under test starts here: rows before it are the case's setup."""
        self.mark = last_id()

    @property
    def hooks(self) -> str:
        return f"/api/v1/webhooks/projects/{self.project.public_id}/"

    @property
    def settings_path(self) -> str:
        org = self.project.organization.public_id
        return f"/api/v1/orgs/organizations/{org}/projects/{self.project.public_id}/"


@pytest.fixture
def world(project) -> World:
    admin, admin_key = keyed(project, Role.ADMIN, "ops bot")
    officer, officer_key = keyed(project, Role.COMPLIANCE, "officer")
    add_verbatim(admin, "Maria likes green tea", user_id="maria")
    alice = make_user("alice", project, Role.ADMIN)
    w = World(project, admin, admin_key, officer, officer_key, alice, browser(alice))
    w.begin()
    return w


@dataclass
class Expect:
    action: str
    by: Who
    target: str
    details: Any
    response: Any = None  # the request that made the change; None: made outside a request
    in_project: bool = True  # logins belong to no project
    entities: set[str] = field(default_factory=set)
    # A row of another project than the world's (a project or organization being created).
    project_id: int | None = None
    # The rows a change writes along with its own (a deleted project's keys and members).
    along: set[str] = field(default_factory=set)


def check(w: World, expect: Expect) -> AuditEntry:
    rows = changes_since(w.mark)
    assert [r.action for r in rows if r.action not in expect.along] == [expect.action]
    row = next(r for r in rows if r.action == expect.action)
    assert row.kind == "change"
    who = (row.surface, row.actor_type, row.actor_id, row.actor_name, row.actor_label, row.role)
    assert who == expect.by
    in_project = w.project.pk if expect.in_project else None
    assert row.project_id == (expect.project_id or in_project)
    assert row.target == expect.target
    assert row.details == expect.details
    assert set(row.entities) == expect.entities
    if expect.response is not None:
        assert row.request_id == expect.response["X-Request-ID"]
        assert (row.ip, row.user_agent) == ("127.0.0.1", UA)
    else:
        assert (row.request_id, row.ip, row.user_agent, row.path) == ("", None, "", "")
    return row


# --- the changes, one case each --------------------------------------------------------------

# name: (the action it must write, the case)
CASES: dict[str, tuple[str, Callable[[World], Expect]]] = {}


def case(action: str) -> Callable[[Callable[[World], Expect]], Callable[[World], Expect]]:
    def register(fn: Callable[[World], Expect]) -> Callable[[World], Expect]:
        CASES[fn.__name__] = (action, fn)
        return fn

    return register


def _key_details(key: ApiKey) -> dict[str, str]:
    return {"name": key.name, "prefix": key.prefix, "role": key.role}


@case("key.create")
def key_create_on_the_dashboard(w: World) -> Expect:
    response = w.alice_client.post("/keys/", {"name": "support bot", "role": Role.EDITOR})
    assert response.status_code == 200
    key = ApiKey.objects.get(name="support bot")
    assert response.context["new_key"].startswith(key.prefix)
    return Expect("key.create", by_user(w.alice, "admin"), key.prefix, _key_details(key), response)


@case("key.create")
def key_create_by_the_service(w: World) -> Expect:
    create_api_key(w.project, role=Role.VIEWER, name="nightly job")
    key = ApiKey.objects.get(name="nightly job")
    return Expect("key.create", SYSTEM, key.prefix, _key_details(key))


@case("key.create")
def key_create_by_the_command(w: World) -> Expect:
    call_command(
        "create_api_key", "--project", "support-bot", "--org", "Acme", "--role", "viewer",
        "--name", "cli key", stdout=io.StringIO(),
    )  # fmt: skip
    key = ApiKey.objects.get(name="cli key")
    return Expect("key.create", SYSTEM, key.prefix, {**_key_details(key), "role": "viewer"})


@case("key.change")
def key_rename(w: World) -> Expect:
    key = w.admin_key
    key.name = "ops bot (old)"
    key.save()
    return Expect(
        "key.change",
        SYSTEM,
        key.prefix,
        {
            "before": {"name": "ops bot", "role": "admin"},
            "after": {"name": "ops bot (old)", "role": "admin"},
        },
    )


@case("key.change")
def key_role_change(w: World) -> Expect:
    key = w.officer_key
    key.role = Role.VIEWER
    key.save(update_fields=["role"])
    return Expect(
        "key.change",
        SYSTEM,
        key.prefix,
        {
            "before": {"name": "officer", "role": "compliance"},
            "after": {"name": "officer", "role": "viewer"},
        },
    )


@case("key.revoke")
def key_revoke_on_the_dashboard(w: World) -> Expect:
    key = w.officer_key
    response = w.alice_client.post(f"/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    return Expect("key.revoke", by_user(w.alice, "admin"), key.prefix, _key_details(key), response)


@case("key.revoke")
def key_revoke_by_the_service(w: World) -> Expect:
    key = w.officer_key
    assert services.revoke_api_key(w.project, key.pk) is True
    return Expect("key.revoke", SYSTEM, key.prefix, _key_details(key))


@case("key.delete")
def key_delete(w: World) -> Expect:
    key = w.officer_key
    details = _key_details(key)
    key.delete()
    return Expect("key.delete", SYSTEM, details["prefix"], details)


def _add_member(username: str, role: str) -> None:
    call_command(
        "add_member", username, "--project", "support-bot", "--org", "Acme", "--role", role,
        "--password", PASSWORD, stdout=io.StringIO(),
    )  # fmt: skip


@case("member.add")
def member_add_by_the_command(w: World) -> Expect:
    _add_member("nina", Role.EDITOR)
    return Expect("member.add", SYSTEM, "nina", {"role": "editor"})


@case("member.role")
def member_role_by_the_command(w: World) -> Expect:
    make_user("nina", w.project, Role.EDITOR)
    w.begin()
    _add_member("nina", Role.COMPLIANCE)
    return Expect("member.role", SYSTEM, "nina", {"before": "editor", "after": "compliance"})


@case("member.remove")
def member_remove(w: World) -> Expect:
    make_user("nina", w.project, Role.EDITOR)
    w.begin()
    Membership.objects.get(user__username="nina").delete()
    return Expect("member.remove", SYSTEM, "nina", {"role": "editor"})


@case("member.remove")
def member_remove_by_deleting_the_user_in_the_admin(w: World) -> Expect:
    nina = make_user("nina", w.project, Role.VIEWER)
    root = make_user("root", is_staff=True, is_superuser=True)
    client = browser(root)
    w.begin()
    with override_settings(MEMDASH_ADMIN=True):  # the admin is off by default
        response = client.post(f"/admin/auth/user/{nina.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(user__username="nina").exists()
    return Expect("member.remove", by_user(root), "nina", {"role": "viewer"}, response)


@case("member.add")
def member_add_on_the_dashboard(w: World) -> Expect:
    response = w.alice_client.post("/settings/members/", {"person": "nina", "role": "viewer"})
    assert response.status_code == 200
    assert response.context["one_time"]["username"] == "nina"
    return Expect("member.add", by_user(w.alice, "admin"), "nina", {"role": "viewer"}, response)


@case("member.password_reset")
def member_password_reset_on_the_dashboard(w: World) -> Expect:
    nina = make_user("nina", w.project, Role.VIEWER)
    w.begin()
    response = w.alice_client.post(f"/settings/members/{nina.pk}/password/")
    assert response.status_code == 200
    assert response.context["one_time"]["password"]
    return Expect("member.password_reset", by_user(w.alice, "admin"), "nina", None, response)


@case("settings.change")
def settings_by_the_api(w: World) -> Expect:
    body = {"name": w.project.name, "custom_instructions": "Only food", "multilingual": True}
    response = w.admin.patch(w.settings_path, body, format="json")
    assert response.status_code == 200, response.content
    return Expect(
        "settings.change",
        by_key(w.admin_key),
        w.project.public_id,
        {
            "custom_instructions": {"before": "", "after": "Only food"},
            "multilingual": {"before": None, "after": True},
        },
        response,
    )


@case("settings.change")
def categories_by_the_api(w: World) -> Expect:
    body = {"custom_categories": [{"food": "What they eat"}]}
    response = w.admin.patch(w.settings_path, body, format="json")
    assert response.status_code == 200, response.content
    return Expect(
        "settings.change",
        by_key(w.admin_key),
        w.project.public_id,
        {"custom_categories": {"before": [], "after": [{"food": "What they eat"}]}},
        response,
    )


def _settings_form(project: Project, **changes: str) -> dict[str, str]:
    form = {
        "name": project.name,
        "description": project.description,
        "custom_instructions": project.custom_instructions,
        "agent_custom_instructions": project.agent_custom_instructions,
        "custom_categories": "",
    }
    return {**form, **changes}


@case("settings.change")
def settings_on_the_dashboard(w: World) -> Expect:
    form = _settings_form(w.project, description="The support desk", custom_categories="food:")
    response = w.alice_client.post("/settings/", form)
    assert response.status_code == 302
    return Expect(
        "settings.change",
        by_user(w.alice, "admin"),
        w.project.public_id,
        {
            "description": {"before": "", "after": "The support desk"},
            "custom_categories": {"before": [], "after": [{"food": ""}]},
        },
        response,
    )


HOOK_URL = "https://hookuser:hookpass@Hooks.Example.com/in/x?token=tok-abc#frag"
SEEN_URL = "https://hooks.example.com/in/x"


def _hook(w: World, url: str = HOOK_URL) -> Webhook:
    hook = subscriptions.create_webhook(
        w.project, {"name": "crm", "url": url, "event_types": ["memory_add"]}
    )
    w.begin()
    return hook


@case("webhook.create")
def webhook_create(w: World) -> Expect:
    body = {"name": "crm", "url": HOOK_URL, "event_types": ["memory_add"]}
    response = w.admin.post(w.hooks, body, format="json")
    assert response.status_code == 201, response.content
    hook = response.json()
    details = {"name": "crm", "url": SEEN_URL, "event_types": ["memory_add"], "is_active": True}
    return Expect("webhook.create", by_key(w.admin_key), hook["webhook_id"], details, response)


@case("webhook.change")
def webhook_change(w: World) -> Expect:
    hook = _hook(w)
    body = {"url": "https://u2:p2@hooks.example.com/in/y?token=tok-def", "is_active": False}
    response = w.admin.patch(f"/api/v1/webhooks/{hook.pk}/", body, format="json")
    assert response.status_code == 200, response.content
    details = {
        "url": {"before": SEEN_URL, "after": "https://hooks.example.com/in/y"},
        "is_active": {"before": True, "after": False},
    }
    return Expect("webhook.change", by_key(w.admin_key), str(hook.pk), details, response)


@case("webhook.delete")
def webhook_delete(w: World) -> Expect:
    hook = _hook(w)
    response = w.admin.delete(f"/api/v1/webhooks/{hook.pk}/")
    assert response.status_code == 200, response.content
    assert not Webhook.objects.exists()
    details = {"name": "crm", "url": SEEN_URL, "event_types": ["memory_add"], "is_active": True}
    return Expect("webhook.delete", by_key(w.admin_key), str(hook.pk), details, response)


@case("export.create")
def platform_export(w: World) -> Expect:
    body = {"schema": {"type": "object"}, "filters": {"user_id": "maria"}}
    response = w.admin.post("/v1/exports/", body, format="json")
    assert response.status_code == 201, response.content
    export = Export.objects.get(pk=response.json()["id"])
    assert export.kind == "platform"
    return Expect(
        "export.create", by_key(w.admin_key), str(export.pk), {"kind": "platform"}, response,
        entities={"user:maria"},
    )  # fmt: skip


@case("export.create")
def subject_export(w: World) -> Expect:
    body = {"entity_type": "user", "entity_id": "maria"}
    response = w.officer.post("/v1/subject-exports/", body, format="json")
    assert response.status_code == 202, response.content
    return Expect(
        "export.create", by_key(w.officer_key), response.json()["id"], {"kind": "subject"},
        response, entities={"user:maria"},
    )  # fmt: skip


def _confirm(w: World):
    body = {
        "entity_type": "user", "entity_id": "maria", "dry_run": False, "reference": "DSR-7",
        "reason": "GDPR art. 17",
    }  # fmt: skip
    response = w.officer.post("/v1/erasures/", body, format="json")
    assert response.status_code == 202, response.content
    return response


@case("erasure.confirm")
def erasure_confirm(w: World) -> Expect:
    response = _confirm(w)
    done = response.json()
    details = {"subject": {"type": "user", "hash": done["subject"]["hash"]}, "reference": "DSR-7"}
    return Expect(
        "erasure.confirm", by_key(w.officer_key), done["id"], details, response,
        entities={"user:maria"},
    )  # fmt: skip


@case("erasure.done")
def erasure_done(w: World) -> Expect:
    done = _confirm(w).json()
    w.begin()
    erasure.run(done["event_id"])  # the worker's job, inline
    record = Erasure.objects.get(pk=done["id"])
    assert record.completed_at is not None and record.counts["memories"] == 1
    details = {"subject": {"type": "user", "hash": record.subject_hash}, "counts": record.counts}
    return Expect("erasure.done", SYSTEM, done["id"], details)


@case("hold.place")
def hold_place(w: World) -> Expect:
    body = {"name": "Case 7", "entity_type": "user", "entity_id": "maria", "reason": "lawsuit"}
    response = w.officer.post("/v1/holds/", body, format="json")
    assert response.status_code == 201, response.content
    details = {
        "name": "Case 7",
        "subject": {"entity_type": "user", "entity_id": "maria"},
        "reason": "lawsuit",
    }
    return Expect(
        "hold.place", by_key(w.officer_key), response.json()["id"], details, response,
        entities={"user:maria"},
    )  # fmt: skip


@case("hold.release")
def hold_release(w: World) -> Expect:
    hold = holds.place(
        w.project, Subject(filters={"run_id": "case-7"}), name="Case 7", actor="user:olga"
    )
    w.begin()
    response = w.officer.post(f"/v1/holds/{hold.pk}/release/", {"reason": "settled"}, format="json")
    assert response.status_code == 200, response.content
    details = {"name": "Case 7", "subject": {"filters": {"run_id": "case-7"}}, "reason": "settled"}
    return Expect(
        "hold.release", by_key(w.officer_key), str(hold.pk), details, response,
        entities={"run:case-7"},
    )  # fmt: skip


RETENTION = {"name": "chat 30 days", "filters": {"app_id": "chat"}, "rule": "created", "days": 30}


@case("retention.create")
def retention_create(w: World) -> Expect:
    response = w.admin.post("/v1/retention-policies/", RETENTION, format="json")
    assert response.status_code == 201, response.content
    details = {**RETENTION, "enabled": True}
    return Expect("retention.create", by_key(w.admin_key), response.json()["id"], details, response)


@case("retention.change")
def retention_change(w: World) -> Expect:
    policy = retention.create_policy(w.project, RETENTION, actor="user:alice")
    w.begin()
    response = w.admin.patch(
        f"/v1/retention-policies/{policy.pk}/", {"days": 60, "enabled": False}, format="json"
    )
    assert response.status_code == 200, response.content
    details = {
        "days": {"before": 30, "after": 60},
        "enabled": {"before": True, "after": False},
    }
    return Expect("retention.change", by_key(w.admin_key), str(policy.pk), details, response)


@case("retention.delete")
def retention_delete(w: World) -> Expect:
    policy = retention.create_policy(w.project, RETENTION, actor="user:alice")
    w.begin()
    response = w.admin.delete(f"/v1/retention-policies/{policy.pk}/")
    assert response.status_code == 200, response.content
    details = {**RETENTION, "enabled": True}
    return Expect("retention.delete", by_key(w.admin_key), str(policy.pk), details, response)


@case("profile.settings")
def profile_settings(w: World) -> Expect:
    response = w.admin.post("/v2/profiles/settings/", {"enabled": True}, format="json")
    assert response.status_code == 200, response.content
    details = {"enabled": {"before": False, "after": True}, "version": 1}
    return Expect("profile.settings", by_key(w.admin_key), w.project.public_id, details, response)


@case("project.create")
def project_create(w: World) -> Expect:
    org = w.project.organization.public_id
    response = w.admin.post(
        f"/api/v1/orgs/organizations/{org}/projects/", {"name": "billing"}, format="json"
    )
    assert response.status_code == 201, response.content
    created = Project.objects.get(public_id=response.json()["project_id"])
    details = {"name": "billing", "organization": org}
    return Expect(
        "project.create", by_key(w.admin_key), created.public_id, details, response,
        project_id=created.pk,
    )  # fmt: skip


@case("org.create")
def org_create(w: World) -> Expect:
    response = w.admin.post("/api/v1/orgs/organizations/", {"name": "Initech"}, format="json")
    assert response.status_code == 201, response.content
    org = Organization.objects.get(public_id=response.json()["org_id"])
    default = org.projects.get()
    details = {"name": "Initech", "default_project": default.public_id}
    return Expect(
        "org.create", by_key(w.admin_key), org.public_id, details, response,
        project_id=default.pk,
    )  # fmt: skip


@case("project.delete")
def project_delete(w: World) -> Expect:
    response = w.admin.delete(w.settings_path)
    assert response.status_code == 200, response.content
    event = AuditEntry.objects.get(action="project.delete").details["event_id"]
    details = {"name": w.project.name, "event_id": event, "queued": False}
    # Its keys and members go with it, each in the trail (key.delete, member.remove).
    return Expect(
        "project.delete", by_key(w.admin_key), w.project.public_id, details, response,
        along={"key.delete", "member.remove"},
    )  # fmt: skip


@case("org.delete")
def org_delete(w: World) -> Expect:
    org = w.project.organization
    response = w.admin.delete(f"/api/v1/orgs/organizations/{org.public_id}/")
    assert response.status_code == 200, response.content
    details = {"name": org.name, "projects": [w.project.public_id]}
    return Expect(
        "org.delete", by_key(w.admin_key), org.public_id, details, response, in_project=False,
        along={"project.delete", "key.delete", "member.remove"},
    )  # fmt: skip


@case("login")
def login(w: World) -> Expect:
    nina = make_user("nina", w.project, Role.VIEWER)
    w.begin()
    response = browser().post("/login/", {"username": "nina", "password": PASSWORD})
    assert response.status_code == 302
    return Expect("login", by_user(nina), "nina", None, response, in_project=False)


@case("login.failed")
def login_with_a_wrong_password(w: World) -> Expect:
    make_user("nina", w.project, Role.VIEWER)
    w.begin()
    response = browser().post("/login/", {"username": "nina", "password": "not-it-9"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    return Expect("login.failed", ANONYMOUS, "nina", None, response, in_project=False)


@case("login.failed")
def login_as_nobody(w: World) -> Expect:
    response = browser().post("/login/", {"username": "ghost", "password": "not-it-9"})
    assert response.status_code == 200
    return Expect("login.failed", ANONYMOUS, "ghost", None, response, in_project=False)


@case("logout")
def logout(w: World) -> Expect:
    nina = make_user("nina", w.project, Role.VIEWER)
    client = browser(nina)
    w.begin()
    response = client.post("/logout/")
    assert response.status_code == 302
    return Expect("logout", by_user(nina), "nina", None, response, in_project=False)


@case("login.locked")
def login_locked_out_after_too_many_failures(w: World) -> Expect:
    make_user("nina", w.project, Role.VIEWER)
    client = browser()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/login/", {"username": "nina", "password": "not-it-9"})
    w.begin()
    response = client.post("/login/", {"username": "nina", "password": "not-it-9"})
    assert response.status_code == 429
    minutes = settings.AXES_COOLOFF_TIME.total_seconds() // 60
    details = {"failures": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    return Expect(
        "login.locked",
        ANONYMOUS,
        "nina",
        details,
        response,
        in_project=False,
        along={"login.failed"},
    )


@case("password.change")
def password_change(w: World) -> Expect:
    nina = make_user("nina", w.project, Role.VIEWER)
    client = browser(nina)
    w.begin()
    new = "Another-Sturdy-Pw-8Rk!"
    response = client.post(
        "/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    return Expect("password.change", by_user(nina), "nina", None, response, in_project=False)


@pytest.mark.parametrize("name", list(CASES))
def test_every_change_writes_one_row(world, name):
    action, make = CASES[name]
    expect = make(world)
    assert expect.action == action
    check(world, expect)


def test_every_change_action_has_a_case():
    assert {action for action, _make in CASES.values()} == set(CHANGES)


# --- what writes nothing ---------------------------------------------------------------------

# Each prepares what it needs, then calls w.begin() just before the request or call under test.
NO_OPS: dict[str, Callable[[World], Any]] = {}
FAILURES: dict[str, Callable[[World], Any]] = {}


def no_op(fn: Callable[[World], Any]) -> Callable[[World], Any]:
    NO_OPS[fn.__name__] = fn
    return fn


def failure(fn: Callable[[World], Any]) -> Callable[[World], Any]:
    FAILURES[fn.__name__] = fn
    return fn


@no_op
def settings_saved_unchanged_by_the_api(w: World):
    body = {"name": w.project.name, "custom_instructions": "", "multilingual": None}
    return w.admin.patch(w.settings_path, body, format="json")


@no_op
def categories_saved_unchanged_by_the_api(w: World):
    w.admin.patch(w.settings_path, {"custom_categories": [{"food": "Meals"}]}, format="json")
    w.begin()
    return w.admin.patch(w.settings_path, {"custom_categories": [{"food": "Meals"}]}, format="json")


@no_op
def settings_saved_unchanged_on_the_dashboard(w: World):
    w.admin.patch(
        w.settings_path,
        {"custom_categories": [{"food": "Meals"}], "description": "Desk"},
        format="json",
    )
    w.project.refresh_from_db()
    w.begin()
    return w.alice_client.post(
        "/settings/", _settings_form(w.project, custom_categories="food: Meals")
    )


@no_op
def a_webhook_saved_unchanged(w: World):
    hook = _hook(w)
    body = {"name": "crm", "url": HOOK_URL, "event_types": ["memory_add"], "is_active": True}
    return w.admin.patch(f"/api/v1/webhooks/{hook.pk}/", body, format="json")


@no_op
def a_key_revoked_twice(w: World):
    w.alice_client.post(f"/keys/{w.officer_key.pk}/revoke/")
    w.begin()
    return w.alice_client.post(f"/keys/{w.officer_key.pk}/revoke/")


@no_op
def a_key_saved_unchanged(w: World):
    w.admin_key.save()


@no_op
def a_key_used_on_the_api(w: World):
    # Its last use is written to the key (at most once a minute): not a change of the key.
    ApiKey.objects.filter(pk=w.admin_key.pk).update(last_used_at=None)
    w.begin()
    return w.admin.get("/v1/ping/")


@no_op
def a_member_given_the_role_they_have(w: World):
    make_user("nina", w.project, Role.EDITOR)
    w.begin()
    _add_member("nina", Role.EDITOR)


@pytest.mark.parametrize("name", list(NO_OPS))
def test_a_change_that_changes_nothing_writes_no_row(world, name):
    response = NO_OPS[name](world)
    if response is not None:
        assert response.status_code in (200, 302), response.content[:300]
    assert [r.action for r in changes_since(world.mark)] == []


@failure
def settings_patch_with_a_bad_value(w: World):
    return w.admin.patch(w.settings_path, {"custom_instructions": 5}, format="json")


@failure
def settings_patch_good_then_bad(w: World):
    body = {"name": "Renamed", "description": "New", "multilingual": "yes"}
    return w.admin.patch(w.settings_path, body, format="json")


@failure
def settings_patch_with_duplicate_categories(w: World):
    body = {"description": "New", "custom_categories": [{"a": "x"}, {"a": "y"}]}
    return w.admin.patch(w.settings_path, body, format="json")


@failure
def settings_patch_by_an_editor_key(w: World):
    editor, _key = keyed(w.project, Role.EDITOR, "editor bot")
    w.begin()
    return editor.patch(w.settings_path, {"description": "New"}, format="json")


@failure
def settings_on_the_dashboard_without_a_name(w: World):
    return w.alice_client.post("/settings/", _settings_form(w.project, name="", description="New"))


@failure
def settings_on_the_dashboard_by_an_editor(w: World):
    client = browser(make_user("eddie", w.project, Role.EDITOR))
    w.begin()
    return client.post("/settings/", _settings_form(w.project, description="New"))


@failure
def webhook_with_an_ftp_url(w: World):
    body = {"name": "x", "url": "ftp://u:p@hooks.example.com/x", "event_types": ["memory_add"]}
    return w.admin.post(w.hooks, body, format="json")


@failure
def webhook_to_this_machine(w: World):
    body = {"name": "x", "url": "http://127.0.0.1:9/x", "event_types": ["memory_add"]}
    return w.admin.post(w.hooks, body, format="json")


@failure
def webhook_with_an_unknown_event_type(w: World):
    body = {"name": "x", "url": "https://hooks.example.com/", "event_types": ["nope"]}
    return w.admin.post(w.hooks, body, format="json")


@failure
def webhook_patch_with_a_bad_url(w: World):
    hook = _hook(w)
    return w.admin.patch(f"/api/v1/webhooks/{hook.pk}/", {"url": "not a url"}, format="json")


@failure
def webhook_created_by_a_viewer_key(w: World):
    viewer, _key = keyed(w.project, Role.VIEWER, "viewer bot")
    w.begin()
    body = {"name": "x", "url": "https://hooks.example.com/", "event_types": ["memory_add"]}
    return viewer.post(w.hooks, body, format="json")


@failure
def webhook_deleted_from_another_project(w: World):
    hook = _hook(w)
    other = Project.objects.create(organization=w.project.organization, name="other bot")
    outsider, _key = keyed(other, Role.ADMIN, "outsider")
    w.begin()
    return outsider.delete(f"/api/v1/webhooks/{hook.pk}/")


@failure
def key_with_an_unknown_role_on_the_dashboard(w: World):
    return w.alice_client.post("/keys/", {"name": "k", "role": "owner"})


@failure
def key_created_on_the_dashboard_by_an_editor(w: World):
    client = browser(make_user("eddie", w.project, Role.EDITOR))
    w.begin()
    return client.post("/keys/", {"name": "k", "role": Role.VIEWER})


@failure
def revoking_another_projects_key(w: World):
    other = Project.objects.create(organization=w.project.organization, name="other bot")
    _client, theirs = keyed(other, Role.ADMIN, "theirs")
    w.begin()
    return w.alice_client.post(f"/keys/{theirs.pk}/revoke/")


@failure
def subject_export_of_nobody(w: World):
    body = {"entity_type": "user", "entity_id": "nobody"}
    return w.officer.post("/v1/subject-exports/", body, format="json")


@failure
def erasure_confirmed_by_an_editor_key(w: World):
    editor, _key = keyed(w.project, Role.EDITOR, "editor bot")
    w.begin()
    body = {"entity_type": "user", "entity_id": "maria", "dry_run": False}
    return editor.post("/v1/erasures/", body, format="json")


@failure
def erasure_preview(w: World):
    # A read (the access log has it), not a change.
    body = {"entity_type": "user", "entity_id": "maria"}
    return w.officer.post("/v1/erasures/", body, format="json")


@pytest.mark.parametrize("name", list(FAILURES))
def test_a_failed_or_refused_change_writes_no_row(world, name):
    before = Project.objects.values().get(pk=world.project.pk)
    response = FAILURES[name](world)
    refused = response.status_code >= 400
    form_error = response.status_code == 200 and response.context and response.context.get("form")
    preview = name == "erasure_preview"
    assert refused or (form_error and response.context["form"].errors) or preview, (
        response.status_code
    )
    assert [r.action for r in changes_since(world.mark)] == []
    after = Project.objects.values().get(pk=world.project.pk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


# --- secrets ---------------------------------------------------------------------------------


def test_no_secret_ever_reaches_the_log(world, project):
    """Keys, a password, a session, a webhook's secret and a URL's credentials and token are
    all used; then the whole log (every partition, every column) is searched for them."""
    secrets: dict[str, str] = {}
    # A key made on the dashboard (its raw value is shown once) and used on the API.
    created = world.alice_client.post("/keys/", {"name": "leaky", "role": Role.ADMIN})
    raw = created.context["new_key"]
    secrets["dashboard key"] = raw
    secrets["dashboard key secret part"] = raw[ApiKey.PREFIX_LENGTH :]
    leaky = api_client(raw)
    assert leaky.get("/v1/memories/?user_id=maria").status_code == 200
    # The fixture's keys, through reads and changes.
    world_raw = create_api_key(project, role=Role.ADMIN, name="raw admin")
    secrets["admin key"] = world_raw
    admin = api_client(world_raw)
    admin.patch(world.settings_path, {"custom_instructions": "Tea"}, format="json")
    admin.post("/v3/memories/search/", {"query": "tea", "filters": {"user_id": "*"}}, format="json")
    # A password, right and wrong, and a session.
    password = "Pw-never-logged-8Zq"
    get_user_model().objects.create_user("pat", "pat@example.com", password)
    Membership.objects.create(user=get_user_model().objects.get(username="pat"), project=project)
    secrets["password"] = password
    client = browser()
    client.post("/login/", {"username": "pat", "password": password + "-wrong"})
    secrets["wrong password"] = password + "-wrong"
    client.post("/login/", {"username": "pat", "password": password})
    session = client.cookies["sessionid"].value
    secrets["session"] = session
    assert client.get("/").status_code == 200
    client.post("/logout/")
    secrets["alice's session"] = world.alice_client.cookies["sessionid"].value
    world.alice_client.post("/settings/", _settings_form(project, description="Leaky"))
    # A webhook: its signing secret, and a URL with credentials and a token.
    url = "https://hook-user-Zk3:hook-pass-Qm8@hooks.example.com/x?token=tok-Rw5-secret&a=b"
    hook = admin.post(
        world.hooks, {"name": "leaky", "url": url, "event_types": ["memory_add"]}, format="json"
    ).json()
    secrets["webhook secret"] = hook["secret"]
    secrets["URL user"] = "hook-user-Zk3"
    secrets["URL password"] = "hook-pass-Qm8"
    secrets["URL token"] = "tok-Rw5-secret"
    changed = "https://other-user-Jd2:other-pass-Lp4@hooks.example.com/y?sig=sig-Vb6-secret"
    admin.patch(f"/api/v1/webhooks/{hook['webhook_id']}/", {"url": changed}, format="json")
    secrets.update(URL2user="other-user-Jd2", URL2pw="other-pass-Lp4", URL2sig="sig-Vb6-secret")
    admin.delete(f"/api/v1/webhooks/{hook['webhook_id']}/")
    # An export and an erasure.
    world.officer.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": "maria"}, format="json"
    )
    done = _confirm(world).json()
    erasure.run(done["event_id"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), string_agg(t::text, ' ') FROM audit_log t")
        count, dump = cursor.fetchone()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "key.create", "settings.change", "login", "login.failed", "logout", "webhook.create",
        "webhook.change", "webhook.delete", "export.create", "erasure.confirm", "erasure.done",
        "memories.list", "memories.search",
    } <= actions  # fmt: skip
    assert count > 20
    leaked = {name: value for name, value in secrets.items() if value in dump}
    assert leaked == {}
    # What is kept instead: names, prefixes and the bare URLs.
    assert "hooks.example.com/x" in dump and raw[: ApiKey.PREFIX_LENGTH] in dump


# --- a login outside a request ---------------------------------------------------------------


def test_a_login_outside_a_request_does_not_name_later_system_changes(project):
    """force_login (tests, a shell) logs a user in with no request around: the login row is
    theirs, but a system change made afterwards is still the system's."""
    nina = make_user("nina", project, Role.VIEWER)
    mark = last_id()
    browser(nina)  # force_login
    create_api_key(project, role=Role.VIEWER, name="after the login")
    rows = changes_since(mark)
    assert [(r.action, r.actor_label) for r in rows] == [
        ("login", "user:nina"),
        ("key.create", "system"),
    ]


# --- webhook URLs and textareas: what counts as a change --------------------------------------


def test_a_webhook_moved_to_another_port_writes_a_row(world):
    hook = _hook(world, "https://hooks.example.com:8443/in")
    response = world.admin.patch(
        f"/api/v1/webhooks/{hook.pk}/", {"url": "https://hooks.example.com:9443/in"}, format="json"
    )
    assert response.status_code == 200
    (row,) = changes_since(world.mark)
    assert row.action == "webhook.change"
    assert row.details == {
        "url": {
            "before": "https://hooks.example.com:8443/in",
            "after": "https://hooks.example.com:9443/in",
        }
    }


def test_a_new_token_in_a_webhook_url_is_a_change_whose_values_are_withheld(world):
    hook = _hook(world, "https://hooks.example.com/in?token=tok-old-111")
    response = world.admin.patch(
        f"/api/v1/webhooks/{hook.pk}/",
        {"url": "https://hooks.example.com/in?token=tok-new-222"},
        format="json",
    )
    assert response.status_code == 200
    (row,) = changes_since(world.mark)
    assert row.details == {"url": {"changed": True, "values": "withheld"}}


def test_a_dashboard_save_of_unchanged_multiline_instructions_writes_no_row(world):
    world.admin.patch(
        world.settings_path, {"custom_instructions": "line one\nline two"}, format="json"
    )
    world.project.refresh_from_db()
    world.begin()
    as_a_browser_sends_it = "line one\r\nline two"
    form = _settings_form(world.project, custom_instructions=as_a_browser_sends_it)
    assert world.alice_client.post("/settings/", form).status_code == 302
    assert [r.action for r in changes_since(world.mark)] == []
