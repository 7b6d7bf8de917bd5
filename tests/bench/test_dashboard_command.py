"""The dashboard benchmark, run tiny: it seeds or reuses the shared dataset and times every
filter of the memories page. Never timings."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from memories.models import Memory
from tenancy.models import Project

CASES = [
    "no filter (newest)",
    "user (busiest, ",
    "agent + category",
    "metadata source=email",
    "created last 30 days",
    "keyword 'allergic'",
    "expired shown, sort updated",
    "app + category + metadata + date",
    "semantic search, whole project",
    "semantic search, one user",
]


def run_dashboard(*args: str, memories: int = 300) -> str:
    out = StringIO()
    call_command(
        "benchmark_dashboard", *args, memories=memories, requests=1, stdout=out, stderr=StringIO()
    )
    return out.getvalue()


@pytest.mark.django_db
def test_dashboard_benchmark_times_every_case_on_the_benchmark_project():
    table = run_dashboard()

    assert "bench/bench-300: 300 memories, 3 users" in table
    assert "seeded now" in table
    assert "full p50" in table and "part p95" in table
    for name in CASES:
        assert name in table
    # The count column reads as the header does, position first, without markup.
    assert "1–50 of 300 memories" in table
    assert "<span" not in table
    assert "as of 30 days ago, the busiest user" in table and "budget p95 <= 300 ms" in table
    assert Memory.objects.filter(project__name="bench-300").count() == 300


@pytest.mark.django_db
def test_dashboard_benchmark_reuses_the_api_benchmark_dataset_and_keeps_other_sizes():
    call_command(
        "benchmark",
        "--memories=300",
        "--only=get",
        "--iterations=1",
        stdout=StringIO(),
        stderr=StringIO(),
    )
    seeded = set(Memory.objects.filter(project__name="bench-300").values_list("id", flat=True))

    report = json.loads(run_dashboard("--json"))
    results = report["memories_page"]
    run_dashboard("--json", memories=200)

    assert (
        set(Memory.objects.filter(project__name="bench-300").values_list("id", flat=True)) == seeded
    )
    assert set(
        Project.objects.filter(organization__name="bench").values_list("name", flat=True)
    ) == {"bench-300", "bench-200"}
    newest = next(r for r in results if r["case"] == "no filter (newest)")
    assert newest["rows"] > 0
    assert newest["full_p95"] >= newest["full_p50"] > 0
    busiest = next(r for r in results if r["case"].startswith("user (busiest"))
    assert busiest["rows"] > 0
    assert report["as_of"]["history"] > 0 and report["as_of"]["p95"] >= report["as_of"]["p50"] > 0


def test_dashboard_benchmark_refuses_tiny_datasets():
    with pytest.raises(CommandError, match="--memories >= 100"):
        call_command("benchmark_dashboard", memories=10, stdout=StringIO())
