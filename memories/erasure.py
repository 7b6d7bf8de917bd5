"""Erasure of a data subject: their personal data removed from everything memdash stored, and
a signed receipt that says so without naming them.

A subject is an entity (a user, agent, app or run) or what a filter of the filter language
matches. Erasing it:

1. deletes its memories (rows, embeddings, full-text entries);
2. makes tombstones of their history rows and, for an entity, of every history row carrying its
   id (deleted memories' included): the row keeps its id, memory id, kind, time and actor, and a
   salted hash of the old content, nothing else;
3. replaces its lines in other memories' recorded inputs, and in the Events that carried the
   conversation, with "[erased]" (the other people's lines stay);
4. redacts the Events about it: the texts of its memories in payloads, results and metadata,
   and its id in their metadata;
5. drops webhook deliveries still queued for its memories (they find a tombstone and stop);
6. deletes the exports that hold its data (memories.exports), their Events keeping only ids;
7. deletes the entity.

Other entities' memories that mention the subject (its id, or an alias the officer gives) are
listed by the preview and erased only when chosen: a mention is someone else's data too.

Erasures are confirmed after a preview and run as an ERASE Event in a worker, chunk by chunk,
with their progress in the Event's results. Every step is idempotent, and Events and inputs are
redacted before the history texts they are matched against become tombstones, so a worker killed
mid-way lets the next attempt (the stale-event sweeper queues it) finish the job; the receipt is
written only once everything is done.

Writes for an entity being erased are refused with a 409 from the confirmation until the erasure
is done: writers take a shared advisory lock on each entity they write for and look for an
unfinished erasure of it (guard_writes), and confirming takes the exclusive lock, so a write in
flight commits before the erasure reads anything and a later one sees the erasure. Deletes need
no guard (the erasure sweeps once more at the end). A filter subject cannot be guarded that way:
its erasure reads the filter again until it matches nothing before writing the receipt.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import log as audit_log
from core import receipts
from core.errors import Conflict, InvalidRequest
from core.text import quoted
from entities.models import Entity
from memories import events, holds, profiles, subjects
from memories.attribution import ALL_IDS_MARK, Message, Scope, owner_of
from memories.filters import ENTITY_FIELDS
from memories.models import (
    SCOPE_FIELDS,
    Erasure,
    Event,
    Export,
    Memory,
    MemoryHistory,
    TrashedMemory,
)
from memories.subjects import Subject
from tenancy.models import Project

ERASED = "[erased]"
# Mentions the preview lists (and counts) at most.
MENTIONS_SHOWN = 100
MENTIONS_COUNTED = 1000
# Aliases shorter than this would match too much text to be worth a review.
MIN_ALIAS = 3
MAX_ALIASES = 20
UNFINISHED = (Event.Status.PENDING, Event.Status.RUNNING)
RECEIPT_TYPE = "memdash.erasure-receipt"


@dataclass
class Mention:
    """Another entity's memory whose text names the subject."""

    id: str
    memory: str
    user_id: str | None
    agent_id: str | None
    app_id: str | None
    run_id: str | None


def _mention_terms(subject: Subject, aliases: Sequence[str]) -> list[str]:
    terms = [subject.entity_id] if subject.entity_id else []
    return [t for t in dict.fromkeys([*terms, *aliases]) if t and len(t) >= MIN_ALIAS]


def mentions(
    project: Project, subject: Subject, aliases: Sequence[str]
) -> tuple[QuerySet[Memory], int]:
    """Memories outside the subject whose text contains its id or an alias (case-insensitive,
    through the keyword index), and how many there are (counted up to MENTIONS_COUNTED)."""
    terms = _mention_terms(subject, aliases)
    if not terms:
        return Memory.objects.none(), 0
    text = Q()
    for term in terms:
        text |= Q(memory__icontains=term)
    found = (
        Memory.objects.for_project(project)
        .filter(text)
        .exclude(pk__in=subject.memories(project).values("pk"))
        .without_vectors()
        .newest_first()
    )
    return found, found.order_by()[: MENTIONS_COUNTED + 1].count()


