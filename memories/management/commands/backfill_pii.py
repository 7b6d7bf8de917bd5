from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from memories.models import Memory
from memories.services import backfill_pii_kinds
from tenancy.models import Project


class Command(BaseCommand):
    help = (
        "Detect the kinds of personal data in memories written before PII detection (flags "
        "them only: no text is changed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", help="only this project (its id, proj_..., or name)")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--dry-run", action="store_true", help="only count the memories not screened yet"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = _project(options["project"]) if options["project"] else None
        pending = Memory.objects.filter(pii_kinds__isnull=True)
        if project is not None:
            pending = pending.for_project(project)
        total = pending.count()
        if options["dry_run"] or not total:
            self.stdout.write(f"{total} memories not screened yet")
            return

        def progress(screened: int, flagged: int) -> None:
            self.stdout.write(f"  {screened}/{total} screened, {flagged} with personal data")

        screened, flagged = backfill_pii_kinds(
            project=project, batch_size=options["batch_size"], progress=progress
        )
        self.stdout.write(f"screened {screened} memories: {flagged} with personal data")


def _project(name: str) -> Project:
    found = list(Project.objects.filter(public_id=name) or Project.objects.filter(name=name))
    if len(found) != 1:
        raise CommandError(
            f"{'no' if not found else 'more than one'} project {name!r}: give its id (proj_...)"
        )
    return found[0]
