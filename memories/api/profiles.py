"""Profile API, at the Platform's paths (mem0ai 2.2's profile methods and npm 3.3's):

- `GET /v2/profiles/settings/` (viewer) and `POST /v2/profiles/settings/` (admin):
  `{enabled, capabilities, entities: {user: {schema, custom_instructions}}}`;
- `POST /v2/profiles/jobs/` (editor) with `{"operation": "trigger", "entity_type": "user",
  "entity_id"}` or `{"operation": "sample", "entity_type": "user", "limit"?}` and an
  `Idempotency-Key` header: 202 with the job (`replayed: true` for a repeated key);
- `GET /v2/profiles/jobs/{job_id}/` (viewer): `{"job": {...}}`;
- `GET /v2/entities/user/{entity_id}/profile/` (viewer): the profile, a read of memory content.

memories.profiles holds the rules; these views only parse and shape.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from memories import profiles
from memories.api import docs
from memories.api.serializers import iso
from memories.models import ProfileJob, ProfileSettings
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role


def settings_payload(settings: ProfileSettings) -> dict[str, Any]:
    return {
        "enabled": settings.enabled,
        "capabilities": profiles.capabilities(),
        "entities": {
            profiles.ENTITY_TYPE: {
                "schema": settings.schema,
                "custom_instructions": settings.custom_instructions,
            }
        },
    }


def profile_payload(view: profiles.ProfileView) -> dict[str, Any]:
    return {
        "profile": view.profile,
        "status": view.status,
        "entity_type": view.entity_type,
        "entity_id": view.entity_id,
        "updated_at": iso(view.generated_at),
        "generation_count": view.generation_count,
        "error": view.error,
    }


def status_url(job: ProfileJob) -> str:
    """The job's poll path, as the clients expect it: absolute path, no host."""
    return reverse("memories-api:profile-job", args=[job.pk])


def created_payload(job: ProfileJob, *, replayed: bool) -> dict[str, Any]:
    """What creating a job answers (and what a replay of its Idempotency-Key answers again)."""
    payload: dict[str, Any] = {
        "job_id": str(job.pk),
        "status": profiles.job_status(job),
        "status_url": status_url(job),
        "operation": job.operation,
        "entity_type": job.entity_type,
        "entity_count_reserved": job.total,
        "event_id": str(job.event_id),
        "replayed": replayed,
    }
    if job.operation == ProfileJob.Operation.SAMPLE:
        payload.update(sampled=job.total, entity_ids=list(job.entity_ids))
    return payload


def job_payload(job: ProfileJob) -> dict[str, Any]:
    return {
        "job": {
            "id": str(job.pk),
            "operation": job.operation,
            "entity_type": job.entity_type,
            "status": profiles.job_status(job),
            # The users are chosen when the job is created: the total is known at once.
            "total": job.total,
            "enumeration_complete": True,
            "completed": job.completed,
            "succeeded": job.succeeded,
            "failed": job.failed,
            "skipped": job.skipped,
            "event_id": str(job.event_id),
            "error": job.event.error,
        }
    }


@docs.profile_settings
class ProfileSettingsView(ProjectAPIView):
    required_roles = {"POST": Role.ADMIN}

    def get(self, request: Request) -> Response:
        return Response(settings_payload(profiles.settings_of(self.project)))

    def post(self, request: Request) -> Response:
        return Response(settings_payload(profiles.update_settings(self.project, self.body())))


@docs.profile_jobs
class ProfileJobsView(ProjectAPIView):
    def post(self, request: Request) -> Response:
        job, replayed = profiles.create_job(
            self.project,
            self.body(),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            actor=self.actor,
        )
        return Response(created_payload(job, replayed=replayed), status=status.HTTP_202_ACCEPTED)


@docs.profile_job
class ProfileJobDetailView(ProjectAPIView):
    def get(self, request: Request, job_id: str) -> Response:
        return Response(job_payload(profiles.get_job(self.project, job_id)))


@docs.entity_profile
class EntityProfileView(ProjectAPIView):
    """GET /v2/entities/user/{entity_id}/profile/. Registered before entities-api's
    `v2/entities/<kind>/<path:name>/`, which would otherwise read it as user "{id}/profile"."""

    def get(self, request: Request, entity_id: str) -> Response:
        view = profiles.profile_of(self.project, entity_id)
        self.log_read(
            "profile.get",
            scope={"user_id": entity_id},
            memories=[{"id": pk, "user_id": entity_id} for pk in view.memory_ids],
        )
        return Response(profile_payload(view))
