"""Matching sharded by challenge batches over the configured task runner (threads, processes
or Dask; `flows/runners.py`). Same matches as the nightly flow's single matching task.

    match_sharded(config_file="jiebang.toml")   # task_runner = "dask" in the file: a LocalCluster
"""

from __future__ import annotations

import os
import uuid
from datetime import date
from pathlib import Path

from prefect import flow, task, unmapped

from flows.runners import task_runner_for
from jiebang import pipeline, sharding
from jiebang.settings import Settings
from matching.engine import Challenge, Match


@task
def prepare(settings: Settings, today: date) -> sharding.PreparedMatch:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return sharding.prepare_sharded_match(warehouse, settings.index_dir, today=today)


@task(task_run_name="match-batch")
def match_batch(index_dir: Path, batch: list[Challenge], top_k: int, today: date,
                exclude: frozenset[tuple[str, str]]) -> list[Match]:
    return sharding.match_batch(index_dir, batch, top_k=top_k, today=today, exclude=exclude)


@task
def store_matches(settings: Settings, run_id: str, prepared: sharding.PreparedMatch, matches: list[Match]) -> dict:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return sharding.store_sharded_matches(warehouse, run_id, prepared, matches)


@flow(name="match-batches", log_prints=True)
def match_batches(config_file: str | None = None, today: date | None = None) -> dict:
    """Refresh the index, match open challenges in batches (mapped tasks), store the matches.
    Returns the summary plus the matches as (challenge_id, listing_id, rank, score) rows."""
    settings = _settings(config_file)
    today = today or date.today()
    prepared = prepare(settings, today)
    batches = sharding.challenge_batches(prepared.challenges, settings.match_batch_size)
    parts = match_batch.map(unmapped(settings.index_dir), batches, top_k=unmapped(settings.match_top_k),
                            today=unmapped(today), exclude=unmapped(prepared.exclude))
    matches = sharding.merge_batches(part.result() for part in parts)
    run_id = f"sharded-{uuid.uuid4().hex[:12]}"
    summary = store_matches(settings, run_id, prepared, matches)
    rows = [(m.challenge_id, m.listing_id, m.rank, m.score) for m in matches]
    return {"run_id": run_id, **summary, "batches": len(batches), "rows": rows}


@flow(name="match-sharded", log_prints=True)
def match_sharded(config_file: str | None = None, today: date | None = None) -> dict:
    """`match_batches` as a subflow on the task runner the settings choose (`task_runner`:
    threads, processes or dask). A flow's runner is fixed before it starts, hence the subflow:
    a deployment of this flow still honours the setting."""
    runner = task_runner_for(_settings(config_file))
    return match_batches.with_options(task_runner=runner)(config_file=config_file, today=today)


def _settings(config_file: str | None) -> Settings:
    return Settings.load(os.environ, Path(config_file) if config_file else None)