def clean_aliases(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise InvalidRequest("aliases must be a list of strings")
    aliases = [a.strip() for a in value if a.strip()]
    if len(aliases) > MAX_ALIASES:
        raise InvalidRequest(f"at most {MAX_ALIASES} aliases")
    short = [a for a in aliases if len(a) < MIN_ALIAS]
    if short:
        raise InvalidRequest(
            f"aliases need at least {MIN_ALIAS} characters (too short: {quoted(short[0])})"
        )
    return aliases


@dataclass
class Preview:
    """What an erasure would do, by kind, before anything is done."""

    memories: int
    history: int
    events: int
    inputs: int
    exports: int
    mention_count: int
    mentions: list[Mention] = field(default_factory=list)
    trash: int = 0
    holds: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "holds": self.holds,
            "counts": {
                "memories": self.memories,
                "trash": self.trash,
                "history": self.history,
                "events": self.events,
                "inputs": self.inputs,
                "exports": self.exports,
                "mentions": self.mention_count,
            },
            "mentions": [asdict(m) for m in self.mentions],
        }


def preview(project: Project, subject: Subject, *, aliases: Sequence[str] = ()) -> Preview:
    """The erasure's dry run: counts per kind, and the mentions to review."""
    subjects.check_subject(project, subject)
    memory_ids = subject.memories(project).values("pk")
    history = subjects.history_of(project, subject)
    about = Event.objects.for_project(project).filter(subjects.events_q(subject, history))
    inputs = (
        MemoryHistory.objects.filter(project=project, erased_at=None, source_event__in=about)
        .exclude(input=None)
        .exclude(pk__in=history.values("pk"))
    )
    found, mention_count = mentions(project, subject, aliases)
    held = exports_holding(project, subject, memory_ids, history)
    return Preview(
        holds=_holds_on(project, subject),
        trash=subject.trashed(project).count(),
        memories=subject.memories(project).count(),
        history=history.count(),
        events=about.count(),
        inputs=inputs.count(),
        exports=held.count(),
        mention_count=mention_count,
        mentions=[
            Mention(str(m.pk), m.memory, m.user_id, m.agent_id, m.app_id, m.run_id)
            for m in found[:MENTIONS_SHOWN]
        ],
    )


def _holds_on(project: Project, subject: Subject) -> list[str]:
    """The names of the legal holds that cover some of the subject's memories."""
    rows = (subject.memories(project), subject.trashed(project))
    return [
        hold.name
        for hold in holds.active(project)
        if any(r.filter(holds.covers_q(hold)).exists() for r in rows)
    ]


# --- writes while an erasure runs ----------------------------------------------------------------


def _lock_key(kind: str, name: str) -> int:
    """The second half of an entity's advisory lock (the first is the project's id)."""
    return zlib.crc32(f"{kind}:{name}".encode()) - 2**31


