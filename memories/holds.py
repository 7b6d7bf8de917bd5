"""Legal holds: data kept for a lawsuit or an investigation.

A hold covers the memories of an entity (a user, agent, app or run) or those a filter of the
filter language matches, now and later: it is a rule, not a list. While it is active, nothing
that would remove them runs on them:

- a delete naming memories by id (one, or a batch) is refused: 423 Locked, naming the hold;
- deletes by filter or of an entity skip the held memories and report how many they skipped
  (an entity with held memories stays);
- an erasure of a subject with held memories is refused (423);
- the trash keeps held memories past their purge date, and retention skips and counts them.

Updates are not refused: history keeps every earlier text. Placing and releasing a hold go into
the audit trail; a released hold stays as the record of what was held, and when.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from audit import log as audit_log
from core.errors import Conflict, InvalidRequest, Locked, NotFound
from core.text import unstorable_text
from memories.filters import compile_filters
from memories.models import LegalHold
from memories.subjects import Subject
from tenancy.models import Project

M = TypeVar("M", bound=Model)

MAX_NAME = 200
MAX_REASON = 10_000


def active(project: Project) -> list[LegalHold]:
    return list(LegalHold.objects.filter(project=project, released_at=None).order_by("placed_at"))


def hold_list(project: Project) -> QuerySet[LegalHold]:
    """Every hold of the project, active and released, newest first."""
    return LegalHold.objects.filter(project=project).order_by("-placed_at", "-id")


def get_hold(project: Project, hold_id: Any) -> LegalHold:
    try:
        return LegalHold.objects.get(project=project, pk=hold_id)
    except (LegalHold.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound("No such legal hold in this project.") from exc


def covers_q(hold: LegalHold) -> Q:
    """The memories (or trashed memories: the same columns) `hold` covers."""
    if hold.entity_type:
        return Q(**{f"{hold.entity_type}_id": hold.entity_id})
    return compile_filters(hold.filters).q


def held_q(holds: list[LegalHold]) -> Q | None:
    """What any of `holds` covers; None when there are none."""
    combined: Q | None = None
    for hold in holds:
        combined = covers_q(hold) if combined is None else combined | covers_q(hold)
    return combined


def refuse_held(project: Project, rows: QuerySet[M], *, doing: str = "deleted") -> None:
    """Locked, naming the hold, when a legal hold covers any of `rows`. One query when none
    does (every delete asks); which hold it is only then."""
    holds = active(project)
    covered = held_q(holds)
    if covered is None or not rows.filter(covered).exists():
        return
    for hold in holds:
        if rows.filter(covers_q(hold)).exists():
            placed_by = hold.placed_by.removeprefix("user:")
            raise Locked(
                f"This data is under the legal hold {hold.name!r} (placed by {placed_by} "
                f"on {hold.placed_at:%Y-%m-%d}; {hold.subject}): it cannot be {doing} until "
                "the hold is released."
            )


def without_held(project: Project, rows: QuerySet[M]) -> tuple[QuerySet[M], int]:
    """`rows` less what a legal hold covers, and how many that left out."""
    covered = held_q(active(project))
    if covered is None:
        return rows, 0
    return rows.exclude(covered), rows.filter(covered).count()


def place(
    project: Project, subject: Subject, *, name: Any, reason: Any = "", actor: str
) -> LegalHold:
    """A new active hold on `subject` (an entity, or a filter)."""
    name = _text(name, "name", MAX_NAME, required=True)
    reason = _text(reason, "reason", MAX_REASON)
    hold = LegalHold.objects.create(
        project=project,
        entity_type=subject.entity_type,
        entity_id=subject.entity_id,
        filters=subject.filters,
        name=name,
        reason=reason,
        placed_by=actor,
    )
    audit_log.change(
        "hold.place",
        project_id=project.pk,
        target=str(hold.pk),
        details={"name": name, "subject": subject.as_json(), "reason": reason},
        entities=_entities(subject),
    )
    return hold


def release(project: Project, hold_id: Any, *, reason: Any = "", actor: str) -> LegalHold:
    """End an active hold (Conflict if it has ended already); the row stays."""
    reason = _text(reason, "reason", MAX_REASON)
    with transaction.atomic():
        hold = get_hold(project, hold_id)
        hold = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if hold.released_at is not None:
            raise Conflict(
                f"The legal hold {hold.name!r} was released on {hold.released_at:%Y-%m-%d} "
                f"by {hold.released_by}."
            )
        hold.released_at = timezone.now()
        hold.released_by = actor
        hold.release_reason = reason
        hold.save(update_fields=["released_at", "released_by", "release_reason"])
        subject = Subject(hold.entity_type, hold.entity_id, hold.filters)
        audit_log.change(
            "hold.release",
            project_id=project.pk,
            target=str(hold.pk),
            details={"name": hold.name, "subject": subject.as_json(), "reason": reason},
            entities=_entities(subject),
        )
    return hold


def _entities(subject: Subject) -> list[str]:
    if subject.entity_type:
        return [f"{subject.entity_type}:{subject.entity_id}"]
    return audit_log.filter_entities(subject.filters)


def _text(value: Any, name: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"a legal hold needs a {name}")
    if len(value) > limit:
        raise InvalidRequest(f"{name} has {len(value)} characters; at most {limit}")
    problem = unstorable_text(value)
    if problem:
        raise InvalidRequest(f"{name} {problem}")
    return value
