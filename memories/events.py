"""The Event lifecycle, in one place: open, claim, heartbeat, finish, fail, requeue, recover.

An Event records one operation on memories. Synchronous operations are opened RUNNING and
finished at once; asynchronous ones are opened PENDING, queued (by task name, on commit), then
claimed by a worker: PENDING -> RUNNING -> SUCCEEDED | FAILED. A RUNNING event's `updated_at`
is its heartbeat; events whose worker died are re-queued by `recover_stale`.

Heartbeats do not wait for the work to make progress: the process that claims an event touches
it every MEMDASH_EVENT_HEARTBEAT_SECONDS from a daemon thread (`_Heartbeats`) until it finishes,
fails or is re-queued, so a silent LLM call of minutes is not mistaken for a dead worker and
the stale threshold can be one minute. Each claim is one more attempt, and the attempt number
fences the claimant: heartbeats, failures and re-queues of a process whose event was taken
over since change nothing, and the pipeline writes only under the attempt it claimed.

Every Event's `metadata` names the entity ids it is about (`named_entities`), so one GIN index
answers Activity's "what happened to user X" whatever the Event's type.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, Q
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now
from django.utils import timezone

from core.queueing import send_on_commit, send_or_refuse_on_commit
from memories.attribution import Message, speakers
from memories.models import SCOPE_FIELDS, Event, Memory, TrashedMemory
from memories.querysets import EventQuerySet
from tenancy.models import Project

logger = logging.getLogger(__name__)

# The Celery task that runs each kind of asynchronous Event (memories.tasks registers them).
TASK_FOR_EVENT: dict[str, str] = {
    Event.Type.ADD: "memories.tasks.process_add_event",
    Event.Type.DELETE: "memories.tasks.process_delete_event",
    Event.Type.DELETE_ALL: "memories.tasks.process_delete_event",
    Event.Type.ERASE: "memories.tasks.process_erase_event",
    Event.Type.EXPORT: "memories.tasks.process_export_event",
    Event.Type.PROFILE: "memories.tasks.process_profile_event",
}
# A project's deletion (memories.projects) is a DELETE Event whose payload names the project.
PROJECT_DELETE_TASK = "memories.tasks.process_project_delete"
UNFINISHED = (Event.Status.PENDING, Event.Status.RUNNING)
MAX_ERROR_CHARS = 5000


def open_event(
    project: Project,
    event_type: str,
    *,
    actor: str,
    payload: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    pending: bool = False,
    at: dt.datetime | None = None,
) -> Event:
    """Record an operation: RUNNING from `at` (now), or PENDING when a worker will run it."""
    at = at or timezone.now()
    return Event.objects.create(
        project=project,
        event_type=event_type,
        status=Event.Status.PENDING if pending else Event.Status.RUNNING,
        payload=payload or {},
        metadata=metadata or {},
        actor=actor,
        created_at=at,
        updated_at=at,
        started_at=None if pending else at,
    )


def task_for(event: Event) -> str:
    """The Celery task that runs a PENDING event."""
    if event.event_type == Event.Type.DELETE and "project" in (event.payload or {}):
        return PROJECT_DELETE_TASK
    return TASK_FOR_EVENT[event.event_type]


def enqueue(event: Event) -> None:
    """Queue the task of a PENDING event once the current transaction commits, durably: with
    the broker down, the event stays PENDING and the stale-event sweeper queues it again.

    For work that must happen whatever the caller does next: an erasure (a legal duty), a
    project's deletion (its keys already answer 410), and the sweeper's own re-queues.
    """
    send_on_commit(task_for(event), str(event.pk))


def submit(event: Event) -> None:
    """Queue the task of a PENDING event the caller waits on (an add, a background delete, an
    export, a profile job); when the broker is unreachable, fail the event and raise
    QueueUnavailable (503).

    The event is committed before its task is sent, so it cannot be rolled back then. FAILED,
    with the broker outage as its error, is the honest record: the caller was told the work did
    not happen, Activity shows why, and the sweeper will not run it later behind the caller's
    back (a PENDING event would be re-queued once the broker is back).
    """
    send_or_refuse_on_commit(
        task_for(event),
        str(event.pk),
        what=f"event {event.pk}",
        refuse=lambda detail: fail(event.pk, detail),
    )


def claim(event_id: Any, *, kinds: Iterable[str]) -> Event | None:
    """Mark an unfinished event RUNNING in this process (one more attempt) and keep its
    heartbeat beating until it finishes; None if it is finished or a live process runs it.

    A RUNNING event is taken over only from a process that is gone: its heartbeat is stale, or
    it ran on this machine and no longer exists (a pool process killed mid-task, whose task
    Celery delivers again at once). A duplicate delivery of a task that is still running
    returns None. The update is conditional on the attempt read, so of two workers claiming at
    once exactly one wins.
    """
    current = (
        Event.objects.filter(pk=event_id, event_type__in=list(kinds), status__in=UNFINISHED)
        .values_list("status", "attempts", "claimed_by")
        .first()
    )
    if current is None:
        return None
    status, attempts, claimed_by = current
    takeover = Q(status=Event.Status.PENDING) | Q(
        status=Event.Status.RUNNING,
        updated_at__lt=_db_time_ago(settings.MEMDASH_EVENT_STALE_SECONDS),
    )
    if status == Event.Status.RUNNING and claimant_gone(claimed_by):
        takeover = Q(status=Event.Status.RUNNING)
    claimed = Event.objects.filter(takeover, pk=event_id, attempts=attempts).update(
        status=Event.Status.RUNNING,
        attempts=attempts + 1,
        claimed_by=claimant(),
        updated_at=Now(),
    )
    if not claimed:
        return None
    event = Event.objects.select_related("project").get(pk=event_id)
    if event.started_at is None:
        event.started_at = event.updated_at
        event.save(update_fields=["started_at"])
    _heartbeats.add(event.pk, event.attempts)
    return event


def heartbeat(event: Event, *, done: int | None = None, total: int | None = None) -> None:
    """Tell the stale-event sweeper that the worker running `event` is alive (a progress
    heartbeat, beside the periodic one; nothing if the event was taken over since).

    With `done` and `total`, the same UPDATE records how far the batch has got
    (`Event.progress`, what the Event page and the API show while it runs): one statement per
    batch, never one per row."""
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    if done is not None and total is not None:
        event.progress = progress_of(done, total)
        fields["progress"] = event.progress
    Event.objects.filter(pk=event.pk, status=Event.Status.RUNNING, attempts=event.attempts).update(
        **fields
    )


def progress_of(done: int, total: int) -> dict[str, int]:
    """`Event.progress`: {"done": n, "total": m}, `total` never below `done` (rows written
    meanwhile can make a batch delete more than it counted at the start)."""
    return {"done": done, "total": max(done, total)}


def finish(
    event: Event,
    *,
    results: Any,
    details: dict[str, Any] | None = None,
    done: int | None = None,
) -> None:
    """Record that `event` SUCCEEDED, with its results (and `details` added to its metadata,
    such as an inference's LLM usage; `done`, for a batch that reported its progress, the rows
    it got through, so the progress ends at done == total)."""
    now = timezone.now()
    event.status = Event.Status.SUCCEEDED
    event.results = results
    event.error = None
    event.completed_at = now
    event.updated_at = now
    fields = ["status", "results", "error", "completed_at", "updated_at"]
    if done is not None:
        event.progress = progress_of(done, done)
        fields.append("progress")
    if details:
        event.metadata = {**event.metadata, **details}
        fields.append("metadata")
    event.save(update_fields=fields)
    _heartbeats.discard(event.pk)


def fail(event_id: Any, error: str, *, results: Any = None) -> None:
    """Mark an unfinished event FAILED with a reason the caller can read (and what it got done
    before failing, as `results`). A process whose claim was taken over fails nothing."""
    now = timezone.now()
    _mine(event_id).update(
        status=Event.Status.FAILED,
        error=error[:MAX_ERROR_CHARS],
        results=results,
        completed_at=now,
        updated_at=now,
    )
    _heartbeats.discard(event_id)


def requeue(event_id: Any, note: str) -> None:
    """Put a RUNNING event back to PENDING while its task waits to retry."""
    _mine(event_id).filter(status=Event.Status.RUNNING).update(
        status=Event.Status.PENDING, error=note[:MAX_ERROR_CHARS], updated_at=timezone.now()
    )
    _heartbeats.discard(event_id)


def _mine(event_id: Any) -> EventQuerySet:
    """The event while unfinished, and still on the attempt this process claimed if it did."""
    unfinished = Event.objects.filter(pk=event_id, status__in=UNFINISHED)
    attempt = _heartbeats.attempt_of(event_id)
    return unfinished if attempt is None else unfinished.filter(attempts=attempt)


def recover_stale() -> list[str]:
    """Re-queue events whose worker is gone (or fail them after too many attempts).

    Gone: RUNNING with no heartbeat for MEMDASH_EVENT_STALE_SECONDS, or claimed by a process of
    this machine that no longer exists; PENDING for MEMDASH_EVENT_PENDING_STALE_SECONDS. The
    PENDING wait is long on purpose: a PENDING event's task is in the broker's queue, and one
    that waits there is normally a backlog, not a loss (only a broker outage or restart loses
    it); re-queueing it sooner would add a duplicate to the backlog at every sweep. Returns the
    ids of the re-queued events.
    """
    gone = [
        claimed_by
        for claimed_by in Event.objects.filter(
            status=Event.Status.RUNNING, claimed_by__endswith=f"@{_this_machine()}"
        ).values_list("claimed_by", flat=True)
        if claimant_gone(claimed_by)
    ]
    recovered = []
    with transaction.atomic():
        stale = (
            Event.objects.select_for_update(skip_locked=True)
            .filter(status__in=UNFINISHED, event_type__in=list(TASK_FOR_EVENT))
            .filter(
                Q(
                    status=Event.Status.RUNNING,
                    updated_at__lt=_db_time_ago(settings.MEMDASH_EVENT_STALE_SECONDS),
                )
                | Q(status=Event.Status.RUNNING, claimed_by__in=gone)
                | Q(
                    status=Event.Status.PENDING,
                    updated_at__lt=_db_time_ago(settings.MEMDASH_EVENT_PENDING_STALE_SECONDS),
                )
            )
        )
        for event in stale:
            if event.attempts >= settings.MEMDASH_EVENT_MAX_ATTEMPTS:
                fail(
                    event.pk,
                    f"abandoned after {event.attempts} attempts (worker lost or timed out)",
                )
                continue
            event.status = Event.Status.PENDING
            event.updated_at = timezone.now()
            event.save(update_fields=["status", "updated_at"])
            enqueue(event)
            recovered.append(str(event.pk))
    if recovered:
        logger.warning("re-queued %d stale events: %s", len(recovered), ", ".join(recovered))
    return recovered


def _db_time_ago(seconds: float) -> ExpressionWrapper[CombinedExpression]:
    # The database's clock, which every worker's heartbeat is written with: the machines'
    # clocks need not agree.
    return ExpressionWrapper(Now() - dt.timedelta(seconds=seconds), output_field=DateTimeField())


# --- who runs an event, and its heartbeat --------------------------------------------------------


def claimant() -> str:
    """This process, as recorded on the events it claims: "<pid>@<hostname>/<pid space>"."""
    return f"{os.getpid()}@{_this_machine()}"


@functools.cache
def _this_machine() -> str:
    """The hostname and what makes a pid name one process: the kernel's boot and the pid
    namespace (two containers may share a hostname, and a restarted machine reuses pids)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:  # not Linux: no process is ever known to be gone
        return f"{socket.gethostname()}/unknown"
    return f"{socket.gethostname()}/{boot}-{namespace}"


