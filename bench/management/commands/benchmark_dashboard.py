"""Time the dashboard's memories page and its htmx partial, p50/p95, over the filters people use.

The data is the API benchmark's (bench.seeding): project bench-<N> in organization bench, seeded
or reused. Projects of other sizes are kept, so that `benchmark` and this command share the
dataset of each size instead of reseeding it for one another.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench import report, seeding
from bench.results import percentile
from bench.seeding import Dataset
from memories.models import Memory, MemoryHistory
from tenancy import preferences
from tenancy.access import SESSION_KEY
from tenancy.models import Membership, Project, Role

BENCH_USER = "dashboard-benchmark"
# In the first template of bench.corpus ("Is allergic to {a}"): about one memory in twenty.
KEYWORD = "allergic"
# One of bench.seeding.SOURCES, on about one memory in seven.
METADATA_SOURCE = "email"
SEMANTIC_QUERY = "food allergies"
# Pages followed from the newest one to time a keyset cursor deep in the list.
DEEP_PAGE = 6
WARMUP_REQUESTS = 2
# memdash's budget for the point-in-time page of a user with 1,000 memories.
AS_OF_P95_MS = 300.0
# The page is read as a browser would: from its HTML (response.context needs test instrumentation).
_OLDER = re.compile(r'rel="next" href="[^"]*older=([\w-]+)"')
_AS_OF_COUNT = re.compile(r'id="as-of-count"[^>]*>([\d,]+) memor')
# The header's count, after the page's position when it shows one ("1–50 of ≈18,585").
_COUNT = re.compile(
    r'<span id="memory-count"[^>]*>\s*((?:<span class="position">[^<]*</span>)?[^<]*)</span>'
)
_TAG = re.compile(r"<[^>]+>")


class Command(BaseCommand):
    help = (
        "Seed (or reuse) the benchmark project of N memories and time the dashboard's memories "
        "page and partial (p50/p95). Development databases only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--memories", type=int, default=100_000, help="memories to seed")
        parser.add_argument("--users", type=int, default=0, help="default: memories / 100")
        parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
        parser.add_argument("--reseed", action="store_true", help="seed again even if present")
        parser.add_argument(
            "--columns",
            action="store_true",
            help="render the table with five optional columns (agent, app, run, categories, "
            "updated), as a member who chose them sees it",
        )
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print results as JSON"
        )

    def handle(
        self,
        *args: Any,
        memories: int,
        users: int,
        requests: int,
        reseed: bool,
        as_json: bool,
        columns: bool = False,
        verbosity: int,
        **options: Any,
    ) -> None:
        if memories < 100 or requests < 1:
            raise CommandError("--memories >= 100 and --requests >= 1")
        log = self.stderr.write if verbosity >= 1 else lambda message: None
        dataset = seeding.prepare(
            memories=memories,
            users=users or seeding.default_users(memories),
            pool=seeding.DEFAULT_POOL,
            seed=seeding.DEFAULT_SEED,
            reseed=reseed,
            keep_others=True,
            log=log,
        )
        client = _client(dataset.project, columns=columns)
        results = [measure(client, name, query, requests) for name, query in cases(client, dataset)]
        past = measure_as_of(client, dataset.project, requests)
        if as_json:
            self.stdout.write(json.dumps({"memories_page": results, "as_of": past}, indent=2))
            return
        summary = report.dataset_summary(dataset)
        seeded = (
            "reused (--reseed to seed again)"
            if dataset.reused
            else f"seeded now in {dataset.seconds:.0f} s"
        )
        self.stdout.write(
            f"{summary['project']}: {summary['memories']:,} memories, {summary['users']:,} users, "
            f"{summary['agents']} agents, {summary['apps']} apps; {seeded}"
        )
        self.stdout.write(
            f"\nmemories page{' with five optional columns' if columns else ''}, server time in "
            f"ms over {requests} requests (Django test client, in-process):\n"
        )
        self.stdout.write(
            f"{'case':<34} {'full p50':>9} {'full p95':>9} {'part p50':>9} {'part p95':>9}  rows  count"
        )
        for r in results:
            self.stdout.write(
                f"{r['case']:<34} {r['full_p50']:>9.1f} {r['full_p95']:>9.1f} "
                f"{r['partial_p50']:>9.1f} {r['partial_p95']:>9.1f}  {r['rows']:>4}  {r['count']}"
            )
        verdict = "ok" if past["p95"] <= AS_OF_P95_MS else "MISSED"
        self.stdout.write(
            f"\nas of 30 days ago, the busiest user ({past['memories']:,} memories then, "
            f"{past['history']:,} history rows): p50 {past['p50']:.1f} ms, p95 {past['p95']:.1f} "
            f"ms (budget p95 <= {AS_OF_P95_MS:g} ms: {verdict})"
        )


def _client(project: Project, *, columns: bool = False) -> Client:
    """A logged-in dashboard session on `project`, as one of its admins; with `columns`, one
    who chose the table's five optional columns (tenancy.preferences), else none."""
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    membership, _ = Membership.objects.get_or_create(
        user=user, project=project, defaults={"role": Role.ADMIN}
    )
    preferences.set_memory_columns(
        membership, list(preferences.MEMORY_COLUMNS) if columns else [], []
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = project.pk  # the user may belong to several benchmark projects
    session.save()
    return client


def cases(client: Client, dataset: Dataset) -> list[tuple[str, str]]:
    """(name, query string) per filter, drawn from what the seeding generator wrote."""
    today = dt.date.today()
    month_ago = (today - dt.timedelta(days=30)).isoformat()
    user, user_rows = _busiest_user(dataset.project)
    agent = dataset.agents[0]  # agents share their memories evenly
    app = max(seeding.APPS, key=seeding.APPS.__getitem__)
    user_category = _commonest_category(dataset, role="user")
    agent_category = _commonest_category(dataset, role="assistant")
    search = urlencode({"search": SEMANTIC_QUERY})
    listed = [
        ("no filter (newest)", ""),
        (f"user (busiest, {user_rows:,} memories)", f"user_id={user}"),
        ("agent + category", f"agent_id={agent}&category={agent_category}"),
        (f"metadata source={METADATA_SOURCE}", f"meta=source%3D{METADATA_SOURCE}"),
        ("created last 30 days", f"date_from={month_ago}&date_to={today.isoformat()}"),
        (f"keyword '{KEYWORD}'", f"q={KEYWORD}"),
        ("expired shown, sort updated", "show_expired=1&sort=updated"),
        (
            "app + category + metadata + date",
            f"app_id={app}&category={user_category}&meta=priority%3D1&date_from={month_ago}",
        ),
        ("semantic search, whole project", search),
        ("semantic search, one user", f"{search}&user_id={user}"),
    ]
    deep = _deep_cursor(client)
    if deep:
        page, cursor = deep
        listed.append((f"page {page} (keyset cursor)", f"older={cursor}"))
    return listed


def measure_as_of(client: Client, project: Project, requests: int) -> dict[str, Any]:
    """The point-in-time page of the busiest user, 30 days back: full page server time."""
    user, _rows = _busiest_user(project)
    moment = (timezone.now() - dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    url = reverse("memories:as_of") + "?" + urlencode({"as_of": moment, "user_id": user})
    timings = []
    response = None
    for i in range(requests + WARMUP_REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise CommandError(f"{url} answered {response.status_code}")
        if i >= WARMUP_REQUESTS:
            timings.append(elapsed)
    assert response is not None
    shown = _AS_OF_COUNT.search(response.content.decode())
    if shown is None:
        raise CommandError(f"{url} shows no count of memories")
    return {
        "user": user,
        "memories": int(shown.group(1).replace(",", "")),
        "history": MemoryHistory.objects.filter(project=project, user_id=user).count(),
        "p50": statistics.median(timings),
        "p95": percentile(timings, 0.95),
    }


def _busiest_user(project: Project) -> tuple[str, int]:
    """The user with the most memories: activity is log-normal, so a typical one has few."""
    row = (
        Memory.objects.for_project(project)
        .filter(user_id__isnull=False)
        .values("user_id")
        .annotate(rows=Count("id"))
        .order_by("-rows", "user_id")
        .first()
    )
    if row is None or row["user_id"] is None:
        raise CommandError(f"project {project.name} has no memory with a user_id")
    return row["user_id"], row["rows"]


def _commonest_category(dataset: Dataset, *, role: str) -> str:
    """The category most of `role`'s facts belong to (generated facts cover the templates evenly)."""
    counts = Counter(fact.category for fact in dataset.facts if fact.role == role)
    return counts.most_common(1)[0][0] if counts else "misc"


def _deep_cursor(client: Client) -> tuple[int, str] | None:
    """The page number and `older` cursor of the deepest page up to DEEP_PAGE, if past page 1."""
    page, cursor = 1, ""
    while page < DEEP_PAGE:
        response = client.get(reverse("memories:list") + (f"?older={cursor}" if cursor else ""))
        found = _OLDER.search(response.content.decode())
        if not found:
            break
        page, cursor = page + 1, found.group(1)
    return (page, cursor) if cursor else None


def measure(client: Client, name: str, query: str, requests: int) -> dict[str, Any]:
    """p50/p95 of the full page and of the htmx table partial, with what the last one showed."""
    url = reverse("memories:list") + (f"?{query}" if query else "")
    partial_headers = {"HX-Request": "true", "HX-Target": "memory-table"}
    timings: dict[str, list[float]] = {"full": [], "partial": []}
    response = None
    for kind, headers in (("full", {}), ("partial", partial_headers)):
        for i in range(requests + WARMUP_REQUESTS):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise CommandError(f"{url} answered {response.status_code}")
            if i >= WARMUP_REQUESTS:
                timings[kind].append(elapsed)
    if response is None:  # only if requests + WARMUP_REQUESTS <= 0; handle() asks for >= 1
        raise CommandError(f"no request made to {url}")
    html = response.content.decode()
    count = _COUNT.search(html)
    return {
        "case": name,
        "query": query,
        "full_p50": statistics.median(timings["full"]),
        "full_p95": percentile(timings["full"], 0.95),
        "partial_p50": statistics.median(timings["partial"]),
        "partial_p95": percentile(timings["partial"], 0.95),
        "rows": html.count('class="mem-text"'),
        "count": " ".join(_TAG.sub("", count.group(1)).split()) if count else "?",
    }
