"""Stale events are recovered in minutes: the heartbeat thread, the sweeper's thresholds, the
claim that lets one attempt at a time run an event, and whole workers SIGKILLed mid-extraction
(real Celery workers on Redis, the scripted LLM hanging as a slow provider would)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from memories import events, llm, pipeline, services
from memories.attribution import AddInput, Message, Scope
from memories.models import Event, Memory, MemoryHistory
from tenancy.services import get_or_create_project
from testkit.workers import REDIS_URL, Worker, use_broker, wait_for

ALEX = [{"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."}]
ALEX_FACTS = {
    "facts": [
        {"text": "Name is Alex", "message": 1},
        {"text": "Is a vegetarian", "message": 1},
        {"text": "Is allergic to nuts", "message": 1},
    ]
}
# A Redis database of its own: the shared test worker must not run this file's tasks.
BROKER = REDIS_URL.rsplit("/", 1)[0] + "/10"
ELSEWHERE = "4242@another-machine/0badc0de-4026531836"


def _event(project, *, status="RUNNING", age=0.0, claimed_by=ELSEWHERE, attempts=1):
    at = timezone.now() - dt.timedelta(seconds=age)
    return Event.objects.create(
        project=project,
        event_type=Event.Type.ADD,
        status=status,
        attempts=attempts,
        claimed_by=claimed_by,
        payload={},
        created_at=at,
        updated_at=at,
    )


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _add_event(project):
    add = AddInput(
        messages=[Message(m["role"], m["content"]) for m in ALEX], scope=Scope(user_id="alex")
    )
    return services.open_add_event(project, add, actor="test")


# --- the sweeper's thresholds ----------------------------------------------------------------------


@pytest.fixture
def thresholds(settings):
    settings.MEMDASH_EVENT_STALE_SECONDS = 60
    settings.MEMDASH_EVENT_PENDING_STALE_SECONDS = 900
    return settings


def test_a_running_event_without_a_heartbeat_for_the_threshold_is_requeued(
    project, thresholds, django_capture_on_commit_callbacks
):
    stale = _event(project, age=61)
    with django_capture_on_commit_callbacks() as queued:
        assert events.recover_stale() == [str(stale.pk)]
    stale.refresh_from_db()
    assert (stale.status, stale.attempts) == ("PENDING", 1)
    assert len(queued) == 1  # its task, sent once the sweep commits


def test_a_running_event_with_a_recent_heartbeat_is_left_alone(project, thresholds):
    fresh = _event(project, age=50)
    assert events.recover_stale() == []
    fresh.refresh_from_db()
    assert fresh.status == "RUNNING"


def test_a_pending_event_waits_for_the_longer_pending_threshold(project, thresholds):
    backlog = _event(project, status="PENDING", age=120, claimed_by="", attempts=0)
    lost = _event(project, status="PENDING", age=901, claimed_by="", attempts=0)
    assert events.recover_stale() == [str(lost.pk)]
    backlog.refresh_from_db()
    assert backlog.status == "PENDING"


def test_a_fresh_event_of_a_process_of_this_machine_that_exited_is_requeued_at_once(
    project, thresholds
):
    orphan = _event(project, claimed_by=f"{_exited_pid()}@{events._this_machine()}")
    alive = _event(project, claimed_by=events.claimant())
    assert events.recover_stale() == [str(orphan.pk)]
    alive.refresh_from_db()
    assert alive.status == "RUNNING"


def test_the_sweeper_fails_a_stale_event_after_the_last_attempt(project, thresholds):
    spent = _event(project, age=61, attempts=thresholds.MEMDASH_EVENT_MAX_ATTEMPTS)
    assert events.recover_stale() == []
    spent.refresh_from_db()
    assert spent.status == "FAILED"
    assert "abandoned after 3 attempts" in spent.error


def test_a_claimant_is_known_gone_only_in_this_pid_space():
    assert events.claimant_gone(events.claimant()) is False
    assert events.claimant_gone(f"{_exited_pid()}@{events._this_machine()}") is True
    # The same pid elsewhere (another host, container or boot) proves nothing.
    assert events.claimant_gone(f"{_exited_pid()}@{ELSEWHERE.partition('@')[2]}") is False
    assert events.claimant_gone("") is False


def test_a_zombie_claimant_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(child.pid, signal.SIGKILL)
        wait_for(
            lambda: (
                Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
            ),
            timeout=10,
            message="the child to be a zombie",
        )
        assert events.claimant_gone(f"{child.pid}@{events._this_machine()}") is True
    finally:
        child.kill()
        child.wait()


# --- claiming --------------------------------------------------------------------------------------


def test_a_claim_records_this_process_and_counts_an_attempt(project, thresholds):
    pending = _event(project, status="PENDING", claimed_by="", attempts=0)
    claimed = events.claim(pending.pk, kinds=[Event.Type.ADD])
    try:
        assert (claimed.status, claimed.attempts, claimed.claimed_by) == (
            "RUNNING",
            1,
            events.claimant(),
        )
        assert claimed.started_at is not None
    finally:
        events.fail(pending.pk, "test over")


def test_a_claim_refuses_an_event_a_live_process_runs(project, thresholds):
    running = _event(project, age=10)
    assert events.claim(running.pk, kinds=[Event.Type.ADD]) is None
    running.refresh_from_db()
    assert (running.attempts, running.claimed_by) == (1, ELSEWHERE)


def test_a_claim_takes_over_a_stale_event_or_one_whose_process_exited(project, thresholds):
    stale = _event(project, age=61)
    orphan = _event(project, claimed_by=f"{_exited_pid()}@{events._this_machine()}")
    try:
        for event in (stale, orphan):
            claimed = events.claim(event.pk, kinds=[Event.Type.ADD])
            assert claimed is not None
            assert (claimed.attempts, claimed.claimed_by) == (2, events.claimant())
    finally:
        for event in (stale, orphan):
            events.fail(event.pk, "test over")


def test_a_claim_refuses_a_finished_event(project):
    done = _event(project, status="SUCCEEDED")
    assert events.claim(done.pk, kinds=[Event.Type.ADD]) is None


@pytest.mark.parametrize(
    "give_up",
    [
        lambda event_id: events.requeue(event_id, "retrying"),
        lambda event_id: events.fail(event_id, "an error the new attempt must not inherit"),
    ],
    ids=["requeue", "fail"],
)
def test_an_attempt_that_was_taken_over_neither_requeues_nor_fails_the_event(
    project, thresholds, give_up
):
    pending = _event(project, status="PENDING", claimed_by="", attempts=0)
    mine = events.claim(pending.pk, kinds=[Event.Type.ADD])
    # Another worker took the event over (this process looked dead to it).
    Event.objects.filter(pk=pending.pk).update(attempts=F("attempts") + 1, claimed_by=ELSEWHERE)
    give_up(mine.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.error, pending.attempts) == ("RUNNING", None, 2)


def test_an_attempt_that_was_taken_over_writes_nothing(project, fake_llm):
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    mine = events.claim(_add_event(project).pk, kinds=[Event.Type.ADD])
    add = AddInput.from_payload(mine.payload)
    usage = llm.Usage()
    plan = pipeline.build_plan(mine, add, usage)
    assert len(plan.changes) == 3
    Event.objects.filter(pk=mine.pk).update(attempts=F("attempts") + 1, claimed_by=ELSEWHERE)
    returned = pipeline.apply_plan(mine, add, plan, usage)
    assert (returned.status, returned.attempts) == ("RUNNING", 2)
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()
    events.fail(mine.pk, "test over")


# --- the heartbeat thread --------------------------------------------------------------------------


def _heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "memdash-event-heartbeat"]


def _age(event: Event) -> float:
    event.refresh_from_db()
    return (timezone.now() - event.updated_at).total_seconds()


@pytest.fixture
def fast_heartbeat(settings):
    settings.MEMDASH_EVENT_HEARTBEAT_SECONDS = 0.1
    settings.MEMDASH_EVENT_STALE_SECONDS = 60
    yield settings
    wait_for(lambda: not _heartbeat_threads(), timeout=5, message="the heartbeat thread to end")


def test_heartbeat_interval_is_capped_at_a_quarter_of_the_stale_threshold(settings):
    settings.MEMDASH_EVENT_HEARTBEAT_SECONDS = 15
    settings.MEMDASH_EVENT_STALE_SECONDS = 60
    assert events.heartbeat_interval() == 15
    settings.MEMDASH_EVENT_STALE_SECONDS = 2
    assert events.heartbeat_interval() == 0.5


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_touches_a_running_event_until_it_finishes(fast_heartbeat):
    project = get_or_create_project("heartbeat", organization="Acme")
    pending = _event(project, status="PENDING", claimed_by="", attempts=0)
    claimed = events.claim(pending.pk, kinds=[Event.Type.ADD])
    Event.objects.filter(pk=pending.pk).update(updated_at=timezone.now() - dt.timedelta(hours=1))
    wait_for(lambda: _age(pending) < 5, timeout=10, message="a heartbeat")
    assert len(_heartbeat_threads()) == 1
    events.finish(claimed, results=[])
    # Nothing left to beat: the thread ends (the fixture waits for it).


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_of_an_attempt_that_was_taken_over_changes_nothing(fast_heartbeat):
    project = get_or_create_project("heartbeat", organization="Acme")
    pending = _event(project, status="PENDING", claimed_by="", attempts=0)
    events.claim(pending.pk, kinds=[Event.Type.ADD])
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    Event.objects.filter(pk=pending.pk).update(attempts=2, updated_at=an_hour_ago)
    time.sleep(1)  # ten heartbeat intervals
    assert _age(pending) > 3000
    events.end_claims_of_this_thread()


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_never_waits_on_a_row_the_run_holds_locked(fast_heartbeat):
    project = get_or_create_project("heartbeat", organization="Acme")
    pending = _event(project, status="PENDING", claimed_by="", attempts=0)
    events.claim(pending.pk, kinds=[Event.Type.ADD])
    try:
        with transaction.atomic():
            Event.objects.select_for_update().get(pk=pending.pk)
            waiting = []
            for _ in range(10):  # a second, ten heartbeat intervals
                time.sleep(0.1)
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    waiting.append(cursor.fetchone()[0])
        assert waiting == [0] * 10
        # Once the run's transaction is over, the heartbeat goes on.
        Event.objects.filter(pk=pending.pk).update(
            updated_at=timezone.now() - dt.timedelta(hours=1)
        )
        wait_for(lambda: _age(pending) < 5, timeout=10, message="a heartbeat")
    finally:
        events.end_claims_of_this_thread()


# --- real workers, SIGKILLed -----------------------------------------------------------------------


@pytest.fixture
def killed_mid_extraction(fake_llm, fake_llm_server, transactional_db):
    """A worker SIGKILLed, with its whole process group, while the LLM has not answered its
    extraction yet: returns the event (RUNNING, claimed by a pool process now dead) and the
    monotonic time of the kill."""
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=120)  # a provider that hangs
    # Defaults for the heartbeat and the thresholds: only the provider's timeout is raised, so
    # the worker is still waiting when it is killed.
    first = Worker(
        broker=BROKER, llm_base_url=fake_llm_server.base_url, env={"MEMDASH_LLM_TIMEOUT": "300"}
    ).start()
    try:
        project = get_or_create_project("stale", organization="Acme")
        with use_broker(BROKER):
            event = _add_event(project)
            events.enqueue(event)
        wait_for(lambda: fake_llm.calls_for("extract facts"), message="the worker to call the LLM")
        event.refresh_from_db()
        assert event.status == "RUNNING"
        first.kill()
        killed_at = time.monotonic()
    finally:
        first.kill()
    fake_llm.reset()
    fake_llm.on("extract facts", reply=ALEX_FACTS)
    yield event, killed_at


def _recover_with_a_new_worker(event, killed_at, fake_llm_server, what):
    second = Worker(broker=BROKER, llm_base_url=fake_llm_server.base_url)
    requeued_at = None

    def finished() -> bool:
        nonlocal requeued_at
        current = Event.objects.get(pk=event.pk)
        if requeued_at is None and (current.status != "RUNNING" or current.attempts > 1):
            requeued_at = time.monotonic()
        return current.status in ("SUCCEEDED", "FAILED")

    with use_broker(BROKER):
        second.start()
        ready_at = time.monotonic()
        try:
            wait_for(
                finished,
                timeout=180,
                interval=0.5,
                message=f"the new worker to finish the event ({what})",
            )
        except AssertionError:
            print(second.output())  # shown with the failure
            raise
        finally:
            second.stop()
    done_at = time.monotonic()
    assert requeued_at is not None
    print(
        f"\n{what}: SIGKILL -> new worker ready {ready_at - killed_at:.1f} s,"
        f" -> event re-queued {requeued_at - killed_at:.1f} s,"
        f" -> SUCCEEDED {done_at - killed_at:.1f} s"
    )
    event.refresh_from_db()
    return event


def _assert_written_once(event):
    assert (event.status, event.attempts) == ("SUCCEEDED", 2), event.error
    assert sorted(Memory.objects.values_list("memory", flat=True)) == [
        "Is a vegetarian",
        "Is allergic to nuts",
        "Name is Alex",
    ]
    assert MemoryHistory.objects.count() == 3


def test_a_whole_worker_sigkilled_mid_extraction_is_recovered_by_the_next_worker(
    killed_mid_extraction, fake_llm_server
):
    """The new worker, on the same machine, sees that the claiming process is gone: the event
    is queued again as the worker starts."""
    event, killed_at = killed_mid_extraction
    event = _recover_with_a_new_worker(event, killed_at, fake_llm_server, "same machine")
    _assert_written_once(event)


def test_a_dead_worker_elsewhere_is_recovered_once_its_heartbeat_is_stale(
    killed_mid_extraction, fake_llm_server
):
    """When the dead worker ran on another machine nothing proves it is gone, until its
    heartbeat is MEMDASH_EVENT_STALE_SECONDS old (60 s): within two minutes all the same."""
    event, killed_at = killed_mid_extraction
    Event.objects.filter(pk=event.pk).update(claimed_by=ELSEWHERE)
    event = _recover_with_a_new_worker(event, killed_at, fake_llm_server, "another machine")
    _assert_written_once(event)


def test_a_killed_pool_process_has_its_task_run_again_at_once(
    fake_llm, fake_llm_server, transactional_db
):
    """Only the pool process dies: Celery delivers its task again at once, and the claim takes
    the event over because the process that held it is gone."""
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=120)
    worker = Worker(
        broker=BROKER, llm_base_url=fake_llm_server.base_url, env={"MEMDASH_LLM_TIMEOUT": "300"}
    ).start()
    try:
        project = get_or_create_project("stale", organization="Acme")
        with use_broker(BROKER):
            event = _add_event(project)
            events.enqueue(event)
            wait_for(lambda: fake_llm.calls_for("extract facts"), message="the LLM call")
            fake_llm.reset()
            fake_llm.on("extract facts", reply=ALEX_FACTS)
            event.refresh_from_db()
            os.kill(int(event.claimed_by.partition("@")[0]), signal.SIGKILL)
            wait_for(
                lambda: Event.objects.get(pk=event.pk).status in ("SUCCEEDED", "FAILED"),
                timeout=60,
                interval=0.2,
                message="the redelivered task to finish the event",
            )
    finally:
        worker.stop()
    event.refresh_from_db()
    _assert_written_once(event)


def test_a_slow_extraction_is_kept_alive_by_its_heartbeat(
    fake_llm, fake_llm_server, transactional_db, settings
):
    """A live worker whose LLM call lasts longer than the stale threshold keeps its event: the
    sweeper (with the same short threshold) finds nothing to recover, and the event is run once."""
    settings.MEMDASH_EVENT_STALE_SECONDS = 2
    fake_llm.on("extract facts", reply=ALEX_FACTS, delay=6)
    worker = Worker(
        broker=BROKER,
        llm_base_url=fake_llm_server.base_url,
        env={"MEMDASH_EVENT_STALE_SECONDS": "2", "MEMDASH_LLM_TIMEOUT": "30"},
    ).start()
    try:
        project = get_or_create_project("stale", organization="Acme")
        with use_broker(BROKER):
            event = _add_event(project)
            events.enqueue(event)
            wait_for(lambda: fake_llm.calls_for("extract facts"), message="the LLM call")
            sweeps = []
            while Event.objects.get(pk=event.pk).status == "RUNNING":
                sweeps.append(events.recover_stale())
                time.sleep(0.5)
    finally:
        worker.stop()
    assert len(sweeps) >= 6 and not any(sweeps)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("SUCCEEDED", 1)
    assert Memory.objects.count() == 3
