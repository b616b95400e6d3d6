"""The one gateway that runs SQL against the DuckDB file.

DuckDB lets one process hold a file read-write and locks every other process out. So the
gateway never keeps the file open: every call opens it, runs one short transaction, and closes
it. A lock held by another process is retried with backoff up to a bound, then reported as
`WarehouseLocked`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from jiebang.errors import WarehouseLocked

Row = dict[str, Any]


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), config={"autoinstall_known_extensions": False})
                return con
            except duckdb.IOException as exc:
                if not _is_lock_error(exc):
                    raise
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
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()

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


def fetch_rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[Row]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
