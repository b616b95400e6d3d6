"""The nightly refresh: crawl every source, load into the warehouse, match open challenges."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from crawlers.runner import CrawlOutput
from jiebang import digest, pipeline, run_report
from jiebang.errors import JiebangError
from jiebang.run_lock import refresh_lock
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


@task
def notify(settings: Settings, run_id: str) -> dict:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return digest.notify(warehouse, settings, run_id)


@task
def publish_report(run_id: str, status: str, stats: dict) -> str:  # the artifact id
    return str(create_markdown_artifact(run_report.report_markdown(run_id, status, stats), key="nightly-refresh-report",
                                        description=f"nightly refresh {run_id}: {status}"))


FLOW_NAME = "nightly-refresh"


@flow(name=FLOW_NAME, log_prints=True)
def nightly_refresh(config_file: str | None = None, today: date | None = None) -> dict:
    """Crawl → validate and load → match → notify → record the run and its report. Settings come
    from the environment (JIEBANG_*) and the optional TOML config file.

    One refresh at a time per warehouse (RefreshRunning otherwise). A source that cannot be
    crawled does not stop the others: the run loads and matches what it has and ends 'partial',
    naming the source and its error; the flow itself succeeds, and the next run tries the source
    again. Runs left 'running' by a killed process are marked 'interrupted'."""
    settings = Settings.load(os.environ, Path(config_file) if config_file else None)
    logger = get_run_logger()
    with refresh_lock(settings.warehouse_path) as lock:
        warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
        interrupted = store.mark_interrupted(warehouse, FLOW_NAME)
        run_id = store.start_run(warehouse, FLOW_NAME, pid=os.getpid())
        lock.note_run(run_id)
        stats: dict = {"sources": {}, "interrupted_runs": interrupted}
        try:
            out_dir = settings.data_dir / run_id
            crawl_with_retries = crawl.with_options(retries=settings.crawl_retries)
            crawls = crawl_with_retries.map(list(settings.sources), settings=settings, out_dir=out_dir)
            for source, future in zip(settings.sources, crawls):
                try:
                    output = future.result()
                except JiebangError as exc:  # this source only; the next run tries it again
                    stats["sources"][source.name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
                    logger.warning("source %s failed: %s", source.name, exc)
                    continue
                stats["sources"][source.name] = load(settings, output, run_id)
            stats["matching"] = match(settings, run_id, today or date.today())
            stats["notify"] = notify(settings, run_id)
        except BaseException as exc:
            store.finish_run(warehouse, run_id, stats, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        status = run_report.run_status(stats)
        failed = run_report.failed_sources(stats)
        error = ("; ".join(f"{name}: {message}" for name, message in failed.items()))[:2000] or None
        store.finish_run(warehouse, run_id, stats, error=error, status=status)
    publish_report(run_id, status, stats)
    logger.info("run %s %s: %s", run_id, status, stats["matching"])
    return {"run_id": run_id, "status": status, **stats}
