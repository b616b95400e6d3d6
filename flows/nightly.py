"""The nightly refresh as a Prefect flow: an adapter over `jiebang.nightly`, which holds the
night's rules (steps, order, partial and failed runs, stats, report). Here each step becomes a
task, and the night's StepRunner runs them: `call` as a task in the flow's process (loading and
storing: DuckDB has one writer), `submit` on the task runner the settings choose (`task_runner`:
threads, processes or dask; `flows/runners.py`): crawls one task per source, matching one task
per batch of challenges, or per batch and listing partition (`match_partitions` > 1).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture

from flows.runners import task_runner_for
from jiebang import matching_run, nightly
from jiebang.display import beijing_today
from jiebang.nightly import FLOW_NAME
from jiebang.settings import Settings

T = TypeVar("T")

# The night's steps as tasks (task names and run names are what the Prefect UI and the
# benchmark's per-task figures show).
crawl = task(retries=2, retry_delay_seconds=[5, 30], task_run_name="crawl-{source.name}")(nightly.crawl)
load = task(task_run_name="load-{output.source}")(nightly.load)
import_file = task(task_run_name="import-{spec.format}")(nightly.import_file)
link_entities = task(nightly.link_entities)
prepare_matching = task(nightly.prepare_matching)
match_batch = task(task_run_name="match-batch")(matching_run.match_batch)
plan_batch = task(task_run_name="plan-batch")(matching_run.plan_batch)
retrieve_partition = task(task_run_name="retrieve-{partition}")(matching_run.retrieve_partition)
fuse = task(task_run_name="fuse")(matching_run.fuse)
rescore_partition = task(task_run_name="rescore-{partition}")(matching_run.rescore_partition)
rank_batch = task(task_run_name="rank-batch")(matching_run.rank_batch)
store_matches = task(nightly.store_matches)
notify = task(nightly.notify)


class PrefectSteps:
    """jiebang.nightly's StepRunner on this flow run's tasks: a step is run by its task."""

    def __init__(self, settings: Settings) -> None:
        tasks: list[Task[..., Any]] = [
            crawl.with_options(retries=settings.crawl_retries),
            load,
            import_file,
            link_entities,
            prepare_matching,
            match_batch,
            plan_batch,
            retrieve_partition,
            fuse,
            rescore_partition,
            rank_batch,
            store_matches,
            notify,
        ]
        self._tasks: dict[Callable[..., Any], Task[..., Any]] = {t.fn: t for t in tasks}

    def call(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return self._task(step)(*args, **kwargs)

    def submit(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> PrefectFuture[T]:
        # Futures among the arguments are resolved by Prefect before the task runs.
        return self._task(step).submit(*args, **kwargs)

    def _task(self, step: Callable[..., Any]) -> Task[..., Any]:
        if step not in self._tasks:
            raise LookupError(f"no Prefect task for the night's step {step.__module__}.{step.__qualname__}")
        return self._tasks[step]


@task
def publish_report(run_id: str, status: str, stats: dict) -> str:  # the artifact id
    return str(
        create_markdown_artifact(
            nightly.Night(run_id, status, stats, None).report(),
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
    again. Runs left 'running' by a killed process are marked 'interrupted'. (The rules:
    jiebang.nightly.)"""
    settings = _settings(config_file)
    today = today or beijing_today()  # deadlines are Beijing dates; the server may run in UTC
    steps = refresh_steps.with_options(task_runner=task_runner_for(settings))
    night = nightly.run_night(
        settings, today, lambda run_id: steps(config_file=config_file, run_id=run_id, today=today)
    )
    publish_report(night.run_id, night.status, night.stats)
    get_run_logger().info(
        "run %s %s: %s", night.run_id, night.status, night.stats.get("matching", night.stats.get("error"))
    )
    return night.as_dict()


@flow(name="nightly-refresh-steps", log_prints=True)
def refresh_steps(config_file: str | None, run_id: str, today: date) -> dict:
    """The work of one nightly run, on the configured task runner (a flow's runner is fixed
    before it starts, hence a subflow: a served deployment still honours the setting)."""
    settings = _settings(config_file)
    return nightly.run_steps(settings, run_id, today, PrefectSteps(settings), log=get_run_logger())


def _settings(config_file: str | None) -> Settings:
    return Settings.load(os.environ, Path(config_file) if config_file else None)
