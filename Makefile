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

.PHONY: run test install lint typecheck pytest-sqlite pytest-postgresql services bench lock clean migration models eval

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(STAMP)

## run: install, migrate the SQLite database, load the demo, serve on http://127.0.0.1:8000
run: install
	$(BIN)/rapport db upgrade
	$(BIN)/rapport demo load
	$(BIN)/rapport serve --host $(HOST) --port $(PORT)

## services: make sure PostgreSQL (and the broker, for the distributed tests) are up
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; pg_isready -h 127.0.0.1 -p 5432

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

pytest-sqlite: install
	RAPPORT_TEST_DB=sqlite $(BIN)/pytest -p no:cacheprovider

pytest-postgresql: install services
	RAPPORT_TEST_DB=postgresql $(BIN)/pytest -p no:cacheprovider

## test: lint, type-check, and the whole suite on SQLite and on PostgreSQL
test: install services lint typecheck pytest-sqlite pytest-postgresql

bench: install services
	$(BIN)/rapport bench

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
