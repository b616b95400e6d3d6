"""Test lanes, for every test pytest collects (tests/ and the libraries' docstring examples).

Each test carries exactly one lane mark, by what it needs:
  unit         nothing but Python and files in the repository
  integration  DuckDB files, local HTTP servers, Scrapy crawls of the replay site, Streamlit AppTest
  system       a Prefect server or test harness, Dask, Chromium, SIGKILL, benchmark smoke runs
`make check` runs `-m "unit or integration"`; `make test` runs everything.
"""

from __future__ import annotations

import pytest
from _pytest.doctest import DoctestItem

LANES = ("unit", "integration", "system")

# The benchmark scripts are programs with no docstring examples; tests/test_bench*.py run them.
collect_ignore_glob = ["devtools/bench*.py"]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: doctests need their lane first
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked, ambiguous = [], []
    for item in items:
        if isinstance(item, DoctestItem):
            item.add_marker(pytest.mark.unit)
        lanes = {mark.name for mark in item.iter_markers() if mark.name in LANES}
        if not lanes:
            unmarked.append(item.nodeid)
        elif len(lanes) > 1:
            ambiguous.append(f"{item.nodeid} ({', '.join(sorted(lanes))})")
    if unmarked or ambiguous:
        raise pytest.UsageError(
            "every test needs exactly one lane mark (pytest.mark.unit, .integration or .system; see conftest.py):\n  "
            + "\n  ".join([*(f"no lane: {n}" for n in unmarked), *(f"several lanes: {n}" for n in ambiguous)])
        )