def _entities(scopes: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted(
        {
            (name[:-3], value)
            for scope in scopes
            for name, value in scope.items()
            if name in SCOPE_FIELDS and isinstance(value, str) and value
        }
    )


def guard_writes(project: Project, scopes: Iterable[dict[str, Any]]) -> None:
    """Refuse (Conflict, a 409) a write for an entity an erasure is erasing.

    Call it inside the write's transaction: the shared advisory lock it takes lasts until the
    transaction ends, so an erasure cannot be confirmed while the write is in flight.
    """
    entities = _entities(scopes)
    if not entities:
        return
    with connection.cursor() as cursor:
        for kind, name in entities:
            cursor.execute(
                "SELECT pg_advisory_xact_lock_shared(%s, %s)", [project.pk, _lock_key(kind, name)]
            )
    by_hash = {Subject(kind, name).digest(project): (kind, name) for kind, name in entities}
    running = (
        Erasure.objects.filter(
            project=project, subject_hash__in=list(by_hash), event__status__in=UNFINISHED
        )
        .only("subject_hash", "event_id")
        .first()
    )
    if running is not None:
        kind, name = by_hash[running.subject_hash]
        raise Conflict(
            f"An erasure of {kind} {quoted(name)} is under way (event {running.event_id}); "
            "writes for it are refused until it is done."
        )


# --- confirming ----------------------------------------------------------------------------------


def start(
    project: Project,
    subject: Subject,
    *,
    actor: str,
    aliases: Sequence[str] = (),
    mentions_to_erase: str | Sequence[str] = (),
    reference: str = "",
    reason: str = "",
) -> Erasure:
    """Confirm an erasure: record it and queue its ERASE Event.

    `mentions_to_erase` is "all" or ids among the preview's mentions. A second erasure of a
    subject while one is unfinished is a Conflict.
    """
    subjects.check_subject(project, subject)
    # Data under a legal hold must outlive the hold: the erasure waits for its release (423).
    holds.refuse_held(project, subject.memories(project), doing="erased")
    holds.refuse_held(project, subject.trashed(project), doing="erased")
    # An erasure that could not end with its receipt must not begin (ReceiptKeyMissing, a 501).
    receipts.signing_key()
    chosen = _chosen_mentions(project, subject, aliases, mentions_to_erase)
    digest = subject.digest(project)
    with transaction.atomic():
        if subject.entity_type is not None and subject.entity_id is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [project.pk, _lock_key(subject.entity_type, subject.entity_id)],
                )
        running = Erasure.objects.filter(
            project=project, subject_hash=digest, event__status__in=UNFINISHED
        ).first()
        if running is not None:
            raise Conflict(
                f"This subject is being erased already (erasure {running.pk}, event "
                f"{running.event_id}); wait for it to finish."
            )
        erasure_id = uuid.uuid4()
        event = events.open_event(
            project,
            Event.Type.ERASE,
            actor=actor,
            # No personal data: the subject only as its salted hash.
            payload={
                "erasure_id": str(erasure_id),
                "subject": {"type": subject.type, "hash": digest},
                "reference": reference,
                "reason": reason,
            },
            pending=True,
        )
        erasure = Erasure.objects.create(
            id=erasure_id,
            project=project,
            event=event,
            subject_type=subject.type,
            subject=subject.as_json(),
            aliases=list(aliases),
            subject_hash=digest,
            mentions=chosen,
            reference=reference,
            reason=reason,
            requested_by=actor,
            confirmed_by=actor,
        )
        audit_log.change(
            "erasure.confirm",
            project_id=project.pk,
            target=str(erasure_id),
            details={"subject": {"type": subject.type, "hash": digest}, "reference": reference},
            entities=[f"{subject.entity_type}:{subject.entity_id}"] if subject.entity_type else [],
        )
        events.enqueue(event)
    return erasure


def _chosen_mentions(
    project: Project, subject: Subject, aliases: Sequence[str], chosen: str | Sequence[str]
) -> list[str]:
    if chosen in ("none", "", None) or chosen == ():
        return []
    found, _count = mentions(project, subject, aliases)
    ids = {str(pk) for pk in found.values_list("pk", flat=True)}
    if chosen == "all":
        return sorted(ids)
    if isinstance(chosen, str) or not all(isinstance(i, str) for i in chosen):
        raise InvalidRequest('mentions must be "all", "none" or a list of memory ids')
    unknown = [i for i in chosen if i not in ids]
    if unknown:
        raise InvalidRequest(
            f"{quoted(unknown[0])} is not one of this subject's mentions (see the preview)"
        )
    return sorted(set(chosen))


# --- running -------------------------------------------------------------------------------------


