"""User profiles: what the Platform's profile API serves (mem0ai 2.2's `get_profile`,
`generate_profile`, `sample_profiles`, `get_profile_job`, `get_profile_settings`,
`update_profile_settings`, and their npm twins).

A profile is one JSON object about one user, shaped by the project's JSON Schema (or
DEFAULT_SCHEMA) and written by the LLM from the user's newest MAX_PROFILE_MEMORIES unexpired
memories. Profiles are written only by jobs, never by a read:

- a `trigger` job names one user; a `sample` job picks the `limit` (1-10, default 3) most
  recently active users that have memories. The users are chosen when the job is created.
- a worker runs the job as a PROFILE Event (PENDING -> RUNNING -> SUCCEEDED | FAILED), user by
  user. A user is regenerated when they have no profile yet, the last generation failed, the
  schema or custom instructions changed since (ProfileSettings.version), or their memories
  changed since (added, updated, deleted, expired). Otherwise the user is `skipped`, as is a
  user with no memories (status `insufficient_data`) and every user once profiles are off.
- the job SUCCEEDS when no generation failed and FAILS when one did (its counts say how many;
  each failed profile keeps its last good content and says why in `error`).
- an Idempotency-Key makes a create safe to retry: the same key with the same request is the
  same job (`replayed: true`); with a different request it is a 422. Keys are kept with
  their job, per project.

A profile's status, as the clients expect: `not_enabled` (profiles are off), `pending` (a job
for the user is queued or running, or no profile has been written yet), `succeeded`, `failed`,
`insufficient_data` (the user has no memories).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Func, OuterRef, Value
from django.utils import timezone
from rest_framework import status

from audit import log as audit_log
from core.errors import InvalidRequest, MemdashError, NotFound
from core.schemas import check_json_schema
from core.text import json_problem, quoted
from entities import services as entity_services
from entities.models import Entity
from memories import events, listing, llm, prompts
from memories.filters import unexpired_q
from memories.models import Event, Memory, Profile, ProfileJob, ProfileSettings
from tenancy.models import Project

# memories.events.TASK_FOR_EVENT should name it too, so that a stale PROFILE Event is re-queued.
ENTITY_TYPE = "user"
MAX_PROFILE_MEMORIES = 200
SAMPLE_DEFAULT = 3
SAMPLE_MAX = 10
MAX_INSTRUCTIONS = 10_000
MAX_KEY_CHARS = 255
MAX_ERROR_CHARS = 2000

NOT_ENABLED = "not_enabled"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"

# Used while a project has no schema of its own (also shown in the settings' capabilities).
DEFAULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {
            "type": "string",
            "description": "Who the user is, in two or three sentences.",
        },
        "preferences": {
            "type": "array",
            "items": {"type": "string"},
            "description": "What the user likes, dislikes or prefers.",
        },
        "facts": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Lasting facts about the user: work, places, people, plans.",
        },
    },
}
SETTINGS_EXAMPLE = (
    '{"enabled": true, "entities": {"user": {"schema": {...}, "custom_instructions": "..."}}}'
)


class IdempotencyKeyReused(MemdashError):
    """An Idempotency-Key sent again with a different request (422, as the IETF
    Idempotency-Key draft says): the caller reused a key by mistake."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


# --- settings --------------------------------------------------------------------------------


def settings_of(project: Project) -> ProfileSettings:
    """The project's profile settings (the defaults, unsaved, when it never set any)."""
    found = ProfileSettings.objects.filter(project=project).first()
    return found or ProfileSettings(project=project)


def schema_of(settings: ProfileSettings) -> dict[str, Any]:
    """The schema profiles are written to: the project's, else DEFAULT_SCHEMA."""
    return settings.schema or DEFAULT_SCHEMA


def update_settings(project: Project, body: dict[str, Any]) -> ProfileSettings:
    """Apply a settings request (`{"enabled"?, "entities": {"user": {"schema"?,
    "custom_instructions"?}}}`; a null schema or instructions clears them) and audit the change.

    Anything else, the flat `schema` and `custom_instructions` included, is refused with
    "Unsupported settings", as the Platform does.
    """
    changes = parse_settings(body)
    with transaction.atomic():
        current = ProfileSettings.objects.select_for_update().filter(
            project=project
        ).first() or ProfileSettings(project=project)
        before = _snapshot(current)
        for name, value in changes.items():
            setattr(current, name, value)
        after = _snapshot(current)
        changed = {
            k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]
        }
        if changed:
            if {"schema", "custom_instructions"} & set(changed):
                current.version += 1
            current.updated_at = timezone.now()
            current.save()
            audit_log.change(
                "profile.settings",
                project_id=project.pk,
                target=project.public_id,
                details={**changed, "version": current.version},
            )
    return current


