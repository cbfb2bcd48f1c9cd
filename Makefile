# pedidos-bot: `make run` brings the whole system up, `make test` runs every test.
# Every Python package comes from uv.lock and from nothing else (`uv sync --locked`).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# uv itself, at the version pyproject.toml requires ([tool.uv] required-version), in a venv of
# its own so that the project's venv holds exactly the lock.
UV_VERSION := $(shell sed -n 's/^required-version = "==\(.*\)"/\1/p' pyproject.toml)
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
# The project's venv is $(VENV); never download a Python, use the machine's python3.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3
export UV_LINK_MODE := copy

.PHONY: run migrate migrate-redis backup restore test test-containers lint typecheck bench setup sync lock system-deps clean

setup: system-deps sync

$(UV):
	python3 -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'

# Cheap when nothing changed (well under a second); makes the venv exactly the lock: adds what is
# missing, fixes versions, removes what the lock does not list.
sync: $(UV)
	@$(UV) sync --locked --quiet

# Regenerate uv.lock on purpose: after changing a pin in pyproject.toml, or with UPGRADE=1 to
# move every unpinned transitive dependency to its newest release.
lock: $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade)

# redis-server (and Chromium for the browser tests) come from Debian's packages.
system-deps:
	@bash scripts/system-deps.sh

run: sync
	@WITH_CHROMIUM=0 WITH_TEST_TOOLS=0 bash scripts/system-deps.sh
	@$(PY) -m scripts.run

# The database's schema to this code's version (Alembic, migrations/): `make run` does it first,
# every process refuses to start on another version. DATABASE_URL unset: SQLite under var/.
migrate: sync
	@$(PY) -m scripts.migrate

# The upgrade from round two: copy the orders of the old Redis order store (REDIS_URL) into the
# database, once each; safe to run again (README, "Upgrading").
migrate-redis: sync
	@$(PY) -m scripts.migrate_redis

# A verified backup of the database now, into BACKUP_DIR (beat takes one daily at BACKUP_AT).
backup: sync
	@$(PY) -m scripts.backup

# `make restore BACKUP=var/backups/pedidos-….sqlite3`: into an empty database only; FORCE=1
# replaces a database that holds rows. Stop the bot and the workers first.
restore: sync
	@$(PY) -m scripts.restore "$(BACKUP)" $(if $(filter 1 yes true,$(FORCE)),--force)

# Three modules at a time, each whole in one process (a module's system of Redis, workers and
# bot stays together): the end-to-end tests mostly wait on real processes (the CPU is busy
# about 40% of the time with two), so three at once cut the wall time on two cores by a third.
# TEST_JOBS=0 runs them one after another.
TEST_JOBS ?= 3
test: setup
	$(PY) -m pytest -q --durations=15 $(if $(filter 0,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)

# The image built from the lock and docker-compose.yml run for real under Podman, with the
# sandbox as Telegram (tests/containers). Installs Podman and makes local base images first.
test-containers: sync
	@bash tests/containers/prepare.sh
	PEDIDOS_TEST_CONTAINERS=1 $(PY) -m pytest -q tests/containers

lint: sync
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy .

bench: setup
	$(PY) -m bench

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
