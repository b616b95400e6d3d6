# The two commands of the README: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false

.PHONY: demo test check check-types check-tests install system-deps

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/jiebang demo

# Chromium and a CJK font for the browser tests (apt-get as root; else one line naming them).
# First, so a machine that lacks them stops before the long install, not in a Playwright trace.
system-deps:
	@bash scripts/system-deps.sh

test: system-deps install
	$(BIN)/python -m pytest -q

# The fast lane (~5 min on 2 cores on a fresh clone with 1,508 tests; 79 s before issues 14–17): lint and format, then types and the unit and integration
# tests side by side (a cold mypy cache alone is ~25 s, most of it waiting on one core). `make test`
# runs the whole suite, system tests (Prefect, Dask, Chromium…) included.
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: compiling every module (and
# pytest's rewrite of its plugins) afresh in each worker costs seconds of the lane.
check: export PYTHONDONTWRITEBYTECODE =
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) --no-print-directory -j2 check-types check-tests

check-types:
	$(BIN)/mypy

check-tests: export PYTHONDONTWRITEBYTECODE =
check-tests:
	$(BIN)/python -m pytest -q -m "unit or integration" -n auto
