"""Reads of the broker workspace: the filtered queue, one challenge's match page, applications,
exports, and the pipeline figures. Every filter is a bound parameter pushed down to DuckDB and
every list is paginated, so a page costs the same with 10 or 10,000 challenges.

Only fixed SQL fragments are chosen in Python (e.g. the listings join is added only when a
listing filter is set, so an unfiltered page never touches the listings table); values never are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from warehouse.domain import (
    EXPIRED,
    OPEN_STATUSES,
    PIPELINE_STAGES,
    PRIVATE_STATUSES,
    REJECT,
    REOPEN,
    SIGNED,
    UNREVIEWED,
)
from warehouse.gateway import Row, Warehouse

# How far a pair got along the pipeline (the furthest decision it ever had; reject and 回访 do
# not move it): 候选 0 → 入围 1 → 已联系 2 → 意向 3 → 签约 4 (domain.PIPELINE_STAGES, bound as $stages).
_STAGE = "coalesce(list_position($stages, decision), 0)"
# The words the SQL of this module compares with, bound as parameters (`_query` passes only those used).
_WORDS: dict[str, Any] = {
    "private": list(PRIVATE_STATUSES),
    "open": list(OPEN_STATUSES),
    "expired": EXPIRED,
    "undecided": UNREVIEWED,
    "rejected": REJECT,
    "reopened": REOPEN,
    "deal": SIGNED,
    "stages": list(PIPELINE_STAGES),
}
# The latest decision per pair; a pair whose latest row is a 撤销 back to 待审 ($reopened) has none.
_LATEST = """
    SELECT * FROM (
        SELECT review_id, challenge_id, listing_id, decision, reason, note, reviewer, decided_at, deal_amount_wan,
               deal_date
        FROM reviews {where}
        QUALIFY row_number() OVER (PARTITION BY challenge_id, listing_id ORDER BY review_id DESC) = 1
    ) WHERE decision <> $reopened
"""
# One card per technology as the clusters are now (jiebang.dedup.one_per_cluster, read time): a
# broker's merge shows on the next read, not after the next matching. Of a cluster's matches for a
# challenge the one a broker decided on last stays (the card keeps its decision), else the best-ranked.
_ONE_PER_CLUSTER = """
    SELECT m.* FROM matches m
    LEFT JOIN entity_clusters e ON e.listing_id = m.listing_id
    LEFT JOIN (SELECT challenge_id, listing_id, max(review_id) AS last_review FROM reviews {where}
               GROUP BY challenge_id, listing_id) d ON d.challenge_id = m.challenge_id AND d.listing_id = m.listing_id
    {where_m}
    QUALIFY row_number() OVER (PARTITION BY m.challenge_id, coalesce(e.cluster_id, m.listing_id)
                               ORDER BY d.last_review DESC NULLS LAST, m.rank, m.listing_id) = 1
"""
# The latest 签约 per pair: a deal signed again (corrected) counts once, with its latest amount.
_DEALS = """
    SELECT challenge_id, listing_id, deal_amount_wan, deal_date FROM reviews WHERE decision = $deal
    QUALIFY row_number() OVER (PARTITION BY challenge_id, listing_id ORDER BY review_id DESC) = 1
