"""Entity resolution's tables (migration 0010): links, clusters, a broker's decisions, the audit
and the model's state. Parameterized SQL only; the rules live in jiebang.dedup."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from warehouse.domain import ACHIEVEMENT, LISTING_NUMBER_SQL
from warehouse.entity_links import BLOCK_CAP, block_keys_sql
from warehouse.gateway import Row, Warehouse, fetch_rows
from warehouse.store import now_utc

_LINKS = pa.schema(
    [("left_id", pa.string()), ("right_id", pa.string()), ("probability", pa.float64()), ("rule", pa.string())]
)
_CLUSTERS = pa.schema([("listing_id", pa.string()), ("cluster_id", pa.string())])
_IDS = pa.schema([("listing_id", pa.string())])
_AUDIT = pa.schema([(c, pa.string()) for c in ("action", "cluster_id", "members", "before")])
_FEATURE_COLUMNS = (
    "title_core",
    "title_stem",
    "title_marks",
    "text",
    "owner",
    "field",
    "field_group",
    "published",
    "price",
    "patent_key",
    "patent_keys",
)
_TYPES = {"text": pa.list_(pa.uint32()), "price": pa.float64(), "patent_keys": pa.list_(pa.string())}
_FEATURES = pa.schema([("listing_id", pa.string())] + [(c, _TYPES.get(c, pa.string())) for c in _FEATURE_COLUMNS])


def listings_for_linking(
    warehouse: Warehouse, changed_after: datetime | None = None, *, after_id: str = "", limit: int = 2**62
) -> list[Row]:
    """The active listings changed after `changed_after` (all when None), with the columns the
    features need, and any active listing that has no features yet; by listing id, from after
    `after_id`, at most `limit` (a million listings are read a page at a time)."""
    return warehouse.query(
        "SELECT listing_id, title, abstract, claims, applicants, publication_number, application_number, field,"
        " price_wan, published_on, first_seen FROM listings WHERE active AND listing_id > $after_id"
        " AND ($after IS NULL OR last_changed > $after OR listing_id NOT IN (SELECT listing_id FROM entity_features))"
        " ORDER BY listing_id LIMIT $limit",
        {"after": changed_after, "after_id": after_id, "limit": limit},
    )


def save_features(warehouse: Warehouse, features: Sequence[Mapping[str, Any]]) -> None:
    """Store these listings' features in place of any they had."""
    rows = [{"listing_id": f["unique_id"], **{c: f[c] for c in _FEATURE_COLUMNS}} for f in features]
    with warehouse.transaction() as con:
        con.register("new_features", pa.Table.from_pylist(rows, schema=_FEATURES))
        con.execute("DELETE FROM entity_features WHERE listing_id IN (SELECT listing_id FROM new_features)")
        con.execute("INSERT INTO entity_features BY NAME SELECT * FROM new_features")


def clear_features(warehouse: Warehouse) -> None:
    warehouse.execute("DELETE FROM entity_features")


def drop_inactive_features(warehouse: Warehouse) -> int:
    """Features of listings no longer active dropped; returns how many listings have features."""
    with warehouse.transaction() as con:
        con.execute(
            "DELETE FROM entity_features WHERE listing_id NOT IN (SELECT listing_id FROM listings WHERE active)"
        )
        return int(fetch_rows(con, "SELECT count(*) AS n FROM entity_features")[0]["n"])


_SELECT_FEATURES = f"listing_id AS unique_id, {', '.join(_FEATURE_COLUMNS)}"
_KEY_COLUMNS = "(SELECT listing_id, title_stem, owner, patent_key, patent_keys FROM entity_features)"


def key_holders(warehouse: Warehouse) -> list[Row]:
    """unique_id and patent_keys of every listing with a certain key (dedup.certain_links)."""
    return warehouse.query(
        "SELECT listing_id AS unique_id, patent_keys FROM entity_features WHERE len(patent_keys) > 0"
        " ORDER BY listing_id"
    )


def all_features(warehouse: Warehouse) -> pa.Table:
    """Every stored listing's features, as Arrow: a million listings' shingles are ~0.3 GB as
    columns and ten times that as Python objects."""
    with warehouse.transaction() as con:
        return con.sql(f"SELECT {_SELECT_FEATURES} FROM entity_features ORDER BY listing_id").to_arrow_table()  # noqa: S608


