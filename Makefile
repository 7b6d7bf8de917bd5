# memdash: `make run` starts everything, `make test` runs every check. Both set themselves up.
# `make check` is the fast loop: lint (types included) and the tests that need no browser or SDK.
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
UV := $(VENV)/bin/uv
PORT ?= 8000
SDK := .sdk
SDK_PY := $(SDK)/py-mem0-1.0.11
# The Python sources lint and type checks look at (not the SDKs' and browsers' own trees).
SOURCES := memdash core audit tenancy entities memories bench testkit tests manage.py
TEMPLATES := $(shell find templates -name '*.html')
TYPED := memdash core audit tenancy entities memories bench testkit manage.py

.PHONY: install sdk browsers run worker test check lint types bench bench-load bench-retrieval locks clean-db db-stop

install: $(VENV)/.installed

# The development lock: the runtime lock's pins plus the test, lint and type tools (both hashed).
$(VENV)/.installed: requirements-dev.lock
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) pip sync -q --require-hashes --python $(PYTHON) requirements-dev.lock
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

# One Celery worker of its own (`make run` already starts one, with beat).
worker: install
	$(VENV)/bin/celery -A memdash worker --loglevel INFO --concurrency $${CELERY_CONCURRENCY:-2}

# Style, formatting, template formatting, migrations in step with the models, and types.
lint: install types
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check $(SOURCES)
	$(VENV)/bin/djade --target-version 5.2 --check $(TEMPLATES)
	$(PYTHON) manage.py makemigrations --check --dry-run

types: install
	$(VENV)/bin/mypy $(TYPED)

# The fast loop: lint and types, then every test but the browser and SDK suites.
check: lint
	$(VENV)/bin/pytest -m "not sdk and not browser" $(PYTEST_ARGS)

test: install sdk browsers lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py benchmark $(BENCH_ARGS)

# LoCoMo evidence recall of search (no LLM). The data stays outside the repository (licence).
LOCOMO ?= ../shared/data/locomo-dev.json
bench-retrieval: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py benchmark_retrieval --locomo $(LOCOMO) $(BENCH_ARGS)

# N concurrent API clients against gunicorn (bench/load.py): requests/s, latencies, lost writes.
bench-load: install
	$(PYTHON) manage.py migrate --noinput
	$(PYTHON) manage.py benchmark_load $(LOAD_ARGS)

# Re-pin both locks from pyproject.toml. uv keeps the versions an output file already holds, and
# the dev lock takes the runtime lock's versions, so the image and the tests run the same code.
locks: install
	$(UV) pip compile -q pyproject.toml -o requirements.lock --generate-hashes \
		--python-version 3.11 --custom-compile-command "make locks"
	$(UV) pip compile -q pyproject.toml --extra dev -o requirements-dev.lock --generate-hashes \
		--python-version 3.11 -c requirements.lock --custom-compile-command "make locks"

# Stop the embedded PostgreSQL now (a one-off manage.py command leaves it running; `make run`
# and test runs stop it themselves). clean-db is its older name.
db-stop: install
	$(PYTHON) -m memdash.embedded_db stop

clean-db: db-stop
