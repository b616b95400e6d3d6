"""Writes: idempotent upserts keyed on natural ids, quarantine, matches, reviews, runs.

Each function is one short transaction through the gateway. Batches go in as Arrow tables so
a large load is one INSERT ... SELECT rather than a row-by-row loop.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from warehouse.domain import BROKER, DECISIONS, REJECT, REOPEN
from warehouse.errors import excerpt
from warehouse.gateway import Warehouse, fetch_rows

LISTING_COLUMNS = (
    "listing_id",
    "kind",
    "title",
    "abstract",
    "claims",
    "keywords",
    "applicants",
    "inventors",
    "ipc",
    "publication_number",
    "application_number",
    "field",
    "maturity",
    "cooperation",
    "price_wan",
    "price_text",
    "contact",
    "region",
    "legal_status",
    "published_on",
    "url",
    "source",
)
CHALLENGE_COLUMNS = (
    "challenge_id",
    "title",
    "description",
    "field",
    "budget_wan",
    "deadline",
    "issuer",
    "region",
    "cooperation",
    "url",
    "source",
)
# Fields that say where a record was seen, not what it says: excluded from the content hash.
_PROVENANCE = {"url", "source"}
# Columns added after listings were first hashed count only when they hold a value: a listing
# crawled again with nothing new keeps its hash, and is not taken for changed. A source that does
# not give one keeps the value another source gave (not every source shows a 申请号).
_HASHED_WHEN_GIVEN = {"application_number"}
_LIST_COLUMNS = {"keywords", "applicants", "inventors", "ipc"}


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    superseded: int = 0  # earlier copies of an id repeated within the same batch (the last wins)

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.superseded

    def __add__(self, other: UpsertCounts) -> UpsertCounts:
        return UpsertCounts(*(a + b for a, b in zip(vars(self).values(), vars(other).values(), strict=True)))


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def content_hash(record: Mapping[str, Any]) -> str:
    """A stable hash of what a record says (not where it was seen)."""
    content = {
        k: v for k, v in sorted(record.items()) if k not in _PROVENANCE and not (k in _HASHED_WHEN_GIVEN and v is None)
    }
    blob = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _batch_table(records: Iterable[Mapping[str, Any]], columns: Sequence[str], key: str) -> pa.Table:
    """Dedupe on the key (last version wins) and build an Arrow batch with a content hash."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        row: dict[str, Any] = {c: record.get(c) for c in columns}
        for c in _LIST_COLUMNS & set(columns):
            row[c] = list(row[c] or [])
        row["content_hash"] = content_hash(row)
        latest[row[key]] = row
    return pa.Table.from_pylist(list(latest.values()))


def _count_changes(con, table: str, key: str) -> UpsertCounts:
    rows = fetch_rows(
        con,
        f"SELECT count(*) FILTER (WHERE t.{key} IS NULL) AS inserted,"
        f" count(*) FILTER (WHERE t.{key} IS NOT NULL AND t.content_hash <> b.content_hash) AS updated,"
        f" count(*) FILTER (WHERE t.content_hash = b.content_hash) AS unchanged"
        f" FROM batch b LEFT JOIN {table} t ON t.{key} = b.{key}",
    )[0]
    return UpsertCounts(**rows)


def _upsert(
    warehouse: Warehouse,
    table: str,
    key: str,
    columns: Sequence[str],
    records: Iterable[Mapping[str, Any]],
    extra_insert: Mapping[str, str] | None = None,
    extra_updates: str = "",
    changed_also: str = "",
    then: Any = None,
) -> UpsertCounts:
    records = list(records)
    batch = _batch_table(records, columns, key)
    if batch.num_rows == 0:
        return UpsertCounts()
    names = [*columns, "content_hash"]
    updates = ", ".join(
        f"{c} = coalesce(EXCLUDED.{c}, {table}.{c})" if c in _HASHED_WHEN_GIVEN else f"{c} = EXCLUDED.{c}"
        for c in names
        if c != key
    )
    extra_insert = dict(extra_insert or {})
    select = ", ".join([*(f"b.{c}" for c in names), *extra_insert.values()])
    sql = (
        f"INSERT INTO {table} ({', '.join([*names, *extra_insert])}, first_seen, last_seen, last_changed)"
        f" SELECT {select}, $now, $now, $now FROM batch b"
        f" ON CONFLICT ({key}) DO UPDATE SET {updates}, last_seen = EXCLUDED.last_seen,"
        f" last_changed = CASE WHEN {table}.content_hash <> EXCLUDED.content_hash{changed_also}"
        f"   THEN EXCLUDED.last_changed ELSE {table}.last_changed END{extra_updates}"
    )
    with warehouse.transaction() as con:
        con.register("batch", batch)
        counts = _count_changes(con, table, key)
        con.execute(sql, {"now": now_utc()})
        con.unregister("batch")
        if then is not None:  # in the same transaction: e.g. number the challenges just inserted
            then(con)
    return replace(counts, superseded=len(records) - batch.num_rows)