@dataclass
class _Run:
    """One attempt at an erasure, and what it has done so far."""

    erasure: Erasure
    event: Event
    subject: Subject
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def project(self) -> Project:
        return self.erasure.project

    def progress(self, phase: str, done: int, total: int) -> None:
        """Record progress on the Event (its heartbeat too), in the chunk's transaction."""
        Event.objects.filter(pk=self.event.pk, status=Event.Status.RUNNING).update(
            results={"phase": phase, "done": done, "total": total, "counts": self.counts},
            # The phase's progress as every Event reports it (the Activity page's bar).
            progress=events.progress_of(done, total),
            updated_at=timezone.now(),
        )


def run(event_id: Any) -> Event | None:
    """Worker side: carry an ERASE Event out. Safe to run again after a crash."""
    event = events.claim(event_id, kinds=(Event.Type.ERASE,))
    if event is None:
        return None
    erasure = Erasure.objects.select_related("project").get(event=event)
    if erasure.subject is None:  # done by an earlier attempt that died before finishing it
        return event
    # What earlier attempts got done: each chunk commits its counts with its work.
    done_before = (event.results or {}).get("counts") if isinstance(event.results, dict) else None
    attempt = _Run(erasure, event, Subject.from_json(erasure.subject), dict(done_before or {}))
    try:
        _drop_exports(attempt)
        _redact_events(attempt)
        _erase_rows(attempt)
        _drop_exports(attempt)
        _redact_access_log(attempt)
        _finish(attempt)
    except Exception as exc:
        events.fail(event.pk, f"erasure stopped: {type(exc).__name__}: {exc}")
        raise
    event.refresh_from_db()
    return event


def _doomed_memories(run_: _Run) -> QuerySet[Memory]:
    chosen = run_.erasure.mentions or []
    return Memory.objects.for_project(run_.project).filter(
        Q(pk__in=run_.subject.memories(run_.project).values("pk")) | Q(pk__in=chosen)
    )


def _doomed_history(run_: _Run) -> QuerySet[MemoryHistory]:
    memory_ids = _doomed_memories(run_).values("pk")
    erased_before = MemoryHistory.objects.filter(erasure_id=run_.erasure.pk).values("memory_id")
    return MemoryHistory.objects.filter(project=run_.project, erased_at=None).filter(
        subjects.history_q(run_.subject, memory_ids)
        | Q(memory_id__in=run_.subject.trashed(run_.project).values("pk"))
        | Q(memory_id__in=erased_before)
        | Q(memory_id__in=run_.erasure.mentions or [])
    )


