"""The embedded PostgreSQL survives concurrent starts, killed processes and damaged state files.

Every case runs real processes on one data directory of this module's own (initdb is slow, so
the cluster is made once and reused): processes that start or attach to the server and query
it, SIGKILLed at random moments, a SIGKILLed postmaster, and handle or pid files damaged the
ways a killed writer leaves them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "memdash" / "embedded_db.py"
ROUNDS = 50
PROCESSES = 8
SEED = 15


def child_env(pgdata: Path) -> dict[str, str]:
    env = {**os.environ, "MEMDASH_PGDATA": str(pgdata), "MEMDASH_PG_SHARED_BUFFERS": "32MB"}
    env["DJANGO_SETTINGS_MODULE"] = "memdash.settings"
    env.pop("DATABASE_URL", None)
    # Not a test run's own process: these start the server and leave it running, as manage.py,
    # gunicorn or Celery do, so the rounds race both cold starts and attaches.
    env.pop("MEMDASH_DB_STOP_ON_EXIT", None)
    return env


def python(*code: str, pgdata: Path, args: tuple[str, ...] = (), timeout: float = 300) -> str:
    """Run the pieces of `code` in a fresh process; sys.argv: the data directory, then `args`."""
    script = "\n".join(textwrap.dedent(piece) for piece in code)
    done = subprocess.run(
        [sys.executable, "-c", script, str(pgdata), *args],
        cwd=ROOT,
        env=child_env(pgdata),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


# memdash.embedded_db loaded from its file: importing the memdash package loads Celery (seconds
# of imports on a busy machine), which the server's start does not need.
LOAD = f"""
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("embedded_db", {str(MODULE)!r})
    embedded_db = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(embedded_db)
    data_dir = Path(sys.argv[1])
"""

# What one process does on its way up (a gunicorn worker, a Celery worker, a manage.py command):
# start or attach to the server, then query it. Prints the postmaster's pid.
START_AND_QUERY = """
    import psycopg

    host = embedded_db.start(data_dir)
    with psycopg.connect(host=host, dbname="postgres", user="postgres") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    print((data_dir / "postmaster.pid").read_text().splitlines()[0])
"""

STOP = "embedded_db.stop(data_dir)"

# The rounds: one parent imports everything once and forks the processes of each round (as
# gunicorn and Celery fork theirs), so 400 process starts stay cheap on a small machine.
ROUNDS_SCRIPT = """
    import atexit
    import json
    import os
    import random
    import signal
    import time
    import traceback

    import psycopg

    rounds, processes, seed = (int(arg) for arg in sys.argv[2:5])
    rng = random.Random(seed)
    embedded_db._server_class()  # import the library before forking, as a preloading server would


    def start_and_query():
        host = embedded_db.start(data_dir)
        with psycopg.connect(host=host, dbname="postgres", user="postgres") as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


    for number in range(rounds):
        # Every third round races a cold start (pg_ctl start, with kills during it); the
        # others race attaches to a running server.
        cold = number % 3 == 0
        began = time.monotonic()
        if cold:
            embedded_db.stop(data_dir)
        children = []
        forked = time.monotonic()
        for _ in range(processes):
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    start_and_query()
                except BaseException:
                    traceback.print_exc()
                    code = 1
                # The exit hooks (the detach) run as at any exit; the interpreter's teardown,
                # which in a forked child copies the whole heap, is skipped.
                atexit._run_exitfuncs()
                os._exit(code)
            children.append(pid)
        window = 1.0 if cold else 0.15
        victims = rng.sample(children, rng.randint(1, 3))
        for delay, victim in sorted((rng.uniform(0, window), victim) for victim in victims):
            time.sleep(max(0.0, delay - (time.monotonic() - forked)))
            os.kill(victim, signal.SIGKILL)
        killed, failed = 0, []
        deadline = time.monotonic() + 120
        pending = set(children)
        while pending:
            for pid in list(pending):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    pending.discard(pid)
                    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                        killed += 1
                    elif os.waitstatus_to_exitcode(status) != 0:
                        failed.append(pid)
            if pending and time.monotonic() > deadline:
                for pid in pending:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    failed.append(pid)
                break
            time.sleep(0.02)
        seconds = round(time.monotonic() - began, 2)
        result = {"round": number, "cold": cold, "killed": killed, "failed": failed}
        print("ROUND", json.dumps({**result, "seconds": seconds}))
        sys.stdout.flush()
"""


def stop_server(pgdata: Path) -> None:
    python(LOAD, STOP, pgdata=pgdata)


def start_and_query(pgdata: Path) -> int:
    """Start or attach in a fresh process, query, and return the postmaster's pid."""
    return int(python(LOAD, START_AND_QUERY, pgdata=pgdata).splitlines()[-1])


