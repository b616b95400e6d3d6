"""The pipeline figures for brokers and admins: funnel, industries, deal value, source freshness.

Every figure is one aggregate query in DuckDB (warehouse.workspace_queries); only the few result
rows come back to Python.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from jiebang.accounts import User, ensure_permission
from warehouse import workspace_queries
from warehouse.domain import DECISION_LABELS, PIPELINE_STAGES
from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc

CANDIDATES = "candidates"  # every proposed match: the funnel's top, before any decision
FUNNEL_STAGES = ((CANDIDATES, "候选"), *((stage, DECISION_LABELS[stage]) for stage in PIPELINE_STAGES))
NIGHTLY_FLOW = "nightly-refresh"


def funnel(warehouse: Warehouse, user: User | None) -> list[Row]:
    """Pairs that reached each stage, with the conversion from the stage before and from 候选
    (None when the base is 0).

    >>> [(s["label"], s["pairs"], s["from_previous"]) for s in funnel(wh, me)][:2]  # doctest: +SKIP
    [('候选', 200, None), ('入围', 12, 0.06)]
    """
    ensure_permission(warehouse, user, "view_dashboard")
    counts = workspace_queries.funnel_counts(warehouse)
    stages, previous = [], None
    first = int(counts[CANDIDATES])
    for key, label in FUNNEL_STAGES:
        pairs = int(counts[key])
        stages.append(
            {
                "stage": key,
                "label": label,
                "pairs": pairs,
                "from_previous": None if not previous else round(pairs / previous, 4),
                "from_candidates": None if not first or key == CANDIDATES else round(pairs / first, 4),
            }
        )
        previous = pairs
    return stages


def by_industry(warehouse: Warehouse, user: User | None) -> list[Row]:
    """Per challenge industry: matches, shortlisted pairs, deals and deal value (万元)."""
    ensure_permission(warehouse, user, "view_dashboard")
    return workspace_queries.by_industry(warehouse)


def deals_by_month(warehouse: Warehouse, user: User | None) -> list[Row]:
    """技术交易额 per month (of the deal date): deals and their value in 万元."""
    ensure_permission(warehouse, user, "view_dashboard")
    return workspace_queries.deals_by_month(warehouse)


def source_freshness(warehouse: Warehouse, user: User | None, now: datetime | None = None) -> list[Row]:
    """Per source: records, active ones, when it last reported one and how many days ago."""
    ensure_permission(warehouse, user, "view_dashboard")
    now = now or now_utc()
    rows = workspace_queries.source_freshness(warehouse)
    for row in rows:
        row["age_days"] = (
            None if row["last_seen"] is None else round((now - row["last_seen"]).total_seconds() / 86400, 1)
        )
    return rows


def last_nightly_run(warehouse: Warehouse, user: User | None) -> dict[str, Any] | None:
    """The latest nightly refresh: status, times, error, and per-source outcome from its stats."""
    ensure_permission(warehouse, user, "view_dashboard")
    run = workspace_queries.last_run(warehouse, NIGHTLY_FLOW)
    if run is None:
        return None
    stats = json.loads(run["stats"] or "{}")
    run["sources"] = {
        name: {
            k: s.get(k)
            for k in ("loaded", "quarantined", "blocked", "skipped_unchanged", "pages_fetched", "complete", "error")
            if k in s
        }
        for name, s in (stats.get("sources") or {}).items()
        if isinstance(s, dict)
    }
    run["run_error"] = stats.get("error")  # what stopped the run itself (the sources' errors are theirs)
    run["seconds"] = None if run["finished_at"] is None else (run["finished_at"] - run["started_at"]).total_seconds()
    return run