def _chunks(ids: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# 0. Exports holding the subject's data (before and after the rest, to catch one made meanwhile).


def exports_holding(
    project: Project,
    subject: Subject,
    memory_ids: QuerySet[Any, Any],
    history: QuerySet[MemoryHistory],
    *,
    erasure_id: Any = None,
) -> QuerySet[Export]:
    """The project's exports that hold the subject's data: made of the subject, naming it in
    their request, or holding one of its memories (`memory_ids`, a values("pk") subquery) or a
    memory whose recorded inputs carry its lines (rows written by the Events about it)."""
    touched = Q(source_event__in=Event.objects.filter(subjects.events_q(subject, history)))
    if erasure_id is not None:
        touched |= Q(erasure_id=erasure_id)
    touched_ids = MemoryHistory.objects.filter(project=project).filter(touched).values("memory_id")
    holding = Q(subject_hash=subject.digest(project))
    if subject.entity_type:
        holding |= Q(entity_keys__contains=[f"{subject.entity_type}:{subject.entity_id}"])
    holding |= Q(memory_ids__overlap=ArraySubquery(memory_ids))
    holding |= Q(memory_ids__overlap=ArraySubquery(touched_ids))
    return Export.objects.filter(project=project).filter(holding)


def _drop_exports(run_: _Run) -> None:
    """Delete the exports holding the subject's data; their Events keep only the export's id."""
    project = run_.project
    holding = exports_holding(
        project,
        run_.subject,
        _doomed_memories(run_).values("pk"),
        _doomed_history(run_),
        erasure_id=run_.erasure.pk,
    )
    with transaction.atomic():
        doomed = holding.select_for_update()
        export_ids = [str(pk) for pk in doomed.values_list("pk", flat=True)]
        if not export_ids:
            return
        event_ids = list(doomed.values_list("event_id", flat=True))
        downloads = Event.objects.for_project(project).filter(
            event_type=Event.Type.DOWNLOAD, payload__export_id__in=export_ids
        )
        for event in [*Event.objects.filter(pk__in=event_ids), *downloads]:
            event.payload = {
                "export_id": event.payload.get("export_id"),
                "kind": event.payload.get("kind"),
                "erased": True,
            }
            event.metadata = {}
            if event.event_type == Event.Type.EXPORT:
                event.results = {"export_id": event.payload["export_id"], "erased": True}
            event.save(update_fields=["payload", "metadata", "results"])
        deleted = Export.objects.filter(pk__in=export_ids).delete()[0]
        run_.counts["exports"] = run_.counts.get("exports", 0) + deleted
        run_.progress("exports", deleted, deleted)


# 1. Events and inputs, while the texts they are matched against still exist.


def _redact_events(run_: _Run) -> None:
    project, subject = run_.project, run_.subject
    doomed_memories = _doomed_memories(run_)
    history = _doomed_history(run_)
    # The subject's strings: its memories' texts, every text its history recorded, the values
    # of its metadata, and an entity's id. Any of them found where the subject's data was
    # copied (Events, other memories of the same calls) is erased there too.
    texts: set[str] = set()
    recorded = history.values_list("old_memory", "new_memory", "metadata")
    for old, new, metadata in recorded.iterator(chunk_size=5000):
        texts.update(t for t in (old, new) if t)
        texts.update(_strings(metadata))
    for text, metadata in doomed_memories.values_list("memory", "metadata").iterator(
        chunk_size=5000
    ):
        texts.add(text)
        texts.update(_strings(metadata))
    if subject.entity_id:
        texts.add(subject.entity_id)
    texts.discard(ERASED)
    memory_ids = {str(pk) for pk in doomed_memories.values_list("pk", flat=True)}
    memory_ids.update(str(pk) for pk in history.values_list("memory_id", flat=True))
    scrubber = _Scrubber(subject, texts, memory_ids)
    event_ids = list(
        Event.objects.for_project(project)
        .filter(subjects.events_q(subject, history))
        .values_list("pk", flat=True)
    )
    own_rows = set(history.values_list("pk", flat=True))
    done = 0
    run_.counts.setdefault("events", 0)
    run_.counts.setdefault("inputs", 0)
    for chunk in _chunks(event_ids, 200):
        with transaction.atomic():
            batch = list(Event.objects.filter(pk__in=chunk).select_for_update())
            # Whose each line is follows from the call's entity ids, read before the Event's
            # payload is redacted (which erases the subject's id there too).
            scopes: dict[Any, Scope] = {e.pk: _call_scope(e.payload) for e in batch}
            changed = [event for event in batch if scrubber.redact_event(event)]
            Event.objects.bulk_update(changed, ["payload", "results", "metadata", "error"])
            run_.counts["events"] += len(changed)
            # The chunk's history rows and memories in one read each. The subject's own are
            # skipped (they are erased next): by its id in SQL, the rest in Python, since an
            # IN list of every id of a large subject would cost more than reading them.
            rows = MemoryHistory.objects.filter(source_event_id__in=chunk, erased_at=None)
            others = Memory.objects.filter(source_event_id__in=chunk).only(
                "pk", "metadata", "source_event_id"
            )
            if subject.field:
                rows = rows.exclude(**{subject.field: subject.entity_id})
                others = others.exclude(**{subject.field: subject.entity_id})
            redacted_rows = []
            for row in rows.iterator(chunk_size=2000):
                if row.pk in own_rows:
                    continue
                scope = scopes[row.source_event_id]
                redacted = scrubber.messages(row.input, scope) if row.input else row.input
                metadata = scrubber.scrub(row.metadata)
                if (redacted, metadata) != (row.input, row.metadata):
                    row.input, row.metadata = redacted, metadata
                    redacted_rows.append(row)
            MemoryHistory.objects.bulk_update(redacted_rows, ["input", "metadata"], batch_size=500)
            run_.counts["inputs"] += len(redacted_rows)
            # The other memories the same calls made carry the same metadata.
            scrubbed = []
            for memory in others.iterator(chunk_size=2000):
                if str(memory.pk) in memory_ids:
                    continue
                metadata = scrubber.scrub(memory.metadata)
                if metadata != memory.metadata:
                    memory.metadata = metadata
                    scrubbed.append(memory)
            Memory.objects.bulk_update(scrubbed, ["metadata"], batch_size=500)
            done += len(chunk)
            run_.progress("events", done, len(event_ids))


def _strings(value: Any) -> Iterator[str]:
    """The strings inside a JSON value that are long enough to name anything."""
    if isinstance(value, str):
        if len(value) >= MIN_ALIAS:
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _call_scope(payload: Any) -> Scope:
    """The entity ids of the add an Event recorded (top level, or inside `filters`)."""
    if not isinstance(payload, dict):
        return Scope()
    nested = payload.get("filters")
    filters: dict[str, Any] = nested if isinstance(nested, dict) else {}
    ids: dict[str, str | None] = {}
    for name in ENTITY_FIELDS:
        value = payload.get(name) or filters.get(name)
        ids[name] = (value.strip() or None) if isinstance(value, str) else None
    return Scope(**ids, all_ids=payload.get("attribution") == ALL_IDS_MARK["attribution"])


class _Scrubber:
    """Takes the subject out of JSON an Event or a history row recorded."""

    def __init__(self, subject: Subject, texts: set[str], memory_ids: set[str]) -> None:
        self.subject = subject
        self.texts = texts
        self.memory_ids = memory_ids

    def owns(self, message: Message, scope: Scope) -> bool:
        """Whether `message` is the subject's line. A filter subject owns every line of the
        conversations its memories came from."""
        if self.subject.field is None:
            return True
        owner = owner_of(message, scope)
        return owner is not None and owner.get(self.subject.field) == self.subject.entity_id

    def names_subject(self, scope: Scope) -> bool:
        if self.subject.field is None:
            return True
        return scope.as_dict().get(self.subject.field) == self.subject.entity_id

    def messages(self, value: Any, scope: Scope) -> Any:
        """Recorded messages with the subject's lines replaced by the erasure marker."""
        if isinstance(value, str):
            value = [{"role": "user", "content": value}]
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return self.scrub(value)
        redacted = []
        for item in value:
            if not isinstance(item, dict):
                redacted.append(self.scrub(item))
                continue
            name = item.get("name")
            message = Message(
                str(item.get("role", "")),
                item.get("content"),
                name if isinstance(name, str) else None,
            )
            if self.owns(message, scope):
                redacted.append({"role": message.role, "content": ERASED})
            else:
                redacted.append(self.scrub(item))
        return redacted

    def scrub(self, value: Any) -> Any:
        """`value` with every string that is one of the subject's texts (or its id) erased,
        and the texts of its memories in result entries."""
        if isinstance(value, str):
            return ERASED if value in self.texts else value
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            if str(value.get("id") or value.get("memory_id") or "") in self.memory_ids:
                return {
                    k: (
                        ERASED
                        if k in ("memory", "data", "previous_memory", "text")
                        else self.scrub(v)
                    )
                    for k, v in value.items()
                }
            return {k: self.scrub(v) for k, v in value.items()}
        return value

    def redact_event(self, event: Event) -> bool:
        """Redact one Event in place (the caller saves it); whether anything changed."""
        payload = event.payload
        if isinstance(payload, dict) and "messages" in payload:
            scope = _call_scope(payload)
            payload = {**payload, "messages": self.messages(payload["messages"], scope)}
            if payload.get("metadata") and self.names_subject(scope):
                payload["metadata"] = ERASED  # the call's metadata was the subject's too
        payload = self.scrub(payload)
        results = self.scrub(event.results)
        metadata = dict(event.metadata or {})
        if self.subject.field and metadata.get(self.subject.field) == self.subject.entity_id:
            del metadata[self.subject.field]
        if self.subject.entity_id and isinstance(metadata.get("speakers"), list):
            metadata["speakers"] = [s for s in metadata["speakers"] if s != self.subject.entity_id]
            if not metadata["speakers"]:
                del metadata["speakers"]
        metadata = self.scrub(metadata)
        error = event.error
        if error:
            for text in self.texts:
                if text and text in error:
                    error = error.replace(text, ERASED)
        changed = (payload, results, metadata, error) != (
            event.payload,
            event.results,
            event.metadata,
            event.error,
        )
        if changed:
            event.payload, event.results, event.metadata, event.error = (
                payload,
                results,
                metadata,
                error,
            )
        return changed


# 2. History rows become tombstones, memories go, the entity goes; repeated until nothing is left.

TOMBSTONE_SQL = """
    UPDATE {history} SET
        content_hash = encode(sha256(convert_to(
            %s || coalesce(old_memory, '') || chr(31) || coalesce(new_memory, ''), 'UTF8')), 'hex'),
        old_memory = NULL, new_memory = NULL, input = NULL, metadata = NULL, categories = NULL,
        user_id = NULL, agent_id = NULL, app_id = NULL, run_id = NULL, reason = '',
        erased_at = %s, erasure_id = %s
    WHERE id = ANY(%s) AND erased_at IS NULL
"""


def _erase_rows(run_: _Run) -> None:
    chunk = settings.MEMDASH_ERASURE_CHUNK
    run_.counts.setdefault("history", 0)
    run_.counts.setdefault("memories", 0)
    run_.counts.setdefault("trash", 0)
    while True:
        history_ids = list(_doomed_history(run_).values_list("pk", flat=True))
        memory_ids = list(_doomed_memories(run_).values_list("pk", flat=True))
        trashed_ids = list(run_.subject.trashed(run_.project).values_list("pk", flat=True))
        if not history_ids and not memory_ids and not trashed_ids:
            break
        total = len(history_ids) + len(memory_ids) + len(trashed_ids)
        done = 0
        statement = TOMBSTONE_SQL.format(history=MemoryHistory._meta.db_table)
        for ids in _chunks(history_ids, chunk):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    statement,
                    [settings.MEMDASH_ERASURE_SALT, timezone.now(), run_.erasure.pk, list(ids)],
                )
                run_.counts["history"] += cursor.rowcount
                done += len(ids)
                run_.progress("history", done, total)
        done = _delete_rows(run_, Memory, memory_ids, "memories", done, total)
        # An erasure bypasses the trash, and empties it of the subject.
        done = _delete_rows(run_, TrashedMemory, trashed_ids, "trash", done, total)
    if run_.subject.entity_type and run_.subject.entity_id:
        with transaction.atomic():
            removed, _ = Entity.objects.filter(
                project=run_.project, kind=run_.subject.entity_type, name=run_.subject.entity_id
            ).delete()
            profiles.forget(run_.project, run_.subject.entity_type, run_.subject.entity_id)
            run_.counts["entities"] = run_.counts.get("entities", 0) + removed
            run_.progress("entities", removed, removed)


