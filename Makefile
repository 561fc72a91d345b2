# Loom's two commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest services bench clean

# pip's errors still show; its warnings (an unreachable extra index, setuptools' notice
# about editable installs) are noise to someone who only wants Loom running.
PIP    := $(BIN)/pip install --quiet --quiet

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# What running needs: Loom and its runtime dependencies.
$(STAMP): setup.cfg pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $(STAMP)

# What testing adds: the dev extras (pytest, ruff, mypy, Playwright, the API clients...).
$(DEV): $(STAMP)
	$(PIP) -e '.[dev]'
	touch $(DEV)

# Loom on its embedded defaults: SQLite in .loom, the example DAGs, local workers.
run: $(STAMP)
	$(BIN)/loom standalone

services:
	scripts/ensure-services.sh
	scripts/ensure-browser.sh
	scripts/ensure-tools.sh

lint: $(DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV)
	$(BIN)/mypy

# Two test processes: most tests wait on PostgreSQL, Redis or a child process about half
# their time, so two cut the suite's time by a third on two cores (21 to 14 minutes);
# three gained nothing (docs/development.md). TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= 2

pytest: $(DEV) services
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

test: lint typecheck pytest

bench: $(DEV) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .loom .mypy_cache .ruff_cache .pytest_cache