def claimant_gone(claimed_by: str) -> bool:
    """Whether the process that claimed an event is known to have exited: it ran in this pid
    space and its pid is free (or a zombie). A pid taken by another process since counts as
    alive, which only leaves the event to the heartbeat's staleness."""
    pid, _, machine = claimed_by.partition("@")
    if machine != _this_machine() or machine.endswith("/unknown") or not pid.isdigit():
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    # The state follows the command name, which is in parentheses and may contain any character.
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


@dataclass
class _Claim:
    attempt: int
    thread: int
    # No run outlives Celery's hard time limit: a claim its run forgot to end stops beating then.
    until: float


class _Heartbeats:
    """The events this process runs, and the daemon thread that touches their heartbeat.

    The thread runs while there is something to beat and exits when there is not. Each beat is
    one autocommit UPDATE per event on the thread's own connection, closed after the beat, that
    changes only `updated_at`, only on the attempt this process claimed and only while RUNNING.
    It skips a row the run holds locked (SKIP LOCKED): it never waits on the run's transaction,
    so it cannot deadlock with it, and a locked row is skipped by the sweeper too.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.claims: dict[str, _Claim] = {}
        self.thread: threading.Thread | None = None
        # Set by a new claim, so a thread asleep for an interval read before then wakes up.
        self.wake = threading.Event()

    def add(self, event_id: Any, attempt: int) -> None:
        until = time.monotonic() + settings.CELERY_TASK_TIME_LIMIT
        with self.lock:
            self.claims[str(event_id)] = _Claim(attempt, threading.get_ident(), until)
            self.wake.set()
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="memdash-event-heartbeat", daemon=True
                )
                self.thread.start()

    def discard(self, event_id: Any) -> None:
        with self.lock:
            self.claims.pop(str(event_id), None)

    def discard_this_threads(self) -> None:
        """Forget the claims made by this thread (a Celery task ending, whatever its outcome)."""
        me = threading.get_ident()
        with self.lock:
            for event_id in [e for e, claim in self.claims.items() if claim.thread == me]:
                del self.claims[event_id]

    def attempt_of(self, event_id: Any) -> int | None:
        with self.lock:
            claim = self.claims.get(str(event_id))
        return claim.attempt if claim else None

    def reset_after_fork(self) -> None:
        # A forked child (a prefork pool process) inherits the parent's claims, but not its
        # thread, and runs none of those events.
        self.lock = threading.Lock()
        self.claims = {}
        self.thread = None
        self.wake = threading.Event()

    def _run(self) -> None:
        while True:
            self.wake.wait(heartbeat_interval())
            self.wake.clear()
            with self.lock:
                now = time.monotonic()
                for event_id in [e for e, claim in self.claims.items() if claim.until < now]:
                    del self.claims[event_id]
                if not self.claims:
                    self.thread = None
                    return
                beating = {event_id: claim.attempt for event_id, claim in self.claims.items()}
            self._beat(beating)

    def _beat(self, beating: dict[str, int]) -> None:
        table = Event._meta.db_table
        try:
            with connection.cursor() as cursor:
                for event_id, attempt in beating.items():
                    cursor.execute(
                        f"UPDATE {table} SET updated_at = now() WHERE id = ("
                        f"SELECT id FROM {table} WHERE id = %s AND attempts = %s"
                        " AND status = 'RUNNING' FOR UPDATE SKIP LOCKED)",
                        [event_id, attempt],
                    )
        except Exception as exc:  # a database outage, or one the thread must outlive anyway
            logger.warning("event heartbeat failed, trying again later: %s", exc)
        finally:
            connection.close()


def heartbeat_interval() -> float:
    """MEMDASH_EVENT_HEARTBEAT_SECONDS, but at most a quarter of the stale threshold, so a short
    threshold (a test's, an impatient operator's) never finds a live event stale."""
    return min(settings.MEMDASH_EVENT_HEARTBEAT_SECONDS, settings.MEMDASH_EVENT_STALE_SECONDS / 4)


def end_claims_of_this_thread() -> None:
    """Stop beating what this thread claimed: a Celery task has ended (memdash.celery), and an
    event it left RUNNING is for the sweeper now."""
    _heartbeats.discard_this_threads()


_heartbeats = _Heartbeats()
os.register_at_fork(after_in_child=_heartbeats.reset_after_fork)


# --- the entities an Event is about ----------------------------------------------------------------


def named_entities(ids: dict[str, Any]) -> dict[str, str]:
    """The entity ids an Event is about, as its `metadata` (what Activity filters by entity).

    Every Event type records them the same way, so one GIN index answers "what happened to
    user X" without reading payloads.
    """
    return {
        field: value
        for field in SCOPE_FIELDS
        if isinstance(value := ids.get(field), str) and value and value != "*"
    }


def about_add(scope: dict[str, Any], messages: Sequence[Message]) -> dict[str, Any]:
    """An add's entities: the ids its call names, and as `speakers` the ids its group chat's
    named messages speak as (their lines become theirs, wherever they are recorded)."""
    about: dict[str, Any] = named_entities(scope)
    names = speakers(messages)
    if names:
        about["speakers"] = names
    return about


def shared_entities(memories: Iterable[Memory | TrashedMemory]) -> dict[str, str]:
    """The entity ids every one of `memories` has (a batch's Event is about those)."""
    shared: dict[str, str] | None = None
    for memory in memories:
        ids = named_entities(memory.scope())
        shared = ids if shared is None else {k: v for k, v in shared.items() if ids.get(k) == v}
    return shared or {}


def entities_of_delete(payload: dict[str, Any]) -> dict[str, str]:
    """The entities a delete payload names: an entity delete's, or the plain entity ids its
    filter requires (at the top level or anywhere down a chain of ANDs; OR and NOT name none)."""
    if payload.get("entity_type") in ("user", "agent", "app", "run"):
        return named_entities({f"{payload['entity_type']}_id": payload.get("entity_id")})
    return _required_entities(payload.get("filters"))


def _required_entities(filters: Any) -> dict[str, str]:
    if not isinstance(filters, dict):
        return {}
    found = named_entities(filters)
    parts = filters.get("AND")
    for part in parts if isinstance(parts, list) else []:
        found = {**_required_entities(part), **found}
    return found
