"""Reads and writes of the challenges firms post, and of their lifecycle.

Ownership is part of every firm read (`WHERE firm = ?`), so a firm's query cannot return another
firm's row whatever id it is given. Every change commits together with its audit line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from warehouse.gateway import Row, Warehouse, fetch_rows
from warehouse.store import CHALLENGE_COLUMNS, append_audit, assign_challenge_numbers, content_hash, now_utc

# The columns a posted challenge has beyond the crawled ones.
POSTED_COLUMNS = (*CHALLENGE_COLUMNS, "targets", "firm", "posted_by", "anonymous", "status")
_DETAIL = (
    "challenge_id, number, title, description, field, targets, budget_wan, deadline, issuer, region, cooperation,"
    " status, firm, posted_by, anonymous, revealed, source, url, first_seen, last_changed"
)


def _hash(record: Mapping[str, Any]) -> str:
    """The same content hash a crawled challenge gets, plus the firm-only field (期望指标)."""
    return content_hash({c: record.get(c) for c in (*CHALLENGE_COLUMNS, "targets")})


def insert_posted(warehouse: Warehouse, record: Mapping[str, Any], *, actor: str, role: str) -> Row:
    """Insert a challenge a firm posted and its audit line ("post", after = the record)."""
    row: dict[str, Any] = {c: record.get(c) for c in POSTED_COLUMNS}
    now = now_utc()
    names = [*POSTED_COLUMNS, "content_hash", "first_seen", "last_seen", "last_changed"]
    values = [*row.values(), _hash(row), now, now, now]
    with warehouse.transaction() as con:
        con.execute(f"INSERT INTO challenges ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", values)
        assign_challenge_numbers(con)
        append_audit(
            con,
            actor=actor,
            role=role,
            action="post",
            entity_type="challenge",
            entity_id=row["challenge_id"],
            after=row,
        )
        return fetch_rows(con, f"SELECT {_DETAIL} FROM challenges WHERE challenge_id = ?", [row["challenge_id"]])[0]


def change_challenge(
    warehouse: Warehouse,
    challenge_id: str,
    changes: Mapping[str, Any],
    *,
    actor: str,
    role: str,
    action: str,
    check: Callable[[Row], None] | None = None,
    firm: str | None = None,
) -> Row | None:
    """Apply `changes` to one challenge and audit before → after (only the changed columns), in
    one transaction.

    `check(before)` runs inside the transaction on the current row and raises to refuse (so two
    people changing the same challenge cannot both pass a stale check). With `firm`, only that
    firm's challenge is found. Returns the row after the change, or None when there is no such
    challenge (for that firm). Columns are names from POSTED_COLUMNS + "revealed", never user input.
    """
    allowed = {*POSTED_COLUMNS, "revealed"} - {"challenge_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not a challenge column: {', '.join(sorted(unknown))}")
    with warehouse.transaction() as con:
        rows = fetch_rows(
            con,
            f"SELECT {_DETAIL} FROM challenges WHERE challenge_id = $id AND ($firm IS NULL OR firm = $firm)",
            {"id": challenge_id, "firm": firm},
        )
        if not rows:
            return None
        before = rows[0]
        if check is not None:
            check(before)
        changed = {k: v for k, v in changes.items() if before.get(k) != v}
        if not changed:
            return before
        after = {**before, **changed}
        assignments = ", ".join(f"{c} = ${c}" for c in changed)
        con.execute(
            f"UPDATE challenges SET {assignments}, content_hash = $hash, last_changed = $now WHERE challenge_id = $id",
            {**changed, "hash": _hash(after), "now": now_utc(), "id": challenge_id},
        )
        append_audit(
            con,
            actor=actor,
            role=role,
            action=action,
            entity_type="challenge",
            entity_id=challenge_id,
            before={k: before.get(k) for k in changed},
            after=changed,
        )
        return fetch_rows(con, f"SELECT {_DETAIL} FROM challenges WHERE challenge_id = ?", [challenge_id])[0]


def firm_challenge(warehouse: Warehouse, challenge_id: str, firm: str) -> Row | None:
    """One challenge of `firm` (None for another firm's id or an unknown one)."""
    rows = warehouse.query(
        f"SELECT {_DETAIL} FROM challenges WHERE challenge_id = ? AND firm = ?", [challenge_id, firm]
    )
    return rows[0] if rows else None


def any_challenge(warehouse: Warehouse, challenge_id: str) -> Row | None:
    """One challenge, whoever owns it (brokers and matching)."""
    rows = warehouse.query(f"SELECT {_DETAIL} FROM challenges WHERE challenge_id = ?", [challenge_id])
    return rows[0] if rows else None


def firm_challenges(warehouse: Warehouse, firm: str) -> list[Row]:
    """A firm's challenges, newest first, with how many matches were shared with it."""
    return warehouse.query(
        "SELECT c.challenge_id, c.number, c.title, c.field, c.budget_wan, c.deadline, c.status, c.anonymous,"
        " c.revealed, c.first_seen, c.last_changed, count(DISTINCT coalesce(e.cluster_id, s.listing_id)) AS n_shared"
        " FROM challenges c LEFT JOIN match_shares s USING (challenge_id)"
        " LEFT JOIN entity_clusters e ON e.listing_id = s.listing_id"
        " WHERE c.firm = ? GROUP BY ALL ORDER BY c.first_seen DESC, c.challenge_id",
        [firm],
    )


def shared_matches(warehouse: Warehouse, challenge_id: str, firm: str) -> list[Row]:
    """The matches a broker shared with `firm` for one of its challenges, best first, with the
    matched terms and who shared it (broker_name, broker_contact); one per technology (copies a
    broker shared before they were found to be one: the one shared last)."""
    return warehouse.query(
        "SELECT s.listing_id, l.publication_number, l.kind, l.title, left(l.abstract, 300) AS summary, l.url,"
        " l.field, l.maturity, l.cooperation, l.price_text, m.score, m.matched_terms, s.shared_at, s.shared_by,"
        " coalesce(u.display_name, s.shared_by) AS broker_name, u.contact AS broker_contact"
        " FROM match_shares s LEFT JOIN users u ON u.username = s.shared_by"
        " JOIN challenges c ON c.challenge_id = s.challenge_id AND c.firm = ?"
        " JOIN listings l ON l.listing_id = s.listing_id"
        " LEFT JOIN matches m ON m.challenge_id = s.challenge_id AND m.listing_id = s.listing_id"
        " LEFT JOIN entity_clusters e ON e.listing_id = s.listing_id"
        " WHERE s.challenge_id = ?"
        " QUALIFY row_number() OVER (PARTITION BY coalesce(e.cluster_id, s.listing_id)"
        " ORDER BY s.shared_at DESC, s.listing_id) = 1"
        " ORDER BY m.score DESC NULLS LAST, m.rank, s.listing_id",
        [firm, challenge_id],
    )


def challenges_in_status(
    warehouse: Warehouse, statuses: Sequence[str], *, limit: int = 200, offset: int = 0
) -> list[Row]:
    """Challenges in the given lifecycle statuses (the curation queue), oldest first, with their
    number of proposed matches."""
    return warehouse.query(
        "SELECT c.challenge_id, c.number, c.title, c.field, c.budget_wan, c.deadline, c.status, c.firm, c.issuer,"
        " c.anonymous, c.revealed, c.source, c.first_seen, count(m.listing_id) AS n_matches"
        " FROM challenges c LEFT JOIN matches m USING (challenge_id)"
        " WHERE list_contains($statuses, c.status) GROUP BY ALL"
        " ORDER BY c.first_seen, c.challenge_id LIMIT $limit OFFSET $offset",
        {"statuses": list(statuses), "limit": limit, "offset": offset},
    )


def status_counts(warehouse: Warehouse) -> dict[str, int]:
    return {
        r["status"]: int(r["n"])
        for r in warehouse.query("SELECT status, count(*) AS n FROM challenges GROUP BY status")
    }


def duplicate_candidates(
    warehouse: Warehouse, *, min_length: int, max_length: int, exclude_id: str | None = None
) -> list[Row]:
    """The other challenges a new post could be a near-duplicate of: id, owner, status,
    confidentiality, title and description of those whose text length (title + description)
    lies in [min_length, max_length] (texts of very different length cannot be near-duplicates;
    the fuzzy comparison is the caller's)."""
    return warehouse.query(
        "SELECT challenge_id, firm, status, anonymous, revealed, title, description FROM challenges"
        " WHERE challenge_id IS DISTINCT FROM $exclude"
        " AND length(title) + length(description) BETWEEN $lo AND $hi ORDER BY challenge_id",
        {"exclude": exclude_id, "lo": min_length, "hi": max_length},
    )


def challenge_audit(warehouse: Warehouse, challenge_id: str) -> list[Row]:
    """The audit lines of one challenge, oldest first."""
    return warehouse.query(
        "SELECT actor, role, action, before, after, acted_at FROM audit_log"
        " WHERE entity_type = 'challenge' AND entity_id = ? ORDER BY audit_id",
        [challenge_id],
    )
