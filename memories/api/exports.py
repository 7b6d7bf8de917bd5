"""Export API.

Mem0's Platform exports, as the SDKs call them (`create_memory_export`, `get_memory_export` of
mem0ai 2.x and 1.0.x, `createMemoryExport`, `getMemoryExport` of npm):

- `POST /v1/exports/` with `schema`, `filters` (or, from older SDKs, top-level entity ids) and
  `export_instructions`: 201 {"message", "id"}; a missing or invalid schema is a 400.
- `POST /v1/exports/get/` with `memory_export_id` and/or `filters`: 200 with the exported
  object once it is built, 202 {"id", "status"} while it is, 404 {"error": "No memory export
  request found"} for none, 410 once it expired, 422 when building it failed.

Filters follow the /v1/ rules of the seed documents (implicit null scoping of the entity ids
not named). And memdash's full export of a data subject (the compliance role):
`POST /v1/subject-exports/`, `GET /v1/subject-exports/`, `GET /v1/subject-exports/{id}/` and
`GET /v1/subject-exports/{id}/download/` (the zip).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import error_body
from core.api.pagination import paginate
from core.errors import FilterError, InvalidRequest, MemdashError, NotFound
from memories import exports
from memories.api import docs, params
from memories.api.serializers import iso
from memories.api.views import parse_uuid
from memories.models import Event, Export
from memories.subjects import Subject
from tenancy.api.base import ProjectAPIView
from tenancy.models import Role

RECEIVED = "Memory export request received. The export will be ready in a few seconds."
NOT_READY = "The export is still being built; ask again in a few seconds."


def _platform_error(exc: MemdashError, key: str) -> Response:
    """An error with the key the Platform documents for this operation (`message` or
    `error`) besides memdash's own."""
    extra: dict[str, Any] = {key: exc.detail}
    return Response(error_body(exc.detail, **extra), status=exc.status_code)


