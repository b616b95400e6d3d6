"""The whole-refresh benchmark at a tiny N: two real nightly flows against the synthetic site, the
second crawling and loading only what changed. Values are checked, never wall-clock limits."""

from __future__ import annotations

import pytest

from devtools import bench_refresh
from devtools.bench_site import MARKET_SOURCE, PATENT_SOURCE
from tests.conftest import SHARED, TODAY
from warehouse.gateway import Warehouse

pytestmark = pytest.mark.system

N, CHALLENGES = 300, 4


def test_incremental_refresh_crawls_and_loads_only_the_changed_listings(prefect_harness, tmp_path):
    figures = bench_refresh.run(N, tmp_path / "bench", SHARED / "data" / "real", challenges=CHALLENGES, today=TODAY)
    full, incremental, changed = figures["full"], figures["incremental"], figures["changed"]
    assert changed == 3  # 1% of 300

    # The first run crawls and loads everything.
    assert full["status"] == "completed"
    patents = full["sources"][PATENT_SOURCE]
    assert patents["listings"]["inserted"] == patents["loaded"] == N
    assert patents["skipped_unchanged"] == patents["quarantined"] == 0
    assert full["sources"][MARKET_SOURCE]["challenges"]["inserted"] == CHALLENGES
    assert full["served"]["patent"] == N and full["served"]["need"] == CHALLENGES

    # The second fetches and loads only the changed detail pages; every other one is skipped.
    assert incremental["status"] == "completed"
    patents = incremental["sources"][PATENT_SOURCE]
    assert patents["loaded"] == patents["listings"]["updated"] == changed
    assert patents["skipped_unchanged"] == N - changed
    assert patents["detail_pages"] == N and patents["quarantined"] == patents["marked_inactive"] == 0
    assert incremental["served"]["patent"] == changed and incremental["served"].get("patent_304", 0) == 0
    market = incremental["sources"][MARKET_SOURCE]
    assert market["loaded"] == 0 and market["skipped_unchanged"] == CHALLENGES
    assert incremental["served"].get("need", 0) == 0

    # The changed text reached the warehouse, and both runs matched every open challenge.
    warehouse = Warehouse(tmp_path / "bench" / "bench.duckdb")
    edited = warehouse.query("SELECT count(*) AS n FROM listings WHERE title LIKE '%（第1代改进型）'")[0]["n"]
    assert edited == changed
    for run in (full, incremental):
        assert run["matching"]["challenges"] == CHALLENGES and run["matching"]["listings"] == N
        assert run["matching"]["matches"] == CHALLENGES * 20

    # Both times and their ratio are reported; Prefect's task runs say where the time went.
    assert full["seconds"] > 0 and incremental["seconds"] > 0
    assert figures["ratio"] == pytest.approx(incremental["seconds"] / full["seconds"])
    assert {"crawl", "load"} <= set(full["tasks"]) and full["tasks"]["crawl"]["count"] == 2
    printed = bench_refresh.report(figures)
    assert f"{figures['ratio']:.1%}" in printed and PATENT_SOURCE in printed
