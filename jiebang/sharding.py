"""Matching sharded by challenge batches, for a flow to map over a task runner (threads,
processes, Dask workers).

Each batch is matched against the whole on-disk index, which a worker opens memory-mapped by
path: a challenge's matches depend only on the challenge and the index, so the concatenated
batches equal one `match_challenges` call over all challenges (same order, same scores). On a
Dask cluster beyond one machine the index folder must be on shared storage.

    prepared = prepare_sharded_match(warehouse, index_dir, today=today)
    parts = [match_batch(index_dir, batch, **options) for batch in challenge_batches(prepared.challenges, 50)]
    store_sharded_matches(warehouse, run_id, prepared, merge_batches(parts))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jiebang.pipeline import refresh_index
from matching.engine import Challenge, ListingIndex, Match, match_challenges
from warehouse import queries, store
from warehouse.gateway import Warehouse


@dataclass(frozen=True)
class PreparedMatch:
    """What the batches need: the challenges, the pairs never to show, the index size."""

    challenges: list[Challenge]
    exclude: frozenset[tuple[str, str]]
    listings: int


def prepare_sharded_match(warehouse: Warehouse, index_dir: Path, *, today: date) -> PreparedMatch:
    """Bring the on-disk index up to date and read the open challenges and rejected pairs."""
    index = refresh_index(warehouse, index_dir)
    challenges = [Challenge.from_record(r) for r in queries.open_challenges(warehouse, today)]
    return PreparedMatch(challenges, frozenset(queries.rejected_pairs(warehouse)), len(index))


def challenge_batches(challenges: Sequence[Challenge], size: int) -> list[list[Challenge]]:
    """Consecutive batches of at most `size` challenges, in order.

    >>> [len(b) for b in challenge_batches([Challenge(str(i), "t", "d") for i in range(5)], 2)]
    [2, 2, 1]
    """
    size = max(1, size)
    return [list(challenges[i:i + size]) for i in range(0, len(challenges), size)]


def match_batch(index_dir: Path, challenges: Sequence[Challenge], *, top_k: int, today: date,
                exclude: Iterable[tuple[str, str]] = ()) -> list[Match]:
    """Match one batch against the index saved at `index_dir` (opened memory-mapped here, so a
    worker process never receives the index itself)."""
    ids = {c.challenge_id for c in challenges}
    index = ListingIndex.load(Path(index_dir))
    return match_challenges(index, challenges, top_k=top_k, today=today,
                            exclude={pair for pair in exclude if pair[0] in ids})


def merge_batches(parts: Iterable[Sequence[Match]]) -> list[Match]:
    """The batches' matches as one list, in batch order (each batch is already ranked)."""
    return [match for part in parts for match in part]


def store_sharded_matches(warehouse: Warehouse, run_id: str, prepared: PreparedMatch,
                          matches: Sequence[Match]) -> dict[str, Any]:
    """Store the matches like `match_open_challenges` does and summarise them the same way."""
    stored = store.replace_matches(warehouse, run_id, [c.challenge_id for c in prepared.challenges],
                                   [m.as_record() for m in matches])
    weak = sorted({m.challenge_id for m in matches if m.no_good_match})
    return {"challenges": len(prepared.challenges), "listings": prepared.listings, "matches": stored,
            "no_good_match": weak}