def _unavailable(export: Export) -> Response | None:
    """The answer for an export that cannot be handed out (yet, or any more), else None."""
    event = export.event
    if event.status in (Event.Status.PENDING, Event.Status.RUNNING):
        return Response(
            {
                "id": str(export.pk),
                "status": event.status,
                "message": NOT_READY,
                "progress": event.results if event.status == Event.Status.RUNNING else None,
            },
            status=status.HTTP_202_ACCEPTED,
        )
    if event.status == Event.Status.FAILED:
        detail = f"{event.error or 'The export failed.'} Create the export again."
        return Response(
            error_body(detail, id=str(export.pk), status=event.status),
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if export.is_expired:
        detail = f"This export expired at {iso(export.expires_at)}; create it again."
        return Response(error_body(detail), status=status.HTTP_410_GONE)
    return None


@docs.platform_exports
class PlatformExportsView(ProjectAPIView):
    """POST /v1/exports/: queue a Platform export. A read: any key that may list memories may
    export them."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        try:
            schema = exports.clean_schema(body.get("schema"))
            filters = params.legacy_filter(body, require_entity=False)
            instructions = exports.clean_instructions(body.get("export_instructions"))
        except (InvalidRequest, FilterError) as exc:
            return _platform_error(exc, "message")
        record = exports.create_platform(
            self.project,
            filters=filters,
            lookup_filters=_lookup_filters(body),
            schema=schema,
            instructions=instructions,
            actor=self.actor,
        )
        return Response(
            {
                "message": RECEIVED,
                "id": str(record.pk),
                "event_id": str(record.event_id),
                "status": record.event.status,
            },
            status=status.HTTP_201_CREATED,
        )


def _lookup_filters(body: dict[str, Any]) -> dict[str, Any]:
    """The filters a request names (`filters` and top-level parameters), before null scoping:
    what get_memory_export sends to find the export again."""
    return params.combine(body.get("filters"), params.param_filters(body, entities=True))


@docs.platform_export_get
class PlatformExportGetView(ProjectAPIView):
    """POST /v1/exports/get/: a Platform export, by id or by the filters it was made with."""

    required_roles = {"POST": Role.VIEWER}

    def post(self, request: Request) -> Response:
        body = self.body()
        try:
            record = self._find(body)
        except NotFound as exc:
            return _platform_error(exc, "error")
        refusal = _unavailable(record)
        if refusal is not None:
            return refusal
        exports.record_download(record, actor=self.actor)
        self.log_read("export.download", **exports.download_read(record))
        return Response(record.result)

    def _find(self, body: dict[str, Any]) -> Export:
        export_id = body.get("memory_export_id")
        if export_id not in (None, ""):
            return exports.get_export(
                self.project,
                parse_uuid(export_id, label="memory_export_id"),
                kind=Export.Kind.PLATFORM,
            )
        lookup = _lookup_filters(body)
        if not lookup:
            raise InvalidRequest(
                "Send memory_export_id (the id create_memory_export returned) or the filters "
                "the export was made with."
            )
        return exports.find_platform(self.project, lookup)


# --- memdash's data-subject exports ----------------------------------------------------------


def subject_export_payload(record: Export) -> dict[str, Any]:
    event = record.event
    ready = event.status == Event.Status.SUCCEEDED and not record.is_expired
    return {
        "id": str(record.pk),
        "event_id": str(event.pk),
        "status": event.status,
        "subject": record.request,
        "requested_by": record.requested_by,
        "progress": event.results if event.status == Event.Status.RUNNING else None,
        "counts": event.results if event.status == Event.Status.SUCCEEDED else None,
        "error": event.error,
        "size": record.size or None,
        "sha256": record.sha256 or None,
        "created_at": iso(record.created_at),
        "completed_at": iso(record.completed_at),
        "expires_at": iso(record.expires_at),
        "expired": record.is_expired,
        "download_url": (
            reverse("memories-api:subject-export-download", args=[record.pk]) if ready else None
        ),
    }


@docs.subject_exports
class SubjectExportsView(ProjectAPIView):
    """POST: queue the full export of a subject ({entity_type, entity_id} or {filters}).
    GET: the project's subject exports, newest first."""

    required_roles = {"GET": Role.COMPLIANCE, "POST": Role.COMPLIANCE}

    def post(self, request: Request) -> Response:
        body = self.body()
        subject = Subject.from_json(
            body.get("subject") if isinstance(body.get("subject"), dict) else body
        )
        record = exports.create_subject(self.project, subject, actor=self.actor)
        return Response(
            {
                "message": "Export queued; poll GET /v1/subject-exports/{id}/ until it is ready.",
                **subject_export_payload(record),
            },
            status=status.HTTP_202_ACCEPTED,
        )

    def get(self, request: Request) -> Response:
        records = exports.export_list(self.project).filter(kind=Export.Kind.SUBJECT)
        return Response(
            paginate(
                request,
                records,
                source=request.query_params,
                order_key="created_at",
                serialize=subject_export_payload,
            )
        )


@docs.subject_export_detail
class SubjectExportDetailView(ProjectAPIView):
    required_roles = {"GET": Role.COMPLIANCE}

    def get(self, request: Request, export_id: str) -> Response:
        return Response(subject_export_payload(_subject_export(self, export_id)))


@docs.subject_export_download
class SubjectExportDownloadView(ProjectAPIView):
    """GET /v1/subject-exports/{id}/download/: the zip, recorded as a DOWNLOAD Event."""

    required_roles = {"GET": Role.COMPLIANCE}

    def get(self, request: Request, export_id: str) -> HttpResponse | Response:
        record = _subject_export(self, export_id)
        refusal = _unavailable(record)
        if refusal is not None:
            return refusal
        exports.record_download(record, actor=self.actor)
        self.log_read("export.download", **exports.download_read(record))
        response = HttpResponse(bytes(record.archive or b""), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{exports.archive_name(record)}"'
        return response


def _subject_export(view: ProjectAPIView, export_id: str) -> Export:
    return exports.get_export(
        view.project, parse_uuid(export_id, label="export_id"), kind=Export.Kind.SUBJECT
    )
