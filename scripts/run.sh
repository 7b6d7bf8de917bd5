#!/usr/bin/env bash
# Runs the web server and a Celery worker until Ctrl-C (called by `make run`).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"

.venv/bin/celery -A memdash worker --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
  --concurrency "${CELERY_CONCURRENCY:-2}" &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null || true; wait "$worker" 2>/dev/null || true' EXIT INT TERM

.venv/bin/gunicorn memdash.wsgi --bind "127.0.0.1:${PORT}" \
  --workers "${WEB_CONCURRENCY:-2}" --threads "${WEB_THREADS:-4}" \
  --timeout 120 --access-logfile - &
web=$!
trap 'kill -TERM "$web" "$worker" 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
wait -n "$web" "$worker"
