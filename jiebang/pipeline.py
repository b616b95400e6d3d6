"""The application steps the flows and the CLI call: each one short, each on its real component."""

from __future__ import annotations

from datetime import date
from typing import Any

from matching.engine import Challenge, Listing, build_index, match_challenges
from warehouse import queries, store
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate


def open_warehouse(path, lock_timeout_seconds: float) -> Warehouse:
    """The warehouse at `path`, migrated to the current schema."""
    warehouse = Warehouse(path, lock_timeout_seconds)
    migrate(warehouse)
    return warehouse


def match_open_challenges(warehouse: Warehouse, run_id: str, *, today: date, top_k: int,
                          challenge_ids: list[str] | None = None) -> dict[str, Any]:
    """Match open challenges (or the given ones) against active listings and store the results.

    Rejected pairs are excluded, so a listing a broker rejected never comes back."""
    challenges = [Challenge.from_record(r) for r in queries.open_challenges(warehouse, today)]
    if challenge_ids is not None:
        challenges = [c for c in challenges if c.challenge_id in set(challenge_ids)]
    listings = [Listing.from_record(r) for r in queries.listings_for_matching(warehouse)]
    index = build_index(listings)
    matches = match_challenges(index, challenges, top_k=top_k, exclude=queries.rejected_pairs(warehouse),
                               today=today)
    stored = store.replace_matches(
        warehouse, run_id, [c.challenge_id for c in challenges], [m.as_record() for m in matches]
    )
    weak = sorted({m.challenge_id for m in matches if m.no_good_match})
    return {"challenges": len(challenges), "listings": len(listings), "matches": stored, "no_good_match": weak}
