"""Measure the extraction pipeline's own cost, with a scripted LLM that answers instantly.

Reports, per add: pipeline overhead (wall time minus time inside LLM calls) p50/p95, LLM calls
and tokens; and asynchronous throughput (adds/s through Celery) with 1 and 2 workers.
Uses the scripted OpenAI-compatible server and the Celery worker processes of testkit/, shared
with the test suite, so run it from a checkout. Settings it changes (the LLM provider, the queue)
are restored when it ends.
"""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any, TypedDict

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from bench.results import percentile
from memdash.celery import app
from memories import events, llm, pipeline, services
from memories.attribution import AddInput, Message, Scope
from memories.models import Event, Memory
from tenancy.models import Project
from tenancy.services import get_or_create_project
from testkit.llm import FakeLLM
from testkit.workers import REDIS_URL, Worker, use_broker

FOODS = [
    "sushi",
    "tacos",
    "pizza",
    "ramen",
    "curry",
    "falafel",
    "pho",
    "paella",
    "dumplings",
    "burritos",
]
SPORTS = ["tennis", "climbing", "running", "chess", "yoga", "rowing", "cycling", "judo"]

# The inline figures, and one entry per throughput run ("async" is a keyword: functional form).
Report = TypedDict("Report", {"inline": dict[str, Any], "async": list[dict[str, Any]]})


def conversation(i: int) -> list[dict[str, str]]:
    food, sport = FOODS[i % len(FOODS)], SPORTS[i % len(SPORTS)]
    return [
        {
            "role": "user",
            "content": f"I really like {food} and I play {sport} every week (note {i}).",
        },
        {"role": "assistant", "content": f"Great, I'll remember you like {food} and {sport}."},
    ]


def facts_for(prompt: str) -> dict[str, Any]:
    line = next(line for line in prompt.splitlines() if line.startswith("[1] "))
    words = line.split()
    food, sport = words[words.index("like") + 1], words[words.index("play") + 1]
    return {
        "facts": [
            {"text": f"Likes {food}", "message": 1},
            {"text": f"Plays {sport} weekly", "message": 1},
        ]
    }


