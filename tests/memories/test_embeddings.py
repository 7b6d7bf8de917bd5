"""memories.embeddings: concurrent calls share runs of the model and get exactly their vectors.

RunCombiner is exercised with a run function the test controls (it blocks until released), so
which calls share a run is certain rather than timing-dependent; the last tests use the real
local model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from core.errors import EmbeddingError
from memories import embeddings
from memories.embeddings import RunCombiner, Vectors

WAIT = 10.0


class GatedRun:
    """A run function recording each batch it is given; with `gated`, every run waits for
    `release` (so calls arriving meanwhile must queue)."""

    def __init__(self, gated: bool = True, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        if not gated:
            self.release.set()
        self.fail_on = fail_on

    def __call__(self, texts: list[str]) -> Vectors:
        self.batches.append(list(texts))
        self.started.release()
        assert self.release.wait(WAIT)
        if self.fail_on is not None and self.fail_on in texts:
            raise EmbeddingError(f"cannot embed {self.fail_on!r}")
        return [[float(len(text)), float(i)] for i, text in enumerate(texts)]


def call_in_thread(function: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def queued(combiner: RunCombiner) -> int:
    return len(combiner._queue)


def test_a_call_alone_is_one_run_of_its_texts():
    run = GatedRun(gated=False)
    combiner = RunCombiner(run, max_texts=32)

    assert combiner.embed(["a", "bb"]) == [[1.0, 0.0], [2.0, 1.0]]
    assert combiner.embed(["ccc"]) == [[3.0, 0.0]]
    assert run.batches == [["a", "bb"], ["ccc"]]


def test_calls_arriving_during_a_run_share_the_next_run_and_get_their_own_vectors():
    run = GatedRun()
    combiner = RunCombiner(run, max_texts=32)
    first, first_out = call_in_thread(lambda: combiner.embed(["first"]))
    assert run.started.acquire(timeout=WAIT)
    waiting = [call_in_thread(lambda t=text: combiner.embed([t, t * 2])) for text in "xyz"]
    wait_until(lambda: queued(combiner) == 3)
    run.release.set()
    for thread, _ in [(first, first_out), *waiting]:
        thread.join(WAIT)

    assert run.batches[0] == ["first"]
    assert len(run.batches) == 2
    assert sorted(run.batches[1]) == sorted(["x", "xx", "y", "yy", "z", "zz"])
    assert first_out["value"] == [[5.0, 0.0]]
    for text, (_, outcome) in zip("xyz", waiting, strict=True):
        vectors = outcome["value"]
        assert isinstance(vectors, list)
        # Each call gets the vectors of its own texts, in its order, whatever its place in the run.
        assert [v[0] for v in vectors] == [1.0, 2.0]
        place = run.batches[1].index(text)
        assert vectors == [[1.0, float(place)], [2.0, float(place + 1)]]
    assert queued(combiner) == 0 and not combiner._running


def test_a_run_takes_at_most_max_texts_but_always_its_leaders_own():
    run = GatedRun()
    combiner = RunCombiner(run, max_texts=4)
    first, _ = call_in_thread(lambda: combiner.embed(["first"]))
    assert run.started.acquire(timeout=WAIT)
    big, big_out = call_in_thread(lambda: combiner.embed([f"b{i}" for i in range(6)]))
    wait_until(lambda: queued(combiner) == 1)
    small = [call_in_thread(lambda i=i: combiner.embed([f"s{i}"] * 2)) for i in range(3)]
    wait_until(lambda: queued(combiner) == 4)
    run.release.set()
    for thread, _ in [(first, None), (big, None), *small]:
        thread.join(WAIT)

    # The six texts (over the cap) run alone; then two calls of two fill a run; the last follows.
    assert [len(batch) for batch in run.batches] == [1, 6, 4, 2]
    assert len(big_out["value"]) == 6  # type: ignore[arg-type]
    assert all(len(outcome["value"]) == 2 for _, outcome in small)  # type: ignore[arg-type]


def test_a_failing_call_fails_alone_and_the_others_still_get_their_vectors():
    run = GatedRun(fail_on="bad")
    combiner = RunCombiner(run, max_texts=32)
    first, _ = call_in_thread(lambda: combiner.embed(["first"]))
    assert run.started.acquire(timeout=WAIT)
    good, good_out = call_in_thread(lambda: combiner.embed(["good"]))
    wait_until(lambda: queued(combiner) == 1)
    bad, bad_out = call_in_thread(lambda: combiner.embed(["bad"]))
    wait_until(lambda: queued(combiner) == 2)
    run.release.set()
    for thread in (first, good, bad):
        thread.join(WAIT)

    assert isinstance(bad_out["error"], EmbeddingError)
    assert good_out["value"] == [[4.0, 0.0]]
    # The shared run failed, so each of its calls was run again alone.
    assert sorted(map(sorted, run.batches[1:])) == [["bad"], ["bad", "good"], ["good"]]
    assert not combiner._running
    # The next call leads a run of its own: nothing is left stuck.
    run.fail_on = None
    assert combiner.embed(["again"]) == [[5.0, 0.0]]


def test_an_interrupted_run_wakes_its_followers_with_a_clear_error():
    class Interrupted(BaseException):
        pass

    started = threading.Event()
    release = threading.Event()

    def run(texts: list[str]) -> Vectors:
        if texts == ["first"]:
            started.set()
            assert release.wait(WAIT)
            return [[0.0]]
        raise Interrupted  # the run "one" leads, shared with "two"

    combiner = RunCombiner(run, max_texts=32)
    first, _ = call_in_thread(lambda: combiner.embed(["first"]))
    assert started.wait(WAIT)
    leader_out: dict[str, BaseException] = {}

    def lead() -> None:
        try:
            combiner.embed(["one"])
        except BaseException as exc:
            leader_out["error"] = exc

    leader = threading.Thread(target=lead)
    leader.start()
    wait_until(lambda: queued(combiner) == 1)
    follower, follower_out = call_in_thread(lambda: combiner.embed(["two"]))
    wait_until(lambda: queued(combiner) == 2)
    release.set()
    for thread in (first, leader, follower):
        thread.join(WAIT)

    assert isinstance(leader_out["error"], Interrupted)
    assert isinstance(follower_out["error"], EmbeddingError)
    assert "interrupted" in str(follower_out["error"])
    assert not combiner._running


@pytest.mark.parametrize("combine", [True, False])
def test_the_local_model_gives_the_same_vectors_to_concurrent_and_lone_calls(settings, combine):
    texts = [
        "Is allergic to peanuts",
        "What is the user allergic to?",
        "Works as a nurse at a hospital in Lisbon and plays tennis on Saturdays",
        "Has a dog named Biscuit",
        "Prefers window seats on long flights",
        "hi",
    ]
    settings.MEMDASH_EMBEDDER_COMBINE = False
    alone = [embeddings.embed_one(text) for text in texts]
    settings.MEMDASH_EMBEDDER_COMBINE = combine
    threads = [call_in_thread(lambda t=text: embeddings.embed([t] * 3)) for text in texts * 3]
    for thread, _ in threads:
        thread.join(60)
    for index, (_, outcome) in enumerate(threads):
        vectors = np.asarray(outcome["value"])
        expected = np.asarray(alone[index % len(texts)])
        # Padding to a run's longest text changes nothing: the mask keeps pads out of the mean.
        assert np.abs(vectors - expected).max() < 1e-5