@pytest.fixture(scope="module")
def pgdata():
    """One cluster for the module, stopped and removed at the end.

    Not under pytest's basetemp: as root the server runs as a user of its own, and every pytest
    session (other checkouts' too) makes that tree private again.
    """
    parent = Path(tempfile.mkdtemp(prefix="memdash-embedded-starts-"))
    data_dir = parent / "pg"
    try:
        start_and_query(data_dir)
        yield data_dir
    finally:
        stop_server(data_dir)
        assert not postmaster_alive(data_dir)
        shutil.rmtree(parent, ignore_errors=True)


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def postmaster_alive(data_dir: Path) -> bool:
    pid = postmaster_pid(data_dir)
    if pid is None:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def handle_list(data_dir: Path) -> list[int]:
    pids = json.loads((data_dir / ".handle_pids.json").read_text())
    assert isinstance(pids, list) and all(isinstance(pid, int) for pid in pids), pids
    return pids


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_concurrent_starts_with_random_kills_never_break_a_later_start(pgdata):
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(LOAD) + textwrap.dedent(ROUNDS_SCRIPT)]
        + [str(pgdata), str(ROUNDS), str(PROCESSES), str(SEED)],
        cwd=ROOT,
        env=child_env(pgdata),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    results = [
        json.loads(line.removeprefix("ROUND "))
        for line in done.stdout.splitlines()
        if line.startswith("ROUND ")
    ]
    print("\n".join(line for line in done.stdout.splitlines() if line.startswith("ROUND ")))
    kills = sum(result["killed"] for result in results)
    print(
        f"\n{ROUNDS} rounds of {PROCESSES} concurrent starts (seed {SEED}): {kills} processes "
        f"SIGKILLed, {sum(r['cold'] for r in results)} cold rounds, "
        f"{time.monotonic() - began:.1f} s"
    )
    assert len(results) == ROUNDS
    # Every process that was not killed started (or attached) and answered its query.
    assert [r for r in results if r["failed"]] == [], done.stderr[-5000:]
    assert kills > 0

    # Afterwards a clean process, through Django as manage.py would, starts and queries.
    answer = python(
        """
        import django
        django.setup()
        from django.db import connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            print(cursor.fetchone()[0])
        """,
        pgdata=pgdata,
    )
    assert answer == "1"
    assert all(psutil.pid_exists(pid) for pid in handle_list(pgdata))


@pytest.mark.parametrize(
    "content",
    [None, "", "[12, 34", "\x00garbage{", '{"pids": [1]}', '["1"]'],
    ids=["missing", "empty", "truncated", "garbage", "not-a-list", "not-pids"],
)
@pytest.mark.parametrize("server", ["running", "stopped"])
def test_a_damaged_handle_file_is_replaced(pgdata, content, server):
    if server == "stopped":
        stop_server(pgdata)
    handles = pgdata / ".handle_pids.json"
    if content is None:
        handles.unlink(missing_ok=True)
    else:
        handles.write_text(content)
    start_and_query(pgdata)
    assert handle_list(pgdata) == []  # the process detached on exit


def test_dead_pids_in_the_handle_file_are_dropped(pgdata):
    dead = [dead_pid(), dead_pid()]
    (pgdata / ".handle_pids.json").write_text(json.dumps(dead))
    attached = python(
        LOAD,
        START_AND_QUERY,
        "import json, os",
        "print(os.getpid(), json.loads((data_dir / '.handle_pids.json').read_text()))",
        pgdata=pgdata,
    )
    pid, listed = attached.splitlines()[-1].split(" ", 1)
    assert listed == f"[{pid}]"  # attached, and the dead pids are gone
    assert handle_list(pgdata) == []


def test_a_killed_postmaster_leaves_a_stale_pid_file_that_the_next_start_replaces(pgdata):
    old = start_and_query(pgdata)
    postmaster = psutil.Process(old)
    postmaster.send_signal(signal.SIGKILL)
    psutil.wait_procs([postmaster], timeout=30)
    assert (pgdata / "postmaster.pid").exists()  # stale: names a dead process
    assert not postmaster_alive(pgdata)

    new = start_and_query(pgdata)
    assert new != old
    assert postmaster_alive(pgdata)


def test_a_pid_file_naming_a_process_that_is_no_postmaster_is_replaced(pgdata):
    stop_server(pgdata)
    # What a reboot or a container restart leaves: the old pid now belongs to someone else.
    stranger = subprocess.Popen(["sleep", "120"])
    try:
        lines = [
            str(stranger.pid),
            str(pgdata),
            "1700000000",
            "5432",
            str(pgdata),
            "",
            "0 0",
            "ready",
        ]
        (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
        new = start_and_query(pgdata)
        assert new != stranger.pid
        assert postmaster_alive(pgdata)
    finally:
        stranger.kill()
        stranger.wait()
