"""Retrieval quality without an LLM: LoCoMo evidence recall@1/5/10 and search latency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from bench import report, retrieval


class Command(BaseCommand):
    help = (
        "Store every turn of LoCoMo-format conversations verbatim (infer=false), one user scope "
        "per conversation in a throwaway project, search each question of categories 1-4 in its "
        "scope and report evidence recall@1/5/10 (any and all evidence turns) per category, "
        "with search latency. Development databases only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--locomo", required=True, type=Path, help="LoCoMo-format JSON file (read only)"
        )
        parser.add_argument(
            "--conversations", type=int, help="only the first N conversations (default: all)"
        )
        parser.add_argument(
            "--keep", action="store_true", help="keep the projects (bench-retrieval-*) afterwards"
        )
        parser.add_argument("--json", dest="json_path", help="also write the figures here")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["conversations"] is not None and opts["conversations"] < 1:
            raise CommandError("--conversations >= 1")
        try:
            conversations = retrieval.load(opts["locomo"], opts["conversations"])
        except retrieval.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        if not conversations:
            raise CommandError(f"{opts['locomo']}: no conversations")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "unapplied migrations: run manage.py migrate first (make bench-retrieval does)"
            )
        log = self.stderr.write if opts["verbosity"] >= 1 else lambda message: None
        figures = retrieval.summary(retrieval.run(conversations, keep=opts["keep"], log=log))
        self.stdout.write(retrieval.format_report(figures))
        if opts["json_path"]:
            payload = {
                "dataset": str(opts["locomo"]),
                "environment": report.environment(),
                **figures,
            }
            Path(opts["json_path"]).write_text(json.dumps(payload, indent=2) + "\n")
