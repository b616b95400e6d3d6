"""Matching sharded by challenge batches and by listing partitions, for a flow to map over a
task runner (threads, processes, Dask workers).

A challenge's matches depend only on the challenge and the index, so batches of challenges
are independent. Listing partitions (consecutive ranges of index segments) split one batch
further, in two rounds that give exactly what one pass gives:

    queries = plan_batch(index_dir, batch)                          # term weights: whole index
    hits = [retrieve_partition(index_dir, queries, p) for p in partitions]      # raw BM25 hits
    candidates = fuse(hits)                                          # best over all partitions
    scored = [rescore_partition(index_dir, queries, candidates, p, exclude) for p in partitions]
    matches = rank_batch(queries, candidates, scored, top_k=…, today=…)

Scores are relative to a challenge's best candidate over the whole index, which is why the
partitions meet twice instead of each returning its own top k. Workers open the on-disk index
memory-mapped by path; on a Dask cluster beyond one machine it must be on shared storage.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jiebang.errors import IndexUnusable
from jiebang.pipeline import checked_index, store_matches
from matching.engine import (
    Candidate,
    Challenge,
    ListingIndex,
    Match,
    Query,
    Retrieved,
    Scored,
    fuse,
    make_queries,
    match_challenges,
    rank,
    rescore,
    retrieve,
)
from matching.errors import IndexCorrupt
from warehouse import queries
from warehouse.gateway import Warehouse

Candidates = list[list[Candidate]]


@dataclass(frozen=True)
class PreparedMatch:
    """What the batches need: the challenges, the pairs never to show, the index's size (and
    why it was rebuilt first, if it was)."""

    challenges: list[Challenge]
    exclude: frozenset[tuple[str, str]]
    listings: int
    segments: int
    index_rebuilt: str | None = None


def prepare_sharded_match(
    warehouse: Warehouse, index_dir: Path, *, today: date, segment_size: int = 100_000
) -> PreparedMatch:
    """Bring the on-disk index up to date and read the open challenges and rejected pairs. An
    index that is corrupt or disagrees with the warehouse is rebuilt first; IndexUnusable when
    that fails, before anything is matched or stored."""
    index, rebuilt = checked_index(warehouse, index_dir, segment_size=segment_size)
    challenges = [Challenge.from_record(r) for r in queries.open_challenges(warehouse, today)]
    exclude = frozenset(queries.rejected_pairs(warehouse))
    return PreparedMatch(challenges, exclude, len(index), len(index.segments), rebuilt)


def challenge_batches(challenges: Sequence[Challenge], size: int) -> list[list[Challenge]]:
    """Consecutive batches of at most `size` challenges, in order.

    >>> [len(b) for b in challenge_batches([Challenge(str(i), "t", "d") for i in range(5)], 2)]
    [2, 2, 1]
    """
    size = max(1, size)
    return [list(challenges[i : i + size]) for i in range(0, len(challenges), size)]


def listing_partitions(segments: int, parts: int) -> list[range]:
    """At most `parts` consecutive, non-empty ranges of segment numbers covering all segments.

    >>> listing_partitions(5, 2)
    [range(0, 3), range(3, 5)]
    >>> listing_partitions(1, 4)
    [range(0, 1)]
    """
    parts = max(1, min(parts, segments))
    size = -(-segments // parts) if segments else 1
    return [range(start, min(start + size, segments)) for start in range(0, max(segments, 1), size)]


def _pairs_of(batch: Iterable[Challenge], exclude: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    ids = {c.challenge_id for c in batch}
    return {pair for pair in exclude if pair[0] in ids}


def match_batch(
    index_dir: Path,
    challenges: Sequence[Challenge],
    *,
    top_k: int,
    today: date,
    exclude: Iterable[tuple[str, str]] = (),
) -> list[Match]:
    """Match one batch against the whole index saved at `index_dir` in one step."""
    return match_challenges(
        open_index(index_dir), challenges, top_k=top_k, today=today, exclude=_pairs_of(challenges, exclude)
    )


def plan_batch(index_dir: Path, challenges: Sequence[Challenge]) -> list[Query]:
    """The batch's queries, their terms weighted by rarity over the whole index."""
    return make_queries(open_index(index_dir), challenges)


def retrieve_partition(index_dir: Path, batch: Sequence[Query], partition: range) -> Retrieved:
    """The batch's raw BM25 hits among one partition's segments."""
    return retrieve(open_index(index_dir), batch, partition)


def rescore_partition(
    index_dir: Path,
    batch: Sequence[Query],
    candidates: Candidates,
    partition: range,
    exclude: Iterable[tuple[str, str]] = (),
) -> list[list[Scored]]:
    """The batch's candidates that lie in one partition, rescored (excluded pairs left out)."""
    return rescore(
        open_index(index_dir), batch, candidates, _pairs_of((q.challenge for q in batch), exclude), partition
    )


def rank_batch(
    batch: Sequence[Query], candidates: Candidates, parts: Sequence[list[list[Scored]]], *, top_k: int, today: date
) -> list[Match]:
    """The batch's ranked, explained matches from every partition's rescored candidates."""
    return rank(batch, candidates, parts, top_k=top_k, today=today)


def match_partitioned(
    index_dir: Path,
    challenges: Sequence[Challenge],
    partitions: Sequence[range],
    *,
    top_k: int,
    today: date,
    exclude: Iterable[tuple[str, str]] = (),
) -> list[Match]:
    """All rounds for one batch in this process (what the flow spreads over workers)."""
    batch = plan_batch(index_dir, challenges)
    candidates = fuse([retrieve_partition(index_dir, batch, p) for p in partitions])
    scored = [rescore_partition(index_dir, batch, candidates, p, exclude) for p in partitions]
    return rank_batch(batch, candidates, scored, top_k=top_k, today=today)


def merge_batches(parts: Iterable[Sequence[Match]]) -> list[Match]:
    """The batches' matches as one list, in batch order (each batch is already ranked)."""
    return [match for part in parts for match in part]


def store_sharded_matches(
    warehouse: Warehouse, run_id: str, prepared: PreparedMatch, matches: Sequence[Match]
) -> dict[str, Any]:
    """Store the batches' matches and summarise them like any matching step."""
    stats = store_matches(warehouse, run_id, [c.challenge_id for c in prepared.challenges], prepared.listings, matches)
    return {**stats, "index_rebuilt": prepared.index_rebuilt} if prepared.index_rebuilt else stats


def open_index(index_dir: Path) -> ListingIndex:
    """The saved index, opened once per worker process for as long as it is unchanged: every
    save replaces the manifest, so its inode and mtime name the version. IndexUnusable when it
    cannot be read whole (changed since `prepare_sharded_match` verified it)."""
    try:
        manifest = (Path(index_dir) / "manifest.json").stat()
        return _open_index(str(index_dir), manifest.st_ino, manifest.st_mtime_ns)
    except (IndexCorrupt, OSError) as exc:
        raise IndexUnusable(
            f"匹配索引在匹配中途无法读取 (matching index unreadable mid-run): {' '.join(str(exc).split())[:500]};"
            " 重新运行 jiebang refresh，或运行 jiebang reindex"
        ) from exc


@functools.lru_cache(maxsize=1)
def _open_index(index_dir: str, inode: int, mtime_ns: int) -> ListingIndex:
    return ListingIndex.load(Path(index_dir))
