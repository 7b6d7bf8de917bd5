"""The load benchmark: N concurrent clients for T seconds against gunicorn (bench.load)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench import load
from bench.seeding import BENCH_ORGANIZATION, drop_projects
from tenancy.services import create_api_key, get_or_create_project
from testkit.web import WebServer


class Command(BaseCommand):
    help = (
        "Start gunicorn as `make run` does, drive N concurrent API clients for T seconds with a "
        "mix of add, search, list, get, update and delete, print requests/s and latencies per "
        "operation, then check that every acknowledged write is in the database. Development "
        "databases only: it creates a project of its own and drops it afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
        parser.add_argument("--seconds", type=float, default=60.0, help="how long they run")
        parser.add_argument(
            "--mix",
            default=",".join(f"{name}={weight}" for name, weight in load.DEFAULT_MIX.items()),
            help="operation weights, e.g. add=20,search=30,list=15,get=15,update=10,delete=10",
        )
        parser.add_argument(
            "--preload", type=int, default=load.DEFAULT_PRELOAD, help="adds per client first"
        )
        parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        parser.add_argument("--threads", type=int, default=4, help="threads per worker")
        parser.add_argument("--url", help="drive this running server instead of starting one")
        parser.add_argument("--seed", type=int, default=1, help="random seed of the clients")
        parser.add_argument("--keep", action="store_true", help="keep the project afterwards")
        parser.add_argument("--json", dest="json_path", help="also write the results here")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            mix = load.parse_mix(opts["mix"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["clients"] < 1 or opts["seconds"] <= 0 or opts["preload"] < 0:
            raise CommandError("--clients >= 1, --seconds > 0 and --preload >= 0")
        project = get_or_create_project(f"load-{int(time.time())}", organization=BENCH_ORGANIZATION)
        api_key = create_api_key(project, name="load benchmark")
        server = None
        try:
            url = opts["url"]
            if not url:
                self.stdout.write(
                    f"starting gunicorn ({opts['workers']} workers x {opts['threads']} threads)"
                )
                server = WebServer(workers=opts["workers"], threads=opts["threads"]).start()
                url = server.url
            self.stdout.write(
                f"{opts['clients']} clients for {opts['seconds']:g} s against {url}; mix "
                + ", ".join(f"{name} {weight}" for name, weight in mix.items())
            )
            outcome, clients = asyncio.run(
                load.run_clients(
                    url,
                    api_key,
                    clients=opts["clients"],
                    seconds=opts["seconds"],
                    mix=mix,
                    preload=opts["preload"],
                    seed=opts["seed"],
                )
            )
        finally:
            if server is not None:
                server.stop()
        result = load.summary(outcome, mix, load.verify(project.pk, clients))
        result["server"] = {
            "url": opts["url"] or "gunicorn",
            **({} if opts["url"] else {"workers": opts["workers"], "threads": opts["threads"]}),
        }
        result["clients"] = opts["clients"]
        self.stdout.write(load.format_summary(result))
        if opts["json_path"]:
            Path(opts["json_path"]).write_text(json.dumps(result, indent=2))
        if not opts["keep"]:
            drop_projects([project], self.stdout.write)
        if result["lost_writes"]:
            raise CommandError(f"{result['lost_writes']} acknowledged writes were lost")
