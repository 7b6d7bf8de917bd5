from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from memories.services import reembed_memories


class Command(BaseCommand):
    help = "Re-compute memory embeddings with the configured embedder (after switching MEMDASH_EMBEDDER)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            help="re-embed every memory, not only those from another model",
        )
        parser.add_argument("--batch-size", type=int, default=256)
        parser.add_argument(
            "--dry-run", action="store_true", help="only count what would be re-embedded"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        done, model = reembed_memories(
            only_stale=not options["all"],
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
        )
        verb = "would re-embed" if options["dry_run"] else "re-embedded"
        self.stdout.write(f"{verb} {done} memories with {model}")
