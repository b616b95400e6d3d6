"""The nightly refresh's rules, with no orchestrator in them: which steps run in what order, what
a failed step means for the others and for the run, what the run records and reports.

    crawl every source (side by side) → load each crawl → run the configured imports →
    verify (or rebuild) the matching index → match open challenges in batches → store → notify

- One night at a time per warehouse (RefreshRunning otherwise); runs a killed process left
  'running' are marked 'interrupted' first.
- A source whose crawl fails, or an import file that fails, is recorded with its one-line error
  and the others go on: the night loads and matches what it has and ends 'partial', naming them.
  A crawl that cannot say what vanished (a broken list page) counts as failed too.
- Without a verified index nothing is matched or stored and nobody is notified: no stored match
  is replaced, the night ends 'failed' with the reason (`jiebang reindex`).
- Anything else that goes wrong (the orchestrator, a bug) ends the night 'failed' with the error,
  and is raised.

The steps are plain functions of the settings (they open the warehouse and the index by path, so
a worker process can run them). What runs them is a StepRunner: `call` runs a step here and now
(the steps that write the warehouse: DuckDB has one writer), `submit` hands one to the runner's
workers (crawls, matching batches). `InProcess` runs everything here, in order; the Prefect flow
(`flows/nightly.py`) maps each step to a task on its task runner (threads, processes, Dask).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from crawlers.runner import CrawlOutput
from jiebang import dedup, digest, matching_run, pipeline, run_report
from jiebang.errors import KNOWN_ERRORS, IndexUnusable
from jiebang.run_lock import refresh_lock
from jiebang.settings import ImportSettings, Settings, SourceSettings
from matching.engine import Challenge, Match
from warehouse import store
from warehouse.gateway import Warehouse

FLOW_NAME = "nightly-refresh"  # the runs' `flow` in the warehouse, and the Prefect flow's name

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

_log = logging.getLogger(__name__)


# --- the steps ------------------------------------------------------------------------------------


def crawl(settings: Settings, source: SourceSettings, out_dir: Path) -> CrawlOutput:
    return pipeline.crawl(settings, source, out_dir)


def load(settings: Settings, output: CrawlOutput, run_id: str) -> dict:
    return pipeline.load_crawl(_warehouse(settings), output, run_id, min_seen_share=settings.min_seen_share)


def import_file(settings: Settings, spec: ImportSettings, run_id: str) -> dict:
    return pipeline.run_configured_import(_warehouse(settings), spec, run_id)


def link_entities(settings: Settings) -> dict:
    """One technology, one card: new and changed listings linked into clusters (jiebang.dedup)."""
    return dedup.run(_warehouse(settings))


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


def store_matches(settings: Settings, run_id: str, plan: matching_run.MatchPlan, matches: list[Match]) -> dict:
    return matching_run.store_matches(_warehouse(settings), run_id, plan, matches)


def notify(settings: Settings, run_id: str) -> dict:
    return digest.notify(_warehouse(settings), settings, run_id)


# --- what runs them -------------------------------------------------------------------------------


class Outcome(Protocol[T_co]):
    """A submitted step: `result()` gives its value, or raises what it raised."""

    def result(self) -> T_co: ...


class StepRunner(Protocol):
    """What a night needs from an orchestrator. Outcomes passed as arguments to `submit` are
    resolved before the step runs (so a step can wait on others without the night waiting)."""

    def call(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...

    def submit(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> Outcome[T]: ...


@dataclass(frozen=True)
class Done(Generic[T]):
    """A step that has already run: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # None only when T allows it


