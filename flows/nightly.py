"""The nightly refresh: crawl every source, load into the warehouse, match open challenges."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task

from crawlers.runner import CrawlOutput
from jiebang import pipeline
from jiebang.errors import CrawlFailed
from jiebang.settings import Settings, SourceSettings
from warehouse import store


@task(retries=2, retry_delay_seconds=[5, 30], task_run_name="crawl-{source.name}")
def crawl(source: SourceSettings, settings: Settings, out_dir: Path) -> CrawlOutput:
    return pipeline.crawl(settings, source, out_dir)


@task(task_run_name="load-{output.source}")
def load(settings: Settings, output: CrawlOutput, run_id: str) -> dict:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return pipeline.load_crawl(warehouse, output, run_id)


@task
def match(settings: Settings, run_id: str, today: date) -> dict:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return pipeline.match_open_challenges(warehouse, run_id, today=today, top_k=settings.match_top_k,
                                          index_dir=settings.index_dir)


@flow(name="nightly-refresh", log_prints=True)
def nightly_refresh(config_file: str | None = None, today: date | None = None) -> dict:
    """Crawl → validate and load → match → record the run. Settings come from the environment
    (JIEBANG_*) and the optional TOML config file.

    A source that cannot be crawled does not stop the others: the run loads and matches what it
    has, records the failure per source, and then fails so that someone looks."""
    settings = Settings.load(os.environ, Path(config_file) if config_file else None)
    logger = get_run_logger()
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    run_id = store.start_run(warehouse, "nightly-refresh")
    stats: dict = {"sources": {}}
    try:
        out_dir = settings.data_dir / run_id
        crawl_with_retries = crawl.with_options(retries=settings.crawl_retries)
        crawls = crawl_with_retries.map(list(settings.sources), settings=settings, out_dir=out_dir)
        failed = {}
        for source, future in zip(settings.sources, crawls):
            try:
                output = future.result()
            except CrawlFailed as exc:
                failed[source.name] = stats["sources"][source.name] = {"error": str(exc)}
                continue
            stats["sources"][source.name] = load(settings, output, run_id)
        stats["matching"] = match(settings, run_id, today or date.today())
    except Exception as exc:
        store.finish_run(warehouse, run_id, stats, error=str(exc)[:2000])
        raise
    if failed:
        message = f"{len(failed)} 个来源爬取失败 (sources failed): " + "; ".join(f["error"] for f in failed.values())
        store.finish_run(warehouse, run_id, stats, error=message[:2000])
        raise CrawlFailed(message)
    store.finish_run(warehouse, run_id, stats)
    logger.info("run %s: %s", run_id, stats["matching"])
    return {"run_id": run_id, **stats}
