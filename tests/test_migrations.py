from pathlib import Path

import pytest

from warehouse.gateway import Warehouse
from warehouse.migrations import available_migrations, current_version, migrate

pytestmark = pytest.mark.integration

TABLES = {"listings", "challenges", "matches", "reviews", "runs", "quarantine", "users", "schema_version"}


def _tables(wh: Warehouse) -> set[str]:
    return {r["table_name"] for r in wh.query("SELECT table_name FROM information_schema.tables")}


def test_empty_file_reaches_the_current_schema(tmp_path: Path):
    wh = Warehouse(tmp_path / "new.duckdb")
    applied = migrate(wh)
    assert applied == [m.version for m in available_migrations()]
    assert current_version(wh) == max(applied)
    assert TABLES <= _tables(wh)


def test_rerunning_migrations_is_a_no_op(tmp_path: Path):
    wh = Warehouse(tmp_path / "again.duckdb")
    migrate(wh)
    wh.execute("INSERT INTO runs (run_id, flow, status, started_at) VALUES ('r1', 'x', 'completed', now())")
    assert migrate(wh) == []
    assert wh.query("SELECT count(*) AS n FROM schema_version")[0]["n"] == len(available_migrations())
    assert wh.query("SELECT run_id FROM runs") == [{"run_id": "r1"}]  # data untouched


def test_migration_versions_are_unique_and_consecutive():
    versions = [m.version for m in available_migrations()]
    assert versions == list(range(1, len(versions) + 1))
