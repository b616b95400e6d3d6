"""What a broker can do, with the role check made here (server side), not in the page."""

from __future__ import annotations

from typing import Any

from jiebang.accounts import User, require_role
from warehouse import queries, store
from warehouse.gateway import Row, Warehouse

BROKER_ROLES = ("broker", "admin")
REJECT_REASONS = ("技术不对口", "成熟度不足", "价格/榜额不匹配", "地域或合作方式不合适", "重复推荐", "其他")


def challenge_queue(warehouse: Warehouse, user: User | None) -> list[Row]:
    require_role(user, *BROKER_ROLES)
    return queries.challenge_queue(warehouse)


def challenge(warehouse: Warehouse, user: User | None, challenge_id: str) -> Row | None:
    require_role(user, *BROKER_ROLES)
    return queries.get_challenge(warehouse, challenge_id)


def ranked_matches(warehouse: Warehouse, user: User | None, challenge_id: str, *, page: int = 0,
                   page_size: int = 10, include_rejected: bool = False) -> list[Row]:
    require_role(user, *BROKER_ROLES)
    return queries.matches_for_challenge(warehouse, challenge_id, limit=page_size,
                                         offset=page * page_size, include_rejected=include_rejected)


def decide(warehouse: Warehouse, user: User | None, challenge_id: str, listing_id: str,
           decision: str, *, reason: str | None = None, note: str | None = None) -> int:
    """Record a decision under the signed-in broker's name."""
    broker = require_role(user, *BROKER_ROLES)
    return store.record_review(warehouse, challenge_id=challenge_id, listing_id=listing_id,
                               decision=decision, reviewer=broker.username, reason=reason, note=note,
                               role=broker.role)


def run_overview(warehouse: Warehouse, user: User | None) -> dict[str, Any]:
    require_role(user, *BROKER_ROLES)
    return {"counts": queries.table_counts(warehouse), "latest_run": queries.latest_run(warehouse)}
