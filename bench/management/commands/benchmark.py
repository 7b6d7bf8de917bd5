"""The API benchmark: seed (or reuse) bench-<N>, time every read and write path, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bench import auditing, measuring, report, seeding
from bench.results import BenchmarkError


class Command(BaseCommand):
    help = (
        "Seed N synthetic memories into a benchmark project (reused when already there) and "
        "measure search, list, get, history, add, delete, a data subject's exports and "
        "erasure (compliance), and the access log's cost and the audit query over a year of log "
        "(audit). Development databases only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--memories", type=int, default=100_000, help="memories to seed")
        parser.add_argument("--users", type=int, help="users to spread them over (memories/100)")
        parser.add_argument("--iterations", type=int, default=200, help="calls per latency")
        parser.add_argument(
            "--warm",
            action="store_true",
            help="run each latency's inputs once untimed first (warm caches, as a busy server)",
        )
        parser.add_argument("--add-calls", type=int, default=25, help="add calls per variant")
        parser.add_argument("--add-batch", type=int, default=20, help="messages per add call")
        parser.add_argument(
            "--delete-count",
            type=int,
            help="memories to insert, then delete (memories/10, at most 10k; the budget is 100k)",
        )
        parser.add_argument(
            "--subject-memories",
            type=int,
            default=10_000,
            help="memories of the data subject the compliance group exports and erases",
        )
        parser.add_argument(
            "--audit-rows",
            type=int,
            default=auditing.DEFAULT_ROWS,
            help="access-log rows the audit group seeds over 12 months (kept and reused)",
        )
        parser.add_argument(
            "--only",
            default=",".join(measuring.GROUPS),
            help=f"comma-separated groups to run ({', '.join(measuring.GROUPS)})",
        )
        parser.add_argument(
            "--pool", type=int, default=seeding.DEFAULT_POOL, help="distinct embedded facts"
        )
        parser.add_argument("--seed", type=int, default=seeding.DEFAULT_SEED, help="random seed")
        parser.add_argument("--reseed", action="store_true", help="seed again even if present")
        parser.add_argument(
            "--keep-others", action="store_true", help="keep benchmark projects of other sizes"
        )
        parser.add_argument("--json", dest="json_path", help="also write the results here")

    def handle(self, *args: Any, **opts: Any) -> None:
        groups = tuple(g.strip() for g in opts["only"].split(",") if g.strip())
        unknown = set(groups) - set(measuring.GROUPS)
        if unknown or opts["memories"] < 100:
            raise CommandError(
                f"unknown groups {sorted(unknown)}" if unknown else "--memories >= 100"
            )
        if opts["subject_memories"] < 10:
            raise CommandError("--subject-memories >= 10")
        if opts["audit_rows"] < 1000:
            raise CommandError("--audit-rows >= 1000")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            # Seeding recreates the models' indexes: on older tables they would be the pending
            # migrations' own, and those migrations would then fail.
            raise CommandError(
                "unapplied migrations: run manage.py migrate first (make bench does)"
            )
        log = self.stderr.write if opts["verbosity"] >= 1 else lambda message: None
        dataset = seeding.prepare(
            memories=opts["memories"],
            users=opts["users"] or seeding.default_users(opts["memories"]),
            pool=opts["pool"],
            seed=opts["seed"],
            reseed=opts["reseed"],
            keep_others=opts["keep_others"],
            log=log,
        )
        options = measuring.Options(
            iterations=opts["iterations"],
            warm=opts["warm"],
            add_calls=opts["add_calls"],
            add_batch=opts["add_batch"],
            delete_count=opts["delete_count"] or min(10_000, max(10, opts["memories"] // 10)),
            subject_memories=opts["subject_memories"],
            audit_rows=opts["audit_rows"],
            reseed=opts["reseed"],
            groups=groups,
            seed=opts["seed"],
        )
        try:
            results = measuring.run(dataset, options, log)
        except BenchmarkError as exc:
            raise CommandError(str(exc)) from exc
        env = report.environment()
        self.stdout.write(report.format_report(dataset, env, results, warm=opts["warm"]))
        if opts["json_path"]:
            payload = {
                "dataset": report.dataset_summary(dataset),
                "environment": {**env, "warm": opts["warm"]},
                "results": [r.as_dict() for r in results],
            }
            Path(opts["json_path"]).write_text(json.dumps(payload, indent=2) + "\n")