def features_in_blocks(warehouse: Warehouse, listing_ids: Collection[str]) -> pa.Table:
    """Stored features, with their blocking keys (`entity_links.block_keys_sql` over every
    listing), of the given listings and of every listing sharing a block or a patent key with one
    of them: all a changed listing can be linked to."""
    if not listing_ids:  # a night with nothing changed: no window over a million listings' keys
        return pa.table({"unique_id": pa.array([], pa.string())})
    with warehouse.transaction() as con:
        con.register("asked", pa.Table.from_pylist([{"listing_id": i} for i in listing_ids], schema=_IDS))
        return con.sql(
            # Keys over the key columns only: a window over the shingle lists of a million
            # listings would hold them all in memory.
            "WITH k AS ("  # noqa: S608 - our own SQL
            f"{block_keys_sql(_KEY_COLUMNS)}),"
            " a AS (SELECT k.* FROM k JOIN asked USING (listing_id)),"
            " near AS (SELECT listing_id, title_block, owner_block, key_block FROM k"
            " WHERE title_block IN (SELECT title_block FROM a) OR owner_block IN (SELECT owner_block FROM a)"
            " OR list_has_any(patent_keys, (SELECT flatten(list(patent_keys)) FROM a)))"
            f" SELECT {_SELECT_FEATURES}, title_block, owner_block, key_block"
            " FROM entity_features JOIN near USING (listing_id) ORDER BY listing_id",
            params={"cap": BLOCK_CAP},
        ).to_arrow_table()


def first_seen(warehouse: Warehouse, listing_ids: Collection[str]) -> dict[str, Any]:
    """listing id → (first_seen, listing id), the order that names a cluster after its oldest member."""
    if not listing_ids:
        return {}
    with warehouse.transaction() as con:
        con.register("asked", pa.Table.from_pylist([{"listing_id": i} for i in listing_ids], schema=_IDS))
        rows = fetch_rows(
            con,
            "SELECT l.listing_id, l.first_seen FROM listings l JOIN asked USING (listing_id) WHERE l.active",
        )
    return {r["listing_id"]: (r["first_seen"], r["listing_id"]) for r in rows}


def state(warehouse: Warehouse) -> Row | None:
    rows = warehouse.query("SELECT model, trained_at, watermark, features_version FROM entity_state WHERE id = 1")
    if not rows:
        return None
    row = rows[0]
    return {**row, "model": json.loads(row["model"]) if isinstance(row["model"], str) else row["model"]}


def links(warehouse: Warehouse) -> list[Row]:
    return warehouse.query("SELECT left_id, right_id, probability, rule FROM entity_links ORDER BY 1, 2")


def clusters(warehouse: Warehouse) -> dict[str, str]:
    """listing id → cluster id, for listings in a cluster of two or more."""
    return {
        r["listing_id"]: r["cluster_id"] for r in warehouse.query("SELECT listing_id, cluster_id FROM entity_clusters")
    }


def decisions(warehouse: Warehouse) -> list[Row]:
    """The latest decision per pair (left_id < right_id): merge or split."""
    return warehouse.query(
        "SELECT left_id, right_id, decision FROM entity_decisions"
        " QUALIFY row_number() OVER (PARTITION BY left_id, right_id ORDER BY decision_id DESC) = 1"
    )


def add_decisions(warehouse: Warehouse, pairs: Iterable[tuple[str, str]], decision: str, actor: str) -> None:
    now = now_utc()
    warehouse.executemany(
        "INSERT INTO entity_decisions (left_id, right_id, decision, actor, decided_at) VALUES (?, ?, ?, ?, ?)",
        [(min(a, b), max(a, b), decision, actor, now) for a, b in pairs],
    )


