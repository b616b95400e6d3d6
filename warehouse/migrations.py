"""Versioned schema migrations, recorded in `schema_version`; re-running is a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from warehouse.gateway import Warehouse, fetch_rows


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """Migrations shipped in warehouse/migrations/NNNN_name.sql, in version order."""
    found = []
    for entry in resources.files("warehouse").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(number), rest, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(warehouse: Warehouse) -> list[int]:
    """Bring the file to the latest schema; returns the versions applied now (empty: up to date)."""
    applied: list[int] = []
    with warehouse.transaction() as con:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row["version"] for row in fetch_rows(con, "SELECT version FROM schema_version")}
        for migration in available_migrations():
            if migration.version in done:
                continue
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
            applied.append(migration.version)
    return applied


def current_version(warehouse: Warehouse) -> int:
    rows = warehouse.query("SELECT coalesce(max(version), 0) AS v FROM schema_version")
    return int(rows[0]["v"])
