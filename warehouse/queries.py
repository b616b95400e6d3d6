"""Reads: what matching needs and what the broker pages show. Paginated, pushed down to DuckDB."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from warehouse.domain import BROKER, DECISION_GRADES, OPEN_STATUSES, REJECT, REOPEN
from warehouse.gateway import Row, Warehouse

# The latest decision per (challenge, listing): reviews are an append-only log. A pair whose latest
# row is a 撤销 back to 待审 (REOPEN, a fixed code of the schema's CHECK) has no decision.
_LATEST_REVIEW = f"""
    SELECT * FROM (
        SELECT challenge_id, listing_id, decision, reason, reviewer, decided_at
        FROM reviews
        QUALIFY row_number() OVER (PARTITION BY challenge_id, listing_id ORDER BY review_id DESC) = 1
    ) WHERE decision <> '{REOPEN}'
"""


def listings_for_matching(warehouse: Warehouse, changed_after: datetime | None = None) -> list[Row]:
    """Active listings (only those changed after `changed_after`, when given), with `last_changed`."""
    return warehouse.query(
        "SELECT listing_id, kind, title, abstract, claims, keywords, applicants, ipc, field, maturity,"
        " cooperation, price_wan, region, legal_status, published_on, last_changed FROM listings"
        " WHERE active AND ($after IS NULL OR last_changed > $after) ORDER BY listing_id",
        {"after": changed_after},
    )


def known_pages(warehouse: Warehouse, source: str, refetch_before: datetime) -> dict[str, dict[str, Any]]:
    """page key → what the last fetch saw (record id, ETag, Last-Modified, list-row hash). A page
    last fetched before `refetch_before` gets no row hash: it is asked for again (conditionally),
    so a change its list row does not show is still picked up."""
    rows = warehouse.query(
        "SELECT page_key, record_id, etag, last_modified,"
        " CASE WHEN last_fetched >= ? THEN row_hash END AS row_hash FROM pages WHERE source = ?",
        [refetch_before, source],
    )
    return {r.pop("page_key"): r for r in rows}


def imported_file(warehouse: Warehouse, path: str, format: str) -> Row | None:
    """How a configured import file was last imported successfully (sha256, size_bytes,
    options_hash, records, run_id, imported_at), or None if it never was."""
    rows = warehouse.query("SELECT * FROM imported_files WHERE path = ? AND format = ?", [path, format])
    return rows[0] if rows else None


def seen_since(warehouse: Warehouse, source: str, crawl_started: datetime) -> tuple[int, int]:
    """(seen, known): of `source`'s active listings that existed before `crawl_started`, how many
    have been seen since (loaded again or skipped unchanged). What a complete crawl would leave
    unseen is what `store.mark_vanished_inactive` marks inactive."""
    [row] = warehouse.query(
        "SELECT count(*) FILTER (WHERE last_seen >= $started) AS seen, count(*) AS known FROM listings"
        " WHERE active AND list_contains(sources, $source) AND first_seen < $started",
        {"source": source, "started": crawl_started},
    )
    return int(row["seen"]), int(row["known"])


def index_figures(warehouse: Warehouse, changed_after: datetime | None = None) -> Row:
    """What the matching index must agree with: `active` listings, and `newest_change`, the
    latest last_changed of any listing (no index watermark can be later); with `changed_after`
    (an index watermark) also `changed`, the active listings changed since (0: the index is current)."""
    return warehouse.query(
        "SELECT count(*) FILTER (WHERE active) AS active, max(last_changed) AS newest_change,"
        " count(*) FILTER (WHERE active AND last_changed > $after) AS changed FROM listings",
        {"after": changed_after},
    )[0]


def inactive_listing_ids(warehouse: Warehouse) -> list[str]:
    return [r["listing_id"] for r in warehouse.query("SELECT listing_id FROM listings WHERE NOT active")]


def open_challenges(warehouse: Warehouse, today: date) -> list[Row]:
    """Published challenges whose deadline has not passed."""
    return warehouse.query(
        "SELECT challenge_id, title, description, field, budget_wan, deadline, region, cooperation FROM challenges"
        " WHERE list_contains(?, status) AND (deadline IS NULL OR deadline >= ?) ORDER BY challenge_id",
        [list(OPEN_STATUSES), today],
    )


def rejected_pairs(warehouse: Warehouse) -> set[tuple[str, str]]:
    """Pairs whose latest decision is reject: never proposed again."""
    rows = warehouse.query(f"SELECT challenge_id, listing_id FROM ({_LATEST_REVIEW}) WHERE decision = ?", [REJECT])
    return {(r["challenge_id"], r["listing_id"]) for r in rows}


def labelled_pairs(warehouse: Warehouse) -> list[Row]:
    """(challenge_id, listing_id, grade) from the latest decision per pair: labelled data for tuning."""
    rows = warehouse.query(f"SELECT challenge_id, listing_id, decision FROM ({_LATEST_REVIEW}) ORDER BY 1, 2")
    return [
        {"challenge_id": r["challenge_id"], "listing_id": r["listing_id"], "grade": DECISION_GRADES[r["decision"]]}
        for r in rows
    ]


def challenge_match_counts(warehouse: Warehouse) -> list[Row]:
    """Every challenge (any status, unfiltered, unpaged) with its number of proposals, unreviewed
    proposals and best score, most unreviewed first. The broker's filtered, paged queue is
    workspace_queries.review_queue_rows."""
    return warehouse.query(
        f"""
        SELECT c.challenge_id, c.title, c.field, c.budget_wan, c.deadline, c.issuer, c.region, c.status,
               count(m.listing_id) AS n_matches,
               count(m.listing_id) FILTER (WHERE r.decision IS NULL) AS n_unreviewed,
               max(m.score) AS best_score
        FROM challenges c
        LEFT JOIN matches m USING (challenge_id)
        LEFT JOIN ({_LATEST_REVIEW}) r ON r.challenge_id = m.challenge_id AND r.listing_id = m.listing_id
        GROUP BY ALL
        ORDER BY n_unreviewed DESC, best_score DESC NULLS LAST, c.challenge_id
        """
    )


def get_challenge(warehouse: Warehouse, challenge_id: str) -> Row | None:
    rows = warehouse.query("SELECT * FROM challenges WHERE challenge_id = ?", [challenge_id])
    return rows[0] if rows else None


def matches_for_challenge(
    warehouse: Warehouse, challenge_id: str, *, limit: int = 20, offset: int = 0, include_rejected: bool = False
) -> list[Row]:
    """Ranked proposals for one challenge with listing details and the latest decision."""
    rows = warehouse.query(
        f"""
        SELECT m.rank, m.score, m.parts, m.matched_terms, l.listing_id, l.kind, l.title, l.abstract,
               l.applicants, l.field, l.maturity, l.cooperation, l.price_text, l.url, l.source,
               l.publication_number, r.decision, r.reason
        FROM matches m
        JOIN listings l USING (listing_id)
        LEFT JOIN ({_LATEST_REVIEW}) r ON r.challenge_id = m.challenge_id AND r.listing_id = m.listing_id
        WHERE m.challenge_id = $cid AND ($all OR r.decision IS DISTINCT FROM $rejected)
        ORDER BY m.score DESC, m.rank, m.listing_id
        LIMIT $limit OFFSET $offset
        """,
        {"cid": challenge_id, "all": include_rejected, "rejected": REJECT, "limit": limit, "offset": offset},
    )
    for row in rows:
        row["parts"] = json.loads(row["parts"])
        row["matched_terms"] = json.loads(row["matched_terms"])
    return rows


def running_runs(warehouse: Warehouse, flow_prefix: str) -> list[Row]:
    """Runs of the flows named `flow_prefix…` still recorded as 'running': run_id, flow, pid."""
    return warehouse.query(
        "SELECT run_id, flow, pid FROM runs WHERE status = 'running' AND starts_with(flow, ?) ORDER BY run_id",
        [flow_prefix],
    )


def table_counts(warehouse: Warehouse) -> dict[str, int]:
    names = ("listings", "challenges", "matches", "reviews", "runs", "quarantine")
    sql = " UNION ALL ".join(f"SELECT '{n}' AS name, count(*) AS n FROM {n}" for n in names)
    return {r["name"]: int(r["n"]) for r in warehouse.query(sql)}


def latest_run(warehouse: Warehouse) -> Row | None:
    rows = warehouse.query("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1")
    return rows[0] if rows else None


def reviews_for(warehouse: Warehouse, challenge_id: str) -> list[dict[str, Any]]:
    return warehouse.query("SELECT * FROM reviews WHERE challenge_id = ? ORDER BY review_id", [challenge_id])


def new_match_count(warehouse: Warehouse, run_id: str) -> int:
    """How many pairs `run_id` proposed for the first time."""
    return int(warehouse.query("SELECT count(*) AS n FROM new_matches WHERE run_id = ?", [run_id])[0]["n"])


def new_matches_above(warehouse: Warehouse, run_id: str, min_score: float) -> list[Row]:
    """The pairs `run_id` proposed for the first time that still stand with at least `min_score`,
    with the titles a digest shows and the brokers who follow the challenge (those who decided
    on any of its matches; empty when nobody has yet), best first per challenge."""
    return warehouse.query(
        "SELECT m.challenge_id, c.number, c.title AS challenge_title, m.listing_id, l.title AS listing_title,"
        " l.kind, l.publication_number, m.score, m.rank,"
        " coalesce((SELECT list(DISTINCT r.reviewer ORDER BY r.reviewer) FROM reviews r"
        "   JOIN users u ON u.username = r.reviewer AND u.role = $broker"
        "   WHERE r.challenge_id = m.challenge_id), []) AS brokers"
        " FROM new_matches n JOIN matches m USING (challenge_id, listing_id)"
        " JOIN challenges c USING (challenge_id) JOIN listings l USING (listing_id)"
        " WHERE n.run_id = $run AND m.score >= $min ORDER BY m.challenge_id, m.rank",
        {"run": run_id, "min": float(min_score), "broker": BROKER},
    )


def broker_usernames(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query("SELECT username FROM users WHERE role = ? ORDER BY 1", [BROKER])
    return [r["username"] for r in rows]
