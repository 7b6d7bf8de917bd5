# memdash: `make run` starts everything, `make test` runs every check. Both set themselves up.
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
SDK := .sdk
SDK_PY := $(SDK)/py-mem0-1.0.11

.PHONY: install sdk browsers run worker test lint bench clean-db

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) pip sync -q --python $(PYTHON) requirements.lock
	touch $@

# The official clients the compatibility tests drive: mem0ai 1.0.11 (seed era) in its own
# virtualenv, and the npm package. (mem0ai 2.x is in the main environment.)
sdk: $(SDK)/.installed

$(SDK)/.installed: tests/sdk/requirements-mem0-1.0.11.txt tests/sdk/js/package-lock.json | install
	test -x $(SDK_PY)/bin/python || $(PY) -m venv $(SDK_PY)
	$(UV) pip sync -q --python $(SDK_PY)/bin/python tests/sdk/requirements-mem0-1.0.11.txt
	cd tests/sdk/js && npm ci --legacy-peer-deps --no-audit --no-fund --loglevel=error
	mkdir -p $(SDK) && touch $@

# Headless Chromium for the dashboard's browser tests (Playwright cannot download one here).
browsers:
	@test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

run: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py collectstatic --noinput -v0
	$(PYTHON) manage.py setup_demo --port $(PORT)
	PORT=$(PORT) bash scripts/run.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PYTHON) manage.py makemigrations --check --dry-run

test: install sdk browsers lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py benchmark $(BENCH_ARGS)

# Stop the embedded PostgreSQL if a killed process left it running.
clean-db: install
	$(PYTHON) -c "from memdash.embedded_db import stop; stop()"