def _delete_rows(
    run_: _Run,
    model: type[Memory | TrashedMemory],
    ids: list[Any],
    phase: str,
    done: int,
    total: int,
) -> int:
    """Delete `ids` of `model` a chunk per transaction, counted under `phase`; the progress."""
    for chunk in _chunks(ids, settings.MEMDASH_ERASURE_CHUNK):
        with transaction.atomic():
            deleted, _ = model.objects.filter(pk__in=list(chunk)).delete()
            run_.counts[phase] += deleted
            done += len(chunk)
            run_.progress(phase, done, total)
    return done


# 3. The receipt, and the erasure forgets its subject.


def _digest(erasure: Erasure) -> dict[str, Any]:
    """A digest over the sorted ids of the erased memories and the tombstoned history rows."""
    rows = MemoryHistory.objects.filter(erasure_id=erasure.pk)
    history_ids = sorted(str(pk) for pk in rows.values_list("pk", flat=True))
    memory_ids = sorted({str(pk) for pk in rows.values_list("memory_id", flat=True)})
    body = "\n".join(["memories", *memory_ids, "history", *history_ids]).encode()
    return {
        "algorithm": "sha256",
        "memories": len(memory_ids),
        "history": len(history_ids),
        "value": hashlib.sha256(body).hexdigest(),
    }


