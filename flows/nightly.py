"""The nightly refresh: crawl every source, run the configured imports, load into the warehouse,
bring the matching index up to date, match open challenges, notify, report.

The steps run as a subflow on the task runner the settings choose (`task_runner`: threads,
processes or dask; `flows/runners.py`): crawls are one task per source, matching one task per
batch of challenges, or per batch and listing partition (`match_partitions` > 1). Loading and
storing stay in the flow's process: DuckDB has one writer.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture

from crawlers.runner import CrawlOutput
from flows.runners import task_runner_for
from jiebang import digest, matching_run, pipeline, run_report
from jiebang.errors import KNOWN_ERRORS, IndexUnusable
from jiebang.run_lock import refresh_lock
from jiebang.settings import ImportSettings, Settings, SourceSettings
from matching.engine import Challenge, Match, Query
from warehouse import store

FLOW_NAME = "nightly-refresh"


@task(retries=2, retry_delay_seconds=[5, 30], task_run_name="crawl-{source.name}")
def crawl(source: SourceSettings, settings: Settings, out_dir: Path) -> CrawlOutput:
    return pipeline.crawl(settings, source, out_dir)


@task(task_run_name="load-{output.source}")
def load(settings: Settings, output: CrawlOutput, run_id: str) -> dict:
    return pipeline.load_crawl(_warehouse(settings), output, run_id, min_seen_share=settings.min_seen_share)


@task(task_run_name="import-{spec.format}")
def import_file(settings: Settings, spec: ImportSettings, run_id: str) -> dict:
    return pipeline.run_configured_import(_warehouse(settings), spec, run_id)


@task
def prepare_matching(settings: Settings, today: date) -> matching_run.MatchPlan | str:
    """The verified (or rebuilt) index's figures, or, when the index can be neither, the one line
    saying so: a value, not an exception, so the run fails in its record without a traceback."""
    try:
        return matching_run.prepare(
            _warehouse(settings),
            settings.index_dir,
            today=today,
            top_k=settings.match_top_k,
            backend=settings.match_backend,
            segment_size=settings.index_segment_size,
        )
    except IndexUnusable as exc:
        return f"IndexUnusable: {exc}"


@task(task_run_name="match-batch")
def match_batch(plan: matching_run.MatchPlan, batch: list[Challenge]) -> list[Match]:
    return matching_run.match_batch(plan, batch)


@task(task_run_name="plan-batch")
def plan_batch(plan: matching_run.MatchPlan, batch: list[Challenge]) -> list[Query]:
    return matching_run.plan_batch(plan, batch)


@task(task_run_name="retrieve-{partition}")
def retrieve_partition(plan: matching_run.MatchPlan, batch: list[Query], partition: range):
    return matching_run.retrieve_partition(plan, batch, partition)


@task(task_run_name="fuse")
def fuse(hits: list) -> matching_run.Candidates:
    return matching_run.fuse(hits)


@task(task_run_name="rescore-{partition}")
def rescore_partition(
    plan: matching_run.MatchPlan, batch: list[Query], candidates: matching_run.Candidates, partition: range
) -> list:
    return matching_run.rescore_partition(plan, batch, candidates, partition)


@task(task_run_name="rank-batch")
def rank_batch(
    plan: matching_run.MatchPlan, batch: list[Query], candidates: matching_run.Candidates, scored: list
) -> list[Match]:
    return matching_run.rank_batch(plan, batch, candidates, scored)


@task
def store_matches(settings: Settings, run_id: str, plan: matching_run.MatchPlan, matches: list[Match]) -> dict:
    return matching_run.store_matches(_warehouse(settings), run_id, plan, matches)


@task
def notify(settings: Settings, run_id: str) -> dict:
    return digest.notify(_warehouse(settings), settings, run_id)


@task
def publish_report(run_id: str, status: str, stats: dict) -> str:  # the artifact id
    return str(
        create_markdown_artifact(
            run_report.report_markdown(run_id, status, stats),
            key="nightly-refresh-report",
            description=f"nightly refresh {run_id}: {status}",
        )
    )


@flow(name=FLOW_NAME, log_prints=True)
def nightly_refresh(config_file: str | None = None, today: date | None = None) -> dict:
    """Crawl → import → validate and load → index → match → notify → record the run and its
    report. Settings come from the environment (JIEBANG_*) and the optional TOML config file.

    One refresh at a time per warehouse (RefreshRunning otherwise). A source or import that
    fails does not stop the others: the run loads and matches what it has and ends 'partial',
    naming the source and its error; the flow itself succeeds, and the next run tries the source
    again. Runs left 'running' by a killed process are marked 'interrupted'."""
    settings = _settings(config_file)
    today = today or date.today()
    with refresh_lock(settings.warehouse_path) as lock:
        warehouse = _warehouse(settings)
        interrupted = store.mark_interrupted(warehouse, FLOW_NAME)
        run_id = store.start_run(warehouse, FLOW_NAME, pid=os.getpid())
        lock.note_run(run_id)
        stats: dict = {"sources": {}, "interrupted_runs": interrupted}
        try:
            steps = refresh_steps.with_options(task_runner=task_runner_for(settings))
            stats.update(steps(config_file=config_file, run_id=run_id, today=today))
        except BaseException as exc:
            store.finish_run(warehouse, run_id, stats, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
        status = run_report.run_status(stats)
        failed = run_report.failed_sources(stats)
        errors = [f"{name}: {message}" for name, message in failed.items()]
        errors += [stats["error"]] if stats.get("error") else []  # matching could not run
        error = "; ".join(errors)[:2000] or None
        store.finish_run(warehouse, run_id, stats, error=error, status=status)
    publish_report(run_id, status, stats)
    get_run_logger().info("run %s %s: %s", run_id, status, stats.get("matching", stats.get("error")))
    return {"run_id": run_id, "status": status, **stats}


@flow(name="nightly-refresh-steps", log_prints=True)
def refresh_steps(config_file: str | None, run_id: str, today: date) -> dict:
    """The work of one nightly run, on the configured task runner (a flow's runner is fixed
    before it starts, hence a subflow: a served deployment still honours the setting)."""
    settings = _settings(config_file)
    logger = get_run_logger()
    sources: dict[str, dict] = {}
    crawl_with_retries = crawl.with_options(retries=settings.crawl_retries)
    crawls = crawl_with_retries.map(
        list(settings.sources), settings=unmapped(settings), out_dir=unmapped(settings.data_dir / run_id)
    )
    for source, future in zip(settings.sources, crawls, strict=True):
        try:
            output = future.result()
        except KNOWN_ERRORS as exc:  # this source only; the next run tries it again
            sources[source.name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            logger.warning("source %s failed: %s", source.name, exc)
            continue
        sources[source.name] = load(settings, output, run_id)
    imports: dict[str, dict] = {}
    for spec in settings.imports:
        try:
            imports[spec.name] = import_file(settings, spec, run_id)
        except KNOWN_ERRORS as exc:  # this file only, like a source
            imports[spec.name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            logger.warning("import of %s failed: %s", spec.path, exc)
    prepared = prepare_matching(settings, today)
    if isinstance(prepared, str):  # no verified index: nothing is matched, no stored match replaced
        logger.error("matching did not run: %s", prepared)
        return {"sources": sources, "imports": imports, "error": prepared}
    if prepared.index_rebuilt:
        logger.warning("matching index rebuilt: %s", prepared.index_rebuilt)
    batches = matching_run.challenge_batches(prepared.challenges, settings.match_batch_size)
    partitions = matching_run.listing_partitions(prepared.segments, settings.match_partitions)
    matches = _match_sharded(prepared, batches, partitions)
    return {
        "sources": sources,
        "imports": imports,
        "matching": store_matches(settings, run_id, prepared, matches),
        "notify": notify(settings, run_id),
        "sharding": {"task_runner": settings.task_runner, "batches": len(batches), "partitions": len(partitions)},
    }


def _match_sharded(
    plan: matching_run.MatchPlan, batches: list[list[Challenge]], partitions: list[range]
) -> list[Match]:
    """Open challenges matched in batches (× listing partitions) on the flow's task runner: the
    steps `matching_run.run` takes in one process, as tasks."""
    parts: list[PrefectFuture[list[Match]]]
    if len(partitions) == 1:
        parts = match_batch.map(unmapped(plan), batches)
    else:
        parts = []
        # Futures as arguments are resolved by Prefect before the task runs; its submit() typing
        # wants the resolved types, hence the ignores.
        for batch in batches:
            queries = plan_batch.submit(plan, batch)
            hits = [retrieve_partition.submit(plan, queries, p) for p in partitions]  # type: ignore[call-overload]
            candidates = fuse.submit(hits)
            scored = [
                rescore_partition.submit(plan, queries, candidates, p)  # type: ignore[call-overload]
                for p in partitions
            ]
            parts.append(rank_batch.submit(plan, queries, candidates, scored))  # type: ignore[call-overload]
    return matching_run.merge_batches(part.result() for part in parts)


def _settings(config_file: str | None) -> Settings:
    return Settings.load(os.environ, Path(config_file) if config_file else None)


def _warehouse(settings: Settings):
    return pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
