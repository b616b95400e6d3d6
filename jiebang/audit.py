"""The audit log for admins: who did what, when, before → after. Admin only, checked here."""

from __future__ import annotations

from datetime import date

from jiebang.accounts import User, ensure_permission
from jiebang.broker import Page
from warehouse import workspace_queries
from warehouse.domain import AUDIT_ACTION_LABELS
from warehouse.gateway import Warehouse

AUDIT_PAGE_SIZE = 50
ACTION_LABELS = AUDIT_ACTION_LABELS  # the vocabulary's, under the name the page has used


def audit_entries(
    warehouse: Warehouse,
    user: User | None,
    *,
    actor: str | None = None,
    action: str | None = None,
    entity_type: str | None = None,
    entity: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 0,
    page_size: int = AUDIT_PAGE_SIZE,
) -> Page:
    """One page of audit lines, newest first, filtered (None: any; `entity` is part of an id)."""
    ensure_permission(warehouse, user, "view_audit")
    rows, total = workspace_queries.audit_page(
        warehouse,
        actor=actor or None,
        action=action or None,
        entity_type=entity_type or None,
        entity=(entity or "").strip() or None,
        since=since,
        until=until,
        limit=page_size,
        offset=max(page, 0) * page_size,
    )
    return Page(rows, total, page, page_size)


def audit_filter_options(warehouse: Warehouse, user: User | None) -> dict[str, list[str]]:
    ensure_permission(warehouse, user, "view_audit")
    return workspace_queries.audit_options(warehouse)
