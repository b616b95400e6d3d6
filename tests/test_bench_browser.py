"""`python -m devtools.bench_browser` runs end to end in Chromium and prints a median and a max
for every interaction it times (figures only: no wall-clock bound is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from devtools.bench_browser import INTERACTIONS
from tests.conftest import ROOT

pytestmark = pytest.mark.system


def test_the_browser_benchmark_prints_every_interactions_figures(loaded_warehouse_file):
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench_browser", "--warehouse", str(loaded_warehouse_file), "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {}
    for line in done.stdout.splitlines():
        for name in INTERACTIONS:
            if line.startswith(name):
                rows[name] = line[len(name) :].split()
    assert set(rows) == set(INTERACTIONS), done.stdout
    for name, (n, median, worst, *_) in rows.items():
        assert int(n) >= 1 and re.fullmatch(r"\d+", median) and re.fullmatch(r"\d+", worst), (name, done.stdout)
        assert int(median) <= int(worst)
