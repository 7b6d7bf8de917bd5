"""Deleting a project, or a whole organization, with everything in it.

A deletion is a DELETE Event opened in the project (payload `{"project", "name"}`), run in
this order:

1. up front, in one transaction: a Locked (423) if a legal hold covers any of the project's
   memories or trashed memories; otherwise the Event is opened, the project is marked as being
   deleted (tenancy.deletion) and `project.delete` goes into
   the audit trail. From that commit on, the project's API keys are refused with 410 Gone
   (tenancy.authentication), so no client reads or writes a half-deleted project;
2. its memories go through memories.services.delete_memories (keep=False: no trash, the
   project goes), in chunks, then its history, trash, entities and other Events, in chunks;
3. the project row goes, and with it (cascading) its keys, members, settings, webhooks,
   holds and the Event itself. The audit log stays: it is append-only and holds plain ids.

A small project (at most MEMDASH_SYNC_DELETE_LIMIT rows of memories, history, trash and Events
together) is deleted within the request; a larger one is queued (memories.tasks.
process_project_delete) and the request answers at once. Either way the answer is JSON.
A deletion that failed, or whose worker died, is started again by asking again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import log as audit_log
from core.errors import Conflict, Forbidden, Locked
from core.keyset import capped_count
from entities.models import Entity
from memories import events, holds, services
from memories.models import Event, Memory, MemoryHistory, TrashedMemory
from tenancy.deletion import DELETION_MARK, deletion_under_way
from tenancy.models import Organization, Project

logger = logging.getLogger(__name__)

CHUNK = services.DELETE_CHUNK


@dataclass(frozen=True)
class Deletion:
    """A deletion begun: its Event's id, and whether it is finished (False: a worker runs it)."""

    project_id: str
    event_id: str
    done: bool


def delete_project(project: Project, *, actor: str) -> Deletion:
    """Delete `project` and everything in it: now if it is small, else on a worker."""
    with transaction.atomic():
        begun = _begin(project, actor=actor)
    return _carry_out(begun)


def delete_organization(
    org: Organization, reachable: Iterable[Project], *, actor: str
) -> list[Deletion]:
    """Delete `org`: each of its projects, then the organization row (after its last project).

    Forbidden unless `reachable` holds every project of the organization: deleting it must not
    take projects the caller could not delete one by one. Locked when a hold covers any
    project's memories; nothing is deleted then.
    """
    reachable_ids = {p.pk for p in reachable}
    projects = list(org.projects.order_by("name", "pk"))
    unreachable = [p for p in projects if p.pk not in reachable_ids]
    if unreachable:
        raise Forbidden(
            f"The organization has {len(unreachable)} project(s) this API key does not reach "
            "(its creator is not their admin); deleting the organization would delete them "
            "too. Delete it from the dashboard, or become an admin of every project first."
        )
    with transaction.atomic():
        begun = [_begin(p, actor=actor, organization=org) for p in projects]
        audit_log.change(
            "org.delete",
            project_id=None,
            target=org.public_id,
            details={"name": org.name, "projects": [p.public_id for p in projects]},
        )
        if not projects:
            org.delete()
    return [_carry_out(b) for b in begun]


def _carry_out(begun: tuple[Event, bool]) -> Deletion:
    event, small = begun
    if small:
        run_deletion(event.pk)
    return Deletion(event.payload["project"], str(event.pk), done=small)


def _begin(
    project: Project, *, actor: str, organization: Organization | None = None
) -> tuple[Event, bool]:
    """Step 1 (see the module docstring): refuse, or open the Event and mark the project."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    mark = deletion_under_way(project)
    if mark and _still_running(mark["event_id"]):
        raise Conflict(
            f"Project {project.name!r} is already being deleted (event {mark['event_id']})."
        )
    _refuse_held(project)
    payload = {"project": project.public_id, "name": project.name}
    if organization is not None:
        payload["organization"] = organization.public_id
    event = events.open_event(
        project, Event.Type.DELETE, actor=actor, payload=payload, pending=True
    )
    project.options = {
        **(project.options or {}),
        DELETION_MARK: {"event_id": str(event.pk), "started_at": timezone.now().isoformat()},
    }
    project.save(update_fields=["options"])
    small = _is_small(project)
    audit_log.change(
        "project.delete",
        project_id=project.pk,
        target=project.public_id,
        details={"name": project.name, "event_id": str(event.pk), "queued": not small},
    )
    if not small:
        events.enqueue(event)
    return event, small


def _refuse_held(project: Project) -> None:
    """Locked, naming the hold, when one covers any of the project's memories or trash."""
    doing = "deleted with the project"
    holds.refuse_held(project, Memory.objects.filter(project=project).order_by(), doing=doing)
    holds.refuse_held(
        project, TrashedMemory.objects.filter(project=project).order_by(), doing=doing
    )


def _still_running(event_id: str) -> bool:
    return Event.objects.filter(pk=event_id, status__in=events.UNFINISHED).exists()


def _is_small(project: Project) -> bool:
    budget = settings.MEMDASH_SYNC_DELETE_LIMIT
    for rows in _contents(project):
        count, capped = capped_count(rows, budget)
        if capped:
            return False
        budget -= count
    return True


def _contents(project: Project, *, but: Any = None) -> list[QuerySet[Any]]:
    """Everything of the project that is deleted in chunks before the project row."""
    return [
        Memory.objects.filter(project=project),
        MemoryHistory.objects.filter(project=project),
        TrashedMemory.objects.filter(project=project),
        Entity.objects.filter(project=project),
        Event.objects.filter(project=project).exclude(pk=but),
    ]


def run_deletion(event_id: Any) -> None:
    """Steps 2 and 3 (see the module docstring): the task body, also run inline for a small
    project. Safe to run twice: a finished or vanished deletion is left alone."""
    event = events.claim(event_id, kinds=(Event.Type.DELETE,))
    if event is None or "project" not in event.payload:
        return
    project = event.project
    try:
        _refuse_held(project)
    except Locked as exc:
        # A hold placed since the deletion was asked for; nothing is deleted yet.
        events.fail(event.pk, exc.detail)
        _unmark(project)
        return
    try:
        memories = Memory.objects.filter(project=project)
        services.delete_memories(project, memories, actor=event.actor, event=event, keep=False)
        for rows in _contents(project, but=event.pk)[1:]:
            _delete_in_chunks(rows, event)
        with transaction.atomic():
            org = project.organization
            project.delete()
            if event.payload.get("organization") and not org.projects.exists():
                org.delete()
    except Exception as exc:
        # The project stays marked: its keys keep failing clearly, and asking again restarts.
        events.fail(event.pk, f"the project deletion stopped: {exc}")
        raise
    logger.info("deleted project %s (%s)", event.payload["project"], event.payload["name"])


def _delete_in_chunks(rows: QuerySet[Any], event: Event) -> None:
    while True:
        with transaction.atomic():
            chunk = list(rows.order_by().values_list("pk", flat=True)[:CHUNK])
            if chunk:
                rows.model.objects.filter(pk__in=chunk).delete()
            events.heartbeat(event)
        if len(chunk) < CHUNK:
            return


def _unmark(project: Project) -> None:
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        project.options = {k: v for k, v in (project.options or {}).items() if k != DELETION_MARK}
        project.save(update_fields=["options"])
