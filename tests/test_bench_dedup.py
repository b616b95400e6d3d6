"""`python -m devtools.bench_dedup` links planted copies end to end, a full pass and a nightly 1%,
and prints time, peak memory and how many copies it found (figures only: no bound on time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.system
REAL = ROOT.parent / "shared" / "data" / "real"


@pytest.mark.skipif(not REAL.exists(), reason=f"real data absent ({REAL}): the bench recombines it")
def test_the_dedup_benchmark_finds_the_planted_copies_in_a_full_and_a_nightly_pass(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench_dedup", "--n", "3000", "--workdir", str(tmp_path), "--real", str(REAL)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = {
        line.split()[0]: json.loads(line.split(": ", 1)[1]) for line in done.stdout.splitlines() if " N=3,000: " in line
    }
    assert set(figures) == {"full", "nightly"}
    full, nightly = figures["full"], figures["nightly"]
    assert (full["listings"], full["relinked"], full["trained"]) == (3000, 3000, True)
    assert (nightly["relinked"], nightly["trained"]) == (30, False)
    found, planted = map(int, full["copies_found"].split()[0].split("/"))
    assert planted > 300 and found / planted >= 0.95
    assert nightly["copies_found"] == full["copies_found"]  # a changed text does not undo its links
    assert full["peak_rss_mb"] > 0 and set(full["seconds"]) == {"read", "train", "predict", "cluster", "save"}
