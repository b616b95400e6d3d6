"""Incremental cost of the index refresh: a full refresh of N synthetic listings, then a refresh
where 1% of them changed. Prints both times and their ratio (the goal: under 10%).

Both refreshes go through the real path, `jiebang.pipeline.refresh_index` on a DuckDB
warehouse: listings are upserted with the loader's last_changed, and the second refresh segments
only what changed since the index's watermark. Figures are printed, never asserted.

    python -m jiebang.bench_refresh --n 200000          # ../shared/data/real is recombined
"""

from __future__ import annotations

import argparse
import shutil
import time
from datetime import timedelta
from pathlib import Path

from jiebang.bench import load_pools, synthetic_listings
from jiebang.pipeline import open_warehouse, refresh_index
from matching.engine import Listing
from warehouse import store

CHANGED_SHARE = 0.01


def _rows(listings: list[Listing], changed_at) -> list[tuple]:
    return [(item.listing_id, "patent", item.title, item.abstract, f"bench://{item.listing_id}", "bench", "bench",
             str(hash((item.title, item.abstract))), changed_at, changed_at, changed_at) for item in listings]


def _write(warehouse, rows: list[tuple]) -> None:
    """Upsert listings as the loader leaves them (active, one source, last_changed set)."""
    warehouse.executemany(
        "INSERT INTO listings (listing_id, kind, title, abstract, url, source, sources, content_hash, first_seen, "
        "last_seen, last_changed, active) VALUES (?, ?, ?, ?, ?, ?, [?], ?, ?, ?, ?, TRUE) ON CONFLICT (listing_id) DO UPDATE SET "
        "title = EXCLUDED.title, abstract = EXCLUDED.abstract, content_hash = EXCLUDED.content_hash, last_seen = EXCLUDED.last_seen, "
        "last_changed = EXCLUDED.last_changed", rows)


def run(n: int, workdir: Path, real: Path, seed: int = 7) -> dict:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    warehouse = open_warehouse(workdir / "bench.duckdb", 60)
    listings = synthetic_listings(load_pools(real), n, seed)
    start = store.now_utc()
    _write(warehouse, _rows(listings, start))

    began = time.perf_counter()
    full = len(refresh_index(warehouse, workdir / "index"))
    full_seconds = time.perf_counter() - began

    changed = listings[:: max(1, round(1 / CHANGED_SHARE))]
    edited = [Listing(item.listing_id, item.title + "（改进型）", item.abstract + "新增一种改进的实施方式。")
              for item in changed]
    _write(warehouse, _rows(edited, start + timedelta(seconds=1)))

    began = time.perf_counter()
    refresh_index(warehouse, workdir / "index")
    incremental_seconds = time.perf_counter() - began
    return {"listings": full, "changed": len(edited), "full_seconds": full_seconds,
            "incremental_seconds": incremental_seconds, "ratio": incremental_seconds / full_seconds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="synthetic listings")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench_refresh"))
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    args = parser.parse_args(argv)
    figures = run(args.n, args.workdir, args.real)
    print(f"listings {figures['listings']:,}, changed {figures['changed']:,} (1%)")
    print(f"full refresh        {figures['full_seconds']:8.2f} s")
    print(f"incremental refresh {figures['incremental_seconds']:8.2f} s")
    print(f"ratio               {figures['ratio']:8.1%}  (goal < 10%)")


if __name__ == "__main__":
    main()
