"""The dashboard's named world, on top of tests/conftest.py's projects.

- `alice` is admin of `project`, `eddie` its editor, `vera` its viewer;
- `charlie` is admin of `other_project` only: the outsider;
- `*_client` fixtures are Django test clients logged in as each of them;
- `remember(...)` stores memories through the same service as the API (history, Event,
  entities); `bulk_memories(...)` inserts many rows quickly for paging and counting tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from entities.services import touch_entities
from memories import services
from memories.attribution import Message, Scope
from memories.models import EMBEDDING_DIMENSIONS, Memory
from tenancy.models import Membership, Role

HTMX = {"HX-Request": "true"}
HOSTILE = '<script>alert("x")</script> "><img src=x onerror=alert(1)>'


def htmx(target: str, **extra: str) -> dict[str, str]:
    """Headers of an htmx request swapping the element with id `target`."""
    return {"HX-Request": "true", "HX-Target": target, **extra}


def make_user(username: str, project=None, role: str | None = None):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-123456")
    if project is not None:
        Membership.objects.create(user=user, project=project, role=role)
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(project):
    return make_user("alice", project, Role.ADMIN)


@pytest.fixture
def eddie(project):
    return make_user("eddie", project, Role.EDITOR)


@pytest.fixture
def vera(project):
    return make_user("vera", project, Role.VIEWER)


@pytest.fixture
def charlie(other_project):
    return make_user("charlie", other_project, Role.ADMIN)


@pytest.fixture
def alice_client(alice) -> Client:
    return logged_in(alice)


@pytest.fixture
def editor_client(eddie) -> Client:
    return logged_in(eddie)


@pytest.fixture
def viewer_client(vera) -> Client:
    return logged_in(vera)


@pytest.fixture
def charlie_client(charlie) -> Client:
    return logged_in(charlie)


def remember(project, *texts: str, actor: str = "api-key:m0-test", **fields) -> list[Memory]:
    """Store user messages verbatim through memories.services.add_memories (as the API does)."""
    metadata = fields.pop("metadata", None)
    expiration_date = fields.pop("expiration_date", None)
    outcome = services.add_memories(
        project,
        messages=[Message("user", text) for text in texts],
        scope=Scope(**fields),
        actor=actor,
        metadata=metadata,
        expiration_date=expiration_date,
    )
    return outcome.added


_VECTOR = [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)


def bulk_memories(project, count: int, *, start: dt.datetime | None = None, **fields) -> list:
    """Insert `count` memories one second apart (newest last), without embedding or history."""
    start = start or timezone.now() - dt.timedelta(days=1)
    rows = []
    for i in range(count):
        text = f"{fields.get('user_id') or 'memory'} fact number {i}"
        at = start + dt.timedelta(seconds=i)
        rows.append(
            Memory(
                project=project,
                memory=text,
                hash=hashlib.md5(text.encode()).hexdigest(),
                embedding=_VECTOR,
                embedding_model="test",
                created_at=at,
                updated_at=at,
                **fields,
            )
        )
    Memory.objects.bulk_create(rows)
    touch_entities(project, [fields])
    return rows


@pytest.fixture(autouse=True)
def _record_partial_contexts(monkeypatch):
    """Make `response.context` work for inline-partial responses too.

    Django's test runner records contexts by instrumenting Template rendering; a partial renders
    through template_partials' TemplateProxy, which that instrumentation does not see.
    """
    from django.test.signals import template_rendered
    from template_partials.templatetags.partials import TemplateProxy

    original = TemplateProxy._render

    def _render(self, context):
        template_rendered.send(sender=self, template=self, context=context)
        return original(self, context)

    monkeypatch.setattr(TemplateProxy, "_render", _render)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default PBKDF2 costs ~0.3 s per user; tests create several per case.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
