"""In-app notifications (table `notifications`, migration 0012) and who a challenge's are for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from warehouse.domain import ADMIN, BROKER, FIRM
from warehouse.gateway import Row, Warehouse


def add(warehouse: Warehouse, recipients: Iterable[str], notice: dict[str, Any], *, now: datetime) -> int:
    """One notification (kind, title, body, link) to each of `recipients`; returns how many."""
    rows = [
        (r, notice["kind"], notice["title"], notice.get("body"), notice.get("link"), now)
        for r in dict.fromkeys(recipients)
    ]
    warehouse.executemany(
        "INSERT INTO notifications (recipient, kind, title, body, link, created_at) VALUES (?, ?, ?, ?, ?, ?)", rows
    )
    return len(rows)


def add_many(warehouse: Warehouse, notices: Sequence[tuple[str, dict[str, Any]]], *, now: datetime) -> int:
    """(recipient, notice) pairs, in one transaction."""
    rows = [(r, n["kind"], n["title"], n.get("body"), n.get("link"), now) for r, n in notices]
    warehouse.executemany(
        "INSERT INTO notifications (recipient, kind, title, body, link, created_at) VALUES (?, ?, ?, ?, ?, ?)", rows
    )
    return len(rows)


def for_user(warehouse: Warehouse, username: str, *, unread_only: bool = False, limit: int = 50) -> list[Row]:
    """A user's notifications, newest first."""
    return warehouse.query(
        "SELECT notification_id, kind, title, body, link, created_at, read_at FROM notifications"
        " WHERE recipient = ? AND (NOT ? OR read_at IS NULL)"
        " ORDER BY created_at DESC, notification_id DESC LIMIT ?",
        [username, unread_only, limit],
    )


def unread_count(warehouse: Warehouse, username: str) -> int:
    rows = warehouse.query(
        "SELECT count(*) AS n FROM notifications WHERE recipient = ? AND read_at IS NULL", [username]
    )
    return int(rows[0]["n"])


def mark_read(warehouse: Warehouse, username: str, ids: Sequence[int] | None, *, now: datetime) -> int:
    """Mark the user's notifications `ids` (None: all of them) read; returns how many were unread."""
    with warehouse.transaction() as con:
        params: list[Any] = [username]
        where = "recipient = ? AND read_at IS NULL"
        if ids is not None:
            where += " AND list_contains(?, notification_id)"
            params.append([int(i) for i in ids])
        n = con.execute(f"SELECT count(*) FROM notifications WHERE {where}", params).fetchone()
        con.execute(f"UPDATE notifications SET read_at = ? WHERE {where}", [now, *params])
    return int(n[0]) if n else 0


def challenge_people(warehouse: Warehouse, challenge_id: str) -> dict[str, Any]:
    """Who a challenge's notices go to: its firm's users (`firm`), its brokers (`brokers`: those
    who decided on, shared or curated it; every broker when nobody has yet), and its title."""
    rows = warehouse.query(
        "SELECT c.title, c.firm,"
        " coalesce((SELECT list(DISTINCT u.username ORDER BY u.username) FROM users u"
        "   WHERE c.firm IS NOT NULL AND u.firm = c.firm AND u.role = $firm_role AND NOT u.disabled), [])"
        " AS firm_users,"
        " coalesce((SELECT list(DISTINCT u.username ORDER BY u.username) FROM users u"
        "   WHERE u.role IN ($broker, $admin) AND NOT u.disabled AND (u.username IN"
        "    (SELECT reviewer FROM reviews WHERE challenge_id = c.challenge_id)"
        "    OR u.username IN (SELECT shared_by FROM match_shares WHERE challenge_id = c.challenge_id)"
        "    OR u.username IN (SELECT actor FROM audit_log WHERE entity_type = 'challenge'"
        "     AND entity_id = c.challenge_id AND action IN ('status', 'reveal')))), []) AS followers,"
        " coalesce((SELECT list(u.username ORDER BY u.username) FROM users u"
        "   WHERE u.role = $broker AND NOT u.disabled), []) AS all_brokers"
        " FROM challenges c WHERE c.challenge_id = $cid",
        {"cid": challenge_id, "firm_role": FIRM, "broker": BROKER, "admin": ADMIN},
    )
    if not rows:
        return {"title": None, "firm": [], "brokers": []}
    row = rows[0]
    return {"title": row["title"], "firm": row["firm_users"], "brokers": row["followers"] or row["all_brokers"]}


def applicants(warehouse: Warehouse, challenge_id: str) -> list[str]:
    """The solver accounts that applied to a challenge."""
    rows = warehouse.query(
        "SELECT DISTINCT applicant FROM applications WHERE challenge_id = ? AND applicant IS NOT NULL ORDER BY 1",
        [challenge_id],
    )
    return [r["applicant"] for r in rows]
