"""The one way challenges are matched and stored: the nightly run, a firm's page, the on-demand
flow and `jiebang bench` all go through these steps.

    plan = prepare(warehouse, index_dir, …)       # verified index, challenges, pairs to skip
    matches = run(plan)                            # or: one task per batch (× listing partition)
    stats = store(warehouse, run_id, plan, matches)

One challenge is a batch of one; an index matched in one process is one listing partition.
A challenge's matches depend only on the challenge and the index, so batches of challenges are
independent. Listing partitions (consecutive ranges of index segments) split one batch further,
in two rounds that give exactly what one pass gives:

    queries = plan_batch(plan, batch)                               # term weights: whole index
    hits = [retrieve_partition(plan, queries, p) for p in partitions]          # raw BM25 hits
    candidates = fuse(hits)                                          # best over all partitions
    scored = [rescore_partition(plan, queries, candidates, p) for p in partitions]
    matches = rank_batch(plan, queries, candidates, scored)

Scores are relative to a challenge's best candidate over the whole index, which is why the
partitions meet twice instead of each returning its own top k. Workers open the on-disk index
memory-mapped by path, once per process while its manifest is unchanged (a server process keeps
it between pages); on a Dask cluster beyond one machine it must be on shared storage.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jiebang import dedup, pipeline
from jiebang.errors import IndexUnusable, UnknownChallenge
from matching.engine import (
    Candidate,
    Challenge,
    ListingIndex,
    Match,
    Query,
    Retrieved,
    Scored,
    make_queries,
    match_challenges,
    rank,
    rescore,
    retrieve,
)
from matching.engine import fuse as fuse_hits
from matching.errors import IndexCorrupt
from warehouse import challenge_store, entity_store, queries, store
from warehouse.gateway import Warehouse

Candidates = list[list[Candidate]]


@dataclass(frozen=True)
class MatchPlan:
    """What every batch needs: where the verified index is and how to search it, the challenges,
    the pairs never to show, and the index's size (and why it was rebuilt first, if it was)."""

    index_dir: Path
    challenges: list[Challenge]
    exclude: frozenset[tuple[str, str]]
    listings: int
    segments: int
    top_k: int
    today: date
    backend: str = "numpy"  # bm25s retrieval backend: numpy, or numba (faster after a JIT warm-up)
    index_rebuilt: str | None = None


def prepare(
    warehouse: Warehouse,
    index_dir: Path,
    *,
    today: date,
    top_k: int,
    backend: str = "numpy",
    segment_size: int = 100_000,
) -> MatchPlan:
    """The nightly's plan: the on-disk index brought up to date and the open challenges with the
    rejected pairs. An index that is corrupt or disagrees with the warehouse is rebuilt first;
    IndexUnusable when that fails, before anything is matched or stored."""
    index, rebuilt = pipeline.checked_index(
        warehouse, index_dir, segment_size=segment_size, backend=backend, on_verified=_keeper(index_dir, backend)
    )
    challenges = [Challenge.from_record(r) for r in queries.open_challenges(warehouse, today)]
    exclude = frozenset(dedup.cluster_exclusions(warehouse, queries.rejected_pairs(warehouse)))
    return MatchPlan(
        Path(index_dir), challenges, exclude, len(index), len(index.segments), top_k, today, backend, rebuilt
    )


def prepare_one(
    warehouse: Warehouse,
    index_dir: Path,
    challenge_id: str,
    *,
    today: date,
    top_k: int,
    backend: str = "numpy",
    wait_seconds: float = 5.0,
    segment_size: int = 100_000,
) -> MatchPlan:
    """A plan for one challenge, whatever its status (a firm just posted or edited it; brokers
    see candidates while curating): a batch of one, for a page that must answer soon.

    The index as saved now is used without any lock when it is current (nothing changed in the
    warehouse since it was refreshed): segments are immutable and the manifest is replaced
    atomically, so the snapshot is consistent. Otherwise it is refreshed under the writer lock,
    waiting at most `wait_seconds` for it: a rebuild holds it for minutes, and the firm is then
    told the match comes with the next run (IndexUnusable). A corrupt index is refused, not
    rebuilt here (minutes, on a page). UnknownChallenge when there is no such challenge."""
    record = challenge_store.any_challenge(warehouse, challenge_id)
    if record is None:
        raise UnknownChallenge(
            f"没有编号为 {challenge_id!r} 的需求 (no challenge with id {challenge_id!r};"
            " check the id on the 需求审核 page)"
        )
    index = _current_snapshot(warehouse, index_dir, backend)
    if index is None:
        index, _ = pipeline.checked_index(
            warehouse,
            index_dir,
            segment_size=segment_size,
            rebuild=False,
            backend=backend,
            wait_seconds=wait_seconds,
            on_verified=_keeper(index_dir, backend),
        )
    rejected = {pair for pair in queries.rejected_pairs(warehouse) if pair[0] == challenge_id}
    exclude = frozenset(dedup.cluster_exclusions(warehouse, rejected))
    challenges = [Challenge.from_record(record)]
    return MatchPlan(Path(index_dir), challenges, exclude, len(index), len(index.segments), top_k, today, backend)


