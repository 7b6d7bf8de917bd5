from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from core import receipts
from tenancy import passwords
from tenancy.models import ApiKey, Membership, Role, hash_key
from tenancy.services import create_api_key, get_or_create_project

DEMO_KEY_FILE = ".memdash-demo-key"


class Command(BaseCommand):
    help = (
        "Ensure a demo organization, project, admin login and API key exist, and print them. "
        "The admin's password is random, printed once when it is made, and must be changed at "
        "the first login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key-file", default=str(Path(settings.BASE_DIR) / DEMO_KEY_FILE))
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--reset-admin-password",
            action="store_true",
            help="Give the admin a new random password (printed once, to be changed at login).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = get_or_create_project()
        path = Path(options["key_file"])
        raw = path.read_text().strip() if path.exists() else ""
        # The key is only stored hashed; the file lets repeated runs print the same key.
        if (
            not raw
            or not ApiKey.objects.active().filter(key_hash=hash_key(raw), project=project).exists()
        ):
            raw = create_api_key(project, role=Role.ADMIN, name="demo key (make run)")
            path.write_text(raw + "\n")
            path.chmod(0o600)
        User = get_user_model()
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
        )
        # Only a new admin (or one asked for) gets a password: re-running never changes one
        # that its owner has chosen. It is printed this once and never stored in clear.
        password = None
        if created or options["reset_admin_password"]:
            password = passwords.generate_password()
            admin.set_password(password)
            admin.save()
            passwords.require_change(admin)
        Membership.objects.get_or_create(user=admin, project=project, defaults={"role": Role.ADMIN})
        base = f"http://127.0.0.1:{options['port']}"
        login = (
            f"password {password}: shown once, to be changed at the first login"
            if password
            else "password as set; setup_demo --reset-admin-password prints a new one"
        )
        # The embedded default generates the receipt key into the data directory here.
        try:
            signer = f"signed by key {receipts.key_id(receipts.public_key())}"
        except receipts.ReceiptKeyMissing:
            signer = "no signing key: set MEMDASH_RECEIPT_KEY to erase data subjects"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "memdash is starting",
                    f"  organization: {project.organization.name} ({project.organization.public_id})",
                    f"  project:      {project.name} ({project.public_id})",
                    f"  API key:      {raw}",
                    f"  API:          {base}/v1/ping/   (Authorization: Token <API key>)",
                    f"  dashboard:    {base}/   (user admin, {login})",
                    f"  OpenAPI:      {base}/api/schema/",
                    f"  receipts:     {signer} ({base}/v1/receipts/public-key/)",
                    "",
                ]
            )
        )