def _redact_access_log(run_: _Run) -> None:
    """The access log's rows about the subject lose the requests' free text (audit.log.redact);
    run at the end, so reads made while the erasure ran are covered too."""
    subject = run_.subject
    erased = MemoryHistory.objects.filter(erasure_id=run_.erasure.pk).values_list(
        "memory_id", flat=True
    )
    with transaction.atomic():
        redacted = audit_log.redact(
            run_.project.pk,
            entities=[f"{subject.entity_type}:{subject.entity_id}"] if subject.entity_type else [],
            memory_ids=[*erased, *(run_.erasure.mentions or [])],
            name=subject.entity_id or "",
        )
        run_.counts["access_log"] = run_.counts.get("access_log", 0) + redacted
        run_.progress("access_log", redacted, redacted)


def _finish(run_: _Run) -> None:
    erasure = run_.erasure
    now = timezone.now()
    counts = {
        "memories": run_.counts.get("memories", 0),
        "history": run_.counts.get("history", 0),
        "events": run_.counts.get("events", 0),
        "inputs": run_.counts.get("inputs", 0),
        "mentions": len(erasure.mentions or []),
        "entities": run_.counts.get("entities", 0),
        "exports": run_.counts.get("exports", 0),
        "access_log": run_.counts.get("access_log", 0),
        "trash": run_.counts.get("trash", 0),
    }
    started = run_.event.started_at or erasure.created_at
    receipt = receipts.sign(
        {
            "type": RECEIPT_TYPE,
            "receipt_id": str(erasure.pk),
            "project": run_.project.public_id,
            "subject": {"type": erasure.subject_type, "hash": erasure.subject_hash},
            "reference": erasure.reference,
            "reason": erasure.reason,
            "requested_by": erasure.requested_by,
            "confirmed_by": erasure.confirmed_by,
            "started_at": started.isoformat(),
            "completed_at": now.isoformat(),
            "counts": counts,
            "digest": _digest(erasure),
            "memdash_version": settings.MEMDASH_VERSION,
        }
    )
    with transaction.atomic():
        erasure.subject = None
        erasure.aliases = []
        erasure.counts = counts
        erasure.receipt = receipt
        erasure.completed_at = now
        erasure.save(update_fields=["subject", "aliases", "counts", "receipt", "completed_at"])
        events.finish(run_.event, results={"erasure_id": str(erasure.pk), "counts": counts})
        audit_log.change(
            "erasure.done",
            project_id=run_.project.pk,
            target=str(erasure.pk),
            details={
                "subject": {"type": erasure.subject_type, "hash": erasure.subject_hash},
                "counts": counts,
            },
        )


def erased_memory(memory_id: Any) -> bool:
    """Whether an erasure removed this memory (its history is tombstones)."""
    return MemoryHistory.objects.filter(memory_id=memory_id).exclude(erased_at=None).exists()
