"""One technology, one card: listings linked into clusters, nightly and on demand.

    run(warehouse)          # new and changed listings linked against the rest; clusters updated
    run(warehouse, full=True)   # the model trained again and every pair re-linked

Links are certain (a shared patent number, publication or application: matching.entity.patent_key)
or the Splink model's (warehouse.entity_links) at or above MATCH_THRESHOLD, chosen on
tests/fixtures/entity_pairs.tsv.
Clusters are the connected components of the links, with a broker's decisions winning: a merge
joins two clusters whatever the model says; a split keeps two listings apart (a component is not
joined across a split pair, strongest links first). A cluster's id is its oldest member's
listing id, so it stays the same while its membership does. Every merge and split of a run is
audited.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from jiebang.accounts import User, ensure_permission
from jiebang.errors import InvalidDecision
from matching.entity import FEATURES_VERSION, entity_features, shipped_model
from warehouse import entity_links, entity_store
from warehouse.gateway import Warehouse
from warehouse.store import now_utc

MATCH_THRESHOLD = 0.8  # precision 0.982, recall 0.914 on the 580 labelled pairs (tests/test_dedup.py)
FEATURE_PAGE = 50_000
MIN_TRAINING_LISTINGS = 2000  # below this EM has too few copies to learn from: the shipped model is used


def run(warehouse: Warehouse, *, full: bool = False, threshold: float = MATCH_THRESHOLD) -> dict[str, Any]:
    """Link and cluster; returns the run's figures (listings, relinked, links, clusters, merges,
    splits, trained)."""
    started = now_utc()
    clock = _Clock()
    current = None if full else entity_store.state(warehouse)
    if current is not None and current["features_version"] != FEATURES_VERSION:
        current = None  # features computed another way are never compared with these: a full pass
    changed = _refresh_features(warehouse, current["watermark"] if current else None)
    listings = entity_store.drop_inactive_features(warehouse)
    if current is None:  # a full pass: every listing, every block
        features, relinked = entity_store.all_features(warehouse), None
    else:  # the changed listings and whatever shares a block with them, nothing else
        relinked = set(changed)
        features = entity_store.features_in_blocks(warehouse, relinked)
    clock.lap("read")
    if current is not None:
        model = current["model"]
    else:
        model = entity_links.train(features) if len(features) >= MIN_TRAINING_LISTINGS else shipped_model()
    clock.lap("train")
    model_links = entity_links.predict(features, model, threshold, changed=relinked) if len(features) > 1 else []
    clock.lap("predict")
    # Certain links are cheap and always recomputed whole: a listing that drops a key must not
    # leave the key's other holders unlinked just because they did not change.
    certain = certain_links(entity_store.key_holders(warehouse))
    new_links = [(a, b, p, "model") for a, b, p in model_links if (a, b) not in certain] + [
        (a, b, 1.0, "patent_key") for a, b in sorted(certain)
    ]
    kept = [
        (r["left_id"], r["right_id"], r["probability"])
        for r in entity_store.links(warehouse)
        if relinked is not None
        and r["rule"] == "model"
        and r["left_id"] not in relinked
        and r["right_id"] not in relinked
        and (r["left_id"], r["right_id"]) not in certain
    ]
    all_links = [(a, b, p) for a, b, p in kept] + [(a, b, p) for a, b, p, _ in new_links]
    cluster_of, audit = _recluster(warehouse, all_links)
    clock.lap("cluster")
    run_id = f"dedup-{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    entity_store.save_run(
        warehouse,
        new_links=new_links,
        relinked=relinked,
        cluster_of=cluster_of,
        audit=audit,
        run_id=run_id,
        actor="model",
        model=model if current is None else None,
        watermark=started,
        features_version=FEATURES_VERSION,
        all_certain=True,
    )
    clock.lap("save")
    return {
        "run_id": run_id,
        "listings": listings,
        "relinked": len(changed),
        "links": len(all_links),
        "clusters": len(set(cluster_of.values())),
        "clustered_listings": len(cluster_of),
        "merges": sum(a["action"] == "merge" for a in audit),
        "splits": sum(a["action"] == "split" for a in audit),
        "trained": current is None,
        "seconds": clock.laps,
    }


def _refresh_features(warehouse: Warehouse, changed_after: Any) -> list[str]:
    """Features computed and stored for every listing changed after `changed_after` (all when
    None, the old ones dropped first) and any without features, a page at a time so that a
    million listings' texts are never in memory at once; returns their ids."""
    if changed_after is None:
        entity_store.clear_features(warehouse)
    done: list[str] = []
    while rows := entity_store.listings_for_linking(
        warehouse, changed_after, after_id=done[-1] if done else "", limit=FEATURE_PAGE
    ):
        entity_store.save_features(warehouse, [entity_features(r) for r in rows])
        done += [r["listing_id"] for r in rows]
    return done