def match_one_challenge(
    warehouse: Warehouse,
    challenge_id: str,
    *,
    today: date,
    top_k: int,
    index_dir: Path,
    backend: str = "numpy",
    wait_seconds: float = 5.0,
) -> dict[str, Any]:
    """Match one challenge now and store its matches like the nightly run does (which still
    matches only published challenges): `prepare_one`, `run`, `store`.

    Returns {"challenge_id", "listings", "matches", "no_good_match", "run_id"}."""
    plan = prepare_one(
        warehouse, index_dir, challenge_id, today=today, top_k=top_k, backend=backend, wait_seconds=wait_seconds
    )
    matches = run(plan)
    run_id = f"on-demand-{store.now_utc():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    stats = store_matches(warehouse, run_id, plan, matches)
    return {
        "challenge_id": challenge_id,
        "listings": plan.listings,
        "matches": stats["matches"],
        "run_id": run_id,
        "no_good_match": bool(stats["no_good_match"]) or not matches,
    }


def _current_snapshot(warehouse: Warehouse, index_dir: Path, backend: str) -> ListingIndex | None:
    """The saved index if it is exactly what a refresh would make of it now (same live listings
    as the warehouse's active ones, none changed since its watermark), read without the writer
    lock; None when it is not (or is being rewritten): then it needs the lock."""
    try:
        index = open_index(index_dir, backend)
        watermark = pipeline.index_watermark(index)
    except (IndexUnusable, IndexCorrupt):
        return None
    if watermark is None:
        return None
    figures = queries.index_figures(warehouse, changed_after=watermark)
    if len(index) != figures["active"] or figures["changed"] or (figures["newest_change"] or watermark) < watermark:
        return None
    return index


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


def _pairs_of(plan: MatchPlan, batch: Iterable[Challenge]) -> set[tuple[str, str]]:
    ids = {c.challenge_id for c in batch}
    return {pair for pair in plan.exclude if pair[0] in ids}


def match_batch(plan: MatchPlan, batch: Sequence[Challenge]) -> list[Match]:
    """Match one batch against the whole index in one step (one listing partition)."""
    index = open_index(plan.index_dir, plan.backend)
    return match_challenges(index, batch, top_k=plan.top_k, today=plan.today, exclude=_pairs_of(plan, batch))


def plan_batch(plan: MatchPlan, batch: Sequence[Challenge]) -> list[Query]:
    """The batch's queries, their terms weighted by rarity over the whole index."""
    return make_queries(open_index(plan.index_dir, plan.backend), batch)


def retrieve_partition(plan: MatchPlan, batch: Sequence[Query], partition: range) -> Retrieved:
    """The batch's raw BM25 hits among one partition's segments."""
    return retrieve(open_index(plan.index_dir, plan.backend), batch, partition)


def fuse(hits: Sequence[Retrieved]) -> Candidates:
    """The batch's best candidates over all partitions' hits."""
    return fuse_hits(hits)


def rescore_partition(
    plan: MatchPlan, batch: Sequence[Query], candidates: Candidates, partition: range
) -> list[list[Scored]]:
    """The batch's candidates that lie in one partition, rescored (excluded pairs left out)."""
    index = open_index(plan.index_dir, plan.backend)
    return rescore(index, batch, candidates, _pairs_of(plan, (q.challenge for q in batch)), partition)


def rank_batch(
    plan: MatchPlan, batch: Sequence[Query], candidates: Candidates, parts: Sequence[list[list[Scored]]]
) -> list[Match]:
    """The batch's ranked, explained matches from every partition's rescored candidates."""
    return rank(batch, candidates, parts, top_k=plan.top_k, today=plan.today)


