"""Erasure API: POST / GET /v1/erasures/, GET /v1/erasures/{id}/, and the receipts' key and
verification (GET /v1/receipts/public-key/, POST /v1/receipts/verify/).

Erasing needs the compliance role (or admin); the receipts' endpoints need no key at all, so an
auditor can verify a receipt with nothing but the receipt.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import receipts
from core.api.pagination import paginate
from core.errors import InvalidRequest, NotFound
from memories import erasure
from memories.api import docs, params
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import Erasure
from memories.subjects import Subject
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role

MAX_REFERENCE = 200
MAX_REASON = 2000


def erasure_payload(record: Erasure) -> dict[str, Any]:
    """An erasure as the API shows it: never its subject, only the subject's salted hash."""
    event = record.event
    return {
        "id": str(record.pk),
        "event_id": str(event.pk),
        "status": event.status,
        "subject": {"type": record.subject_type, "hash": record.subject_hash},
        "reference": record.reference,
        "reason": record.reason,
        "requested_by": record.requested_by,
        "confirmed_by": record.confirmed_by,
        "progress": event.results if event.status == event.Status.RUNNING else None,
        "counts": record.counts or None,
        "error": event.error,
        "created_at": iso(record.created_at),
        "completed_at": iso(record.completed_at),
        "receipt": record.receipt,
    }


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name)
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidRequest(f"{name} has {len(value)} characters; at most {limit}")
    return value.strip()


@docs.erasures
class ErasuresView(ProjectAPIView):
    """POST: preview (`dry_run`, the default) or confirm an erasure. GET: the erasures."""

    required_roles = {"GET": Role.COMPLIANCE, "POST": Role.COMPLIANCE}

    def post(self, request: Request) -> Response:
        body = self.body()
        subject = Subject.from_json(
            body.get("subject") if isinstance(body.get("subject"), dict) else body
        )
        aliases = erasure.clean_aliases(body.get("aliases"))
        if params.flag(body.get("dry_run"), "dry_run", default=True):
            preview = erasure.preview(self.project, subject, aliases=aliases)
            self.log_read(
                "erasure.preview",
                memories=[asdict(m) for m in preview.mentions],
                scope=subject.scope,
                filters=subject.filters,
            )
            return Response(
                {"dry_run": True, "subject": {"type": subject.type}, **preview.as_dict()}
            )
        record = erasure.start(
            self.project,
            subject,
            actor=self.actor,
            aliases=aliases,
            mentions_to_erase=body.get("mentions") or (),
            reference=_text(body, "reference", MAX_REFERENCE),
            reason=_text(body, "reason", MAX_REASON),
        )
        return Response(
            {
                "message": "Erasure confirmed; it runs in the background (poll GET /v1/erasures/{id}/).",
                **erasure_payload(record),
            },
            status=status.HTTP_202_ACCEPTED,
        )

    def get(self, request: Request) -> Response:
        records = (
            Erasure.objects.filter(project=self.project)
            .select_related("event")
            .order_by("-created_at", "-id")
        )
        return Response(
            paginate(
                request,
                records,
                source=request.query_params,
                order_key="created_at",
                serialize=erasure_payload,
            )
        )


@docs.erasure_detail
class ErasureDetailView(ProjectAPIView):
    """GET /v1/erasures/{id}/: one erasure, its progress, and its receipt once done."""

    required_roles = {"GET": Role.COMPLIANCE}

    def get(self, request: Request, erasure_id: str) -> Response:
        record = (
            Erasure.objects.filter(
                project=self.project, pk=parse_uuid(erasure_id, label="erasure_id")
            )
            .select_related("event")
            .first()
        )
        if record is None:
            raise NotFound("Erasure not found")
        return Response(erasure_payload(record))


@docs.public_key
class PublicKeyView(APIView):
    """GET /v1/receipts/public-key/: the key that verifies this deployment's receipts."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        key = receipts.public_key()
        return Response(
            {
                "algorithm": "Ed25519",
                "key_id": receipts.key_id(key),
                "public_key_pem": receipts.public_key_pem(key),
            }
        )


@docs.verify_receipt
class VerifyReceiptView(APIView):
    """POST /v1/receipts/verify/ with a receipt (or {"receipt": ...}): whether it verifies."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        data: Any = request.data
        receipt: Any = data.get("receipt", data) if isinstance(data, dict) else data
        try:
            receipts.verify(receipt)
        except receipts.InvalidReceipt as exc:
            return Response({"valid": False, "reason": str(exc)})
        return Response({"valid": True, "reason": None, "key_id": receipt[receipts.KEY_ID]})