def upsert_listings(warehouse: Warehouse, records: Iterable[Mapping[str, Any]]) -> UpsertCounts:
    """Insert or update listings by listing_id; the same patent from two sources stays one row
    and remembers both sources."""
    return _upsert(
        warehouse,
        "listings",
        "listing_id",
        LISTING_COLUMNS,
        records,
        extra_insert={"sources": "[b.source]"},
        extra_updates=(
            ", active = TRUE, sources = CASE WHEN list_contains(listings.sources, EXCLUDED.source)"
            " THEN listings.sources ELSE list_append(listings.sources, EXCLUDED.source) END"
        ),
        # Back from inactive counts as a change: the matching index masked it, and only adds
        # listings changed since its watermark.
        changed_also=" OR NOT listings.active",
    )


def upsert_challenges(warehouse: Warehouse, records: Iterable[Mapping[str, Any]]) -> UpsertCounts:
    """Insert or update crawled challenges; their curation status is kept across crawls."""
    return _upsert(warehouse, "challenges", "challenge_id", CHALLENGE_COLUMNS, records, then=assign_challenge_numbers)


# Each challenge without a 需求编号 gets the next one of the year it was first seen (in Beijing,
# UTC+8 all year), in first_seen order: XQ2026-0001, … (migration 0011 numbered the existing ones
# the same way). Run in the transaction that inserts challenges, so no two writers count at once.
_NUMBER_CHALLENGES = """
UPDATE challenges SET number = n.number
FROM (
    SELECT c.challenge_id,
           printf('XQ%04d-%04d', c.y, coalesce(m.top, 0)
                  + row_number() OVER (PARTITION BY c.y ORDER BY c.first_seen, c.challenge_id)) AS number
    FROM (SELECT challenge_id, first_seen, year(first_seen + INTERVAL 8 HOUR) AS y
          FROM challenges WHERE number IS NULL) c
    LEFT JOIN (SELECT CAST(substr(number, 3, 4) AS INTEGER) AS y, max(CAST(substr(number, 8) AS INTEGER)) AS top
               FROM challenges WHERE number IS NOT NULL GROUP BY 1) m ON m.y = c.y
) n
WHERE challenges.challenge_id = n.challenge_id
"""


def assign_challenge_numbers(con) -> None:
    """Number the challenges that have no 需求编号 yet (on the caller's open transaction)."""
    con.execute(_NUMBER_CHALLENGES)


QUARANTINE_LIST_ITEMS = 100  # what is kept of a huge list in a quarantined payload


