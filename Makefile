# Loom's two commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest services bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Until the scheduler lands, "running Loom" means: migrate, load the example DAGs into the
# database, list them, and run each one in-process with `loom dags test`.
run: $(STAMP)
	$(BIN)/loom db upgrade
	$(BIN)/loom dags reparse
	$(BIN)/loom dags list
	@for dag in $$($(BIN)/loom dags list --output json | $(BIN)/python -c \
	    'import json, sys; print(" ".join(d["dag_id"] for d in json.load(sys.stdin)))'); do \
	  echo; echo "=== loom dags test $$dag"; \
	  $(BIN)/loom dags test $$dag --retry-delay-scale 0.1 || exit 1; \
	done

services:
	scripts/ensure-services.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) services
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(STAMP) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .loom .mypy_cache .ruff_cache .pytest_cache