def _snapshot(settings: ProfileSettings) -> dict[str, Any]:
    """The settings as the audit trail compares them (the schema by its digest)."""
    schema = settings.schema
    return {
        "enabled": settings.enabled,
        "schema": None if schema is None else f"sha256:{_digest(schema)[:16]}",
        "custom_instructions": settings.custom_instructions,
    }


def parse_settings(body: dict[str, Any]) -> dict[str, Any]:
    """The ProfileSettings fields a settings request sets; InvalidRequest for anything else."""
    # The seed-era SDKs add these to every body; ProjectAPIView has checked them.
    unknown = sorted(set(body) - {"enabled", "entities", "org_id", "project_id"})
    if unknown:
        raise InvalidRequest(
            f"Unsupported settings: {', '.join(unknown)}. Only enabled is project-wide; "
            f"schema and custom_instructions go under entities.user: {SETTINGS_EXAMPLE}"
        )
    changes: dict[str, Any] = {}
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise InvalidRequest(f"enabled must be true or false, got {quoted(body['enabled'])}")
        changes["enabled"] = body["enabled"]
    entities = body.get("entities")
    if entities is None:
        return changes
    if not isinstance(entities, dict):
        raise InvalidRequest(f"entities must be an object: {SETTINGS_EXAMPLE}")
    others = sorted(set(entities) - {ENTITY_TYPE})
    if others:
        raise InvalidRequest(
            f"Unsupported settings: {', '.join(f'entities.{k}' for k in others)} "
            "(profiles are for users only: use entities.user)"
        )
    user = entities.get(ENTITY_TYPE)
    if user is None:
        return changes
    if not isinstance(user, dict):
        raise InvalidRequest(f"entities.user must be an object: {SETTINGS_EXAMPLE}")
    unknown = sorted(set(user) - {"schema", "custom_instructions"})
    if unknown:
        raise InvalidRequest(
            f"Unsupported settings: {', '.join(f'entities.user.{k}' for k in unknown)}; "
            "entities.user takes schema and custom_instructions"
        )
    if "schema" in user:
        changes["schema"] = clean_schema(user["schema"])
    if "custom_instructions" in user:
        changes["custom_instructions"] = clean_instructions(user["custom_instructions"])
    return changes


def clean_schema(value: Any) -> dict[str, Any] | None:
    """A profile schema: a JSON Schema of an object whose every property has a description
    (the LLM reads them to know what goes where). None clears the project's schema."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRequest(
            "schema must be a JSON Schema object (or null for the built-in schema), "
            'e.g. {"type": "object", "properties": {"diet": {"type": "string", '
            '"description": "What the user eats"}}}'
        )
    check_json_schema(value)
    properties = value.get("properties")
    if value.get("type") != "object" or not isinstance(properties, dict) or not properties:
        raise InvalidRequest(
            'A profile schema describes an object: {"type": "object", "properties": {...}} '
            "with at least one property."
        )
    undescribed = _undescribed(properties, "")
    if undescribed:
        raise InvalidRequest(
            "Every property of a profile schema needs a description; missing for "
            + ", ".join(undescribed[:10])
        )
    return value


def _undescribed(properties: dict[str, Any], prefix: str) -> list[str]:
    missing = []
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if not isinstance(spec, dict) or not str(spec.get("description") or "").strip():
            missing.append(path)
            continue
        nested = spec.get("properties")
        items = spec.get("items")
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):
            missing += _undescribed(items["properties"], f"{path}[].")
        if isinstance(nested, dict):
            missing += _undescribed(nested, f"{path}.")
    return missing


def clean_instructions(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidRequest("custom_instructions must be a string (or null to clear them)")
    if len(value) > MAX_INSTRUCTIONS:
        raise InvalidRequest(f"custom_instructions has more than {MAX_INSTRUCTIONS} characters")
    problem = json_problem(value, root="custom_instructions")
    if problem:
        raise InvalidRequest(problem)
    return value


def capabilities() -> dict[str, Any]:
    """What this server's profiles can do (the settings' `capabilities`)."""
    return {
        "entity_types": [ENTITY_TYPE],
        "operations": [ProfileJob.Operation.TRIGGER.value, ProfileJob.Operation.SAMPLE.value],
        "sample_limit": {"default": SAMPLE_DEFAULT, "max": SAMPLE_MAX},
        "max_memories_read": MAX_PROFILE_MEMORIES,
        "llm_configured": llm.is_configured(),
        "default_schema": DEFAULT_SCHEMA,
    }


# --- reading a profile -----------------------------------------------------------------------


@dataclass
class ProfileView:
    """One user's profile as both surfaces show it."""

    entity_id: str
    status: str
    profile: dict[str, Any]
    error: str | None = None
    generation_count: int = 0
    generated_at: dt.datetime | None = None
    memory_ids: list[str] = field(default_factory=list)
    entity_type: str = ENTITY_TYPE


