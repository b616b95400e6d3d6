"""Writes of the broker workspace: decisions in bulk, sharing a match with the firm. Each change
commits together with its audit line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from warehouse.gateway import Warehouse, fetch_rows
from warehouse.store import append_audit, append_review, now_utc


def record_reviews(
    warehouse: Warehouse, decisions: Sequence[Mapping[str, Any]], *, reviewer: str, role: str
) -> list[int]:
    """Append several decisions (each a mapping of append_review's keyword arguments: challenge_id,
    listing_id, decision, reason, note, deal_amount_wan, deal_date) in one transaction: all are
    recorded, or none. Returns their review ids in order."""
    with warehouse.transaction() as con:
        return [append_review(con, reviewer=reviewer, role=role, **d) for d in decisions]


def share_match(warehouse: Warehouse, challenge_id: str, listing_id: str, *, actor: str, role: str) -> bool:
    """Share a match with the challenge's firm (match_shares) and audit it ("share"). Sharing again
    changes nothing and writes no audit line; returns whether it was shared now."""
    with warehouse.transaction() as con:
        shared_at = now_utc()
        rows = fetch_rows(
            con,
            "INSERT INTO match_shares VALUES (?, ?, ?, ?) ON CONFLICT (challenge_id, listing_id) DO NOTHING"
            " RETURNING shared_at",
            [challenge_id, listing_id, actor, shared_at],
        )
        if not rows:
            return False
        append_audit(
            con,
            actor=actor,
            role=role,
            action="share",
            entity_type="match",
            entity_id=f"{challenge_id}|{listing_id}",
            before=None,
            after={"shared_by": actor, "shared_at": shared_at},
        )
    return True