def match_partitioned(plan: MatchPlan, batch: Sequence[Challenge], partitions: Sequence[range]) -> list[Match]:
    """All rounds for one batch in this process (what the nightly spreads over workers)."""
    queries_ = plan_batch(plan, batch)
    candidates = fuse([retrieve_partition(plan, queries_, p) for p in partitions])
    scored = [rescore_partition(plan, queries_, candidates, p) for p in partitions]
    return rank_batch(plan, queries_, candidates, scored)


def run(plan: MatchPlan, *, batch_size: int = 50, partitions: int = 1) -> list[Match]:
    """Every batch of the plan matched in this process (a page, a benchmark; the nightly maps the
    same steps to tasks), in challenge order."""
    parts = listing_partitions(plan.segments, partitions)
    return merge_batches(
        match_batch(plan, batch) if len(parts) == 1 else match_partitioned(plan, batch, parts)
        for batch in challenge_batches(plan.challenges, batch_size)
    )


def merge_batches(parts: Iterable[Sequence[Match]]) -> list[Match]:
    """The batches' matches as one list, in batch order (each batch is already ranked)."""
    return [match for part in parts for match in part]


def store_matches(warehouse: Warehouse, run_id: str, plan: MatchPlan, matches: Sequence[Match]) -> dict[str, Any]:
    """Store the plan's matches (replacing its challenges' unreviewed proposals), and the figures
    for the run report: matches stored, how many are new pairs, the challenges with no good
    match, and why the index was rebuilt first, if it was."""
    challenge_ids = [c.challenge_id for c in plan.challenges]
    records = [m.as_record() for m in matches]
    # One card per technology: copies of one listing from other sources are left out.
    decided = entity_store.decided_pairs(warehouse, challenge_ids)
    listings = {r["listing_id"] for r in records} | {listing for _, listing in decided}
    records = dedup.one_per_cluster(records, entity_store.cluster_ids(warehouse, listings), decided)
    stored = store.replace_matches(warehouse, run_id, challenge_ids, records)
    new = queries.new_match_count(warehouse, run_id)
    stats = {
        "challenges": len(challenge_ids),
        "listings": plan.listings,
        "matches": stored,
        "new": new,
        "updated": stored - new,
        "no_good_match": sorted({m.challenge_id for m in matches if m.no_good_match}),
    }
    return {**stats, "index_rebuilt": plan.index_rebuilt} if plan.index_rebuilt else stats


# One loaded index per process, named by the manifest's inode and mtime (every save replaces
# the manifest): a worker or a server process loads it once and reuses it until it changes.
_LOADED: dict[tuple[str, str], tuple[tuple[int, int], ListingIndex]] = {}
_LOADING = threading.Lock()


def open_index(index_dir: Path, backend: str = "numpy") -> ListingIndex:
    """The saved index, loaded once per process for as long as it is unchanged. IndexUnusable
    when it cannot be read whole (changed or removed since it was verified)."""
    key = (str(index_dir), backend)
    try:
        with _LOADING:  # a server's pages run in threads: one load, not one per page
            version = _version(index_dir)
            if (held := _LOADED.get(key)) is not None and held[0] == version:
                return held[1]
            index = ListingIndex.load(Path(index_dir), backend=backend)
            if _version(index_dir) != version:  # rewritten while being read: not one snapshot
                raise IndexCorrupt(f"{index_dir} changed while it was read")
            _LOADED.clear()  # the previous version's pages are given back
            _LOADED[key] = (version, index)
            return index
    except (IndexCorrupt, OSError) as exc:
        raise IndexUnusable(
            f"匹配索引在匹配中途无法读取 (matching index unreadable mid-run): {' '.join(str(exc).split())[:500]};"
            " 重新运行 jiebang refresh，或运行 jiebang reindex"
        ) from exc


def _version(index_dir: Path) -> tuple[int, int]:
    manifest = (Path(index_dir) / "manifest.json").stat()
    return manifest.st_ino, manifest.st_mtime_ns


def _keeper(index_dir: Path, backend: str) -> Callable[[ListingIndex], None]:
    """Keeps the index just verified and saved, under the writer lock, as this process's loaded
    copy of that version: the batches that follow do not load it again."""

    def keep(index: ListingIndex) -> None:
        with _LOADING:
            _LOADED.clear()
            _LOADED[(str(index_dir), backend)] = (_version(index_dir), index)

    return keep
