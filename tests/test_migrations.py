from pathlib import Path

import pytest

from crawlers.fields import ipc_codes
from crawlers.validation import validate_listing
from warehouse import entity_store, store
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


# --- 0009: stored IPC codes in the one canonical form ---------------------------------------------

# What the former normalisers stored: a crawl kept the main group's zeros, a spreadsheet import
# kept text that is no code; the same patent crawled and imported had both forms.
STORED_BEFORE_0009 = {
    "CN101000001": ["G06F015/00", "H04L29/06"],
    "CN101000002": ["G06F15/00"],
    "CN101000003": ["G06F015/00", "G06F15/00", "见说明书"],
    "CN101000004": [],
}
CANONICAL = {
    "CN101000001": ["G06F15/00", "H04L29/06"],
    "CN101000002": ["G06F15/00"],
    "CN101000003": ["G06F15/00"],
    "CN101000004": [],
}


def _crawled(listing_id: str, ipc: list[str]) -> dict:
    """A listing as the loader stores it: a spider's item through validation."""
    return validate_listing(
        {
            "record_type": "listing",
            "kind": "patent",
            "listing_id": listing_id,
            "title": "一种数据处理方法",
            "abstract": "一种数据处理方法。",
            "applicants": ["浙江大学"],
            "keywords": ["数据"],
            "ipc": ipc,
            "publication_number": f"{listing_id}A",
            "price_wan": 5,
            "published_on": "2015-01-06",
            "url": f"http://127.0.0.1:8765/cnipr/{listing_id}",
            "source": "cnipr",
        }
    )


def _store_before_0014(wh: Warehouse, records: list[dict]) -> None:
    """Listings as the loader wrote them before 0014 added application_number (today's loader
    writes that column, which an older file lacks): the same columns and content hash."""
    columns = [c for c in store.LISTING_COLUMNS if c != "application_number"]
    now = store.now_utc()
    wh.executemany(
        f"INSERT INTO listings ({', '.join(columns)}, sources, content_hash, first_seen, last_seen, last_changed)"
        f" VALUES ({', '.join('?' * (len(columns) + 5))})",
        [
            [r[c] for c in columns] + [[r["source"]], store.content_hash({c: r[c] for c in columns}), now, now, now]
            for r in records
        ],
    )


def _listing_rows(wh: Warehouse) -> dict[str, dict]:
    rows = wh.query("SELECT listing_id, ipc, content_hash, last_changed FROM listings ORDER BY listing_id")
    return {r["listing_id"]: r for r in rows}


def test_0009_rewrites_stored_ipc_codes_once_and_the_next_crawl_finds_them_unchanged(tmp_path: Path):
    wh = Warehouse(tmp_path / "v8.duckdb")
    migrate(wh, up_to=8)
    _store_before_0014(wh, [_crawled(i, codes) for i, codes in STORED_BEFORE_0009.items()])
    before = _listing_rows(wh)

    assert migrate(wh)[0] == 9
    after = _listing_rows(wh)
    assert {i: r["ipc"] for i, r in after.items()} == CANONICAL
    for untouched in ("CN101000002", "CN101000004"):  # already canonical: not even last_changed moves
        assert after[untouched] == before[untouched]
    for rewritten in ("CN101000001", "CN101000003"):
        assert after[rewritten]["last_changed"] > before[rewritten]["last_changed"]

    # Running it again changes nothing: no version left to apply, and the rewrite itself finds
    # nothing to do on canonical values.
    assert migrate(wh) == []
    (rewrite,) = [m for m in available_migrations() if m.version == 9]
    assert rewrite.apply is not None
    with wh.transaction() as con:
        assert rewrite.apply(con) == 0
    assert _listing_rows(wh) == after

    # The next crawl of the same pages (now normalised by crawlers.fields) changes no listing.
    counts = store.upsert_listings(wh, [_crawled(i, ipc_codes(codes)) for i, codes in STORED_BEFORE_0009.items()])
    assert (counts.unchanged, counts.updated, counts.inserted) == (4, 0, 0)
    assert _listing_rows(wh) == after


# --- 0014: application numbers, and every patent key of a listing ------------------------------


def test_0014_leaves_application_numbers_unknown_and_has_every_listing_linked_again(tmp_path: Path):
    wh = Warehouse(tmp_path / "v13.duckdb")
    migrate(wh, up_to=13)
    _store_before_0014(wh, [_crawled("CN101000001", ["G06F15/00"])])
    wh.execute("INSERT INTO entity_features (listing_id, patent_key) VALUES ('CN101000001', 'CN101000001')")
    before = _listing_rows(wh)

    assert migrate(wh, up_to=14) == [14]
    assert wh.query("SELECT application_number FROM listings") == [{"application_number": None}]  # none was given
    assert _listing_rows(wh) == before  # neither changed nor re-hashed
    # Features stored without their other keys are gone, so the next run (nightly too) links
    # every listing again on all of its keys.
    assert wh.query("SELECT count(*) AS n FROM entity_features") == [{"n": 0}]
    assert [r["listing_id"] for r in entity_store.listings_for_linking(wh, store.now_utc())] == ["CN101000001"]
    # The next crawl of the same page finds the listing unchanged; one that gives the number changes it.
    crawled = _crawled("CN101000001", ["G06F15/00"])
    assert store.upsert_listings(wh, [crawled]).unchanged == 1
    assert store.upsert_listings(wh, [{**crawled, "application_number": "CN200910000001.5"}]).updated == 1


def test_0015_drops_features_and_model_so_the_next_dedup_run_is_a_full_pass(tmp_path: Path):
    from jiebang import dedup

    wh = Warehouse(tmp_path / "v14.duckdb")
    migrate(wh, up_to=14)
    _store_before_0014(wh, [_crawled("CN101000001", ["G06F15/00"])])
    wh.execute(
        "INSERT INTO entity_features (listing_id, title_prefix, text_head) VALUES ('CN101000001', '机器视觉', 'x')"
    )
    wh.execute("INSERT INTO entity_state VALUES (1, '{}', now(), now())")

    assert migrate(wh, up_to=15) == [15]
    columns = {r["column_name"] for r in wh.query("DESCRIBE entity_features")}
    assert "title_stem" in columns and not {"title_prefix", "text_head"} & columns
    assert wh.query("SELECT count(*) AS n FROM entity_features") == [{"n": 0}]
    assert wh.query("SELECT count(*) AS n FROM entity_state") == [{"n": 0}]
    migrate(wh)
    assert dedup.run(wh)["trained"] is True  # features hashed the old way are never compared with new ones


def test_0016_leaves_the_features_version_unknown_so_the_next_dedup_run_is_a_full_pass(tmp_path: Path):
    from jiebang import dedup

    wh = Warehouse(tmp_path / "v15.duckdb")
    migrate(wh, up_to=15)
    store.upsert_listings(wh, [_crawled("CN101000001", ["G06F15/00"])])
    wh.execute("INSERT INTO entity_state VALUES (1, '{}', now(), now())")

    assert migrate(wh) == [16]
    assert entity_store.state(wh)["features_version"] is None
    assert dedup.run(wh)["trained"] is True
