"""Exports: copies of memories handed out, of two kinds.

- **Platform exports** (Mem0's `POST /v1/exports/` and `/v1/exports/get/`, the SDKs'
  `create_memory_export` and `get_memory_export`): the memories a filter matches, turned into the
  JSON object a schema describes. With an LLM configured it fills the schema from the memories,
  as the Platform does, and checks the answer against the schema; without one the export is
  deterministic: the matching memories with all their fields, and a note that no LLM was used.
- **Subject exports**: everything memdash holds about a data subject (an entity, or what a
  filter matches), to hand to them or to an auditor: a zip of JSON and CSV files (memories,
  history with its provenance, the Events about them, their access log) with a README inside.

Both are built by a worker as an EXPORT Event (with progress), stored in the export row (so
PostgreSQL holds them, nothing else), purged MEMDASH_EXPORT_TTL_HOURS after they are made, and
every download is recorded as a DOWNLOAD Event. An export records the memories it copied and
the entities its request names: an erasure deletes every export that holds its subject's data
(memories.erasure), and an export is refused, like a write, while its subject is being erased.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

import jsonschema
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import log as audit_log
from audit import query as audit_query
from core.errors import Conflict, InvalidRequest, NotFound
from core.schemas import check_json_schema
from core.text import strict_loads
from memories import erasure, events, listing, llm, prompts, subjects
from memories.models import Event, Export, Memory, MemoryHistory
from memories.subjects import Subject
from tenancy.models import Project

MAX_INSTRUCTIONS = 10_000
NO_LLM_NOTE = (
    "No LLM is configured on this memdash server, so the schema was not filled: this export "
    "lists the memories the filters match, with all their fields."
)
# Columns a memory and a history row are exported without: derived from their text (the
# embedding and keyword vectors) or the project itself.
SKIPPED_FIELDS = {"project", "embedding", "search_vector"}
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
CHUNK = 2000


# --- requests --------------------------------------------------------------------------------


def clean_schema(value: Any) -> dict[str, Any]:
    """A Platform export's schema: a JSON Schema object (or its JSON text, which the Python
    SDK's type hints suggest), checked to be a valid schema."""
    if isinstance(value, str):
        try:
            value = strict_loads(value)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest(
                "schema is a string but not JSON; send a JSON Schema object"
            ) from exc
    if not isinstance(value, dict) or not value:
        raise InvalidRequest(
            "Schema is required: send a JSON Schema object, e.g. a Pydantic model's "
            "model_json_schema()."
        )
    check_json_schema(value)
    return value


def clean_instructions(value: Any) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str):
        raise InvalidRequest("export_instructions must be a string")
    if len(value) > MAX_INSTRUCTIONS:
        raise InvalidRequest(f"export_instructions has more than {MAX_INSTRUCTIONS} characters")
    return value


