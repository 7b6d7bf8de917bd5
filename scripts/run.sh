#!/usr/bin/env bash
# Runs the web server, a Celery worker and Celery beat until Ctrl-C (called by `make run`).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
mkdir -p .celery
pids=()
stop() {
  trap - EXIT INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  # The embedded PostgreSQL's lifetime is this script's (memdash/embedded_db.py): stop it once
  # everything above has exited, unless another process (a shell, a worker) still uses it.
  .venv/bin/python -m memdash.embedded_db release || true
}
trap stop EXIT INT TERM

# Start the embedded PostgreSQL once, before the processes below attach to it.
.venv/bin/python -m memdash.embedded_db start

.venv/bin/celery -A memdash worker --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
  --concurrency "${CELERY_CONCURRENCY:-2}" &
pids+=($!)
# Beat re-queues events whose worker died (run exactly one beat per deployment).
.venv/bin/celery -A memdash beat --loglevel "${CELERY_LOG_LEVEL:-INFO}" --schedule .celery/beat-schedule &
pids+=($!)
# Workers and threads (WEB_CONCURRENCY, WEB_THREADS), timeout, keep-alive and the worker that
# answers gunicorn's own errors in JSON: memdash/gunicorn_conf.py.
.venv/bin/gunicorn memdash.wsgi -c python:memdash.gunicorn_conf --bind "127.0.0.1:${PORT}" \
  --access-logfile - &
pids+=($!)
# Stop everything as soon as any one of them exits.
wait -n "${pids[@]}"