class InProcess:
    """Every step here and now, in the order the night asks for them: a night without an
    orchestrator (no retries; a submitted step's exception is kept for its `result()`)."""

    def call(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return _run(step, args, kwargs)

    def submit(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> Done[T]:
        try:
            return Done(_run(step, args, kwargs))
        except Exception as exc:
            return Done(error=exc)


def _run(step: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return step(*map(_resolved, args), **{key: _resolved(value) for key, value in kwargs.items()})


def _resolved(value: Any) -> Any:
    if isinstance(value, Done):
        return value.result()
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value


# --- a night ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Night:
    """How a night ended, as recorded in `runs`."""

    run_id: str
    status: str  # completed | partial | failed
    stats: dict[str, Any]
    error: str | None

    def report(self) -> str:
        return run_report.report_markdown(self.run_id, self.status, self.stats)

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, **self.stats}


def refresh(settings: Settings, today: date, runner: StepRunner | None = None) -> Night:
    """One night with its steps on `runner` (default: all in this process)."""
    steps = runner or InProcess()
    return run_night(settings, today, lambda run_id: run_steps(settings, run_id, today, steps))


def run_night(settings: Settings, today: date, steps: Callable[[str], Mapping[str, Any]]) -> Night:
    """Record a night around `steps(run_id)` (the night's work, e.g. `run_steps` on some runner,
    returning its stats), holding the refresh lock: its status and error come from the stats."""
    with refresh_lock(settings.warehouse_path) as lock:
        warehouse = _warehouse(settings)
        interrupted = store.mark_interrupted(warehouse, FLOW_NAME)
        run_id = store.start_run(warehouse, FLOW_NAME, pid=os.getpid())
        lock.note_run(run_id)
        stats: dict[str, Any] = {"sources": {}, "interrupted_runs": interrupted}
        try:
            stats.update(steps(run_id))
        except BaseException as exc:
            store.finish_run(warehouse, run_id, stats, error=_one_line(exc))
            raise
        status, error = run_report.run_status(stats), run_report.run_error(stats)
        store.finish_run(warehouse, run_id, stats, error=error, status=status)
    return Night(run_id, status, stats, error)


def run_steps(
    settings: Settings, run_id: str, today: date, runner: StepRunner, log: logging.Logger | logging.LoggerAdapter = _log
) -> dict[str, Any]:
    """The work of one night on `runner`: its stats (sources, imports, then matching, notify and
    sharding, or the `error` that kept matching from running)."""
    crawls = [runner.submit(crawl, settings, source, settings.data_dir / run_id) for source in settings.sources]
    sources: dict[str, dict] = {}
    for source, pending in zip(settings.sources, crawls, strict=True):
        try:
            output = pending.result()
        except KNOWN_ERRORS as exc:  # this source only; the next night tries it again
            sources[source.name] = {"error": _one_line(exc)}
            log.warning("source %s failed: %s", source.name, exc)
            continue
        sources[source.name] = runner.call(load, settings, output, run_id)
    imports: dict[str, dict] = {}
    for spec in settings.imports:
        try:
            imports[spec.name] = runner.call(import_file, settings, spec, run_id)
        except KNOWN_ERRORS as exc:  # this file only, like a source
            imports[spec.name] = {"error": _one_line(exc)}
            log.warning("import of %s failed: %s", spec.path, exc)
    entities = runner.call(link_entities, settings)  # before matching: its stored cards are per cluster
    prepared = runner.call(prepare_matching, settings, today)
    if isinstance(prepared, str):  # no verified index: nothing is matched, no stored match replaced
        log.error("matching did not run: %s", prepared)
        return {"sources": sources, "imports": imports, "entities": entities, "error": prepared}
    if prepared.index_rebuilt:
        log.warning("matching index rebuilt: %s", prepared.index_rebuilt)
    batches = matching_run.challenge_batches(prepared.challenges, settings.match_batch_size)
    partitions = matching_run.listing_partitions(prepared.segments, settings.match_partitions)
    matches = _match_sharded(runner, prepared, batches, partitions)
    return {
        "sources": sources,
        "imports": imports,
        "entities": entities,
        "matching": runner.call(store_matches, settings, run_id, prepared, matches),
        "notify": runner.call(notify, settings, run_id),
        "sharding": {"task_runner": settings.task_runner, "batches": len(batches), "partitions": len(partitions)},
    }


def _match_sharded(
    runner: StepRunner, plan: matching_run.MatchPlan, batches: list[list[Challenge]], partitions: list[range]
) -> list[Match]:
    """Open challenges matched in batches (× listing partitions) on the runner's workers: the
    steps `matching_run.run` takes in one process."""
    parts: list[Outcome[list[Match]]]
    if len(partitions) == 1:
        parts = [runner.submit(matching_run.match_batch, plan, batch) for batch in batches]
    else:
        parts = []
        for batch in batches:  # submitted without waiting: the batches' steps overlap
            queries = runner.submit(matching_run.plan_batch, plan, batch)
            hits = [runner.submit(matching_run.retrieve_partition, plan, queries, p) for p in partitions]
            candidates = runner.submit(matching_run.fuse, hits)
            scored = [runner.submit(matching_run.rescore_partition, plan, queries, candidates, p) for p in partitions]
            parts.append(runner.submit(matching_run.rank_batch, plan, queries, candidates, scored))
    return matching_run.merge_batches(part.result() for part in parts)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _warehouse(settings: Settings) -> Warehouse:
    return pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
