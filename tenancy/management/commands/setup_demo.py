from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from core import receipts
from tenancy.models import ApiKey, Membership, Role, hash_key
from tenancy.services import create_api_key, get_or_create_project

DEMO_KEY_FILE = ".memdash-demo-key"


class Command(BaseCommand):
    help = "Ensure a demo organization, project, admin login and API key exist, and print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--key-file", default=str(Path(settings.BASE_DIR) / DEMO_KEY_FILE))
        parser.add_argument("--port", default="8000")

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
        if created:
            admin.set_password("admin")
            admin.save()
        Membership.objects.get_or_create(user=admin, project=project, defaults={"role": Role.ADMIN})
        base = f"http://127.0.0.1:{options['port']}"
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
                    f"  dashboard:    {base}/   (user admin, password admin: change it)",
                    f"  OpenAPI:      {base}/api/schema/",
                    f"  receipts:     {signer} ({base}/v1/receipts/public-key/)",
                    "",
                ]
            )
        )
