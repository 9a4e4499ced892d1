# Rapport — the two commands that matter: `make run` and `make test`.
# A fresh machine needs nothing but python3.11 and this file: the venv,
# Python deps (pinned by constraints.txt), system packages and services are
# set up here.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PG_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
export RAPPORT_TEST_PG_ADMIN_URL ?= $(PG_ADMIN_URL)

WEB_SRC := src/rapport/web/frontend
WEB_BUILD := build/web
WEB_STAMP := $(WEB_BUILD)/.installed

.PHONY: run test install lint typecheck pytest-sqlite pytest-postgresql services bench lock clean migration web-assets browser reliability fuzz bench-scale models eval

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

## web-assets: the UI's npm packages (htmx, Chart.js, Swagger UI), pinned by the lock file,
## installed into build/web and served by the app from there (never a CDN, never committed)
$(WEB_STAMP): $(WEB_SRC)/package.json $(WEB_SRC)/package-lock.json
	mkdir -p $(WEB_BUILD)
	cp $(WEB_SRC)/package.json $(WEB_SRC)/package-lock.json $(WEB_BUILD)/
	cd $(WEB_BUILD) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

web-assets: $(WEB_STAMP)

## browser: Debian's Chromium for the UI tests (Playwright drives it; no browser download)
browser:
	@test -x /usr/bin/chromium || { \
		echo "installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

## run: install, migrate the SQLite database, load the demo, print the demo admin login,
## serve the UI and API on http://127.0.0.1:8000
run: install web-assets
	$(BIN)/rapport db upgrade
	$(BIN)/rapport demo load
	$(BIN)/rapport users ensure-demo-admin
	@echo "open http://$(HOST):$(PORT)/login"
	$(BIN)/rapport serve --host $(HOST) --port $(PORT)

## services: make sure PostgreSQL, RabbitMQ and Redis are up (the distributed and fault tests use them)
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; pg_isready -h 127.0.0.1 -p 5432
	@command -v rabbitmq-server >/dev/null && command -v redis-server >/dev/null || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server redis-server)
	@rabbitmqctl -q await_startup --timeout 5 >/dev/null 2>&1 || rabbitmqctl -q start_app >/dev/null 2>&1 || rabbitmq-server -detached
	@rabbitmqctl -q await_startup --timeout 90 >/dev/null 2>&1 || echo "warning: RabbitMQ is not up; the worker tests will start it"
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

pytest-sqlite: install web-assets browser
	RAPPORT_TEST_DB=sqlite $(BIN)/pytest -p no:cacheprovider

pytest-postgresql: install services web-assets browser
	RAPPORT_TEST_DB=postgresql $(BIN)/pytest -p no:cacheprovider

## test: lint, type-check, and the suite on SQLite then on PostgreSQL, each over the cores (pytest-xdist)
## (logs in build/test-logs/; the tests that use no database run in the SQLite run)
test: install services lint typecheck web-assets browser
	bash scripts/test-both-databases

bench: install services web-assets
	$(BIN)/rapport bench

## bench-scale: the million-message suite (ingest + thread, SQLite in-process, PostgreSQL with 1 and 2 workers)
bench-scale: install services
	$(BIN)/rapport bench --scale --only scale --size 1000000

## reliability: the fault suite (kill -9, broker restart, dropped connections, property tests), on both databases
reliability: install services
	RAPPORT_TEST_DB=sqlite $(BIN)/pytest -p no:cacheprovider -q tests/reliability
	RAPPORT_TEST_DB=postgresql $(BIN)/pytest -p no:cacheprovider -q tests/reliability

## fuzz: a longer, randomised run of the property tests and parser fuzzing
fuzz: install
	RAPPORT_PROPERTY_RANDOM=1 RAPPORT_PROPERTY_EXAMPLES=400 RAPPORT_FUZZ_EXAMPLES=20000 \
		$(BIN)/pytest -p no:cacheprovider -q tests/reliability/test_fuzz.py tests/reliability/test_importer_properties.py

## models: retrain every shipped analysis model from ../shared/data (fixed seeds; see MODEL_CARD.md)
models: install
	$(BIN)/python -m rapport.analysis.training

## eval: measure every model on held-out data; prints the table, writes docs/EVALUATION.md
eval: install
	$(BIN)/rapport eval

## lock: re-pin every dependency after changing pyproject.toml
lock: | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

## migration: m="what changed" — autogenerate an Alembic revision
migration: install
	rm -f /tmp/rapport-migration.db
	RAPPORT_DATABASE_URL=sqlite:////tmp/rapport-migration.db $(BIN)/rapport db upgrade
	RAPPORT_DATABASE_URL=sqlite:////tmp/rapport-migration.db $(BIN)/alembic revision --autogenerate -m "$(m)"

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache
