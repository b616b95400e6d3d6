"""The benchmarks run end to end at a small size and report figures that add up."""

import pytest

from devtools.bench import load_pools, run_bench, synthetic_challenges, synthetic_listings
from devtools.bench_report import render
from tests.conftest import SHARED

pytestmark = pytest.mark.system

REAL = SHARED / "data" / "real"


def test_recombined_corpus_is_realistic_and_reproducible():
    pools = load_pools(REAL)
    assert len(pools.titles) > 20_000 and len(pools.sentences) > 10_000
    first, again = synthetic_listings(pools, 50, seed=1), synthetic_listings(pools, 50, seed=1)
    assert first == again
    assert all(len(listing.abstract) >= 260 and listing.title for listing in first)
    assert any(set("係統裝") & set(listing.title) for listing in synthetic_listings(pools, 3000, seed=1))
    assert len({c.challenge_id for c in synthetic_challenges(pools, 20, seed=2)}) == 20


def test_small_bench_reports_every_phase(tmp_path):
    figures = run_bench(2_000, 20, tmp_path, REAL, compare=True, backend="numpy")
    assert figures["serve"]["matches"] == figures["serve"]["stored"] == 20 * 50  # the nightly's path, stored
    assert set(figures["firm"]) == {"numpy", "numba"}
    assert all(0 < f["warm_seconds"] and 0 < f["cold_seconds"] for f in figures["firm"].values())
    assert figures["add"]["listings"] == 2_000 + 10_000
    assert figures["build"]["peak_rss_mb"] > 0 and figures["serve"]["seconds"] > 0
    text = render(figures)
    assert "N = 2,000 listings" in text and "add 10,000 listings" in text
    assert "a firm waits (numpy): post → 20 matches stored" in text
    assert "Tantivy" in text and "DuckDB SQL BM25" in text and figures["compare"]["bm25s_numba_query_seconds"] > 0


def test_the_broker_benchmark_runs_at_a_tiny_size(tmp_path):
    """devtools.bench_broker is a script, not a test; this only keeps it working."""
    from devtools.bench_broker import run

    figures = run(tmp_path / "bench.duckdb", 60, 2_000, 5, 1)
    names = [name for name, _, _ in figures]
    assert "match page (10 cards + notes)" in names and "broker page rerun (all its service calls)" in names
    assert all(median > 0 for _, median, _ in figures)