"""


def _query(warehouse: Warehouse, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
    """Run `sql` with the named parameters it uses (DuckDB refuses unused ones), the domain's
    words (`_WORDS`) among them."""
    used = set(re.findall(r"\$(\w+)", sql))
    return warehouse.query(sql, {k: v for k, v in {**_WORDS, **(params or {})}.items() if k in used})


@dataclass(frozen=True)
class Filters:
    """What the broker narrows the queue and the match cards to; None means "any".

    Challenge filters: `field` (所属行业), `region` (part of the challenge's 地区), `posted_from` /
    `posted_to` (the day it first appeared, inclusive), `challenge_status` (lifecycle, or 已截止:
    open past its deadline, as of `today`, the date in Beijing; an open status then means not
    past it, as the page shows them).
    Match filters: `min_score` / `max_score`, `kind` (patent / achievement), `source` (any source
    that reported the listing), `decision` (a decision, or "unreviewed").
    """

    field: str | None = None
    region: str | None = None
    posted_from: date | None = None
    posted_to: date | None = None
    challenge_status: str | None = None
    today: date | None = None
    min_score: float | None = None
    max_score: float | None = None
    kind: str | None = None
    source: str | None = None
    decision: str | None = None

    @property
    def filters_matches(self) -> bool:
        return any(v is not None for v in (self.min_score, self.max_score, self.kind, self.source, self.decision))

    @property
    def needs_listings(self) -> bool:
        return self.kind is not None or self.source is not None

    def params(self) -> dict[str, Any]:
        return asdict(self)


_CHALLENGE_WHERE = (
    "NOT list_contains($private, c.status) AND ($field IS NULL OR c.field = $field)"
    " AND ($region IS NULL OR contains(c.region, $region))"
    " AND ($posted_from IS NULL OR c.first_seen >= $posted_from::DATE)"
    " AND ($posted_to IS NULL OR c.first_seen < $posted_to::DATE + INTERVAL 1 DAY)"
    " AND ($challenge_status IS NULL OR $challenge_status = CASE WHEN list_contains($open, c.status)"
    " AND c.deadline < $today THEN $expired ELSE c.status END)"
)
_MATCH_WHERE = (
    "($min_score IS NULL OR m.score >= $min_score::DOUBLE) AND ($max_score IS NULL OR m.score <= $max_score::DOUBLE)"
    " AND ($decision IS NULL OR r.decision = $decision OR ($decision = $undecided AND r.decision IS NULL))"
)
_LISTING_WHERE = " AND ($kind IS NULL OR l.kind = $kind) AND ($source IS NULL OR list_contains(l.sources, $source))"


def review_queue_rows(
    warehouse: Warehouse, filters: Filters, *, limit: int = 20, offset: int = 0
) -> tuple[list[Row], int]:
    """One page of challenges (drafts are the firm's own and never listed), most unreviewed
    matches first, and the number of challenges that pass the filters.

    With a match filter set, the counts are over the matches that pass it, and only challenges
    with at least one such match are listed."""
    join = "JOIN listings l ON l.listing_id = m.listing_id" if filters.needs_listings else ""
    listing_where = _LISTING_WHERE if filters.needs_listings else ""
    rows = _query(
        warehouse,
        f"""
        WITH c AS (SELECT challenge_id, number, title, field, budget_wan, deadline, issuer, firm, region, status,
                          source, first_seen FROM challenges c WHERE {_CHALLENGE_WHERE}),
        latest AS ({_LATEST.format(where="")}),
        one AS ({_ONE_PER_CLUSTER.format(where="", where_m="WHERE m.challenge_id IN (SELECT challenge_id FROM c)")}),
        m AS (SELECT m.challenge_id, m.score, r.decision
              FROM one m {join}
              LEFT JOIN latest r ON r.challenge_id = m.challenge_id AND r.listing_id = m.listing_id
              WHERE m.challenge_id IN (SELECT challenge_id FROM c) AND {_MATCH_WHERE}{listing_where}),
        agg AS (SELECT challenge_id, count(*) AS n_matches,
                       count(*) FILTER (WHERE decision IS NULL) AS n_unreviewed,
                       count(*) FILTER (WHERE decision IS NOT NULL AND decision <> $rejected) AS n_kept,
                       max(score) AS best_score
                FROM m GROUP BY challenge_id)
        SELECT c.*, coalesce(agg.n_matches, 0) AS n_matches, coalesce(agg.n_unreviewed, 0) AS n_unreviewed,
               coalesce(agg.n_kept, 0) AS n_kept, agg.best_score,
               (SELECT count(*) FROM applications a WHERE a.challenge_id = c.challenge_id) AS n_applications,
               count(*) OVER () AS total
        FROM c LEFT JOIN agg USING (challenge_id)
        WHERE NOT $match_filtered OR agg.challenge_id IS NOT NULL
        ORDER BY n_unreviewed DESC, agg.best_score DESC NULLS LAST, c.challenge_id
        LIMIT $limit OFFSET $offset
        """,
        {**filters.params(), "match_filtered": filters.filters_matches, "limit": limit, "offset": offset},
    )
    total = int(rows[0].pop("total")) if rows else _count_queue(warehouse, filters, offset)
    for row in rows[1:]:
        row.pop("total")
    return rows, total


def _count_queue(warehouse: Warehouse, filters: Filters, offset: int) -> int:
    """The total when the page asked for is past the end (rare: a filter shrank the queue)."""
    if offset == 0:
        return 0
    return review_queue_rows(warehouse, filters, limit=1, offset=0)[1]


def match_page(
    warehouse: Warehouse,
    challenge_id: str,
    filters: Filters,
    *,
    limit: int = 10,
    offset: int = 0,
    include_rejected: bool = False,
    listing_id: str | None = None,
) -> tuple[list[Row], int]:
    """One page of a challenge's ranked matches with the listing, the latest decision, whether
    it is shared with the firm, and how many matches pass the filters. Rejected matches are left
    out unless asked for (or filtered on). With `listing_id`: that one match only (one card)."""
    show_rejected = include_rejected or filters.decision == REJECT
    rows = _query(
        warehouse,
        f"""
        WITH r AS ({_LATEST.format(where="WHERE challenge_id = $cid")}),
        one AS ({_ONE_PER_CLUSTER.format(where="WHERE challenge_id = $cid", where_m="WHERE m.challenge_id = $cid")})
        SELECT m.rank, m.score, m.parts, m.matched_terms, l.listing_id, l.kind, l.title, l.abstract,
               l.applicants, l.inventors, l.field, l.maturity, l.cooperation, l.price_wan, l.price_text,
               l.contact, l.region, l.legal_status, l.published_on, l.url, l.source, l.sources,
               l.publication_number, l.active, r.review_id, r.decision, r.reason, r.reviewer, r.decided_at,
               r.deal_amount_wan, r.deal_date, s.shared_at, count(*) OVER () AS total
        FROM one m
        JOIN listings l ON l.listing_id = m.listing_id
        LEFT JOIN r ON r.listing_id = m.listing_id
        LEFT JOIN match_shares s ON s.challenge_id = m.challenge_id AND s.listing_id = m.listing_id
        WHERE m.challenge_id = $cid AND ($all OR r.decision IS DISTINCT FROM $rejected)
          AND ($lid IS NULL OR m.listing_id = $lid) AND {_MATCH_WHERE}{_LISTING_WHERE}
        ORDER BY m.score DESC, m.rank, m.listing_id
        LIMIT $limit OFFSET $offset
        """,
        {
            **filters.params(),
            "cid": challenge_id,
            "lid": listing_id,
            "all": show_rejected,
            "limit": limit,
            "offset": offset,
        },
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
        row["parts"] = json.loads(row["parts"])
        row["matched_terms"] = json.loads(row["matched_terms"])
    return rows, total


def notes_for(warehouse: Warehouse, challenge_id: str, listing_ids: Sequence[str]) -> dict[str, list[Row]]:
    """listing_id → the notes written on decisions about it, oldest first."""
    rows = warehouse.query(
        "SELECT listing_id, note, decision, reviewer, decided_at FROM reviews WHERE challenge_id = $cid"
        " AND list_contains($ids, listing_id) AND note IS NOT NULL AND note <> '' ORDER BY review_id",
        {"cid": challenge_id, "ids": list(listing_ids)},
    )
    notes: dict[str, list[Row]] = {}
    for row in rows:
        notes.setdefault(row.pop("listing_id"), []).append(row)
    return notes


def pair_reviews(warehouse: Warehouse, challenge_id: str, listing_id: str, *, limit: int = 2) -> list[Row]:
    """The latest `limit` rows of one pair's review log, newest first."""
    return warehouse.query(
        "SELECT review_id, decision, reason, deal_amount_wan, deal_date FROM reviews"
        " WHERE challenge_id = $cid AND listing_id = $lid ORDER BY review_id DESC LIMIT $limit",
        {"cid": challenge_id, "lid": listing_id, "limit": limit},
    )


def latest_decisions(warehouse: Warehouse, challenge_id: str, listing_ids: Sequence[str]) -> dict[str, Row]:
    """listing_id → its match row's latest decision (None when undecided), for the given pairs
    that are proposed matches of the challenge; pairs that are not are absent."""
    rows = _query(
        warehouse,
        f"""
        WITH r AS ({_LATEST.format(where="WHERE challenge_id = $cid")})
        SELECT m.listing_id, r.review_id, r.decision, r.reason, r.note, r.deal_amount_wan, r.deal_date
        FROM matches m LEFT JOIN r ON r.listing_id = m.listing_id
        WHERE m.challenge_id = $cid AND list_contains($ids, m.listing_id)
        """,
        {"cid": challenge_id, "ids": list(listing_ids)},
    )
    return {row.pop("listing_id"): row for row in rows}


def filter_options(warehouse: Warehouse, today: date | None = None) -> dict[str, list[str]]:
    """The values the filter boxes offer: industries, regions, statuses (已截止 among them when an
    open challenge is past its deadline on `today`), listing sources."""
    rows = _query(
        warehouse,
        "SELECT 'field' AS name, field AS value FROM challenges WHERE field IS NOT NULL GROUP BY field"
        " UNION ALL SELECT 'region', region FROM challenges WHERE region IS NOT NULL GROUP BY region"
        " UNION ALL SELECT 'status', status FROM challenges WHERE NOT list_contains($private, status)"
        " GROUP BY status"
        " UNION ALL SELECT 'status', $expired FROM challenges WHERE list_contains($open, status) AND deadline < $today"
        " GROUP BY 1, 2"
        " UNION ALL SELECT 'source', source FROM listings GROUP BY source"
        " ORDER BY name, value",
        {"today": today},
    )
    options: dict[str, list[str]] = {"field": [], "region": [], "status": [], "source": []}
    for row in rows:
        options[row["name"]].append(row["value"])
    return options


def applications_for(warehouse: Warehouse, challenge_id: str, *, limit: int = 50) -> list[Row]:
    """The 揭榜 applications for one challenge, newest first."""
    return warehouse.query(
        "SELECT application_id, team, proposal, contact, submitted_at FROM applications"
        " WHERE challenge_id = ? ORDER BY submitted_at DESC, application_id DESC LIMIT ?",
        [challenge_id, limit],
    )


_EXPORT_COLUMNS = """
    c.challenge_id, c.number AS challenge_number, c.title AS challenge_title, coalesce(c.firm, c.issuer) AS issuer,
    c.field AS challenge_field, m.rank, m.score, l.listing_id, l.publication_number, l.kind,
    l.title AS listing_title, array_to_string(l.applicants, '、') AS applicants,
    l.field AS listing_field, l.maturity, l.cooperation, l.price_text, l.contact, l.url,
    r.decision, r.reason, r.note, r.reviewer, r.decided_at, d.deal_amount_wan, d.deal_date, s.shared_at
"""


def shortlist_rows(warehouse: Warehouse, challenge_id: str) -> list[Row]:
    """A challenge's shortlist: matches whose latest decision keeps them (入围 and beyond), one
    row per technology as the match page shows it (two copies decided on before a merge: the one
    decided last)."""
    return _query(
        warehouse,
        f"""
        WITH r AS ({_LATEST.format(where="WHERE challenge_id = $cid")}),
        d AS (SELECT * FROM ({_DEALS}) WHERE challenge_id = $cid),
        one AS ({_ONE_PER_CLUSTER.format(where="WHERE challenge_id = $cid", where_m="WHERE m.challenge_id = $cid")})
        SELECT {_EXPORT_COLUMNS}
        FROM r JOIN one m ON m.challenge_id = r.challenge_id AND m.listing_id = r.listing_id
        JOIN challenges c ON c.challenge_id = r.challenge_id
        JOIN listings l ON l.listing_id = r.listing_id
        LEFT JOIN d ON d.listing_id = r.listing_id
        LEFT JOIN match_shares s ON s.challenge_id = r.challenge_id AND s.listing_id = r.listing_id
        WHERE r.decision <> $rejected
        ORDER BY m.score DESC, m.rank, l.listing_id
        """,
        {"cid": challenge_id},
    )


def pipeline_rows(warehouse: Warehouse) -> list[Row]:
    """Every pair a broker has decided on (rejected ones with their reason), by challenge."""
    return _query(
        warehouse,
        f"""
        WITH r AS ({_LATEST.format(where="")}), d AS ({_DEALS})
        SELECT {_EXPORT_COLUMNS}
        FROM r JOIN challenges c ON c.challenge_id = r.challenge_id
        JOIN listings l ON l.listing_id = r.listing_id
        LEFT JOIN matches m ON m.challenge_id = r.challenge_id AND m.listing_id = r.listing_id
        LEFT JOIN d ON d.challenge_id = r.challenge_id AND d.listing_id = r.listing_id
        LEFT JOIN match_shares s ON s.challenge_id = r.challenge_id AND s.listing_id = r.listing_id
        ORDER BY c.challenge_id, m.score DESC NULLS LAST, m.rank, l.listing_id
        """,
    )


# --- the pipeline figures (dashboards) -------------------------------------------------------

_REACHED = f"SELECT challenge_id, listing_id, max({_STAGE}) AS stage FROM reviews GROUP BY challenge_id, listing_id"


def funnel_counts(warehouse: Warehouse) -> Row:
    """Pairs at each stage reached: `candidates` (every proposed match), then each of
    domain.PIPELINE_STAGES (入围 … 签约) by its decision code."""
    reached = ", ".join(
        f"count(*) FILTER (WHERE stage >= {n}) AS stage_{n}" for n in range(1, len(PIPELINE_STAGES) + 1)
    )
    row = _query(warehouse, f"SELECT (SELECT count(*) FROM matches) AS candidates, {reached} FROM ({_REACHED})")[0]
    return {"candidates": row["candidates"], **{code: row[f"stage_{n}"] for n, code in enumerate(PIPELINE_STAGES, 1)}}


def by_industry(warehouse: Warehouse) -> list[Row]:
    """Per challenge industry: matches, pairs shortlisted, deals signed and their value (万元)."""
    return _query(
        warehouse,
        f"""
        SELECT coalesce(c.field, '未分类') AS industry, count(*) AS matches,
               count(*) FILTER (WHERE r.stage >= 1) AS shortlisted,
               count(d.listing_id) AS deals, coalesce(sum(d.deal_amount_wan), 0) AS deal_wan
        FROM matches m JOIN challenges c ON c.challenge_id = m.challenge_id
        LEFT JOIN ({_REACHED}) r ON r.challenge_id = m.challenge_id AND r.listing_id = m.listing_id
        LEFT JOIN ({_DEALS}) d ON d.challenge_id = m.challenge_id AND d.listing_id = m.listing_id
        GROUP BY 1 ORDER BY matches DESC, industry
        """,
    )


def deals_by_month(warehouse: Warehouse) -> list[Row]:
    """技术交易额: the value (万元) and number of deals signed per month (of the deal date)."""
    return _query(
        warehouse,
        f"SELECT strftime(date_trunc('month', deal_date), '%Y-%m') AS month, count(*) AS deals,"
        f" sum(deal_amount_wan) AS deal_wan FROM ({_DEALS}) WHERE deal_date IS NOT NULL"
        f" GROUP BY 1 ORDER BY 1",
    )


def source_freshness(warehouse: Warehouse) -> list[Row]:
    """Per source: records, active records and when the source last reported one."""
    return warehouse.query(
        "SELECT source, 'listing' AS record, count(*) AS records, count(*) FILTER (WHERE active) AS active,"
        " max(last_seen) AS last_seen FROM listings GROUP BY source"
        " UNION ALL SELECT source, 'challenge', count(*), count(*), max(last_seen) FROM challenges GROUP BY source"
        " ORDER BY last_seen DESC, source"
    )


def last_run(warehouse: Warehouse, flow: str) -> Row | None:
    rows = warehouse.query("SELECT * FROM runs WHERE flow = ? ORDER BY started_at DESC LIMIT 1", [flow])
    return rows[0] if rows else None


# --- the audit log ---------------------------------------------------------------------------


def audit_page(
    warehouse: Warehouse,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """One page of the audit log, newest first, and how many lines pass the filters. `entity`
    matches any part of the entity id or of the 需求编号 of the challenge it concerns; `since` and
    `until` are dates in Beijing."""
    # The page's lines with what their ids name (the actor's display name, the challenge's number
    # and title, the listing's title and number), so each reads as a sentence (jiebang.display).
    rows = warehouse.query(
        "WITH page AS (SELECT audit_id, actor, role, action, entity_type, entity_id, before, after, acted_at,"
        " count(*) OVER () AS total,"
        " CASE WHEN entity_type = 'match' THEN split_part(entity_id, '|', 1) END AS match_challenge,"
        " CASE WHEN entity_type = 'match' THEN substr(entity_id, strpos(entity_id, '|') + 1) END AS listing_id"
        " FROM audit_log"
        " WHERE ($actor IS NULL OR actor = $actor) AND ($action IS NULL OR action = $action)"
        " AND ($etype IS NULL OR entity_type = $etype) AND ($entity IS NULL OR contains(entity_id, $entity)"
        "  OR split_part(entity_id, '|', 1) IN (SELECT challenge_id FROM challenges WHERE contains(number, $entity)))"
        # The dates asked for are Beijing dates; acted_at is UTC.
        " AND ($since IS NULL OR acted_at + INTERVAL 8 HOUR >= $since::DATE)"
        " AND ($until IS NULL OR acted_at + INTERVAL 8 HOUR < $until::DATE + INTERVAL 1 DAY)"
        " ORDER BY audit_id DESC LIMIT $limit OFFSET $offset)"
        " SELECT p.*, u.display_name AS actor_name, c.challenge_id, c.number AS challenge_number,"
        " c.title AS challenge_title, l.title AS listing_title, l.publication_number AS listing_number,"
        " l.kind, l.url AS listing_url"
        " FROM page p"
        " LEFT JOIN users u ON u.username = p.actor"
        " LEFT JOIN applications ap ON p.entity_type = 'application'"
        " AND CAST(ap.application_id AS VARCHAR) = p.entity_id"
        " LEFT JOIN challenges c ON c.challenge_id = coalesce("
        " CASE WHEN p.entity_type = 'challenge' THEN p.entity_id END, p.match_challenge, ap.challenge_id)"
        " LEFT JOIN listings l ON l.listing_id = p.listing_id"
        " ORDER BY p.audit_id DESC",
        {
            "actor": actor,
            "action": action,
            "etype": entity_type,
            "entity": entity,
            "since": since,
            "until": until,
            "limit": limit,
            "offset": offset,
        },
    )
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        row.pop("total")
        row.pop("match_challenge")
        for key in ("before", "after"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows, total


def audit_options(warehouse: Warehouse) -> dict[str, list[str]]:
    rows = warehouse.query(
        "SELECT 'actor' AS name, actor AS value FROM audit_log GROUP BY actor"
        " UNION ALL SELECT 'action', action FROM audit_log GROUP BY action"
        " UNION ALL SELECT 'entity_type', entity_type FROM audit_log GROUP BY entity_type ORDER BY name, value"
    )
    options: dict[str, list[str]] = {"actor": [], "action": [], "entity_type": []}
    for row in rows:
        options[row["name"]].append(row["value"])
    return options
