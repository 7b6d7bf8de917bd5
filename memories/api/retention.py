"""Retention policies, memdash's own API (memories.retention; admin keys):
`GET / POST /v1/retention-policies/`, `GET / PATCH / DELETE /v1/retention-policies/{id}/`, and
`POST /v1/retention-policies/{id}/preview/`, the dry run ("would delete 1,204 memories now")."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import paginate
from memories import retention
from memories.api import docs
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import RetentionPolicy
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def policy_payload(policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "id": str(policy.pk),
        "name": policy.name,
        "filters": policy.filters,
        "rule": policy.rule,
        "days": policy.days,
        "enabled": policy.enabled,
        "created_by": policy.created_by,
        "created_at": iso(policy.created_at),
        "updated_at": iso(policy.updated_at),
        "last_run_at": iso(policy.last_run_at),
        "last_event_id": str(policy.last_event_id) if policy.last_event_id else None,
    }


@docs.retention_policies
class PoliciesView(ProjectAPIView):
    required_roles = {"GET": Role.ADMIN, "POST": Role.ADMIN}

    def get(self, request: Request) -> Response:
        rows = retention.policy_list(self.project).order_by("-created_at", "-id")
        return Response(
            paginate(
                request,
                rows,
                source=request.query_params,
                order_key="created_at",
                serialize=policy_payload,
            )
        )

    def post(self, request: Request) -> Response:
        policy = retention.create_policy(self.project, self.body(), actor=self.actor)
        return Response(policy_payload(policy), status=status.HTTP_201_CREATED)


class _PolicyView(ProjectAPIView):
    def policy(self, policy_id: str) -> RetentionPolicy:
        return retention.get_policy(self.project, parse_uuid(policy_id, label="policy_id"))


@docs.retention_policy
class PolicyDetailView(_PolicyView):
    required_roles = {"GET": Role.ADMIN, "PATCH": Role.ADMIN, "DELETE": Role.ADMIN}

    def get(self, request: Request, policy_id: str) -> Response:
        return Response(policy_payload(self.policy(policy_id)))

    def patch(self, request: Request, policy_id: str) -> Response:
        policy = retention.update_policy(self.policy(policy_id), self.body(), actor=self.actor)
        return Response(policy_payload(policy))

    def delete(self, request: Request, policy_id: str) -> Response:
        retention.delete_policy(self.policy(policy_id), actor=self.actor)
        return Response({"message": "Retention policy deleted; its memories stay."})


@docs.retention_preview
class PolicyPreviewView(_PolicyView):
    required_roles = {"POST": Role.ADMIN}

    def post(self, request: Request, policy_id: str) -> Response:
        return Response(retention.preview(self.policy(policy_id)).as_dict())