def forget(project: Project, kind: str, name: str) -> None:
    """Remove what profiles hold of an entity that is deleted or erased: its profile, and its id
    from the jobs that named it (their counts stay)."""
    if kind != ENTITY_TYPE:
        return
    Profile.objects.filter(project=project, entity_type=kind, entity_id=name).delete()
    ProfileJob.objects.filter(project=project, entity_ids__contains=[name]).update(
        entity_ids=Func(F("entity_ids"), Value(name), function="array_remove")
    )


def profile_of(project: Project, entity_id: str) -> ProfileView:
    """The profile of the project's user `entity_id`; NotFound (404) for a user it lacks."""
    entity_services.get_entity(project, ENTITY_TYPE, entity_id)
    stored = Profile.objects.filter(
        project=project, entity_type=ENTITY_TYPE, entity_id=entity_id
    ).first()
    view = ProfileView(entity_id=entity_id, status=PENDING, profile={})
    if stored is not None:
        view.profile = stored.profile
        view.error = stored.error if stored.status == Profile.Status.FAILED else None
        view.generation_count = stored.generation_count
        view.generated_at = stored.generated_at
        view.memory_ids = [str(pk) for pk in stored.memory_ids]
    view.status = _status(project, entity_id, stored)
    return view


def _status(project: Project, entity_id: str, stored: Profile | None) -> str:
    if not settings_of(project).enabled:
        return NOT_ENABLED
    if _has_unfinished_job(project, entity_id):
        return PENDING
    if stored is not None:
        return stored.status
    if not _user_memories(project, entity_id).exists():
        return Profile.Status.INSUFFICIENT_DATA.value
    return PENDING


def _has_unfinished_job(project: Project, entity_id: str) -> bool:
    return ProfileJob.objects.filter(
        project=project, entity_ids__contains=[entity_id], event__status__in=events.UNFINISHED
    ).exists()


def _user_memories(project: Project, entity_id: str) -> Any:
    return listing.memory_list(project, {"user_id": entity_id}, show_expired=False)


# --- jobs ------------------------------------------------------------------------------------


def create_job(
    project: Project, body: dict[str, Any], *, idempotency_key: str, actor: str
) -> tuple[ProfileJob, bool]:
    """Create (and queue) a profile job from a request body; returns it and whether it is a
    replay of the job an earlier request with the same Idempotency-Key created.

    Raises InvalidRequest (400) for a bad request or when profiles are off, NotFound (404) for
    a user the project lacks, InferenceUnavailable (501) without an LLM, and
    IdempotencyKeyReused (422) for a key sent before with another request.
    """
    request = parse_job_request(body)
    digest = _digest(request)
    key = _clean_key(idempotency_key)
    replay = _replay(project, key, digest)
    if replay is not None:
        return replay, True
    if not settings_of(project).enabled:
        raise InvalidRequest(
            "Profiles are not enabled for this project: turn them on first with "
            "update_profile_settings(enabled=True) (POST /v2/profiles/settings/ "
            '{"enabled": true}).'
        )
    llm.require_configured()
    if request["operation"] == ProfileJob.Operation.TRIGGER:
        entity_services.get_entity(project, ENTITY_TYPE, request["entity_id"])
        entity_ids = [request["entity_id"]]
    else:
        entity_ids = sample_users(project, request["limit"])
    try:
        return _open_job(project, request, entity_ids, key, digest, actor=actor), False
    except IntegrityError:
        # A concurrent request with the same key created the job first.
        replay = _replay(project, key, digest)
        if replay is None:
            raise
        return replay, True


