"""The benchmark command, run tiny: it seeds, measures everything and reports. Never timings."""

from __future__ import annotations

import json
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from bench import seeding
from entities.models import Entity
from memories.models import Event, Memory, MemoryHistory
from tenancy.models import Project

TINY = [
    "--memories=300",
    "--iterations=2",
    "--add-calls=2",
    "--add-batch=5",
    "--pool=60",
    "--delete-count=20",
    "--subject-memories=50",
    "--audit-rows=3000",
]
MEASUREMENTS = [
    "search: one user",
    "search: one user + category",
    "search: one agent",
    "search: one app",
    'search: all users (user_id "*")',
    "recall@10 vs exact cosine: one user",
    "recall@10 vs exact cosine: one agent",
    "recall@10 vs exact cosine: one app",
    'recall@10 vs exact cosine: whole project (user_id "*")',
    "list: one user, page 1",
    "list: one user (51+ memories), page 2 of 50",
    "list: one user + metadata",
    "list: one user + last 90 days",
    "list: one app (support-web), page 1",
    "list: all users + category",
    "list: all users + metadata",
    "list: all users + last 30 days",
    "get: GET /v1/memories/{id}/",
    "history: GET /v1/memories/{id}/history/",
    "add infer=false: POST /v3/memories/add/ (5 per call)",
    "add infer=false: services.add_memories (5 per call)",
    "add, embeddings precomputed: storage only (5 per call)",
    "add infer=false, PII detection on: corpus facts (5 per call)",
    "add infer=false, PII detection off: corpus facts (5 per call)",
    "PII detection's cost: corpus facts",
    "add infer=false, PII detection on: facts + a number or an email each (5 per call)",
    "add infer=false, PII detection off: facts + a number or an email each (5 per call)",
    "PII detection's cost: facts + a number or an email each",
    "insert 20 memories (+ history) by COPY",
    "delete 20 memories with history: services.delete_memories",
    "retention: a policy deletes 20 memories with history (final)",
    "seed a subject: 50 memories",
    "subject export of 50 memories: exports.create_subject + run",
    "Platform export of 50 memories: exports.create_platform + run",
    "erasure preview of a subject with 50 memories",
    "erase a subject with 50 memories: erasure.start + run",
]


