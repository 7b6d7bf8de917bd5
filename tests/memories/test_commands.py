import pytest
from django.core.management import call_command

from memories.models import Memory
from tenancy.models import ApiKey, hash_key
from tests.conftest import add_verbatim

pytestmark = pytest.mark.django_db


def test_reembed_memories_only_touches_other_models(api, capsys):
    add_verbatim(api, "Likes tea", user_id="alex")
    add_verbatim(api, "Likes coffee", user_id="alex")
    Memory.objects.filter(memory="Likes tea").update(
        embedding_model="old-model", embedding=[0.0] * 383 + [1.0]
    )
    call_command("reembed_memories", "--dry-run")
    assert "would re-embed 1 memories" in capsys.readouterr().out
    call_command("reembed_memories")
    assert "re-embedded 1 memories with all-MiniLM-L6-v2-onnx-int8" in capsys.readouterr().out
    tea = Memory.objects.get(memory="Likes tea")
    assert tea.embedding_model == "all-MiniLM-L6-v2-onnx-int8"
    assert abs(sum(x * x for x in tea.embedding) - 1.0) < 1e-3
    call_command("reembed_memories", "--all", "--batch-size", "1")
    assert "re-embedded 2 memories" in capsys.readouterr().out


def test_create_api_key_prints_only_the_key_and_creates_the_project(capsys):
    call_command("create_api_key", "--project", "support", "--org", "Initech", "--role", "viewer")
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("m0-") and "\n" not in raw
    key = ApiKey.objects.get(key_hash=hash_key(raw))
    assert (key.project.name, key.project.organization.name, key.role) == (
        "support",
        "Initech",
        "viewer",
    )


def test_setup_demo_prints_a_stable_key(tmp_path, capsys):
    key_file = tmp_path / "key"
    call_command("setup_demo", "--key-file", str(key_file), "--port", "8123")
    first = capsys.readouterr().out
    call_command("setup_demo", "--key-file", str(key_file), "--port", "8123")
    second = capsys.readouterr().out
    assert key_file.read_text().strip() in first

    # Only the admin's password line differs: it is printed once (tests/dashboard/
    # test_password_change.py).
    def without_password(out: str) -> list[str]:
        return [line for line in out.splitlines() if "dashboard:" not in line]

    assert without_password(first) == without_password(second)
    assert "http://127.0.0.1:8123/v1/ping/" in first
