import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from tenancy.models import Membership, Role
from tenancy.services import DEFAULT_ORGANIZATION, DEFAULT_PROJECT, get_or_create_project


class Command(BaseCommand):
    help = (
        "Give a dashboard user a role in a project (creating the user, and the project, if needed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--project", default=DEFAULT_PROJECT, help="project name")
        parser.add_argument("--org", default=DEFAULT_ORGANIZATION, help="organization name")
        parser.add_argument("--role", default=Role.VIEWER, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", default="", help="for a new user; default: a random one, printed once"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        target = get_or_create_project(options["project"], organization=options["org"])
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": options["email"]}
        )
        password = options["password"]
        if created:
            password = password or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        membership, _ = Membership.objects.update_or_create(
            user=user, project=target, defaults={"role": options["role"]}
        )
        self.stdout.write(f"{username} is {membership.role} of {target}")
        if created:
            self.stdout.write(f"new user; password: {password}")
