"""Legal holds, memdash's own API (memories.holds; compliance keys):
`GET / POST /v1/holds/`, `GET /v1/holds/{id}/`, `POST /v1/holds/{id}/release/`."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import paginate
from core.errors import InvalidRequest
from memories import holds
from memories.api import docs
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import LegalHold
from memories.subjects import Subject
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def hold_payload(hold: LegalHold) -> dict[str, Any]:
    subject = Subject(hold.entity_type, hold.entity_id, hold.filters)
    return {
        "id": str(hold.pk),
        "name": hold.name,
        "subject": subject.as_json(),
        "reason": hold.reason,
        "active": hold.is_active,
        "placed_by": hold.placed_by,
        "placed_at": iso(hold.placed_at),
        "released_by": hold.released_by or None,
        "released_at": iso(hold.released_at),
        "release_reason": hold.release_reason or None,
    }


@docs.holds
class HoldsView(ProjectAPIView):
    """GET: every hold, newest first (`?active=true` for the active ones). POST: place one."""

    required_roles = {"GET": Role.COMPLIANCE, "POST": Role.COMPLIANCE}

    def get(self, request: Request) -> Response:
        rows = holds.hold_list(self.project)
        active = request.query_params.get("active")
        if active not in (None, "", "true", "false"):
            raise InvalidRequest(f"active is true or false, got {active!r}")
        if active:
            rows = rows.filter(released_at__isnull=active == "true")
        return Response(
            paginate(
                request,
                rows,
                source=request.query_params,
                order_key="placed_at",
                serialize=hold_payload,
            )
        )

    def post(self, request: Request) -> Response:
        body = self.body()
        subject = Subject.from_json(
            body.get("subject") if isinstance(body.get("subject"), dict) else body
        )
        hold = holds.place(
            self.project,
            subject,
            name=body.get("name"),
            reason=body.get("reason"),
            actor=self.actor,
        )
        return Response(hold_payload(hold), status=status.HTTP_201_CREATED)


@docs.hold_detail
class HoldDetailView(ProjectAPIView):
    required_roles = {"GET": Role.COMPLIANCE}

    def get(self, request: Request, hold_id: str) -> Response:
        return Response(
            hold_payload(holds.get_hold(self.project, parse_uuid(hold_id, label="hold_id")))
        )


@docs.hold_release
class HoldReleaseView(ProjectAPIView):
    required_roles = {"POST": Role.COMPLIANCE}

    def post(self, request: Request, hold_id: str) -> Response:
        hold = holds.release(
            self.project,
            parse_uuid(hold_id, label="hold_id"),
            reason=self.body().get("reason"),
            actor=self.actor,
        )
        return Response(hold_payload(hold))
