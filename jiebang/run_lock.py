"""One refresh at a time per warehouse: an exclusive lock file beside it.

`fcntl.flock` is released by the kernel when the holding process dies (even by kill -9), so a
crashed run never leaves a stale lock behind; the file's text only says who holds it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from jiebang.errors import RefreshRunning
from warehouse.store import now_utc


def lock_path(warehouse_path: Path) -> Path:
    """`var/jiebang.duckdb` → `var/jiebang.duckdb.refresh.lock`."""
    warehouse_path = Path(warehouse_path)
    return warehouse_path.with_name(warehouse_path.name + ".refresh.lock")


class RefreshLock:
    """The held lock; `note_run` records the run id for whoever finds the lock taken."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle
        self.holder = {"pid": os.getpid(), "run_id": None, "since": f"{now_utc():%Y-%m-%d %H:%M:%S} UTC"}
        self._write()

    def note_run(self, run_id: str) -> None:
        self.holder["run_id"] = run_id
        self._write()

    def _write(self) -> None:
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(json.dumps(self.holder))
        self._handle.flush()


def describe_holder(text: str) -> str:
    """The holder as one phrase: 'pid 123, run 2026…-ab12cd34, since 2026-11-26 02:00:01 UTC'."""
    try:
        holder = json.loads(text)
    except ValueError:
        return "an unknown process"
    return f"pid {holder.get('pid', '?')}, run {holder.get('run_id') or '(starting)'}, since {holder.get('since', '?')}"


# Locks this process took for a refresh it starts next (see `hand_over`), by lock file.
_handed_over: dict[Path, RefreshLock] = {}


@contextmanager
def refresh_lock(warehouse_path: Path, *, hand_over: bool = False) -> Iterator[RefreshLock]:
    """Hold the refresh lock of `warehouse_path` for the block, or raise RefreshRunning at once.

    With `hand_over`, the lock is taken for the refresh this process starts inside the block:
    `jiebang refresh` takes it before it starts a Prefect server, so that a second refresh is
    refused before it starts anything, and the flow's own `refresh_lock` then gets this lock
    (once) instead of being refused. Any other second `refresh_lock` is refused as usual.

    >>> with refresh_lock(Path("var/jiebang.duckdb")) as lock:  # doctest: +SKIP
    ...     lock.note_run(run_id)
    """
    path = lock_path(warehouse_path)
    if (held := _handed_over.pop(path.absolute(), None)) is not None:
        yield held  # released by the block that took it
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise RefreshRunning(
                f"数据仓库 {warehouse_path} 正在刷新 (another refresh is running against this warehouse:"
                f" {describe_holder(handle.read())}); wait for it to finish, or stop that process"
            ) from None
        lock = RefreshLock(handle)
        if hand_over:
            _handed_over[path.absolute()] = lock
        try:
            yield lock
        finally:
            _handed_over.pop(path.absolute(), None)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
