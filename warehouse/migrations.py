"""Versioned schema migrations, recorded in `schema_version`; re-running is a no-op.

A migration is `NNNN_name.sql`, or `NNNN_name.py` with `apply(con)` when it rewrites stored
values with Python (e.g. content hashes, which the loader computes in Python)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import duckdb

from warehouse.gateway import Warehouse, fetch_rows


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = ""
    apply: Callable[[duckdb.DuckDBPyConnection], Any] | None = None  # runs after `sql`, in its transaction


def available_migrations() -> list[Migration]:
    """Migrations shipped in warehouse/migrations/NNNN_name.sql or .py, in version order."""
    found = []
    for entry in resources.files("warehouse").joinpath("migrations").iterdir():
        stem, dot, suffix = entry.name.rpartition(".")
        if not dot or suffix not in ("sql", "py") or not stem[:4].isdigit():
            continue
        number, _, rest = stem.partition("_")
        source = entry.read_text(encoding="utf-8")
        if suffix == "sql":
            found.append(Migration(int(number), rest, source))
        else:  # NNNN_ is no module name: the file is run, not imported
            namespace: dict[str, Any] = {"__name__": f"warehouse.migrations.m{stem}"}
            exec(compile(source, str(entry), "exec"), namespace)  # noqa: S102 - our own shipped file
            found.append(Migration(int(number), rest, apply=namespace["apply"]))
    return sorted(found, key=lambda m: m.version)


def migrate(warehouse: Warehouse, up_to: int | None = None) -> list[int]:
    """Bring the file to the latest schema (or to version `up_to`); returns the versions applied
    now (empty: up to date)."""
    applied: list[int] = []
    with warehouse.transaction() as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row["version"] for row in fetch_rows(con, "SELECT version FROM schema_version")}
        for migration in available_migrations():
            if migration.version in done or (up_to is not None and migration.version > up_to):
                continue
            if migration.sql:
                con.execute(migration.sql)
            if migration.apply:
                migration.apply(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
            applied.append(migration.version)
    return applied


def current_version(warehouse: Warehouse) -> int:
    rows = warehouse.query("SELECT coalesce(max(version), 0) AS v FROM schema_version")
    return int(rows[0]["v"])
