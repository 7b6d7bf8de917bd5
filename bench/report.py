"""The benchmark's report: what was measured, on what, and how it compares with the budgets."""

from __future__ import annotations

import os
import platform

from django.db import connection

from bench.results import Result
from bench.seeding import Dataset
from memories.models import Memory, MemoryHistory


def environment() -> dict:
    """The machine and database the numbers come from."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        pgvector = cursor.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
        sizes = {}
        for model in (Memory, MemoryHistory):
            table = model._meta.db_table
            cursor.execute(
                "SELECT reltuples::bigint, pg_total_relation_size(oid) FROM pg_class WHERE relname = %s",
                [table],
            )
            rows, size = cursor.fetchone()
            sizes[table] = {"rows_estimate": rows, "total_mb": round(size / 2**20)}
        # The access log (every read writes a row): the sum over its partitions.
        cursor.execute(
            "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint, "
            "coalesce(sum(pg_total_relation_size(c.oid)), 0) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_log'::regclass"
        )
        rows, size = cursor.fetchone()
        sizes["audit_log"] = {"rows_estimate": rows, "total_mb": round(size / 2**20)}
    return {
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "postgresql": server,
        "pgvector": pgvector,
        "settings": settings,
        "tables": sizes,
    }


def dataset_summary(dataset: Dataset) -> dict:
    project = dataset.project
    return {
        "project": f"{project.organization.name}/{project.name}",
        "memories": dataset.memories,
        "users": len(dataset.users),
        "agents": len(dataset.agents),
        "apps": len(dataset.apps),
        "distinct_facts": len(dataset.facts),
        "reused": dataset.reused,
        "seed_seconds": dataset.seconds,
        "seed_steps": dataset.steps,
    }


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:,.1f}"


def format_table(results: list[Result]) -> str:
    header = (
        "measurement",
        "calls",
        "p50 ms",
        "p95 ms",
        "max ms",
        "rows",
        "result",
        "budget",
        "ok?",
    )
    lines = []
    for r in results:
        if r.rate is not None and r.seconds is not None:
            outcome = f"{r.seconds:,.1f} s ({r.rate:,.0f} {r.rate_unit})"
        elif r.rate is not None and r.rate_unit.startswith("recall"):
            outcome = f"{r.rate:.3f} {r.rate_unit}"
        elif r.rate is not None:
            outcome = f"{r.rate:,.0f} {r.rate_unit}"
        elif r.seconds is not None:
            outcome = f"{r.seconds:,.1f} s"
        else:
            outcome = ""
        verdict = "" if r.ok is None else ("ok" if r.ok else "MISSED")
        lines.append(
            (
                r.name,
                str(r.calls or ""),
                _ms(r.p50_ms),
                _ms(r.p95_ms),
                _ms(r.max_ms),
                "" if r.rows_per_call is None else f"{r.rows_per_call:g}",
                outcome,
                r.budget,
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    numeric = {1, 2, 3, 4, 5}

    def render(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths if w).rstrip()
    return "\n".join([render(header), rule, *(render(row) for row in lines)])


def format_report(dataset: Dataset, env: dict, results: list[Result], *, warm: bool) -> str:
    summary = dataset_summary(dataset)
    tables = ", ".join(
        f"{name}: ~{info['rows_estimate']:,} rows, {info['total_mb']:,} MB"
        for name, info in env["tables"].items()
    )
    seeded = (
        f"reused (seeded earlier in {summary['seed_seconds']:.0f} s)"
        if dataset.reused
        else f"seeded now in {summary['seed_seconds']:.0f} s"
    )
    notes = [r for r in results if r.note]
    return "\n".join(
        [
            f"memdash benchmark: {summary['memories']:,} memories, {summary['users']:,} users, "
            f"{summary['agents']} agents, {summary['apps']} apps in {summary['project']}; {seeded}",
            f"database: PostgreSQL {env['postgresql']}, pgvector {env['pgvector']}; {tables}",
            "settings: " + ", ".join(f"{k}={v}" for k, v in env["settings"].items()),
            f"machine: {env['cores']} cores, load average {env['load_average']} "
            f"(Python {env['python']}); latencies are in-process, through the whole Django stack, "
            + (
                "each input replayed once untimed first (warm caches)"
                if warm
                else "after 5 warm-up calls (caches mostly cold: a fresh server per run)"
            ),
            "",
            format_table(results),
            *([""] + [f"note: {r.name}: {r.note}" for r in notes] if notes else []),
        ]
    )
