"""The embedded PostgreSQL starts on a process's first connection, not when settings load.

Each case runs a fresh Python process on a data directory of its own, as `manage.py`, gunicorn
or a Celery worker would start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str, pgdata: Path) -> str:
    env = {
        **os.environ,
        "MEMDASH_PGDATA": str(pgdata),
        "DJANGO_SETTINGS_MODULE": "memdash.settings",
    }
    env.pop("DATABASE_URL", None)
    script = "import django\ndjango.setup()\n" + textwrap.dedent(code)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_loading_settings_starts_no_database(tmp_path):
    pgdata = tmp_path / "pg"
    host = run(
        "from django.conf import settings\nprint(settings.DATABASES['default']['HOST'])", pgdata
    )
    assert host == str(pgdata)  # where the server will listen, known without starting it
    assert not pgdata.exists()  # not even created


def test_the_first_connection_starts_it_and_the_last_process_stops_it(tmp_path):
    pgdata = tmp_path / "pg"
    answer = run(
        """
        from django.db import connection
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            print(cursor.fetchone()[0])
        """,
        pgdata,
    )
    assert answer == "1"
    assert (pgdata / "PG_VERSION").exists()
    # The process that started it was the only one attached: it stopped the server on exit.
    assert not (pgdata / "postmaster.pid").exists()
