"""Incremental cost of the whole nightly refresh: a full refresh of N synthetic listings, then a
refresh where 1% of them changed. Prints both times, where they went, and their ratio (the
goal: the incremental run costs under 10% of the full one).

Both runs are the real nightly flow (`flows.nightly.nightly_refresh`, Prefect): Scrapy crawls a
synthetic site served on 127.0.0.1 (`devtools.bench_site`: N patents as Google Patents search
pages → detail pages, and Q open challenges as the tech market's need list) → validation and
load into a fresh DuckDB warehouse → index refresh → matching of the open challenges →
digest and run report. Between the runs the site edits 1% of the patents (list row and detail
page). Without a Prefect server configured (PREFECT_API_URL) the flow runs against Prefect's
temporary test server.

Where the time went comes from the run's own record (`runs.stats`: per source the Scrapy crawl
time and the load time, matching counts) and from Prefect's task runs (wall span per task,
so index refresh + reading challenges = `prepare_matching`, matching = `match_batch` …, with
whatever tasks the flow has). Figures are printed, never asserted.

    python -m devtools.bench_refresh --n 20000 --challenges 50       # ../shared/data/real is recombined
    python -m devtools.bench_refresh --n 200000 --index-only         # only refresh_index, no crawl
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.bench import load_pools, synthetic_listings
from matching.engine import Listing

CHANGED_SHARE = 0.01
# Settings the benchmark's config file sets: the same JIEBANG_* variables would override it.
_CONFIG_KEYS = (
    "warehouse_path",
    "data_dir",
    "index_dir",
    "crawl_delay_seconds",
    "crawl_concurrency",
    "match_top_k",
    "config",
    "source_base_url",
)
_QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


# ---- the whole nightly refresh ----


def write_config(path: Path, workdir: Path, sources_toml: str, *, concurrency: int, top_k: int) -> Path:
    """The benchmark's Jiebang config: its own warehouse, runs and index under `workdir`, no crawl
    delay, the synthetic site's sources."""
    path.write_text(
        f'warehouse_path = "{workdir / "bench.duckdb"}"\ndata_dir = "{workdir / "runs"}"\n'
        f'index_dir = "{workdir / "index"}"\ncrawl_delay_seconds = 0.0\ncrawl_concurrency = {concurrency}\n'
        f"match_top_k = {top_k}\n\n{sources_toml}",
        encoding="utf-8",
    )
    return path


