from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenancy.models import Role
from tenancy.services import (
    DEFAULT_ORGANIZATION,
    DEFAULT_PROJECT,
    create_api_key,
    get_or_create_project,
)


class Command(BaseCommand):
    help = "Create an API key (and its project if needed); prints only the new key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--project", default=DEFAULT_PROJECT, help="project name (created if missing)"
        )
        parser.add_argument(
            "--org", default=DEFAULT_ORGANIZATION, help="organization name (created if missing)"
        )
        parser.add_argument(
            "--role", default=Role.ADMIN, choices=Role.values, help="what the key may do"
        )
        parser.add_argument("--name", default="", help="a label to tell keys apart")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            target = get_or_create_project(options["project"], organization=options["org"])
            raw = create_api_key(
                target,
                role=options["role"],
                name=options["name"] or "created with create_api_key",
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
