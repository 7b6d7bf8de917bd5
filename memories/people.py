"""What the person page shows a compliance officer about one data subject.

Everything held about them at a glance: their memories and the agents, apps and runs those
appear in, other people's memories that mention them, the activity about them, and the exports
and erasures done for them. Erasures keep only a salted hash of their subject, so they are found
by it: after an erasure the page of the person shows nothing but the erasure itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count

from memories import erasure, exports, subjects
from memories.models import SCOPE_FIELDS, Erasure, Event, Export, Memory
from memories.subjects import Subject
from tenancy.models import Project

SHOWN = 20


@dataclass
class Group:
    """The memories of the subject that one agent, app or run also has."""

    field: str
    value: str
    count: int


@dataclass
class Person:
    subject: Subject
    memory_count: int
    memories: list[Memory]
    groups: dict[str, list[Group]]
    mention_count: int
    mentions: list[Memory]
    events: list[Event]
    exports: list[Export]
    erasures: list[Erasure] = field(default_factory=list)

    @property
    def holds_nothing(self) -> bool:
        """Nothing of theirs (mentions by others are the others' data)."""
        return not (self.memory_count or self.events)


def person(project: Project, subject: Subject, *, aliases: Sequence[str] = ()) -> Person:
    """The person page of an entity subject, whether the project still knows it or not."""
    held = subject.memories(project)
    groups: dict[str, list[Group]] = {}
    for name in SCOPE_FIELDS:
        if name == subject.field:
            continue
        rows = (
            held.exclude(**{name: None})
            .values_list(name)
            .annotate(n=Count("pk"))
            .order_by("-n", name)[:SHOWN]
        )
        groups[name] = [Group(name, value, n) for value, n in rows]
    found, mention_count = erasure.mentions(project, subject, aliases)
    digest = subject.digest(project)
    return Person(
        subject=subject,
        memory_count=held.count(),
        memories=list(held.without_vectors().newest_first()[:SHOWN]),
        groups=groups,
        mention_count=mention_count,
        mentions=list(found[:SHOWN]),
        events=list(subjects.events_of(project, subject).order_by("-created_at", "-id")[:SHOWN]),
        exports=list(exports.export_list(project, subject_hash=digest)[:SHOWN]),
        erasures=list(
            Erasure.objects.filter(project=project, subject_hash=digest)
            .select_related("event")
            .order_by("-created_at", "-id")[:SHOWN]
        ),
    )