def run(
    n: int,
    workdir: Path,
    real: Path,
    *,
    challenges: int = 50,
    changed_share: float = CHANGED_SHARE,
    concurrency: int = 16,
    top_k: int = 20,
    today: date | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    """Two nightly refreshes through the real flow, the second after `changed_share` of the N
    listings changed on the site. Returns the figures of both runs and their ratio."""
    from devtools.bench_site import SyntheticSite

    workdir = Path(workdir).absolute()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    today = today or date.today()
    figures: dict[str, Any] = {"listings": n, "challenges": challenges}
    with (
        SyntheticSite.build(real, n, challenges, seed=seed, deadline=today + timedelta(days=365)) as site,
        _scoped_env(),
        _prefect(),
    ):
        config = write_config(
            workdir / "bench.toml", workdir, site.sources_toml(), concurrency=concurrency, top_k=top_k
        )
        figures["full"] = _timed_refresh(config, today, site)
        changed = site.change(changed_share)
        figures["changed"] = len(changed)
        figures["incremental"] = _timed_refresh(config, today, site)
    figures["ratio"] = figures["incremental"]["seconds"] / figures["full"]["seconds"]
    return figures


def _timed_refresh(config: Path, today: date, site) -> dict[str, Any]:
    """One nightly refresh, timed from the call to its return, with what the run recorded."""
    from flows.nightly import nightly_refresh
    from warehouse.gateway import Warehouse

    site.reset_counts()
    began_at = datetime.now(UTC)
    began = time.perf_counter()
    result = nightly_refresh(config_file=str(config), today=today)
    seconds = time.perf_counter() - began
    warehouse = Warehouse(Path(config).parent / "bench.duckdb", 60)
    run = warehouse.query(
        "SELECT status, started_at, finished_at, stats FROM runs WHERE run_id = ?", [result["run_id"]]
    )[0]
    stats = json.loads(run["stats"])
    return {
        "seconds": seconds,
        "run_id": result["run_id"],
        "status": run["status"],
        "run_seconds": (run["finished_at"] - run["started_at"]).total_seconds(),
        "sources": stats.get("sources", {}),
        "matching": stats.get("matching", {}),
        "tasks": prefect_task_spans(began_at),
        "served": dict(site.served),
    }


def prefect_task_spans(since: datetime) -> dict[str, dict[str, float]]:
    """Wall span (first start → last end), busy time and count of each task of the flow runs
    started since `since`, by task function (mapped copies together), in order of start."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, FlowRunFilterStartTime

    spans: dict[str, dict[str, Any]] = {}
    with get_client(sync_client=True) as client:
        flow_runs = client.read_flow_runs(
            # validated, not constructed: Prefect's field type is its own DateTime, which pydantic makes of a datetime
            flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime.model_validate({"after_": since}))
        )
        ids = [flow_run.id for flow_run in flow_runs]
        offset, task_runs = 0, []
        while ids:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=200, offset=offset
            )
            task_runs += page
            if len(page) < 200:
                break
            offset += 200
    for task_run in task_runs:
        if task_run.start_time is None or task_run.end_time is None:
            continue
        name = task_run.task_key.rsplit("-", 1)[0]
        span = spans.setdefault(name, {"start": task_run.start_time, "end": task_run.end_time, "busy": 0.0, "count": 0})
        span["start"], span["end"] = min(span["start"], task_run.start_time), max(span["end"], task_run.end_time)
        span["busy"] += (task_run.end_time - task_run.start_time).total_seconds()
        span["count"] += 1
    ordered = sorted(spans.items(), key=lambda item: item[1]["start"])
    return {
        name: {"seconds": (s["end"] - s["start"]).total_seconds(), "busy_seconds": s["busy"], "count": s["count"]}
        for name, s in ordered
    }


@contextlib.contextmanager
def _scoped_env() -> Iterator[None]:
    """Telemetry off, and no JIEBANG_* variable overriding what the benchmark's config sets."""
    saved = dict(os.environ)
    for key in _CONFIG_KEYS:
        os.environ.pop("JIEBANG_" + key.upper(), None)
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _prefect() -> Iterator[None]:
    """The configured Prefect API, or else Prefect's temporary test server for the duration."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    if PREFECT_API_URL.value():
        yield
        return
    with prefect_test_harness(server_startup_timeout=90), temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


def report(figures: dict[str, Any]) -> str:
    """The figures of `run` as the text the command prints."""
    full, inc = figures["full"], figures["incremental"]
    lines = [
        (
            f"## whole nightly refresh: {figures['listings']:,} listings, {figures['challenges']:,} open challenges;"
            f" then {figures['changed']:,} listings changed ({figures['changed'] / max(1, figures['listings']):.0%})"
        ),
        f"{'':44}{'full':>10}{'incremental':>13}",
        f"{'nightly_refresh() call, wall':44}{full['seconds']:9.1f} s{inc['seconds']:11.1f} s",
        f"{'  run as recorded (runs.started → finished)':44}{full['run_seconds']:9.1f} s{inc['run_seconds']:11.1f} s",
        "per source (runs.stats):",
    ]
    for name in full["sources"]:
        a, b = full["sources"][name], inc["sources"].get(name, {})
        for key, label in (("crawl_seconds", "Scrapy crawl"), ("load_seconds", "load")):
            lines.append(f"{f'  {name} {label}':44}{a.get(key, 0):9.1f} s{b.get(key, 0):11.1f} s")
        for key, label in (
            ("pages_fetched", "pages fetched"),
            ("loaded", "loaded"),
            ("skipped_unchanged", "skipped unchanged"),
            ("quarantined", "quarantined"),
        ):
            lines.append(f"{f'  {name} {label}':44}{a.get(key, 0):10,}{b.get(key, 0):13,}")
    lines.append("Prefect tasks (wall span; mapped runs together, crawls of the sources overlap):")
    for name in dict.fromkeys([*full["tasks"], *inc["tasks"]]):
        a, b = full["tasks"].get(name, {}), inc["tasks"].get(name, {})
        count = max(a.get("count", 0), b.get("count", 0))
        label = f"  {name}" + (f" (×{count})" if count > 1 else "")
        lines.append(f"{label:44}{a.get('seconds', 0):9.1f} s{b.get('seconds', 0):11.1f} s")
    a, b = full["matching"], inc["matching"]
    lines.append(
        f"{'matching: challenges / against listings':44}{a.get('challenges', 0):>4} / {a.get('listings', 0):<7,}"
        f"{b.get('challenges', 0):>4} / {b.get('listings', 0):,}"
    )
    lines.append(
        f"{'  matches stored (new)':44}{a.get('matches', 0):>5} ({a.get('new', 0)})"
        f"{'':3}{b.get('matches', 0):>5} ({b.get('new', 0)})"
    )
    lines.append(f"ratio incremental / full {figures['ratio']:8.1%}  (goal < 10%)")
    return "\n".join(lines)


# ---- the index refresh alone (the earlier benchmark) ----


def _rows(listings: list[Listing], changed_at) -> list[tuple]:
    return [
        (
            item.listing_id,
            "patent",
            item.title,
            item.abstract,
            f"bench://{item.listing_id}",
            "bench",
            "bench",
            str(hash((item.title, item.abstract))),
            changed_at,
            changed_at,
            changed_at,
        )
        for item in listings
    ]


def _write(warehouse, rows: list[tuple]) -> None:
    """Upsert listings as the loader leaves them (active, one source, last_changed set)."""
    warehouse.executemany(
        "INSERT INTO listings (listing_id, kind, title, abstract, url, source, sources, content_hash, first_seen, "
        "last_seen, last_changed, active) VALUES (?, ?, ?, ?, ?, ?, [?], ?, ?, ?, ?, TRUE) "
        "ON CONFLICT (listing_id) DO UPDATE SET title = EXCLUDED.title, abstract = EXCLUDED.abstract, "
        "content_hash = EXCLUDED.content_hash, last_seen = EXCLUDED.last_seen, last_changed = EXCLUDED.last_changed",
        rows,
    )


def run_index_only(n: int, workdir: Path, real: Path, seed: int = 7) -> dict:
    """Only `jiebang.pipeline.refresh_index` on a DuckDB warehouse, full then with 1% changed."""
    from jiebang.pipeline import open_warehouse, refresh_index
    from warehouse import store

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
    edited = [
        Listing(item.listing_id, item.title + "（改进型）", item.abstract + "新增一种改进的实施方式。")
        for item in changed
    ]
    _write(warehouse, _rows(edited, start + timedelta(seconds=1)))

    began = time.perf_counter()
    refresh_index(warehouse, workdir / "index")
    incremental_seconds = time.perf_counter() - began
    return {
        "listings": full,
        "changed": len(edited),
        "full_seconds": full_seconds,
        "incremental_seconds": incremental_seconds,
        "ratio": incremental_seconds / full_seconds,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="synthetic listings")
    parser.add_argument("--challenges", type=int, default=50, help="open challenges to match (whole refresh)")
    parser.add_argument("--concurrency", type=int, default=16, help="crawl_concurrency (whole refresh)")
    parser.add_argument("--workdir", type=Path, default=Path("var/bench_refresh"))
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--index-only", action="store_true", help="time only the index refresh (no crawl, load, match)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # before Prefect is imported: only the figures
    if args.index_only:
        figures = run_index_only(args.n, args.workdir, args.real)
        print(f"listings {figures['listings']:,}, changed {figures['changed']:,} (1%)")
        print(f"full index refresh        {figures['full_seconds']:8.2f} s")
        print(f"incremental index refresh {figures['incremental_seconds']:8.2f} s")
        print(f"ratio                     {figures['ratio']:8.1%}  (goal < 10%)")
        return
    figures = run(args.n, args.workdir, args.real, challenges=args.challenges, concurrency=args.concurrency)
    print(report(figures))


if __name__ == "__main__":
    main()
