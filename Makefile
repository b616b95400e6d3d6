# The two commands of the README: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false

.PHONY: demo test install system-deps

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
