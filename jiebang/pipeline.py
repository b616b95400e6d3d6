"""The application steps the flows and the CLI call: each one short, each on its real component."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crawlers.errors import ImportRefused, UnknownFormat
from crawlers.importers import FORMATS
from crawlers.runner import CrawlOutput, crawl_source
from jiebang.errors import IndexUnusable
from jiebang.loading import LoadReport, load_feed, load_file
from jiebang.settings import ImportSettings, Settings, SourceSettings
from matching.engine import Listing, ListingIndex
from matching.errors import IndexCorrupt
from matching.index import remove_index
from warehouse import queries, store
from warehouse.errors import WarehouseUnavailable
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate


def open_warehouse(path: Path, lock_timeout_seconds: float) -> Warehouse:
    """The warehouse at `path`, migrated to the current schema, with imports whose process was
    killed marked interrupted (so every command clears them)."""
    warehouse = Warehouse(path, lock_timeout_seconds)
    migrate(warehouse)
    interrupt_dead_imports(warehouse)
    return warehouse


IMPORT_FLOW_PREFIX = "import-"


def interrupt_dead_imports(warehouse: Warehouse) -> list[str]:
    """Imports left 'running' by a process that has ended (kill -9, a crash, power loss) become
    'interrupted', as a killed refresh does. Imports take no lock (several may run at once), so
    the pid each recorded tells whether it still runs. Returns their run_ids."""
    dead = [
        r["run_id"]
        for r in queries.running_runs(warehouse, IMPORT_FLOW_PREFIX)
        if r["pid"] is not None and not _process_alive(int(r["pid"]))
    ]
    return store.mark_runs_interrupted(warehouse, dead) if dead else []


def _process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (a zombie, killed and not yet reaped,
    does not). A reused pid reads as alive: the run then stays 'running' a while longer, but a
    live import is never marked interrupted."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):  # no /proc (not Linux): trust the signal check
        return True
    return state != "Z"


def crawl(settings: Settings, source: SourceSettings, out_dir: Path) -> CrawlOutput:
    """Crawl one source, skipping the detail pages the warehouse already has unchanged."""
    warehouse = open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    refetch_before = store.now_utc() - timedelta(days=settings.refetch_after_days)
    return crawl_source(
        source, settings.crawl_config(), out_dir, queries.known_pages(warehouse, source.name, refetch_before)
    )


def load_crawl(warehouse: Warehouse, output: CrawlOutput, run_id: str, *, min_seen_share: float) -> dict[str, Any]:
    """Load a crawl's items, mark what vanished from a complete crawl inactive, and account for
    every detail page: detail pages = loaded + quarantined + blocked + skipped unchanged (a list
    page that failed to parse is quarantined too, but is no detail page).

    A crawl that cannot say what vanished marks nothing inactive and carries an `error` (the
    source then counts as failed, the run as partial): a page its parser failed on, an exception
    in the spider, or fewer than `min_seen_share` of the source's active listings seen."""
    began = time.monotonic()
    report = load_feed(warehouse, output.items_path, source=output.source, run_id=run_id)
    problem = output.failure
    complete = output.complete
    if complete:
        seen, known = queries.seen_since(warehouse, output.source, output.started_at)
        if known and seen < min_seen_share * known:
            complete = False
            problem = (
                f"只见到 {seen}/{known} 条在架记录 ({seen / known:.0%} < {min_seen_share:.0%}; far fewer listings"
                " than the source has: a broken list page or a changed site? check it; min_seen_share sets the bound)"
            )
    inactive = store.mark_vanished_inactive(warehouse, output.source, output.started_at) if complete else 0
    stats = output.stats
    crawl_seconds = float(stats.get("elapsed_time_seconds") or 0.0)
    load_seconds = time.monotonic() - began
    detail_quarantined = report.quarantined - output.parse_failures.get("list", 0)
    error = {"error": f"爬取不完整，未标记下架 (crawl incomplete, nothing marked inactive): {problem}"[:2000]}
    return {
        **report.as_dict(),
        **(error if problem else {}),
        "blocked": output.blocked,
        "marked_inactive": inactive,
        "complete": complete,
        "pages_fetched": output.pages_fetched,
        "list_pages": int(stats.get("jiebang/pages/list", 0)),
        "detail_pages": report.loaded + detail_quarantined + output.blocked + report.skipped_unchanged,
        "crawl_seconds": round(crawl_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "duration_seconds": round(crawl_seconds + load_seconds, 2),
    }


@contextmanager
def _index_lock(index_dir: Path, wait_seconds: float | None = None) -> Iterator[None]:
    """One writer of the on-disk index at a time: the nightly run and a page matching a new
    challenge may refresh it at the same moment (segment files are numbered, not unique).

    With `wait_seconds`, IndexUnusable once the lock was held by another writer that long (a
    page must not wait out a whole rebuild); without it, waits as long as the writer takes."""
    lock_path = index_dir.with_name(index_dir.name + ".lock")  # beside it: a rebuild removes the folder
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        if wait_seconds is None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        else:
            _flock_within(handle, wait_seconds)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flock_within(handle, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexUnusable(
                    f"匹配索引正在更新或重建，等待 {wait_seconds:g} 秒后未匹配 (matching index busy: another"
                    " process is refreshing or rebuilding it; nothing matched); 下次夜间运行会匹配这条需求，"
                    "或稍后重新匹配 (index_wait_seconds sets the wait)"
                ) from None
            time.sleep(min(0.1, max(deadline - time.monotonic(), 0.0)))


def refresh_index(
    warehouse: Warehouse, index_dir: Path, *, segment_size: int = 100_000, rebuild: bool = True
) -> ListingIndex:
    """The on-disk index brought up to date: only listings changed since the last refresh are
    segmented and added (in segments of at most `segment_size`); inactive ones are masked. The
    first call builds it. An index that is corrupt or disagrees with the warehouse is rebuilt,
    or with `rebuild=False` refused (see `checked_index`)."""
    return checked_index(warehouse, index_dir, segment_size=segment_size, rebuild=rebuild)[0]


def checked_index(
    warehouse: Warehouse,
    index_dir: Path,
    *,
    segment_size: int = 100_000,
    rebuild: bool = True,
    backend: str = "numpy",
    wait_seconds: float | None = None,
    on_verified: Callable[[ListingIndex], None] | None = None,
) -> tuple[ListingIndex, str | None]:
    """The refreshed index, verified against the warehouse before anything is matched with it,
    and why it had to be rebuilt (None when it did not).

    Verified means: every file the manifest implies reads whole and consistent, it holds as many
    live listings as the warehouse has active ones, and its watermark is no later than the
    warehouse's newest change. Matching an unverified index could replace every stored proposal
    with nothing (zeroed masks match 0 listings), so otherwise it is rebuilt from the warehouse
    under the index lock, or, when `rebuild` is false or the rebuild fails too, IndexUnusable.

    The lock is waited for at most `wait_seconds` (None: as long as it takes); `on_verified` is
    given the verified index while the lock is still held (before another writer can save)."""
    index_dir = Path(index_dir)
    with _index_lock(index_dir, wait_seconds):
        try:
            index = _refresh_index(warehouse, index_dir, segment_size, backend)
            problem = _disagreement(warehouse, index)
        except (IndexCorrupt, OSError) as exc:
            problem = _one_line(exc)
        if problem is None:
            rebuilt = None
        elif not rebuild:
            raise IndexUnusable(
                f"匹配索引不可用，本次未匹配 (matching index unusable, nothing matched): {problem};"
                " 下次夜间运行会重建它，或现在运行 jiebang reindex"
            )
        else:
            index, rebuilt = _rebuilt(warehouse, index_dir, segment_size, problem, remove_index, backend), problem
        if on_verified is not None:
            on_verified(index)
        return index, rebuilt


def rebuild_index(warehouse: Warehouse, index_dir: Path, *, segment_size: int = 100_000) -> ListingIndex:
    """The index built again from scratch (after a matching upgrade, or `jiebang reindex`).
    Removed and rebuilt under the same lock as a refresh, so a refresh running meanwhile never
    sees half a folder. IndexUnusable (one line) when it cannot be rebuilt."""
    index_dir = Path(index_dir)
    with _index_lock(index_dir):
        return _rebuilt(warehouse, index_dir, segment_size, "asked to rebuild", _remove_folder)


def _remove_folder(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexCorrupt(f"{index_dir} is a file, not an index folder")
    shutil.rmtree(index_dir, ignore_errors=True)


def _rebuilt(
    warehouse: Warehouse, index_dir: Path, segment_size: int, problem: str, remove, backend: str = "numpy"
) -> ListingIndex:
    """Remove the index (with `remove`), build it again and verify it; the caller holds the lock."""
    try:
        remove(index_dir)
        index = _refresh_index(warehouse, index_dir, segment_size, backend)
    except (IndexCorrupt, OSError) as exc:
        reason = _one_line(exc)
        why = "" if reason == problem else f" (why rebuilt: {problem})"
        raise IndexUnusable(
            f"匹配索引无法重建 (matching index could not be rebuilt): {reason}{why};"
            " 排除原因后运行 jiebang reindex (fix the cause, e.g. the index_dir setting, then run jiebang reindex)"
        ) from exc
    if (still := _disagreement(warehouse, index)) is not None:
        raise IndexUnusable(f"重建的匹配索引仍与仓库不符 (rebuilt index disagrees): {still}; 运行 jiebang reindex")
    return index


def _disagreement(warehouse: Warehouse, index: ListingIndex) -> str | None:
    """How the index disagrees with the warehouse, or None."""
    figures = queries.index_figures(warehouse)
    if len(index) != figures["active"]:
        return f"索引有 {len(index)} 条在用成果，仓库有 {figures['active']} 条 (index live listings ≠ active listings)"
    if index.watermark is not None:
        newest = figures["newest_change"]
        if newest is None or index_watermark(index) > newest:
            return f"索引水位 {index.watermark} 晚于仓库最新变更 {newest} (index watermark in the future)"
    return None


def index_watermark(index: ListingIndex) -> datetime | None:
    """The index's "indexed up to" time, naive UTC like the warehouse's last_changed."""
    try:
        mark = datetime.fromisoformat(index.watermark) if index.watermark else None
    except ValueError as exc:
        raise IndexCorrupt(f"index watermark {index.watermark!r} is not a time") from exc
    if mark is not None and mark.tzinfo is not None:
        raise IndexCorrupt(f"index watermark {index.watermark!r} is not a warehouse time (naive UTC)")
    return mark


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    return " ".join(text.split())[:500]


def import_file(
    warehouse: Warehouse,
    format: str,
    path: Path,
    *,
    source: str | None = None,
    mapping: dict[str, str] | None = None,
    kind: str | None = None,
) -> tuple[str, LoadReport]:
    """Load one downloaded dump as a recorded run (its counts, or its error, in `runs`)."""
    run_id = store.start_run(warehouse, f"{IMPORT_FLOW_PREFIX}{format}", pid=os.getpid())
    try:
        report = load_file(warehouse, format, path, source=source, mapping=mapping, kind=kind, run_id=run_id)
    except Exception as exc:
        # A full disk refuses this write too: the load's own error is the one to report.
        with suppress(WarehouseUnavailable):
            store.finish_run(warehouse, run_id, {"file": str(path)}, error=str(exc)[:2000])
        raise
    store.finish_run(warehouse, run_id, {"file": str(path), **report.as_dict()})
    return run_id, report


def run_configured_import(warehouse: Warehouse, spec: ImportSettings, run_id: str) -> dict[str, Any]:
    """Import one `[[imports]]` file as part of run `run_id`, unless it was already imported with
    the same bytes and options: then nothing is read but its hash, and its records count as
    skipped unchanged (the incremental night costs in proportion to what changed).

    Returns the LoadReport keys (listings, challenges, loaded, quarantined, skipped_unchanged,
    total) plus file, format, source, skipped_file, sha256, size_bytes, duration_seconds.
    A missing or unreadable file, or one the importer refuses, raises ImportRefused (or its
    subclass) with one line naming the file; nothing is recorded then, so the next run retries."""
    began = time.monotonic()
    path = Path(spec.path)
    _check_importable(spec, path)
    sha256, size = _file_digest(path)
    options = _import_options_hash(spec)
    previous = queries.imported_file(warehouse, str(path), spec.format)
    skipped = False
    if previous is not None and previous["sha256"] == sha256 and previous["options_hash"] == options:
        skipped = True
        report = LoadReport(skipped_unchanged=int(previous["records"]))
    else:
        report = _load_import(warehouse, spec, path, run_id)
        # The hash taken before the load: if the file changed meanwhile, the next run sees a
        # different hash and loads it again (harmless: loads are idempotent upserts).
        store.record_imported_file(
            warehouse,
            path=str(path),
            format=spec.format,
            sha256=sha256,
            size_bytes=size,
            options_hash=options,
            records=report.total,
            run_id=run_id,
        )
    return {
        **report.as_dict(),
        "file": str(path),
        "format": spec.format,
        "source": spec.source or spec.format,
        "skipped_file": skipped,
        "sha256": sha256,
        "size_bytes": size,
        "duration_seconds": round(time.monotonic() - began, 2),
    }


def _check_importable(spec: ImportSettings, path: Path) -> None:
    """Refuse what cannot be imported before hashing a possibly large file."""
    if spec.format not in FORMATS:
        raise UnknownFormat(f"{path}: unknown import format {spec.format!r}; known formats: {', '.join(FORMATS)}")
    if not path.is_file():
        raise ImportRefused(f"导入文件不存在 {path} (import file not found: fix the path of its [[imports]] entry)")


def _file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of the file's bytes, read in chunks (dumps can be gigabytes)."""
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256")
            return digest.hexdigest(), handle.tell()
    except OSError as exc:
        raise ImportRefused(f"导入文件无法读取 {path} (import file unreadable: {exc.strerror or exc})") from exc


def _import_options_hash(spec: ImportSettings) -> str:
    """What, besides the bytes, decides what a file loads as: a new map or kind must reload it."""
    options = {"source": spec.source, "kind": spec.kind, "map": sorted(spec.mapping)}
    return hashlib.sha256(json.dumps(options, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def _load_import(warehouse: Warehouse, spec: ImportSettings, path: Path, run_id: str) -> LoadReport:
    try:
        return load_file(
            warehouse, spec.format, path, source=spec.source, mapping=spec.mapping_dict(), kind=spec.kind, run_id=run_id
        )
    except ImportRefused as exc:
        # The importers' messages do not always name the file; in a night of several files it must be.
        message = " ".join(str(exc).split())
        if str(path) in message and message == str(exc):
            raise
        raise type(exc)(f"{path}: {message}") from exc


def _refresh_index(warehouse: Warehouse, index_dir: Path, segment_size: int, backend: str = "numpy") -> ListingIndex:
    index = ListingIndex.open(index_dir, backend=backend)  # IndexCorrupt (or IndexFormatChanged): the caller rebuilds
    after = index_watermark(index)
    changed = queries.listings_for_matching(warehouse, changed_after=after)
    if changed:
        index.add((Listing.from_record(r) for r in changed), segment_size=segment_size)
        index.watermark = max(r["last_changed"] for r in changed).isoformat()
    index.remove(queries.inactive_listing_ids(warehouse))
    index.save(index_dir)
    return index