def canonical(filters: Any) -> str:
    """The sha256 of a filter's canonical JSON: how a Platform export is found by its filters."""
    text = json.dumps(filters or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _scopes(keys: Iterable[str]) -> list[dict[str, str]]:
    """Entity keys as the scopes erasure.guard_writes takes."""
    return [{f"{key.split(':', 1)[0]}_id": key.split(":", 1)[1]} for key in keys]


# --- making one ------------------------------------------------------------------------------


def create_platform(
    project: Project,
    *,
    filters: dict[str, Any],
    lookup_filters: Any,
    schema: dict[str, Any],
    instructions: str,
    actor: str,
) -> Export:
    """Queue a Platform export of what `filters` matches. `lookup_filters` are the filters as
    the request gave them: get_memory_export finds the export again by them."""
    keys = audit_log.filter_entities(filters)
    payload = {"kind": Export.Kind.PLATFORM, "filters": filters, "schema": schema}
    if instructions:
        payload["export_instructions"] = instructions
    return _create(
        project,
        kind=Export.Kind.PLATFORM,
        request={"filters": filters},
        payload=payload,
        keys=keys,
        actor=actor,
        filters_key=canonical(lookup_filters),
        schema=schema,
        instructions=instructions,
    )


def create_subject(project: Project, subject: Subject, *, actor: str) -> Export:
    """Queue the full export of a data subject; NotFound for an entity the project lacks."""
    subjects.check_subject(project, subject)
    if subject.filters is not None:
        keys = audit_log.filter_entities(subject.filters)
    else:
        keys = [f"{subject.entity_type}:{subject.entity_id}"]
    return _create(
        project,
        kind=Export.Kind.SUBJECT,
        request=subject.as_json(),
        payload={"kind": Export.Kind.SUBJECT, "subject": subject.as_json()},
        keys=keys,
        actor=actor,
        subject_hash=subject.digest(project),
    )


def _create(
    project: Project,
    *,
    kind: str,
    request: dict[str, Any],
    payload: dict[str, Any],
    keys: list[str],
    actor: str,
    **fields: Any,
) -> Export:
    now = timezone.now()
    with transaction.atomic():
        # An export of someone being erased would copy what the erasure is taking out.
        erasure.guard_writes(project, _scopes(keys))
        event = events.open_event(
            project,
            Event.Type.EXPORT,
            actor=actor,
            payload=payload,
            metadata=events.named_entities(_first_ids(keys)),
            pending=True,
            at=now,
        )
        export = Export.objects.create(
            project=project,
            event=event,
            kind=kind,
            request=request,
            entity_keys=keys,
            requested_by=actor,
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.MEMDASH_EXPORT_TTL_HOURS),
            **fields,
        )
        event.payload = {**payload, "export_id": str(export.pk)}
        event.save(update_fields=["payload"])
        audit_log.change(
            "export.create",
            project_id=project.pk,
            target=str(export.pk),
            details={"kind": kind},
            entities=keys,
        )
        events.submit(event)
    return export


def _first_ids(keys: Iterable[str]) -> dict[str, str]:
    """One id per entity type (an Event's metadata names one of each)."""
    ids: dict[str, str] = {}
    for scope in _scopes(keys):
        for name, value in scope.items():
            ids.setdefault(name, value)
    return ids


# --- building it (the worker) ----------------------------------------------------------------


def run(event_id: Any) -> Event | None:
    """Worker side: build an EXPORT Event's export. Safe to run again after a crash."""
    event = events.claim(event_id, kinds=(Event.Type.EXPORT,))
    if event is None:
        return None
    export = Export.objects.select_related("project").get(event=event)
    try:
        if export.kind == Export.Kind.PLATFORM:
            _build_platform(export, event)
        else:
            _build_subject(export, event)
    except (Conflict, llm.LLMError, InvalidRequest) as exc:
        events.fail(event.pk, f"export failed: {exc}")
    except Exception as exc:
        events.fail(event.pk, f"export stopped: {type(exc).__name__}: {exc}")
        raise
    event.refresh_from_db()
    return event


def _progress(event: Event, phase: str, done: int, total: int) -> None:
    Event.objects.filter(pk=event.pk, status=Event.Status.RUNNING).update(
        results={"phase": phase, "done": done, "total": total},
        progress=events.progress_of(done, total),
        updated_at=timezone.now(),
    )


def _store(export: Export, event: Event, *, results: dict[str, Any], **content: Any) -> None:
    """Save what the worker built, unless an erasure got in the way meanwhile."""
    with transaction.atomic():
        # Shared locks on the request's entities: an erasure confirmed while this export was
        # being read makes the export fail, rather than keep a copy of what it erases.
        erasure.guard_writes(export.project, _scopes(export.entity_keys))
        ids = content.get("memory_ids") or []
        if ids and MemoryHistory.objects.filter(memory_id__in=ids).exclude(erased_at=None).exists():
            raise Conflict("an erasure removed some of the memories this export read")
        for name, value in content.items():
            setattr(export, name, value)
        export.completed_at = timezone.now()
        export.save()
        events.finish(event, results={"export_id": str(export.pk), **results})