def run_benchmark(*args: str) -> str:
    out = StringIO()
    call_command("benchmark", *TINY, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_benchmark_reports_every_measurement_with_its_budget(tmp_path):
    report_path = tmp_path / "bench.json"

    report = run_benchmark(f"--json={report_path}")

    for name in MEASUREMENTS:
        assert name in report
    assert "p95 <= 30 ms" in report
    assert "recall >= 0.95, none short" in report
    assert "p95 <= 50 ms" in report
    assert ">= 300 memories/s" in report
    assert "<= 10% of add throughput" in report
    assert "(100k in 30 s)" in report
    assert "p95 <= 1 s (10k memories)" in report
    assert "<= 10 s (10k memories)" in report
    payload = json.loads(report_path.read_text())
    assert payload["dataset"]["memories"] == 300
    # 300 memories: every scope takes the exact path, whose answer is the exact one.
    recalls = [r for r in payload["results"] if r["name"].startswith("recall@10")]
    assert [r["rate"] for r in recalls] == [1.0] * 4
    assert {r["group"] for r in payload["results"]} == {
        "search",
        "list",
        "get",
        "history",
        "add",
        "delete",
        "compliance",
        "audit",
    }


@pytest.mark.django_db
def test_benchmark_seeds_memories_history_and_entities_and_cleans_up_after_itself():
    run_benchmark("--only=add,delete")

    project = Project.objects.get(organization__name="bench", name="bench-300")
    assert Memory.objects.filter(project=project).count() == 300
    assert MemoryHistory.objects.filter(project=project, event="ADD").count() == 300
    assert not MemoryHistory.objects.filter(project=project, event="DELETE").exists()
    assert not Event.objects.filter(project=project).exclude(actor="benchmark-seed").exists()
    assert Entity.objects.filter(project=project, kind="user").count() == 3
    memory = Memory.objects.filter(project=project).first()
    assert memory.memory
    assert len(memory.embedding) == 384
    assert memory.search_vector


@pytest.mark.django_db
def test_compliance_exports_previews_and_erases_a_seeded_subject_then_drops_its_project(
    tmp_path,
):
    report_path = tmp_path / "compliance.json"
    queued = []

    with mock.patch("celery.current_app.send_task", lambda *a, **k: queued.append(a)):
        report = run_benchmark("--only=compliance", f"--json={report_path}")

    results = {r["name"]: r for r in json.loads(report_path.read_text())["results"]}
    by_start = {name.split(":")[0]: r for name, r in results.items()}
    assert {r["group"] for r in results.values()} == {"compliance"}
    assert by_start["seed a subject"]["note"].startswith("setup, not budgeted")
    # Each step checked what it did (the counts below are the seeded ones).
    assert "50 memories, 57 history rows" in by_start["subject export of 50 memories"]["note"]
    assert by_start["Platform export of 50 memories"]["rows_per_call"] == 50
    preview = by_start["erasure preview of a subject with 50 memories (one alias)"]
    assert preview["calls"] == 2
    assert "2 exports, 1 mentions" in preview["note"]
    erase = by_start["erase a subject with 50 memories"]
    assert "51 memories deleted" in erase["note"]
    assert "2 exports deleted" in erase["note"]
    for name in ("subject export", "Platform export", "erasure preview", "erase a subject"):
        assert any(r["budget"] for n, r in results.items() if n.startswith(name))
    assert "erase a subject with 50 memories" in report
    # Nothing was sent to a worker, and the subject's project is gone again.
    assert queued == []
    assert not Project.objects.filter(organization__name="bench", name="bench-compliance").exists()
    assert not Memory.objects.filter(user_id="erasure-subject").exists()


def test_benchmark_refuses_a_tiny_subject():
    with pytest.raises(CommandError, match="--subject-memories >= 10"):
        call_command("benchmark", "--subject-memories=5", stdout=StringIO())


@pytest.mark.django_db
def test_benchmark_reuses_a_seeded_project_of_the_same_size():
    run_benchmark("--only=get")
    first = Memory.objects.filter(project__name="bench-300").values_list("id", flat=True)

    report = run_benchmark("--only=get")

    assert "reused" in report
    assert set(
        Memory.objects.filter(project__name="bench-300").values_list("id", flat=True)
    ) == set(first)


@pytest.mark.django_db
def test_benchmark_reseed_replaces_the_dataset():
    run_benchmark("--only=get")
    before = set(Memory.objects.filter(project__name="bench-300").values_list("id", flat=True))

    report = run_benchmark("--only=get", "--reseed")

    assert "seeded now" in report
    after = set(Memory.objects.filter(project__name="bench-300").values_list("id", flat=True))
    assert len(after) == 300
    assert not before & after


@pytest.mark.django_db
def test_benchmark_drops_benchmark_projects_of_other_sizes(project):
    run_benchmark("--only=get")
    run_benchmark("--only=get", "--memories=200")

    assert list(
        Project.objects.filter(organization__name="bench").values_list("name", flat=True)
    ) == ["bench-200"]
    assert not Memory.objects.filter(project__name="bench-300").exists()
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.django_db
def test_benchmark_warm_mode_says_so():
    report = run_benchmark("--only=get", "--warm")

    assert "each input replayed once untimed first" in report


def test_benchmark_refuses_unknown_groups():
    with pytest.raises(CommandError, match="unknown groups"):
        call_command("benchmark", "--only=search,nonsense", stdout=StringIO())


@pytest.mark.django_db
def test_ensure_indexes_recreates_an_index_an_interrupted_load_dropped():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX memory_hash_idx")

    seeding.ensure_indexes(log=lambda message: None)

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'memory_hash_idx'")
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
def test_audit_measures_the_logs_cost_and_queries_a_seeded_log_it_reuses(tmp_path):
    first_path, second_path = tmp_path / "first.json", tmp_path / "second.json"

    run_benchmark("--only=audit", f"--json={first_path}")
    report = run_benchmark("--only=audit", f"--json={second_path}")

    first = {r["name"]: r for r in json.loads(first_path.read_text())["results"]}
    second = {r["name"]: r for r in json.loads(second_path.read_text())["results"]}
    assert {r["group"] for r in second.values()} == {"audit"}
    costs = [r for name, r in second.items() if name.endswith("the access log's cost (on - off)")]
    assert len(costs) == 2 and all(r["budget"] == "p50 +<= 1 ms" for r in costs)
    queries = [r for name, r in second.items() if name.startswith("audit query:")]
    assert len(queries) >= 8 and all(r["budget"] == "p95 <= 150 ms" for r in queries)
    # Every query shows its plan: partitions pruned to one month where a month is asked.
    month = second[
        "audit query: one user, one month, keyset page 1 (dashboard: members' logins too)"
    ]
    assert "1 of " in month["note"] and month["plan"].startswith(("Limit", "Sort", "Aggregate"))
    (seed_first,) = [r for name, r in first.items() if name.startswith("seed the audit log")]
    (seed_second,) = [r for name, r in second.items() if name.startswith("seed the audit log")]
    assert "seeded now" in seed_first["note"] and "reused" in seed_second["note"]
    assert "3,000 rows" in seed_second["name"]
    assert "the access log's cost" in report
    # The seeded project stays (its rows are append-only); it is not in the bench organization.
    assert Project.objects.filter(organization__name="bench-audit", name="audit-3000").exists()


def test_benchmark_refuses_a_tiny_audit_log():
    with pytest.raises(CommandError, match="--audit-rows"):
        call_command("benchmark", "--audit-rows=10", stdout=StringIO())
