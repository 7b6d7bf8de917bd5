"""Check an erasure receipt offline: `manage.py verify_receipt receipt.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import receipts


class Command(BaseCommand):
    help = "Verify an erasure receipt's signature (this deployment's key, or --public-key)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the receipt, as JSON")
        parser.add_argument(
            "--public-key",
            help="a PEM public key to verify with (GET /v1/receipts/public-key/ serves it)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            receipt = json.loads(Path(options["file"]).read_text())
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        except ValueError as exc:
            raise CommandError(f"invalid: not a JSON document ({exc})") from exc
        key = None
        if options["public_key"]:
            key = receipts.load_public_key(Path(options["public_key"]).read_bytes())
        try:
            receipts.verify(receipt, key)
        except receipts.InvalidReceipt as exc:
            raise CommandError(f"invalid: {exc}") from exc
        self.stdout.write(
            f"valid: receipt {receipt.get('receipt_id')} signed by key {receipt['key_id']}"
        )