class _Clock:
    """Seconds spent in each step of a run (the run's figures say where the time went)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 2)
        self._last = now


def certain_links(features: Sequence[Mapping[str, Any]]) -> set[tuple[str, str]]:
    """Pairs sharing any patent key (a patent known by its publication and application numbers,
    and the achievements that cite either), chained within a key: n listings of one key give
    n-1 links, not n². A key more than BLOCK_CAP listings cite is not one technology's (a number
    quoted in a template text) and links nothing.

    >>> sorted(certain_links([{"unique_id": x, "patent_keys": ["CN1"]} for x in "cab"]))
    [('a', 'b'), ('b', 'c')]
    """
    by_key: dict[str, list[str]] = {}
    for f in features:
        for key in f["patent_keys"] or ():
            by_key.setdefault(key, []).append(f["unique_id"])
    pairs: set[tuple[str, str]] = set()
    for ids in by_key.values():
        ids = sorted(ids)
        if len(ids) > entity_links.BLOCK_CAP:
            continue
        pairs.update((min(a, b), max(a, b)) for a, b in zip(ids, ids[1:], strict=False))
    return pairs


def clusters_of(
    first_seen: Mapping[str, Any],
    links: Iterable[tuple[str, str, float]],
    merges: Iterable[tuple[str, str]] = (),
    splits: Iterable[tuple[str, str]] = (),
) -> dict[str, str]:
    """listing → cluster id (its oldest member by `first_seen`'s sort key) for listings in a
    cluster of two or more. Merges first; then links, strongest first, unless they would put
    a split pair in one cluster.

    >>> clusters_of({"a": 1, "b": 2, "c": 3}, [("a", "b", 0.9), ("b", "c", 0.8)], splits=[("a", "c")])
    {'a': 'a', 'b': 'a'}
    """
    parent: dict[str, str] = {}
    apart: dict[str, set[str]] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def union(a: str, b: str, *, forced: bool) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        if not forced and (
            any(find(x) == rb for x in apart.get(ra, ())) or any(find(x) == ra for x in apart.get(rb, ()))
        ):
            return
        parent[rb] = ra
        apart.setdefault(ra, set()).update(apart.pop(rb, set()))

    for a, b in splits:
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)
    for a, b in merges:
        if a in first_seen and b in first_seen:
            union(a, b, forced=True)
    for a, b, _ in sorted(links, key=lambda link: (-link[2], link[0], link[1])):
        union(a, b, forced=False)
    groups: dict[str, list[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), []).append(x)
    for root in list(groups):
        groups[root] = sorted(set(groups[root]) | {root})
    out = {}
    for members in groups.values():
        if len(members) > 1:
            oldest = min(members, key=lambda m: first_seen[m])
            out.update({m: oldest for m in members})
    return dict(sorted(out.items()))


def _recluster(
    warehouse: Warehouse, links: Sequence[tuple[str, str, float]]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """The clusters from these links (between active listings) and the broker's decisions, and
    the audit of what changed."""
    decided = entity_store.decisions(warehouse)
    ids = {i for a, b, _ in links for i in (a, b)} | {i for d in decided for i in (d["left_id"], d["right_id"])}
    first_seen = entity_store.first_seen(warehouse, ids)
    links = [link for link in links if link[0] in first_seen and link[1] in first_seen]
    merges = [(d["left_id"], d["right_id"]) for d in decided if d["decision"] == "merge"]
    splits = [(d["left_id"], d["right_id"]) for d in decided if d["decision"] == "split"]
    cluster_of = clusters_of(first_seen, links, merges, splits)
    return cluster_of, audit_changes(entity_store.clusters(warehouse), cluster_of)


def audit_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[dict[str, Any]]:
    """A merge for each new cluster that joins listings from more than one old cluster (a
    singleton counts as its own), a split for each old cluster whose members now lie apart."""

    def groups(of: Mapping[str, str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for listing, cluster in of.items():
            out.setdefault(cluster, set()).add(listing)
        return out

    old, new = groups(before), groups(after)
    entries = []
    for cid, members in sorted(new.items()):
        previous = sorted({before.get(m, m) for m in members})
        if len(previous) > 1:
            entries.append({"action": "merge", "cluster_id": cid, "members": sorted(members), "before": previous})
    for cid, members in sorted(old.items()):
        now = sorted({after.get(m, m) for m in members})
        if len(now) > 1:
            entries.append({"action": "split", "cluster_id": cid, "members": sorted(members), "before": now})
    return entries


# --- a broker's decisions -------------------------------------------------------------------------


def merge(warehouse: Warehouse, user: User | None, listing_a: str, listing_b: str) -> dict[str, str]:
    """Put two listings (and their clusters) in one cluster, whatever the model says."""
    broker = ensure_permission(warehouse, user, "review_matches")
    if listing_a == listing_b:
        raise InvalidDecision("listing: 不能与自身合并 (a listing cannot be merged with itself)")
    entity_store.add_decisions(warehouse, [(listing_a, listing_b)], "merge", broker.username)
    return _apply_decision(warehouse, broker.username)


def merge_by_number(warehouse: Warehouse, user: User | None, listing_id: str, number: str | None) -> str:
    """Merge a listing with the one a broker names by its 成果编号 (jiebang.display.listing_number),
    publication number or id, as typed on the listing's page; returns the other listing's id."""
    ensure_permission(warehouse, user, "review_matches")  # before the lookup: it tells what exists
    wanted = (number or "").strip()
    if not wanted:
        raise InvalidDecision("成果编号：必填（成果编号、公开号或成果 ID）")
    found = entity_store.listings_by_number(warehouse, wanted)
    if not found:
        raise InvalidDecision(f"成果编号：找不到在架成果 {wanted}，请核对编号")
    if len(found) > 1:
        raise InvalidDecision(f"成果编号：{wanted} 对应多条成果，请改填成果 ID")
    [other] = found
    if other == listing_id:
        raise InvalidDecision("成果编号：不能与本成果自身合并")
    if len(set(entity_store.cluster_ids(warehouse, [listing_id, other]).values())) == 1:
        raise InvalidDecision(f"成果编号：{wanted} 已与本成果同属一项技术")
    merge(warehouse, user, listing_id, other)
    return other


def split(warehouse: Warehouse, user: User | None, listing_id: str) -> dict[str, str]:
    """Take a listing out of its cluster: it is kept apart from every other member from now on,
    however the model links them."""
    broker = ensure_permission(warehouse, user, "review_matches")
    cluster = entity_store.clusters(warehouse)
    own = cluster.get(listing_id)
    if own is None:
        raise InvalidDecision(f"listing: {listing_id} 不在任何合并组中 (not in a cluster)")
    others = [m for m, c in cluster.items() if c == own and m != listing_id]
    entity_store.add_decisions(warehouse, [(listing_id, m) for m in others], "split", broker.username)
    return _apply_decision(warehouse, broker.username)


def _apply_decision(warehouse: Warehouse, actor: str) -> dict[str, str]:
    links = [(r["left_id"], r["right_id"], r["probability"]) for r in entity_store.links(warehouse)]
    cluster_of, audit = _recluster(warehouse, links)
    entity_store.save_run(
        warehouse, new_links=[], relinked=set(), cluster_of=cluster_of, audit=audit, run_id=None, actor=actor
    )
    return cluster_of


# --- what matching and the workspace use ----------------------------------------------------------


def one_per_cluster(
    records: Sequence[dict[str, Any]],
    cluster_of: Mapping[str, str],
    decided: Iterable[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """Stored matches with at most one listing per cluster for each challenge: the member a
    broker has decided on for that challenge if any (the card and its decision stay one), else
    the best-ranked; ranks closed up, scores untouched.

    >>> rows = [{"challenge_id": "c", "listing_id": x, "rank": i + 1} for i, x in enumerate("abc")]
    >>> [(r["listing_id"], r["rank"]) for r in one_per_cluster(rows, {"a": "a", "b": "a"})]
    [('a', 1), ('c', 2)]
    >>> [(r["listing_id"], r["rank"]) for r in one_per_cluster(rows, {"a": "a", "b": "a"}, [("c", "b")])]
    [('b', 1), ('c', 2)]
    """

    def cluster(listing: str) -> str:
        return cluster_of.get(listing, listing)

    owner = {(challenge, cluster(listing)): listing for challenge, listing in decided}
    seen: set[tuple[str, str]] = set()
    out = []
    ranks: dict[str, int] = {}
    for record in sorted(records, key=lambda r: (r["challenge_id"], r["rank"])):
        key = (record["challenge_id"], cluster(record["listing_id"]))
        if key in seen or owner.get(key, record["listing_id"]) != record["listing_id"]:
            continue
        seen.add(key)
        ranks[record["challenge_id"]] = ranks.get(record["challenge_id"], 0) + 1
        out.append({**record, "rank": ranks[record["challenge_id"]]})
    return out


def cluster_exclusions(warehouse: Warehouse, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """(challenge, listing) pairs widened to every member of the listing's cluster: a technology
    rejected for a challenge never returns under another source's copy."""
    pairs = set(pairs)
    cluster_of = entity_store.clusters(warehouse) if pairs else {}
    members: dict[str, list[str]] = {}
    for listing, cluster in cluster_of.items():
        members.setdefault(cluster, []).append(listing)
    return pairs | {
        (challenge, m) for challenge, listing in pairs for m in members.get(cluster_of.get(listing, ""), [])
    }


def other_sources(warehouse: Warehouse, listing_id: str) -> list[dict[str, Any]]:
    """The other listings of a card's technology (listing_id, source, url, title), oldest first:
    what the card lists under it. Empty when the technology has one listing."""
    return other_sources_of(warehouse, [listing_id]).get(listing_id, [])


def other_sources_of(warehouse: Warehouse, listing_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """other_sources of several cards in one query (a page of cards)."""
    members = entity_store.cluster_members(warehouse, listing_ids)
    return {lid: [m for m in rows if m["listing_id"] != lid] for lid, rows in members.items()}


def with_sources(warehouse: Warehouse, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Export rows with `other_sources`: the links of the other listings of each row's cluster
    (source: url, one per line; '' when the technology has one listing)."""
    members = entity_store.cluster_members(warehouse, {r["listing_id"] for r in rows})
    return [
        {
            **r,
            "other_sources": "\n".join(
                f"{m['source']}: {m['url']}"
                for m in members.get(r["listing_id"], [])
                if m["listing_id"] != r["listing_id"]
            ),
        }
        for r in rows
    ]