class Command(BaseCommand):
    help = "Benchmark the extraction pipeline (overhead per add, async throughput) with an instant fake LLM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--adds", type=int, default=200, help="inline adds for the overhead figures"
        )
        parser.add_argument(
            "--async-adds", type=int, default=200, help="queued adds per throughput run"
        )
        parser.add_argument(
            "--users", type=int, default=20, help="distinct users the adds spread over"
        )
        parser.add_argument(
            "--workers",
            default="1,2",
            help='worker counts to measure throughput with ("" for none: inline figures only)',
        )
        parser.add_argument(
            "--broker",
            default="",
            help="broker URL for the throughput runs (default: Redis on 127.0.0.1 if up, else the database)",
        )
        parser.add_argument(
            "--json", dest="json_path", default="", help="also write the figures to this file"
        )

    def handle(
        self,
        *args: Any,
        adds: int,
        async_adds: int,
        users: int,
        workers: str,
        broker: str,
        json_path: str,
        **options: Any,
    ) -> None:
        fake = FakeLLM().start()
        fake.on("extract facts", reply=facts_for)
        fake.on(
            "categorize memories",
            reply=lambda prompt: {
                "categories": [["food"] for line in prompt.splitlines() if line[:1].isdigit()]
            },
        )
        try:
            with override_settings(
                OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="bench", MEMDASH_LLM_MAX_RETRIES=0
            ):
                project = get_or_create_project(
                    f"bench-pipeline-{uuid.uuid4().hex[:6]}", organization="bench"
                )
                report: Report = {"inline": self.inline(project, adds, users), "async": []}
                for count in [int(n) for n in workers.split(",") if n.strip()]:
                    report["async"].append(
                        self.throughput(project, fake, async_adds, users, count, broker)
                    )
        finally:
            fake.stop()
        self.print_report(report)
        if json_path:
            with open(json_path, "w") as fh:
                json.dump(report, fh, indent=2)

    def inline(self, project: Project, adds: int, users: int) -> dict[str, Any]:
        timings: list[float] = []
        llm_times: list[float] = []
        calls: list[int] = []
        tokens: list[int] = []
        original = llm.chat_json

        def timed_chat(**kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(**kwargs)
            finally:
                llm_times[-1] += time.perf_counter() - started

        llm.chat_json = timed_chat
        try:
            for i in range(adds):
                add = AddInput(
                    messages=[Message(m["role"], m["content"]) for m in conversation(i)],
                    scope=Scope(user_id=f"user-{i % users}"),
                )
                llm_times.append(0.0)
                started = time.perf_counter()
                opened = services.open_add_event(project, add, actor="benchmark")
                event = pipeline.run_add_event(opened.pk)
                if event is None:
                    raise CommandError(f"add event {opened.pk} disappeared while it ran")
                timings.append(time.perf_counter() - started)
                calls.append(event.metadata["llm"]["calls"])
                tokens.append(
                    event.metadata["llm"]["prompt_tokens"]
                    + event.metadata["llm"]["completion_tokens"]
                )
        finally:
            llm.chat_json = original
        overhead = [
            (total - in_llm) * 1000 for total, in_llm in zip(timings, llm_times, strict=True)
        ]
        total = [t * 1000 for t in timings]
        return {
            "adds": adds,
            "overhead_ms_p50": round(statistics.median(overhead), 2),
            "overhead_ms_p95": round(percentile(overhead, 0.95), 2),
            "total_ms_p50": round(statistics.median(total), 2),
            "total_ms_p95": round(percentile(total, 0.95), 2),
            "llm_calls_per_add": round(statistics.mean(calls), 2),
            "llm_calls_distribution": {str(k): calls.count(k) for k in sorted(set(calls))},
            "llm_tokens_per_add": round(statistics.mean(tokens), 1),
            "memories_written": Memory.objects.for_project(project).count(),
        }

    def throughput(
        self,
        project: Project,
        fake: FakeLLM,
        adds: int,
        users: int,
        worker_count: int,
        broker: str,
    ) -> dict[str, Any]:
        broker = broker or (REDIS_URL if _redis_up() else settings.CELERY_BROKER_URL)
        # A queue of its own, so a running `make run` worker does not take these tasks.
        with _default_queue(f"memdash-bench-{uuid.uuid4().hex[:6]}"):
            runners = [
                Worker(broker=broker, llm_base_url=fake.base_url, concurrency=1).start()
                for _ in range(worker_count)
            ]
            try:
                elapsed, ids = self.drain(project, adds, users, broker)
            finally:
                for runner in runners:
                    runner.stop()
        failed = Event.objects.filter(pk__in=ids, status="FAILED").count()
        return {
            "workers": worker_count,
            "broker": broker.split("://")[0],
            "adds": adds,
            "seconds": round(elapsed, 2),
            "adds_per_second": round(adds / elapsed, 1),
            "failed": failed,
        }

    def drain(
        self, project: Project, adds: int, users: int, broker: str
    ) -> tuple[float, list[uuid.UUID]]:
        """Open `adds` PENDING adds, queue them all at once and time until none is left.

        Returns the seconds and the Events' ids. The Events are opened before the clock starts,
        so the figure is the workers' rate, not the enqueuing's.
        """
        with use_broker(broker):
            app.connection_for_write().ensure_connection(max_retries=3)
            pending: list[Event] = []
            for i in range(adds):
                add = AddInput(
                    messages=[Message(m["role"], m["content"]) for m in conversation(10_000 + i)],
                    scope=Scope(user_id=f"async-user-{i % users}"),
                )
                pending.append(services.open_add_event(project, add, actor="benchmark"))
            started = time.perf_counter()
            for event in pending:
                # By name, as the product queues it (memories.events.enqueue, without waiting
                # for a commit: these Events are committed already).
                app.send_task(events.TASK_FOR_EVENT[Event.Type.ADD], args=[str(event.pk)])
            ids = [e.pk for e in pending]
            while Event.objects.filter(pk__in=ids, status__in=["PENDING", "RUNNING"]).exists():
                time.sleep(0.05)
            return time.perf_counter() - started, ids

    def print_report(self, report: Report) -> None:
        inline = report["inline"]
        out = self.stdout.write
        out("Extraction pipeline, scripted LLM answering instantly")
        out(f"  inline adds: {inline['adds']}, memories written: {inline['memories_written']}")
        out(
            f"  pipeline overhead per add (excl. LLM calls): p50 {inline['overhead_ms_p50']} ms, p95 {inline['overhead_ms_p95']} ms"
        )
        out(
            f"  total per add (incl. loopback LLM calls):    p50 {inline['total_ms_p50']} ms, p95 {inline['total_ms_p95']} ms"
        )
        out(
            f"  LLM calls per add: {inline['llm_calls_per_add']} (distribution {inline['llm_calls_distribution']})"
        )
        out(
            f"  LLM tokens per add (prompt + completion, as the fake counts them): {inline['llm_tokens_per_add']}"
        )
        for run in report["async"]:
            out(
                f"  async throughput, {run['workers']} worker(s) x 1 process, {run['broker']} broker: "
                f"{run['adds_per_second']} adds/s ({run['adds']} adds in {run['seconds']} s, {run['failed']} failed)"
            )


@contextlib.contextmanager
def _default_queue(name: str) -> Iterator[None]:
    """Route tasks to queue `name` (workers started inside listen on it), then route back."""
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    try:
        with override_settings(CELERY_TASK_DEFAULT_QUEUE=name):
            yield
    finally:
        app.conf.task_default_queue = previous


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False
