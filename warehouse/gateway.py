"""The one gateway that runs SQL against the DuckDB file.

DuckDB lets one process hold a file read-write and locks every other process out. So the
gateway never keeps the file open: every call opens it, runs one short transaction, and closes
it. A lock held by another process is retried with backoff up to a bound, then reported as
`WarehouseLocked`.
"""

from __future__ import annotations

import errno
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from warehouse.errors import WarehouseLocked, WarehouseUnavailable

Row = dict[str, Any]


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


# The system's reasons for a refused write, as DuckDB quotes them in its messages.
_DISK_REASONS = tuple(os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO))
_CHECK_PATH = (
    "请检查 JIEBANG_WAREHOUSE_PATH；文件损坏时请从备份恢复 (check the path; restore a corrupt file from a backup)"
)
_ROLLED_BACK = "本次写入已回滚，腾出空间或修正权限后重试 (rolled back; free space or fix permissions, then retry)"


def _is_disk_error(exc: Exception) -> bool:
    """A write the file system refused (disk full, read-only, …), not a wrong statement."""
    return isinstance(exc, duckdb.IOException) or any(reason in str(exc) for reason in _DISK_REASONS)


def _duckdb_reason(exc: Exception) -> str:
    """DuckDB's message without its class prefix ("IO Error: …"), on one line."""
    text = " ".join(str(exc).split())
    return text.split(": ", 1)[1] if text.startswith(("IO Error: ", "TransactionContext Error: ")) else text


class Warehouse:
    """A DuckDB file opened per transaction.

    >>> wh = Warehouse(Path("var/example.duckdb"))  # doctest: +SKIP
    >>> wh.query("SELECT count(*) AS n FROM listings")  # doctest: +SKIP
    [{'n': 0}]
    """

    def __init__(self, path: Path, lock_timeout_seconds: float = 60.0) -> None:
        self.path = Path(path)
        self.lock_timeout_seconds = lock_timeout_seconds

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unavailable(f"{exc.strerror or exc}", _CHECK_PATH) from exc
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), config={"autoinstall_known_extensions": False})
                return con
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise self._unavailable(_duckdb_reason(exc), _CHECK_PATH) from exc
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"数据仓库 {self.path} 被其他进程占用超过 {self.lock_timeout_seconds:.0f} 秒"
                        " (warehouse locked by another process; wait for the running flow to"
                        " finish, or raise JIEBANG_LOCK_TIMEOUT_SECONDS)"
                    ) from exc
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One short transaction: commit on success, roll back on error, always close."""
        con = self._connect()
        try:
            con.begin()
            yield con
            con.commit()
        except BaseException as exc:
            try:
                con.rollback()
            except duckdb.Error:
                pass  # a failed commit has already ended the transaction; the first error is the cause
            if isinstance(exc, duckdb.Error) and _is_disk_error(exc):
                raise self._unavailable(_duckdb_reason(exc), _ROLLED_BACK) from exc
            raise
        finally:
            self._release(con)

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        con.close()

    @contextmanager
    def pinned(self) -> Iterator[Warehouse]:
        """This warehouse on one open connection for a short batch of calls (a page's decision and
        the reads that show it): each call's transaction runs on it instead of opening the file
        again (the open is most of a small query's time). The file is held only for the batch."""
        con = self._connect()
        try:
            yield _Pinned(self.path, self.lock_timeout_seconds, con)
        finally:
            con.close()

    def _unavailable(self, reason: str, what_to_do: str) -> WarehouseUnavailable:
        return WarehouseUnavailable(f"数据仓库 {self.path} 无法使用 (warehouse unusable): {reason}；{what_to_do}")

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
        """Run one parameterized read and return rows as dicts."""
        with self.transaction() as con:
            return fetch_rows(con, sql, params)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> None:
        with self.transaction() as con:
            con.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        with self.transaction() as con:
            con.executemany(sql, rows)


class _Pinned(Warehouse):
    """A warehouse whose transactions all run on one connection the caller opened (pinned())."""

    def __init__(self, path: Path, lock_timeout_seconds: float, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__(path, lock_timeout_seconds)
        self._con = con

    def _connect(self) -> duckdb.DuckDBPyConnection:
        return self._con

    def _release(self, con: duckdb.DuckDBPyConnection) -> None:
        pass  # closed by pinned() when the batch ends


def fetch_rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