def parse_job_request(body: dict[str, Any]) -> dict[str, Any]:
    """A job request, normalised (what an Idempotency-Key's request is compared by)."""
    operation = body.get("operation")
    if operation not in ProfileJob.Operation.values:
        raise InvalidRequest(
            f"operation must be one of {', '.join(ProfileJob.Operation.values)}, "
            f"got {quoted(operation)}"
        )
    entity_type = body.get("entity_type")
    if entity_type != ENTITY_TYPE:
        raise InvalidRequest(
            f'entity_type must be "user" (profiles are for users), got {quoted(entity_type)}'
        )
    request: dict[str, Any] = {"operation": operation, "entity_type": entity_type}
    if operation == ProfileJob.Operation.TRIGGER:
        entity_id = body.get("entity_id")
        if not isinstance(entity_id, str) or not entity_id.strip():
            raise InvalidRequest("entity_id is required: the user's id, as given on add")
        request["entity_id"] = entity_id
        return request
    limit = body.get("limit", SAMPLE_DEFAULT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SAMPLE_MAX:
        raise InvalidRequest(
            f"limit must be a whole number from 1 to {SAMPLE_MAX}, got {quoted(limit)}"
        )
    request["limit"] = limit
    return request


def _clean_key(value: str) -> str:
    key = (value or "").strip()
    if len(key) > MAX_KEY_CHARS:
        raise InvalidRequest(f"Idempotency-Key is longer than {MAX_KEY_CHARS} characters")
    return key


def _replay(project: Project, key: str, digest: str) -> ProfileJob | None:
    if not key:
        return None
    job = (
        ProfileJob.objects.select_related("event")
        .filter(project=project, idempotency_key=key)
        .first()
    )
    if job is not None and job.request_digest != digest:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {quoted(key)} was already used for a different request (job "
            f"{job.pk}); send a new key for a new request."
        )
    return job


def sample_users(project: Project, limit: int) -> list[str]:
    """The `limit` most recently active users of the project that have unexpired memories."""
    has_memories = Memory.objects.filter(unexpired_q(), project=project, user_id=OuterRef("name"))
    users = (
        Entity.objects.for_project(project)
        .filter(kind=ENTITY_TYPE)
        .filter(Exists(has_memories))
        .order_by("-updated_at", "-id")
        .values_list("name", flat=True)
    )
    return list(users[:limit])


def _open_job(
    project: Project,
    request: dict[str, Any],
    entity_ids: list[str],
    key: str,
    digest: str,
    *,
    actor: str,
) -> ProfileJob:
    with transaction.atomic():
        about = {"user_id": entity_ids[0]} if len(entity_ids) == 1 else {}
        event = events.open_event(
            project,
            Event.Type.PROFILE,
            actor=actor,
            payload={**request, "entity_ids": entity_ids},
            metadata=events.named_entities(about),
            pending=True,
        )
        job = ProfileJob.objects.create(
            project=project,
            event=event,
            operation=request["operation"],
            entity_type=ENTITY_TYPE,
            entity_ids=entity_ids,
            idempotency_key=key,
            request_digest=digest,
            requested_by=actor,
            created_at=event.created_at,
        )
        event.payload = {**event.payload, "job_id": str(job.pk)}
        event.save(update_fields=["payload"])
        events.submit(event)
    return job


def get_job(project: Project, job_id: str) -> ProfileJob:
    """One of the project's profile jobs; NotFound for another project's or an unknown id."""
    missing = NotFound(f"Profile job {quoted(job_id)} not found")
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        raise missing from None
    job = ProfileJob.objects.select_related("event").filter(project=project, pk=pk).first()
    if job is None:
        raise missing
    return job


def job_status(job: ProfileJob) -> str:
    """pending, running, succeeded or failed: the job's Event status, lower-cased."""
    return job.event.status.lower()


# --- running a job (the worker) --------------------------------------------------------------


def run(event_id: Any) -> Event | None:
    """Worker side: write the profiles of a PROFILE Event's job. Safe to run again after a
    crash (users finished by the first run are then skipped as unchanged)."""
    event = events.claim(event_id, kinds=(Event.Type.PROFILE,))
    if event is None:
        return None
    job = ProfileJob.objects.select_related("project").get(event=event)
    ProfileJob.objects.filter(pk=job.pk).update(succeeded=0, failed=0, skipped=0)
    counts = {SUCCEEDED: 0, FAILED: 0, SKIPPED: 0}
    usage = llm.Usage()
    events.heartbeat(event, done=0, total=job.total)
    try:
        for done, entity_id in enumerate(job.entity_ids, start=1):
            counts[generate(job.project, entity_id, event=event, usage=usage)] += 1
            ProfileJob.objects.filter(pk=job.pk).update(
                succeeded=counts[SUCCEEDED], failed=counts[FAILED], skipped=counts[SKIPPED]
            )
            events.heartbeat(event, done=done, total=job.total)
    except Exception as exc:
        events.fail(event.pk, f"profile job stopped: {type(exc).__name__}: {exc}", results=counts)
        raise
    results = {**counts, "total": job.total, "usage": usage.as_dict()}
    if counts[FAILED]:
        events.fail(
            event.pk,
            f"{counts[FAILED]} of {job.total} profile generations failed; each profile's "
            "error says why",
            results=results,
        )
    else:
        events.finish(event, results=results)
    event.refresh_from_db()
    return event


def generate(project: Project, entity_id: str, *, event: Event, usage: llm.Usage) -> str:
    """Write one user's profile if anything changed since the last one; returns succeeded,
    failed or skipped (unchanged, no memories, gone, or profiles turned off)."""
    settings = settings_of(project)
    if not settings.enabled:
        return SKIPPED
    if not Entity.objects.for_project(project).filter(kind=ENTITY_TYPE, name=entity_id).exists():
        return SKIPPED
    memories = list(_user_memories(project, entity_id)[:MAX_PROFILE_MEMORIES])
    if not memories:
        _store(
            project,
            entity_id,
            event=event,
            status=Profile.Status.INSUFFICIENT_DATA,
            profile={},
            error=None,
            memory_ids=[],
            memories_digest="",
        )
        return SKIPPED
    digest = _memories_digest(memories)
    stored = Profile.objects.filter(
        project=project, entity_type=ENTITY_TYPE, entity_id=entity_id
    ).first()
    if (
        stored is not None
        and stored.status == Profile.Status.SUCCEEDED
        and stored.memories_digest == digest
        and stored.settings_version == settings.version
    ):
        return SKIPPED
    try:
        content = _write(settings, memories, usage)
    except llm.LLMError as exc:
        _store(
            project,
            entity_id,
            event=event,
            status=Profile.Status.FAILED,
            error=str(exc)[:MAX_ERROR_CHARS],
        )
        return FAILED
    _store(
        project,
        entity_id,
        event=event,
        generated=True,
        status=Profile.Status.SUCCEEDED,
        profile=content,
        error=None,
        memory_ids=[m.pk for m in memories],
        memories_digest=digest,
        settings_version=settings.version,
    )
    return SUCCEEDED


def _write(settings: ProfileSettings, memories: Sequence[Memory], usage: llm.Usage) -> dict:
    """The LLM's profile, checked against the schema (one second chance to correct it)."""
    schema = schema_of(settings)
    shown = [
        {"memory": m.memory, "date": m.created_at.date().isoformat(), "categories": m.categories}
        for m in memories
    ]
    validator = jsonschema.validators.validator_for(schema)(schema)
    problem = ""
    for _attempt in range(2):
        system, user = prompts.profile_prompt(
            schema, shown, settings.custom_instructions or "", problem
        )
        reply = llm.chat_json(task=prompts.WRITE_PROFILE, system=system, user=user, usage=usage)
        error = jsonschema.exceptions.best_match(validator.iter_errors(reply))
        if error is None:
            return reply
        where = "/".join(str(p) for p in error.absolute_path) or "the top level"
        problem = f"at {where}: {error.message}"
    raise llm.LLMResponseError(f"the LLM's profile does not follow the schema ({problem})")


def _store(
    project: Project, entity_id: str, *, event: Event, generated: bool = False, **fields: Any
) -> None:
    now = timezone.now()
    with transaction.atomic():
        row, _created = Profile.objects.select_for_update().get_or_create(
            project=project,
            entity_type=ENTITY_TYPE,
            entity_id=entity_id,
            defaults={"status": fields["status"]},
        )
        for name, value in fields.items():
            setattr(row, name, value)
        if generated:
            row.generation_count += 1
            row.generated_at = now
        row.updated_at = now
        row.event = event
        row.save()


def _memories_digest(memories: Sequence[Memory]) -> str:
    """What the memories a profile read were, to the second: their ids and last updates."""
    lines = sorted(f"{m.pk}:{m.updated_at.isoformat()}" for m in memories)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()