def bounded(value: Any) -> Any:
    """A quarantined value cut to what a person can read: each text to its first
    EXCERPT_CHARS characters and its length, each list to its first QUARANTINE_LIST_ITEMS."""
    if isinstance(value, str):
        return excerpt(value)
    if isinstance(value, Mapping):
        return {excerpt(str(k), 100): bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        kept = [bounded(v) for v in value[:QUARANTINE_LIST_ITEMS]]
        return kept + ([f"…({len(value)} items)"] if len(value) > QUARANTINE_LIST_ITEMS else [])
    return value


def quarantine(warehouse: Warehouse, run_id: str | None, rejects: Sequence[Mapping[str, Any]]) -> int:
    """Keep rejected records with the reason; nothing is dropped silently.

    Each reject has source, url, record_id, field, reason and payload (the raw item). A huge
    field (a 50 MB line) is kept as an excerpt with its length: enough to see what it was."""
    rows = [
        [
            run_id,
            excerpt(str(r["source"]), 200),
            bounded(r.get("url")),
            bounded(r.get("record_id")),
            excerpt(str(r["field"]), 200),
            excerpt(str(r["reason"])),
            json.dumps(bounded(r["payload"]), ensure_ascii=False, default=str),
            now_utc(),
        ]
        for r in rejects
    ]
    warehouse.executemany(
        "INSERT INTO quarantine (run_id, source, url, record_id, field, reason, payload, quarantined_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


def record_pages(warehouse: Warehouse, pages: Sequence[Mapping[str, Any]]) -> None:
    """Remember how each loaded detail page looked (ETag, Last-Modified, list row), so that the
    next crawl can skip it while it stays the same. One statement per batch: row-by-row
    upserts cost ~1 ms a page, most of a night's load."""
    latest = {(p["source"], p["page_key"]): p for p in pages}  # one row per key (the last wins)
    if not latest:
        return
    now = now_utc()
    batch = pa.table(
        {
            "source": [p["source"] for p in latest.values()],
            "page_key": [p["page_key"] for p in latest.values()],
            "record_id": [p["record_id"] for p in latest.values()],
            **{
                name: pa.array([p.get(name) for p in latest.values()], pa.string())
                for name in ("etag", "last_modified", "row_hash")
            },
        }
    )
    with warehouse.transaction() as con:
        con.register("page_batch", batch)
        con.execute(
            "INSERT INTO pages SELECT source, page_key, record_id, etag, last_modified, row_hash, $now, $now"
            " FROM page_batch ON CONFLICT (source, page_key) DO UPDATE SET record_id = EXCLUDED.record_id,"
            " etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified, row_hash = EXCLUDED.row_hash,"
            " last_fetched = EXCLUDED.last_fetched, last_seen = EXCLUDED.last_seen",
            {"now": now},
        )
        con.unregister("page_batch")


def mark_seen(warehouse: Warehouse, seen: Sequence[Mapping[str, Any]]) -> int:
    """Pages skipped because they did not change: their records are still there (last_seen,
    active again if a broken crawl had let them lapse). Returns how many."""
    if not seen:
        return 0
    batch = pa.table({name: [s[name] for s in seen] for name in ("source", "page_key", "record_id")})
    now = {"now": now_utc()}
    with warehouse.transaction() as con:
        con.register("seen_batch", batch)
        con.execute(
            "UPDATE pages SET last_seen = $now FROM seen_batch s"
            " WHERE pages.source = s.source AND pages.page_key = s.page_key",
            now,
        )
        con.execute(
            "UPDATE listings SET last_seen = $now, active = TRUE"
            " FROM (SELECT DISTINCT record_id FROM seen_batch) s WHERE listings.listing_id = s.record_id",
            now,
        )
        con.execute(
            "UPDATE challenges SET last_seen = $now"
            " FROM (SELECT DISTINCT record_id FROM seen_batch) s WHERE challenges.challenge_id = s.record_id",
            now,
        )
        con.unregister("seen_batch")
    return len(seen)


def mark_vanished_inactive(warehouse: Warehouse, source: str, crawl_started: datetime) -> int:
    """After a complete crawl of `source`: its listings that no source has seen since the crawl
    began are marked inactive (kept, never deleted; seen again, they come back). Returns how many."""
    with warehouse.transaction() as con:
        rows = fetch_rows(
            con,
            "UPDATE listings SET active = FALSE WHERE active AND list_contains(sources, $source)"
            " AND last_seen < $started RETURNING listing_id",
            {"source": source, "started": crawl_started},
        )
    return len(rows)


def replace_matches(
    warehouse: Warehouse, run_id: str, challenge_ids: Sequence[str], matches: Sequence[Mapping[str, Any]]
) -> int:
    """Store a matching run's proposals for the given challenges.

    Proposals nobody has reviewed are replaced; reviewed pairs keep their row (with the new
    score when proposed again), so a shortlist survives nightly runs. Pairs not proposed before
    are recorded in `new_matches` under `run_id`."""
    rows = [
        {
            "challenge_id": m["challenge_id"],
            "listing_id": m["listing_id"],
            "rank": m["rank"],
            "score": float(m["score"]),
            "parts": json.dumps(m["parts"], ensure_ascii=False),
            "matched_terms": json.dumps(m["matched_terms"], ensure_ascii=False),
        }
        for m in matches
    ]
    with warehouse.transaction() as con:
        if rows:  # remember which pairs are proposed for the first time, before the old ones go
            con.register("batch", pa.Table.from_pylist(rows))
            con.execute(
                "INSERT INTO new_matches SELECT DISTINCT $run, b.challenge_id, b.listing_id FROM batch b"
                " WHERE NOT EXISTS (SELECT 1 FROM matches m WHERE m.challenge_id = b.challenge_id"
                " AND m.listing_id = b.listing_id) ON CONFLICT DO NOTHING",
                {"run": run_id},
            )
            con.unregister("batch")
        con.execute(
            "DELETE FROM matches m WHERE list_contains($ids, m.challenge_id) AND NOT EXISTS"
            " (SELECT 1 FROM reviews r WHERE r.challenge_id = m.challenge_id AND r.listing_id = m.listing_id)",
            {"ids": list(challenge_ids)},
        )
        if rows:
            con.register("batch", pa.Table.from_pylist(rows))
            con.execute(
                "INSERT INTO matches SELECT challenge_id, listing_id, rank, score, parts::JSON,"
                " matched_terms::JSON, $run, $now FROM batch"
                " ON CONFLICT (challenge_id, listing_id) DO UPDATE SET rank = EXCLUDED.rank,"
                " score = EXCLUDED.score, parts = EXCLUDED.parts, matched_terms = EXCLUDED.matched_terms,"
                " run_id = EXCLUDED.run_id, matched_at = EXCLUDED.matched_at",
                {"run": run_id, "now": now_utc()},
            )
            con.unregister("batch")
    return len(rows)


def record_review(
    warehouse: Warehouse,
    *,
    challenge_id: str,
    listing_id: str,
    decision: str,
    reviewer: str,
    reason: str | None = None,
    note: str | None = None,
    role: str = BROKER,
    deal_amount_wan: float | None = None,
    deal_date: Any = None,
) -> int:
    """Append one broker decision (the log is never rewritten) and its audit line, in one
    transaction; returns its review_id."""
    with warehouse.transaction() as con:
        return append_review(
            con,
            challenge_id=challenge_id,
            listing_id=listing_id,
            decision=decision,
            reviewer=reviewer,
            reason=reason,
            note=note,
            role=role,
            deal_amount_wan=deal_amount_wan,
            deal_date=deal_date,
        )


def append_review(
    con,
    *,
    challenge_id: str,
    listing_id: str,
    decision: str,
    reviewer: str,
    reason: str | None = None,
    note: str | None = None,
    role: str = BROKER,
    deal_amount_wan: float | None = None,
    deal_date: Any = None,
) -> int:
    """One decision and its audit line on the open connection of the caller's transaction (so
    that several decisions, e.g. a bulk action, commit or fail together); returns its review_id."""
    if decision not in DECISIONS and decision != REOPEN:
        raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    if decision == REJECT and not (reason or "").strip():
        raise ValueError("排除 (reject) needs a reason")
    previous = fetch_rows(
        con,
        "SELECT decision FROM reviews WHERE challenge_id = ? AND listing_id = ? ORDER BY review_id DESC LIMIT 1",
        [challenge_id, listing_id],
    )
    rows = fetch_rows(
        con,
        "INSERT INTO reviews (challenge_id, listing_id, decision, reason, note, reviewer, decided_at,"
        " deal_amount_wan, deal_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING review_id",
        [challenge_id, listing_id, decision, reason, note, reviewer, now_utc(), deal_amount_wan, deal_date],
    )
    after = {
        "decision": decision,
        "reason": reason,
        "note": note,
        "deal_amount_wan": deal_amount_wan,
        "deal_date": deal_date,
    }
    append_audit(
        con,
        actor=reviewer,
        role=role,
        action="decide",
        entity_type="match",
        entity_id=f"{challenge_id}|{listing_id}",
        before=previous[0] if previous else None,
        after={k: v for k, v in after.items() if v is not None},
    )
    return int(rows[0]["review_id"])


def append_audit(
    con_or_warehouse,
    *,
    actor: str,
    role: str,
    action: str,
    entity_type: str,
    entity_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """One line of the audit log (who, when, what, before → after). Pass the open connection of
    the transaction that makes the change, so the change and its audit line commit together."""
    sql = (
        "INSERT INTO audit_log (actor, role, action, entity_type, entity_id, before, after, acted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    params = [
        actor,
        role,
        action,
        entity_type,
        entity_id,
        None if before is None else json.dumps(before, ensure_ascii=False, default=str),
        None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        at or now_utc(),
    ]
    con_or_warehouse.execute(sql, params)


def record_imported_file(
    warehouse: Warehouse,
    *,
    path: str,
    format: str,
    sha256: str,
    size_bytes: int,
    options_hash: str,
    records: int,
    run_id: str,
) -> None:
    """Remember a configured import that loaded: the next run skips the file while its bytes
    and options stay the same. Call it only after the load succeeded, so a failed load is retried."""
    warehouse.execute(
        "INSERT INTO imported_files (path, format, sha256, size_bytes, options_hash, records, run_id, imported_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path, format) DO UPDATE SET sha256 = EXCLUDED.sha256,"
        " size_bytes = EXCLUDED.size_bytes, options_hash = EXCLUDED.options_hash, records = EXCLUDED.records,"
        " run_id = EXCLUDED.run_id, imported_at = EXCLUDED.imported_at",
        [path, format, sha256, size_bytes, options_hash, records, run_id, now_utc()],
    )


RUN_STATUSES = ("running", "completed", "partial", "failed", "interrupted")


def start_run(warehouse: Warehouse, flow: str, pid: int | None = None) -> str:
    """Record a run as 'running' (with the process that runs it); returns its run_id."""
    run_id = f"{now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    warehouse.execute(
        "INSERT INTO runs (run_id, flow, status, started_at, pid) VALUES (?, ?, 'running', ?, ?)",
        [run_id, flow, now_utc(), pid],
    )
    return run_id


def finish_run(
    warehouse: Warehouse, run_id: str, stats: Mapping[str, Any], error: str | None = None, status: str | None = None
) -> None:
    """Record how a run ended: 'completed', or 'failed' when there is an error, unless `status`
    says otherwise ('partial': some sources failed, the others loaded and matched)."""
    status = status or ("failed" if error else "completed")
    if status not in RUN_STATUSES:
        raise ValueError(f"unknown run status {status!r}")
    warehouse.execute(
        "UPDATE runs SET status = ?, finished_at = ?, stats = ?, error = ? WHERE run_id = ?",
        [status, now_utc(), json.dumps(stats, ensure_ascii=False, default=str), error, run_id],
    )


def mark_interrupted(warehouse: Warehouse, flow: str) -> list[str]:
    """Runs of `flow` still 'running' become 'interrupted'. Call it only while holding the lock
    that lets one run of `flow` at a time: then no live process owns them (it was killed).
    Returns their run_ids."""
    rows = warehouse.query(
        "UPDATE runs SET status = 'interrupted', finished_at = $now,"
        " error = coalesce(error, 'interrupted: its process ended without finishing (killed?)')"
        " WHERE flow = $flow AND status = 'running' RETURNING run_id",
        {"now": now_utc(), "flow": flow},
    )
    return sorted(r["run_id"] for r in rows)


def mark_runs_interrupted(warehouse: Warehouse, run_ids: Sequence[str]) -> list[str]:
    """These runs, if still 'running', become 'interrupted': the caller knows their process
    has ended. Returns the run_ids changed."""
    rows = warehouse.query(
        "UPDATE runs SET status = 'interrupted', finished_at = $now,"
        " error = coalesce(error, 'interrupted: its process ended without finishing (killed?)')"
        " WHERE list_contains($ids, run_id) AND status = 'running' RETURNING run_id",
        {"now": now_utc(), "ids": list(run_ids)},
    )
    return sorted(r["run_id"] for r in rows)
