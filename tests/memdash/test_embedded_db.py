"""The embedded PostgreSQL: started on a process's first connection, and who stops it.

Each case runs fresh Python processes, as `manage.py`, gunicorn, a Celery worker or a test run
would start, on a data directory of this module's own (see memdash.embedded_db for the rules).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

QUERY = """
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    from django.conf import settings
    print(open(settings.MEMDASH_PGDATA / "postmaster.pid").readline().strip())
"""


def env_for(pgdata: Path, *, test_run: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "MEMDASH_PGDATA": str(pgdata),
        "MEMDASH_PG_SHARED_BUFFERS": "32MB",
        "DJANGO_SETTINGS_MODULE": "memdash.settings",
    }
    env.pop("DATABASE_URL", None)
    if not test_run:
        # A process of its own, like `manage.py` from a shell.
        env.pop("MEMDASH_DB_STOP_ON_EXIT", None)
    return env


def run(code: str, pgdata: Path, *, test_run: bool = False) -> str:
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    return command([sys.executable, "-c", script], pgdata, test_run=test_run)


def command(argv: list[str], pgdata: Path, *, test_run: bool = False, code: int = 0) -> str:
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=env_for(pgdata, test_run=test_run),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == code, done.stdout + done.stderr
    return done.stdout.strip()


def db_command(action: str, pgdata: Path, code: int = 0) -> str:
    """`python -m memdash.embedded_db <action>`, what `make db-stop` runs."""
    return command([sys.executable, "-m", "memdash.embedded_db", action], pgdata, code=code)


def running_postmaster(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        alive = psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (FileNotFoundError, IndexError, ValueError, psutil.NoSuchProcess):
        return None
    return pid if alive else None


@pytest.fixture(scope="module")
def pgdata():
    """One cluster for the module (initdb is slow), stopped and removed at the end.

    Not under pytest's basetemp: as root the server runs as a user of its own, and every pytest
    session makes that tree private again.
    """
    parent = Path(tempfile.mkdtemp(prefix="memdash-embedded-db-"))
    try:
        yield parent / "pg"
    finally:
        if running_postmaster(parent / "pg"):
            db_command("stop", parent / "pg")
        shutil.rmtree(parent, ignore_errors=True)


def test_loading_settings_starts_no_database(tmp_path):
    pgdata = tmp_path / "pg"
    host = run(
        "from django.conf import settings\nprint(settings.DATABASES['default']['HOST'])", pgdata
    )
    assert host == str(pgdata)  # where the server will listen, known without starting it
    assert not pgdata.exists()  # not even created


def test_a_one_off_command_leaves_the_server_running_until_db_stop(pgdata):
    # Any command that connects (`manage.py check` does not: it needs no database).
    command([sys.executable, "manage.py", "showmigrations"], pgdata)
    assert (pgdata / "PG_VERSION").exists()
    started = running_postmaster(pgdata)
    assert started  # the command's first connection started it, and its exit left it up

    # The next process (a server of one's own) finds the same server up.
    assert run(QUERY, pgdata) == str(started)
    assert db_command("status", pgdata).startswith(f"embedded PostgreSQL in {pgdata} is ready")

    assert db_command("stop", pgdata) == f"stopped embedded PostgreSQL in {pgdata}"
    assert running_postmaster(pgdata) is None
    assert "is not running" in db_command("status", pgdata, code=3)
    assert db_command("stop", pgdata) == f"embedded PostgreSQL in {pgdata} is not running"


def test_a_test_run_stops_the_server_it_leaves_unused(pgdata):
    assert running_postmaster(pgdata) is None
    started = run(QUERY, pgdata, test_run=True)
    assert started
    # Its last process to exit was a test run's: nothing else was attached, so it stopped it.
    assert running_postmaster(pgdata) is None


def test_an_owner_leaves_the_server_running_while_another_process_is_attached(pgdata):
    # A long-lived process of its own (a shell, a standalone worker) attaches first.
    ready = tempfile.mktemp(prefix="memdash-attached-")
    neighbour = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django, pathlib, time\ndjango.setup()\n"
            + textwrap.dedent(QUERY)
            + f"\npathlib.Path({ready!r}).touch()\ntime.sleep(300)\n",
        ],
        cwd=ROOT,
        env=env_for(pgdata, test_run=False),
        stdout=subprocess.DEVNULL,
    )
    try:
        while not os.path.exists(ready):
            assert neighbour.poll() is None, "the attached process exited"
            time.sleep(0.2)
        started = running_postmaster(pgdata)
        assert started
        # A test run's process comes and goes: the neighbour still uses the server.
        assert run(QUERY, pgdata, test_run=True) == str(started)
        assert running_postmaster(pgdata) == started
        # `make run`'s exit asks the same: release stops it only once nobody is attached.
        assert "left running" in db_command("release", pgdata)
    finally:
        neighbour.kill()
        neighbour.wait()
        if os.path.exists(ready):
            os.unlink(ready)
    # Killed, it never detached; its dead pid does not hold the server up.
    assert db_command("release", pgdata) == f"stopped embedded PostgreSQL in {pgdata}"
    assert running_postmaster(pgdata) is None
