"""What the dashboard marks on a page's data: the legal holds over it (a lock badge), and where
a deleted memory is now (the trash).

memories.holds decides what a hold covers; this module only asks it for the pages that show
one memory, one entity or one person, in at most two queries: the project's active holds, then
one SELECT of an EXISTS per hold (each stops at its first covered row).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Exists, QuerySet
from django.urls import reverse

from memories import holds
from memories.models import SCOPE_FIELDS, LegalHold, Memory, TrashedMemory
from tenancy.models import Project


@dataclass(frozen=True)
class Lock:
    """An active legal hold over what a page shows."""

    hold: LegalHold
    # False when the hold covers only some of an entity's memories (a hold on a user, seen from
    # an agent that has memories of that user), not the entity itself.
    whole: bool = True


def locks(
    project: Project, rows: QuerySet[Any], *, entity: tuple[str, str] | None = None
) -> list[Lock]:
    """The active holds covering any of `rows` (memories or trashed memories); with `entity`
    (kind, id), a hold on that entity itself counts even when it has no memory left."""
    active = holds.active(project)
    whole = [h for h in active if entity and (h.entity_type, h.entity_id) == entity]
    others = [h for h in active if h not in whole]
    found = [Lock(hold) for hold in whole]
    if others:
        covered = {
            f"hold_{n}": Exists(rows.filter(holds.covers_q(hold))) for n, hold in enumerate(others)
        }
        # One row (the project's) carrying one EXISTS per hold.
        flags = (
            Project.objects.filter(pk=project.pk).annotate(**covered).values_list(*covered).get()
        )
        found += [
            Lock(hold, whole=entity is None)
            for hold, flag in zip(others, flags, strict=True)
            if flag
        ]
    return found


def held_ids(project: Project, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of a list page's memories (`ids`) an active hold covers: one query for the holds,
    and, only when there are some, one for the page's covered ids."""
    covered = holds.held_q(holds.active(project)) if ids else None
    if covered is None:
        return set()
    rows = Memory.objects.filter(project=project, pk__in=ids).filter(covered)
    return set(rows.values_list("pk", flat=True))


def memory_marks(project: Project, pk: uuid.UUID, memory: Memory | None) -> dict[str, Any]:
    """A memory page's marks: its locks; for a deleted memory, its row in the trash (or None)."""
    if memory is not None:
        return {"locks": locks(project, Memory.objects.filter(project=project, pk=pk))}
    trashed = TrashedMemory.objects.filter(project=project, pk=pk).defer("embedding").first()
    if trashed is None:
        return {"locks": [], "trashed": None}
    # The trash narrowed to the memory's entities: it is among the first rows there.
    scope = {field: value for field in SCOPE_FIELDS if (value := getattr(trashed, field))}
    return {
        "locks": locks(project, TrashedMemory.objects.filter(project=project, pk=pk)),
        "trashed": trashed,
        "trash_url": f"{reverse('memories:trash')}?{urlencode(scope)}",
    }


def entity_marks(project: Project, kind: str, name: str) -> dict[str, list[Lock]]:
    """An entity's (or a person's) locks: holds on it, and holds over some of its memories."""
    rows = Memory.objects.for_project(project).for_entity(kind, name)
    return {"locks": locks(project, rows, entity=(kind, name))}
