"""Seed a project with N memories (COPY, real embeddings from a small pool) and time the
dashboard's memories page and its htmx partial, p50/p95, over the filters people use."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import statistics
import time
import uuid

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.test import Client
from django.urls import reverse

from entities.models import Entity
from memories import embeddings
from memories.models import Memory
from tenancy.access import SESSION_KEY
from tenancy.models import Membership, Role
from tenancy.services import get_or_create_project

PROJECT = "dashboard-benchmark"
ORGANIZATION = "Benchmark"
BENCH_USER = "dashboard-benchmark"
SENTENCES = [
    "Is allergic to {x} and carries an epipen",
    "Prefers {x} in the morning before meetings",
    "Planning a trip to {x} next spring",
    "Works as a nurse on night shifts in {x}",
    "Collects vintage {x} and restores them",
    "Asked support about a refund for the {x} order",
    "Speaks {x} at home with the family",
    "Training for a marathon, runs {x} times a week",
    "Has two cats named after {x} characters",
    "Keeps a vegetarian diet but eats {x} sometimes",
    "Dislikes phone calls, prefers {x} messages",
    "Birthday is in {x}, likes surprise parties",
    "Drives an electric car, charges it at {x}",
    "Reads {x} novels before sleeping",
    "Subscribed to the premium plan in {x}",
    "Wants invoices sent to the {x} department",
]
FILLERS = [
    "coffee",
    "Japan",
    "fountain pens",
    "Lisbon",
    "French",
    "three",
    "Tolkien",
    "fish",
    "WhatsApp",
    "March",
    "the office",
    "mystery",
    "January",
    "finance",
    "tea",
    "Kyoto",
]
CATEGORIES = ["food", "travel", "health", "work", "hobbies", "family", "finance", "support"]
SOURCES = ["chat", "email", "voice"]


class Command(BaseCommand):
    help = "Time the dashboard's memories page and partial (p50/p95) on a seeded project."

    def add_arguments(self, parser):
        parser.add_argument("--memories", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=0, help="default: memories / 100")
        parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
        parser.add_argument("--reseed", action="store_true", help="drop and seed again")
        parser.add_argument("--json", action="store_true", help="print results as JSON")
        parser.add_argument(
            "--project", default=PROJECT, help="project to seed (kept between runs)"
        )

    def handle(self, *args, memories, users, requests, reseed, json: bool, project, **options):
        project = get_or_create_project(project, organization=ORGANIZATION)
        users = users or max(1, memories // 100)
        have = Memory.objects.for_project(project).count()
        if reseed or have != memories:
            self.stdout.write(f"seeding {memories:,} memories for {users:,} users ...")
            started = time.perf_counter()
            seed(project, memories=memories, users=users)
            self.stdout.write(f"  seeded in {time.perf_counter() - started:.1f} s")
        else:
            self.stdout.write(f"reusing {have:,} seeded memories (--reseed to start over)")
        client = _client(project)
        results = [measure(client, name, query, requests) for name, query in cases(client, users)]
        if json:
            self.stdout.write(_json.dumps(results, indent=2))
            return
        self.stdout.write(
            f"\nmemories page, server time in ms over {requests} requests "
            f"(Django test client, in-process), {memories:,} memories:\n"
        )
        self.stdout.write(
            f"{'case':<34} {'full p50':>9} {'full p95':>9} {'part p50':>9} {'part p95':>9}  rows  count"
        )
        for r in results:
            self.stdout.write(
                f"{r['case']:<34} {r['full_p50']:>9.1f} {r['full_p95']:>9.1f} "
                f"{r['partial_p50']:>9.1f} {r['partial_p95']:>9.1f}  {r['rows']:>4}  {r['count']}"
            )


_json = json
# The page is read as a browser would: from its HTML (response.context needs test instrumentation).
_OLDER = re.compile(r'rel="next" href="[^"]*older=([\w-]+)"')
_COUNT = re.compile(r'<span id="memory-count"[^>]*>(.*?)</span>', re.S)


def seed(project, *, memories: int, users: int, batch: int = 20_000) -> None:
    """COPY `memories` rows into `project` (replacing what it had), then VACUUM ANALYZE."""
    rng = random.Random(project.public_id)  # distinct ids for every seeded project
    texts = [s.format(x=f) for s in SENTENCES for f in FILLERS]
    pool = [_vector_literal(v) for v in embeddings.embed(texts[:64])]
    model = embeddings.get_embedder().name
    table = Memory._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.pk])
    Entity.objects.filter(project=project).delete()
    now = dt.datetime.now(dt.UTC)
    today = now.date()
    columns = (
        "id, project_id, user_id, agent_id, app_id, run_id, actor_id, role, memory, hash, "
        "metadata, categories, immutable, expiration_date, created_at, updated_at, embedding, "
        "embedding_model"
    )
    for start in range(0, memories, batch):
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            for i in range(start, min(start + batch, memories)):
                text = f"{texts[i % len(texts)]} (note {i})"
                # Memories arrive over a year, roughly in insertion order, as real ones do.
                created = now - dt.timedelta(
                    seconds=(memories - i) * 365 * 86400 / memories + rng.randint(0, 600)
                )
                updated = created + dt.timedelta(days=rng.randint(0, 30)) if i % 7 == 0 else created
                copy.write_row(
                    (
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        project.pk,
                        f"user-{i % users}",
                        f"agent-{i % 20}" if i % 3 == 0 else None,
                        f"app-{i % 5}",
                        f"run-{i // 50}" if i % 10 == 0 else None,
                        None,
                        "user",
                        text,
                        hashlib.md5(text.encode()).hexdigest(),
                        _json.dumps({"source": SOURCES[i % 3], "tier": i % 4}),
                        [CATEGORIES[i % 8], CATEGORIES[(i // 8) % 8]],
                        False,
                        today - dt.timedelta(days=1 + i % 30) if i % 47 == 0 else None,
                        created,
                        min(updated, now),
                        pool[i % len(pool)],
                        model,
                    )
                )
    _seed_entities(project, memories=memories, users=users, at=now)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")


def _seed_entities(project, *, memories: int, users: int, at: dt.datetime) -> None:
    names = [("user", f"user-{i}") for i in range(min(users, memories))]
    names += [("agent", f"agent-{i}") for i in range(20)]
    names += [("app", f"app-{i}") for i in range(5)]
    names += [("run", f"run-{i}") for i in range(memories // 50)]
    Entity.objects.bulk_create(
        [Entity(project=project, kind=k, name=n, created_at=at, updated_at=at) for k, n in names],
        batch_size=5000,
        ignore_conflicts=True,
    )


def _vector_literal(vector) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


def _client(project) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    Membership.objects.get_or_create(user=user, project=project, defaults={"role": Role.ADMIN})
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = project.pk  # the user may belong to several benchmark projects
    session.save()
    return client


def cases(client: Client, users: int) -> list[tuple[str, str]]:
    today = dt.date.today()
    month_ago = (today - dt.timedelta(days=30)).isoformat()
    user = f"user-{users // 2}"
    listed = [
        ("no filter (newest)", ""),
        ("user", f"user_id={user}"),
        ("agent + category", "agent_id=agent-3&category=travel"),
        ("metadata source=email", "meta=source%3Demail"),
        ("created last 30 days", f"date_from={month_ago}&date_to={today.isoformat()}"),
        ("keyword 'fountain'", "q=fountain"),
        ("expired shown, sort updated", "show_expired=1&sort=updated"),
        (
            "app + category + metadata + date",
            f"app_id=app-2&category=food&meta=tier%3D1&date_from={month_ago}",
        ),
        ("semantic search, whole project", "search=food+allergies"),
        ("semantic search, one user", f"search=food+allergies&user_id={user}"),
    ]
    cursor = ""
    for _ in range(5):
        response = client.get(reverse("memories:list") + (f"?older={cursor}" if cursor else ""))
        cursor = _OLDER.search(response.content.decode()).group(1)
    listed.append(("6th page (keyset cursor)", f"older={cursor}"))
    return listed


def measure(client: Client, name: str, query: str, requests: int) -> dict:
    url = reverse("memories:list") + (f"?{query}" if query else "")
    partial_headers = {"HX-Request": "true", "HX-Target": "memory-table"}
    timings: dict[str, list[float]] = {"full": [], "partial": []}
    response = None
    for kind, headers in (("full", {}), ("partial", partial_headers)):
        for i in range(requests + 2):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            if i >= 2:  # two warm-up requests
                timings[kind].append(elapsed)
    html = response.content.decode()
    count = _COUNT.search(html)
    return {
        "case": name,
        "query": query,
        "full_p50": statistics.median(timings["full"]),
        "full_p95": _p95(timings["full"]),
        "partial_p50": statistics.median(timings["partial"]),
        "partial_p95": _p95(timings["partial"]),
        "rows": html.count('class="mem-text"'),
        "count": " ".join(count.group(1).split()) if count else "?",
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
