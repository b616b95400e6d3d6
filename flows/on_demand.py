"""On-demand flows: match one challenge now, and rebuild the matching index from scratch.

match_challenge(challenge_id)  right after a firm posts or edits a challenge
rebuild_index()                after a matching upgrade: the index folder is removed and
                               every active listing is indexed again from the warehouse
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from prefect import flow, task

from jiebang import matching_run, pipeline
from jiebang.display import beijing_today
from jiebang.settings import Settings


def _settings(config_file: str | None) -> Settings:
    return Settings.load(os.environ, Path(config_file) if config_file else None)


@task(task_run_name="match-{challenge_id}")
def match_one(settings: Settings, challenge_id: str, today: date) -> dict:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return matching_run.match_one_challenge(
        warehouse,
        challenge_id,
        today=today,
        top_k=settings.match_top_k,
        index_dir=settings.index_dir,
        backend=settings.page_match_backend,
        wait_seconds=settings.index_wait_seconds,
    )


@task
def build_index(settings: Settings) -> int:
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    return len(pipeline.rebuild_index(warehouse, settings.index_dir, segment_size=settings.index_segment_size))


@flow(name="match-challenge", log_prints=True)
def match_challenge(challenge_id: str, config_file: str | None = None, today: date | None = None) -> dict:
    """Match one challenge (whatever its status) against the index and store its matches."""
    settings = _settings(config_file)
    return match_one(settings, challenge_id, today or beijing_today())


@flow(name="rebuild-index", log_prints=True)
def rebuild_index(config_file: str | None = None) -> dict:
    """Remove the on-disk index and build it again from the warehouse's active listings."""
    settings = _settings(config_file)
    return {"index_dir": str(settings.index_dir), "listings": build_index(settings)}
