# pedidos-bot: `make run` brings the whole system up, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench setup system-deps clean

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

# redis-server (and Chromium for the browser tests) come from Debian's packages.
system-deps:
	@bash scripts/system-deps.sh

run: $(STAMP)
	@WITH_CHROMIUM=0 bash scripts/system-deps.sh
	@$(PY) -m scripts.run

test: system-deps $(STAMP)
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy .

bench: setup
	$(PY) -m bench

clean:
	rm -rf var/ .pytest_cache .mypy_cache .ruff_cache
