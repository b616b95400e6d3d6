"""The public board (全球破题): published challenges as solvers may see them, and their 揭榜
applications.

Anonymity is applied here, in SQL, so the firm's name never leaves the database for a challenge
that is anonymous and not revealed: the issuer is replaced by 匿名企业, the firm's name is cut out
of every text field, and the source link and the challenge id are not selected. A board row is
known by `ref`, a hash of the challenge id (posted challenge ids may carry the firm's name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from warehouse.gateway import Row, Warehouse, fetch_rows
from warehouse.store import append_audit

ANONYMOUS_FIRM = "匿名企业"
_HIDDEN = "(c.anonymous AND NOT c.revealed)"


def _redacted(column: str) -> str:
    """`column` with the firm's and the issuer's names (when 2+ characters) replaced, for hidden rows."""
    cut = column
    for name in ("c.firm", "c.issuer"):
        cut = (
            f"CASE WHEN length(coalesce({name}, '')) >= 2 THEN replace({cut}, {name}, '{ANONYMOUS_FIRM}')"
            f" ELSE {cut} END"
        )
    return f"CASE WHEN {_HIDDEN} THEN {cut} ELSE {column} END"


_PUBLIC_COLUMNS = f"""
    substr(sha256(c.challenge_id), 1, 16) AS ref,
    {_redacted("c.title")} AS title,
    {_redacted("c.description")} AS description,
    {_redacted("coalesce(c.targets, '')")} AS targets,
    {_redacted("coalesce(c.cooperation, '')")} AS cooperation,
    c.field, c.budget_wan, c.deadline, c.region,
    CASE WHEN {_HIDDEN} THEN '{ANONYMOUS_FIRM}' ELSE coalesce(c.firm, c.issuer, '') END AS issuer,
    CASE WHEN {_HIDDEN} THEN NULL ELSE c.url END AS url,
    CAST(c.first_seen AS DATE) AS published_on
"""
_OPEN = "c.status = '已发布' AND (c.deadline IS NULL OR c.deadline >= $today)"


def published(
    warehouse: Warehouse,
    *,
    today: date,
    field: str | None = None,
    search: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """One page of open published challenges (newest first) as solvers see them, and how many
    there are. `search` matches part of the title or description."""
    rows = warehouse.query(
        f"SELECT {_PUBLIC_COLUMNS}, count(*) OVER () AS total FROM challenges c"
        f" WHERE {_OPEN} AND ($field IS NULL OR c.field = $field)"
        # Searched in the text as solvers see it: the raw text would let a search for a firm's
        # name reveal which anonymous challenge is theirs.
        f" AND ($search IS NULL OR contains({_redacted('c.title')}, $search)"
        f" OR contains({_redacted('c.description')}, $search))"
        f" ORDER BY c.first_seen DESC, c.challenge_id LIMIT $limit OFFSET $offset",
        {"today": today, "field": field, "search": search, "limit": limit, "offset": offset},
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
    return rows, total


def board_fields(warehouse: Warehouse, *, today: date) -> list[str]:
    rows = warehouse.query(
        f"SELECT DISTINCT c.field FROM challenges c WHERE {_OPEN} AND c.field IS NOT NULL ORDER BY 1", {"today": today}
    )
    return [r["field"] for r in rows]


def insert_application(
    warehouse: Warehouse,
    ref: str,
    record: Mapping[str, Any],
    *,
    client_key: str,
    now: datetime,
    since: datetime,
    duplicate_since: datetime,
    today: date,
    check: Callable[[Row | None, int, int], None],
) -> int:
    """Store one application to the open challenge known by `ref`, with its audit line ("apply").

    `check(challenge, recent, same)` runs inside the transaction with the challenge (None when
    `ref` is unknown or no longer open), the number of applications from `client_key` to that
    challenge since `since`, and the number of identical applications (same challenge, contact and proposal, from
    any session) since `duplicate_since`; it raises to refuse. Returns the application id."""
    with warehouse.transaction() as con:
        found = fetch_rows(
            con,
            f"SELECT c.challenge_id FROM challenges c WHERE {_OPEN} AND substr(sha256(c.challenge_id), 1, 16) = $ref",
            {"today": today, "ref": ref},
        )
        recent = (
            fetch_rows(
                con,
                "SELECT count(*) AS n FROM applications WHERE client_key = ? AND challenge_id = ?"
                " AND submitted_at >= ?",
                [client_key, found[0]["challenge_id"], since],
            )[0]["n"]
            if found
            else 0
        )
        same = (
            fetch_rows(
                con,
                "SELECT count(*) AS n FROM applications WHERE challenge_id = ? AND contact = ? AND proposal = ?"
                " AND submitted_at >= ?",
                [found[0]["challenge_id"], record["contact"], record["proposal"], duplicate_since],
            )[0]["n"]
            if found
            else 0
        )
        check(found[0] if found else None, int(recent), int(same))
        challenge_id = found[0]["challenge_id"]
        application_id = fetch_rows(
            con,
            "INSERT INTO applications (challenge_id, team, proposal, contact, client_key, submitted_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING application_id",
            [challenge_id, record["team"], record["proposal"], record["contact"], client_key, now],
        )[0]["application_id"]
        append_audit(
            con,
            actor=f"solver:{client_key}",
            role="solver",
            action="apply",
            entity_type="application",
            entity_id=str(application_id),
            before=None,
            after={"challenge_id": challenge_id, "team": record["team"]},
        )
    return int(application_id)