def _build_platform(export: Export, event: Event) -> None:
    project = export.project
    listed = listing.memory_list(project, export.request.get("filters") or {}, show_expired=False)
    result: dict[str, Any]
    if llm.is_configured():
        usage = llm.Usage()
        newest = list(listed[: settings.MEMDASH_EXPORT_LLM_MEMORIES])
        result = _fill_schema(export, newest, usage)
        ids = [str(m.pk) for m in newest]
        results = {
            "memories": listed.count(),
            "memories_read": len(newest),
            "llm_used": True,
            "usage": usage.as_dict(),
        }
    else:
        rows = _collect(listed, event, "memories", 0, listed.count())
        result = {
            "memories": rows,
            "count": len(rows),
            "filters": export.request.get("filters") or {},
            "llm_used": False,
            "message": NO_LLM_NOTE,
        }
        ids = [row["id"] for row in rows]
        results = {"memories": len(rows), "llm_used": False}
    data = json.dumps(result).encode()
    _store(
        export,
        event,
        results=results,
        memory_ids=ids,
        result=result,
        llm_used=results["llm_used"],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _fill_schema(export: Export, memories: list[Memory], usage: llm.Usage) -> dict[str, Any]:
    schema = export.schema or {}
    shown = [
        {"memory": m.memory, "date": m.created_at.date().isoformat(), "categories": m.categories}
        for m in memories
    ]
    validator = jsonschema.validators.validator_for(schema)(schema)
    problem = ""
    for _attempt in range(2):
        system, user = prompts.fill_export_prompt(schema, shown, export.instructions, problem)
        reply = llm.chat_json(task=prompts.FILL_EXPORT, system=system, user=user, usage=usage)
        error = jsonschema.exceptions.best_match(validator.iter_errors(reply))
        if error is None:
            return reply
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        problem = f"at {where}: {error.message}"
    raise llm.LLMResponseError(f"the LLM's export does not follow the schema ({problem})")


def _build_subject(export: Export, event: Event) -> None:
    project = export.project
    subject = Subject.from_json(export.request)
    memories = subject.memories(project).without_vectors().order_by("created_at", "id")
    history = subjects.history_of(project, subject).order_by("created_at", "id")
    about = subjects.events_of(project, subject)
    total = memories.count() + history.count()
    memory_rows = _collect(memories, event, "memories", 0, total)
    history_rows = _collect(history, event, "history", len(memory_rows), total)
    event_rows = list(_rows(about.order_by("created_at", "id")))
    trash_rows = list(_rows(subject.trashed(project).order_by("trashed_at", "id")))
    access_rows = access_log(project, subject, [*memory_rows, *trash_rows, *history_rows])
    now = timezone.now()
    counts = {
        "memories": len(memory_rows),
        "trash": len(trash_rows),
        "history": len(history_rows),
        "events": len(event_rows),
        "access_log": len(access_rows),
    }
    summary = {
        "project": project.public_id,
        "subject": subject.as_json(),
        "generated_at": now.isoformat(),
        "expires_at": export.expires_at.isoformat(),
        "memdash_version": settings.MEMDASH_VERSION,
        "counts": counts,
    }
    archive = _zip(
        {
            "README.txt": readme(summary).encode(),
            "subject.json": _json(summary),
            "memories.json": _json(memory_rows),
            "memories.csv": _csv(memory_rows),
            "trash.json": _json(trash_rows),
            "history.json": _json(history_rows),
            "history.csv": _csv(history_rows),
            "events.json": _json(event_rows),
            "access_log.json": _json(access_rows),
        }
    )
    ids = sorted(
        {r["id"] for r in [*memory_rows, *trash_rows]} | {r["memory_id"] for r in history_rows}
    )
    results = {**counts, "size": len(archive)}
    _store(
        export,
        event,
        results=results,
        memory_ids=ids,
        archive=archive,
        size=len(archive),
        sha256=hashlib.sha256(archive).hexdigest(),
    )


def _collect(
    queryset: QuerySet[Any], event: Event, phase: str, done: int, total: int
) -> list[dict[str, Any]]:
    """Every row of `queryset` (_rows), with the Event's progress every CHUNK rows."""
    rows: list[dict[str, Any]] = []
    for row in _rows(queryset):
        rows.append(row)
        if len(rows) % CHUNK == 0:
            _progress(event, phase, done + len(rows), total)
    return rows


def access_log(
    project: Project, subject: Subject, rows: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Who read the subject's data, and when, oldest first: the access log's reads that name
    the subject (an entity) or returned one of its memories (`rows`: the memory and history
    rows of the export).

    The subject gets what concerns them and nothing of other people's: of a read that also
    named or returned others, only the subject's own entities and memory ids, and neither its
    query nor its filters (they may be about the others). Staff's IP addresses, browsers and
    request ids stay in the log for auditors: the subject learns who read, in what role, how
    and when.
    """
    theirs: set[uuid.UUID] = set()
    own: set[str] = set()
    for row in rows:
        theirs.add(uuid.UUID(row.get("memory_id") or row["id"]))
        own.update(audit_log.entity_keys(row))
    key = f"{subject.entity_type}:{subject.entity_id}" if subject.entity_type else None
    about = Q(memory_ids__overlap=list(theirs)) if theirs else Q(pk__in=[])
    if key:
        own.add(key)
        about |= Q(entities__overlap=[key])
    reads = audit_query.entries(project.pk, audit_query.AuditFilter(kind="read")).filter(about)
    found = []
    for entry in reads.order_by("at", "id").iterator(chunk_size=CHUNK):
        alone = set(entry.entities) <= own and set(entry.memory_ids) <= theirs
        found.append(
            {
                "at": entry.at.isoformat(),
                "action": entry.action,
                "surface": entry.surface,
                "actor": {
                    "type": entry.actor_type,
                    "name": entry.actor_name or None,
                    "role": entry.role or None,
                },
                "entities": [e for e in entry.entities if e in own],
                "memory_ids": [str(pk) for pk in entry.memory_ids if pk in theirs],
                "query": entry.query if alone else None,
                "filters": entry.filters if alone else None,
            }
        )
    return found


def _rows(queryset: QuerySet[Any]) -> Iterator[dict[str, Any]]:
    """Every field of each row, as JSON values (the vectors aside)."""
    model = queryset.model
    names = [f.attname for f in model._meta.concrete_fields if f.name not in SKIPPED_FIELDS]
    for values in queryset.values_list(*names).iterator(chunk_size=CHUNK):
        yield {_label(name): _plain(value) for name, value in zip(names, values, strict=True)}


def _label(attname: str) -> str:
    return "event_id" if attname == "source_event_id" else attname


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str).encode()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    """Rows as CSV: nested JSON values (metadata, inputs, categories) as JSON text."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for k, v in row.items()
                }
            )
    return out.getvalue().encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def readme(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    subject = summary["subject"]
    who = (
        f"{subject['entity_type']} {subject['entity_id']}"
        if "entity_type" in subject
        else f"the memories matching the filter {json.dumps(subject['filters'])}"
    )
    return f"""memdash data-subject export
===========================

Everything memdash project {summary["project"]} holds about {who}, as of
{summary["generated_at"]} (memdash {summary["memdash_version"]}). This archive is deleted from
the server at {summary["expires_at"]}.

Files
-----
subject.json     Who this export is about, when it was made, and how many rows each file holds.
memories.json    Every memory ({counts["memories"]}), with every field: its text ("memory"), the
                 user, agent, app and run it belongs to, the speaker ("actor_id", "role"),
                 metadata, categories, expiration date, feedback, when it was created and last
                 updated, and the Event ("event_id") that wrote it. The embedding (a vector
                 computed from the text) is not included: it holds nothing the text does not.
memories.csv     The same rows as CSV; metadata and categories are JSON text.
trash.json       Their memories deleted recently and kept in the trash, restorable until it is
                 emptied ({counts["trash"]}): the same fields, and when they were deleted
                 ("trashed_at"), by whom ("trashed_by") and until when they are kept
                 ("purge_after").
history.json     Every change to those memories and every history row that names the subject
                 ({counts["history"]}): the kind (ADD, UPDATE, DELETE), the text before
                 ("old_memory") and after ("new_memory"), the messages that caused it ("input"),
                 who made it ("actor": an API key, a dashboard user or the extraction pipeline),
                 why, when a person gave a reason on the dashboard ("reason"), the Event it
                 belongs to ("event_id") and when. Memories deleted the ordinary
                 way keep their history, so they appear here.
history.csv      The same rows as CSV; input, metadata and categories are JSON text.
events.json      The operations about the subject ({counts["events"]}): adds, updates, deletes,
                 categorizations, and the exports made of their data and their downloads, with
                 the request they recorded ("payload"), what they did ("results"), who asked
                 ("actor") and when.
access_log.json  Who read the subject's data and when ({counts["access_log"]} entries), from
                 memdash's access log: every read that named them or returned one of their
                 memories, oldest first, with what was read ("action": a search, a list, one memory, its history...),
                 through what ("surface": the API or the dashboard), who read it ("actor": an
                 API key's name or a dashboard user, and their role), which of their memories
                 it returned ("memory_ids") and what was asked ("query", "filters"; left out
                 when the same read also concerned other people).
"""


# --- reading one -----------------------------------------------------------------------------


def get_export(project: Project, export_id: Any, *, kind: str) -> Export:
    """One of the project's exports of `kind`; NotFound (in the Platform's words for its
    exports) for any other."""
    export = (
        Export.objects.select_related("event", "project")
        .filter(project=project, pk=export_id, kind=kind)
        .first()
    )
    if export is None:
        raise NotFound(
            "No memory export request found" if kind == Export.Kind.PLATFORM else "Export not found"
        )
    return export


def archive_name(export: Export) -> str:
    return f"memdash-export-{export.pk}.zip"


def find_platform(project: Project, filters: Any) -> Export:
    """The newest Platform export made with these filters (as the request gave them)."""
    export = (
        Export.objects.select_related("event")
        .filter(project=project, kind=Export.Kind.PLATFORM, filters_key=canonical(filters))
        .order_by("-created_at", "-id")
        .first()
    )
    if export is None:
        raise NotFound("No memory export request found")
    return export


def download_read(export: Export) -> dict[str, Any]:
    """An export's download for the access log: the memories it copied, the entities it names."""
    return {
        "memories": [{"id": pk} for pk in export.memory_ids],
        "extra_entities": export.entity_keys,
        "filters": export.request,
    }


def record_download(export: Export, *, actor: str) -> None:
    """A DOWNLOAD Event: who took a copy of which export."""
    event = events.open_event(
        export.project,
        Event.Type.DOWNLOAD,
        actor=actor,
        payload={"export_id": str(export.pk), "kind": export.kind},
        metadata=events.named_entities(_first_ids(export.entity_keys)),
    )
    events.finish(event, results={"size": export.size, "sha256": export.sha256})


def export_list(project: Project, *, subject_hash: str | None = None) -> QuerySet[Export]:
    found = (
        Export.objects.filter(project=project).select_related("event").defer("archive", "result")
    )
    if subject_hash is not None:
        found = found.filter(subject_hash=subject_hash)
    return found.order_by("-created_at", "-id")


def purge_expired(now: dt.datetime | None = None) -> int:
    """Drop the content of exports past their expiry (the rows stay, as a record)."""
    now = now or timezone.now()
    return Export.objects.filter(purged_at=None, expires_at__lte=now).update(
        archive=None, result=None, memory_ids=[], purged_at=now
    )