def save_run(
    warehouse: Warehouse,
    *,
    new_links: Sequence[tuple[str, str, float, str]],
    relinked: Collection[str] | None,
    cluster_of: Mapping[str, str],
    audit: Sequence[Row],
    run_id: str | None,
    actor: str,
    model: dict[str, Any] | None = None,
    watermark: datetime | None = None,
    features_version: int | None = None,
    all_certain: bool = False,
) -> None:
    """One transaction: the links of `relinked` listings (all when None) replaced by
    `new_links` (with `all_certain`, which hold every certain link: the stored ones are replaced
    too), the clusters replaced by `cluster_of`, the audit appended, the state saved."""
    now = now_utc()
    with warehouse.transaction() as con:
        con.register(
            "new_links",
            pa.Table.from_pylist(
                [{"left_id": a, "right_id": b, "probability": p, "rule": r} for a, b, p, r in new_links], schema=_LINKS
            ),
        )
        if relinked is None:
            con.execute("DELETE FROM entity_links")
        else:
            con.register("relinked", pa.Table.from_pylist([{"listing_id": i} for i in relinked], schema=_IDS))
            con.execute(
                "DELETE FROM entity_links WHERE left_id IN (SELECT listing_id FROM relinked)"
                " OR right_id IN (SELECT listing_id FROM relinked)"
                " OR left_id NOT IN (SELECT listing_id FROM listings WHERE active)"
                " OR right_id NOT IN (SELECT listing_id FROM listings WHERE active)"
                " OR ($all_certain AND rule = 'patent_key')",
                {"all_certain": all_certain},
            )
        con.execute(
            "INSERT OR REPLACE INTO entity_links SELECT left_id, right_id, probability, rule, $now FROM new_links",
            {"now": now},
        )
        con.register(
            "new_clusters",
            pa.Table.from_pylist([{"listing_id": k, "cluster_id": v} for k, v in cluster_of.items()], schema=_CLUSTERS),
        )
        # Rows whose cluster did not change keep their updated_at.
        con.execute(
            "DELETE FROM entity_clusters WHERE listing_id NOT IN (SELECT listing_id FROM new_clusters)"
            " OR listing_id IN (SELECT n.listing_id FROM new_clusters n JOIN entity_clusters c"
            " ON c.listing_id = n.listing_id WHERE c.cluster_id <> n.cluster_id)"
        )
        con.execute(
            "INSERT INTO entity_clusters SELECT listing_id, cluster_id, $now FROM new_clusters"
            " WHERE listing_id NOT IN (SELECT listing_id FROM entity_clusters)",
            {"now": now},
        )
        # One insert of a table, not a row at a time: a first pass audits a merge per cluster.
        con.register(
            "new_audit",
            pa.Table.from_pylist(
                [
                    {
                        "action": a["action"],
                        "cluster_id": a["cluster_id"],
                        "members": json.dumps(a["members"]),
                        "before": json.dumps(a["before"]),
                    }
                    for a in audit
                ],
                schema=_AUDIT,
            ),
        )
        con.execute(
            "INSERT INTO entity_audit (run_id, action, actor, cluster_id, members, before, acted_at)"
            " SELECT $run_id, action, $actor, cluster_id, members::JSON, before::JSON, $now FROM new_audit",
            {"run_id": run_id, "actor": actor, "now": now},
        )
        if model is not None and watermark is not None:
            con.execute(
                "INSERT OR REPLACE INTO entity_state (id, model, trained_at, watermark, features_version)"
                " VALUES (1, $model, $now, $watermark, $version)",
                {"model": json.dumps(model), "now": now, "watermark": watermark, "version": features_version},
            )
        elif watermark is not None:
            con.execute("UPDATE entity_state SET watermark = $watermark WHERE id = 1", {"watermark": watermark})


def audit_entries(warehouse: Warehouse, limit: int = 200) -> list[Row]:
    return warehouse.query(
        "SELECT run_id, action, actor, cluster_id, members, before, acted_at FROM entity_audit"
        " ORDER BY audit_id DESC LIMIT ?",
        [limit],
    )


def cluster_members(warehouse: Warehouse, listing_ids: Collection[str]) -> dict[str, list[Row]]:
    """For each given listing: every listing of its cluster (itself included) with its source,
    link and title, oldest first."""
    if not listing_ids:
        return {}
    with warehouse.transaction() as con:
        con.register("asked", pa.Table.from_pylist([{"listing_id": i} for i in listing_ids], schema=_IDS))
        rows = fetch_rows(
            con,
            "WITH c AS (SELECT l.listing_id, coalesce(e.cluster_id, l.listing_id) AS cluster_id"
            " FROM listings l LEFT JOIN entity_clusters e USING (listing_id))"
            " SELECT a.listing_id AS asked, m.listing_id, l.source, l.url, l.title, l.publication_number, l.kind,"
            " l.first_seen"
            " FROM asked a JOIN c ca ON ca.listing_id = a.listing_id"
            " JOIN c m ON m.cluster_id = ca.cluster_id JOIN listings l ON l.listing_id = m.listing_id"
            " ORDER BY a.listing_id, l.first_seen, m.listing_id",
        )
    out: dict[str, list[Row]] = {}
    for r in rows:
        out.setdefault(r.pop("asked"), []).append(r)
    return out


def cluster_ids(warehouse: Warehouse, listing_ids: Collection[str]) -> dict[str, str]:
    """listing id → cluster id (itself when alone) for the given listings."""
    found = clusters(warehouse) if listing_ids else {}
    return {i: found.get(i, i) for i in listing_ids}


def decided_pairs(warehouse: Warehouse, challenge_ids: Collection[str]) -> set[tuple[str, str]]:
    """(challenge, listing) pairs a broker has decided on, for these challenges."""
    if not challenge_ids:
        return set()
    rows = warehouse.query(
        "SELECT DISTINCT challenge_id, listing_id FROM reviews WHERE list_contains($ids, challenge_id)",
        {"ids": list(challenge_ids)},
    )
    return {(r["challenge_id"], r["listing_id"]) for r in rows}


def listings_by_number(warehouse: Warehouse, number: str) -> list[str]:
    """The active listings a person names by `number`: its id or its listing_number (publication
    number, else the 成果编号 derived from its id). Usually one; two when eight hex digits collide."""
    rows = warehouse.query(
        f"SELECT listing_id FROM listings WHERE active AND (listing_id = $n OR upper({LISTING_NUMBER_SQL}) = upper($n))"
        " ORDER BY listing_id",
        {"n": number, "achievement": ACHIEVEMENT},
    )
    return [r["listing_id"] for r in rows]
