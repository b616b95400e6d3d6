"""What a broker (技术经纪人) can do, with the role check made here (server side), not in the page.

Every function takes (warehouse, user, …) and refuses (AccessDenied) a role the action table
(jiebang/permissions.py: review_matches, export_pipeline, view_runs) does not allow. Decisions
are validated here and appended to the review log with their audit line; the matching step never
proposes a rejected pair again, and reviewed pairs survive nightly runs.

>>> page = review_queue_page(wh, me, Filters(field="新能源新材料", decision=UNREVIEWED))  # doctest: +SKIP
>>> decide(wh, me, page.rows[0]["challenge_id"], "CN101551481", SIGNED,                 # doctest: +SKIP
...        deal_amount_wan=120, deal_date=date(2026, 11, 20))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jiebang import dedup, exports, notifications
from jiebang.accounts import User, ensure_permission
from jiebang.display import beijing_today, challenge_number, listing_number, to_beijing
from jiebang.errors import InvalidDecision, NotOnScreen
from warehouse import market as market_store
from warehouse import queries, store, workspace_queries, workspace_store
from warehouse.domain import BULK_DECISIONS, DECISION_LABELS, KIND_LABELS, REJECT, REOPEN, SIGNED
from warehouse.gateway import Row, Warehouse
from warehouse.workspace_queries import Filters

REJECT_REASONS = ("技术不对口", "成熟度不足", "价格/榜额不匹配", "地域或合作方式不合适", "重复推荐", "其他")
DEAL_MAX_WAN = 100_000.0  # 10 亿元: above this the amount is a typo (元 typed as 万元)
DEAL_EARLIEST = date(2000, 1, 1)
NOTE_MAX_CHARS = 1000
REASON_MAX_CHARS = 500
QUEUE_PAGE_SIZE = 20
MATCH_PAGE_SIZE = 5  # cards a screen: a switch or bulk rerun draws these only (issue 16: ≤ 1 s)


@dataclass(frozen=True)
class Page:
    """One page of a longer list: its rows and how many rows there are in all."""

    rows: list[Row]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _broker(warehouse: Warehouse, user: User | None, action: str = "review_matches") -> User:
    return ensure_permission(warehouse, user, action)


def review_queue_page(
    warehouse: Warehouse,
    user: User | None,
    filters: Filters | None = None,
    *,
    page: int = 0,
    page_size: int = QUEUE_PAGE_SIZE,
) -> Page:
    """One page of challenges with their unreviewed-match counts, most unreviewed first."""
    _broker(warehouse, user)
    rows, total = workspace_queries.review_queue_rows(
        warehouse, filters or Filters(), limit=page_size, offset=max(page, 0) * page_size
    )
    return Page(rows, total, page, page_size)


def filter_options(warehouse: Warehouse, user: User | None, today: date | None = None) -> dict[str, list[str]]:
    _broker(warehouse, user)
    return workspace_queries.filter_options(warehouse, today)


def challenge(warehouse: Warehouse, user: User | None, challenge_id: str) -> Row | None:
    _broker(warehouse, user)
    return queries.get_challenge(warehouse, challenge_id)


def ranked_matches(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    *,
    page: int = 0,
    page_size: int = MATCH_PAGE_SIZE,
    include_rejected: bool = False,
) -> list[Row]:
    """One page of a challenge's matches, best first (rejected ones only when asked for)."""
    return match_page(
        warehouse, user, challenge_id, page=page, page_size=page_size, include_rejected=include_rejected
    ).rows


def match_page(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    filters: Filters | None = None,
    *,
    page: int = 0,
    page_size: int = MATCH_PAGE_SIZE,
    include_rejected: bool = False,
) -> Page:
    """One page of a challenge's matches passing the filters, each with its listing, latest
    decision, `notes` (the notes written on its decisions), `other_sources` (the other listings of
    its technology) and `shared_at` (shared with the firm)."""
    _broker(warehouse, user)
    rows, total = workspace_queries.match_page(
        warehouse,
        challenge_id,
        filters or Filters(),
        limit=page_size,
        offset=max(page, 0) * page_size,
        include_rejected=include_rejected,
    )
    return Page(_with_notes_and_sources(warehouse, challenge_id, rows), total, page, page_size)


def _with_notes_and_sources(warehouse: Warehouse, challenge_id: str, rows: list[Row]) -> list[Row]:
    """Cards' rows with `notes` (written on their decisions) and `other_sources` (the other
    listings of their technology, jiebang.dedup): two queries for a whole page."""
    if not rows:
        return rows
    ids = [r["listing_id"] for r in rows]
    notes = workspace_queries.notes_for(warehouse, challenge_id, ids)
    others = dedup.other_sources_of(warehouse, ids)
    for row in rows:
        row["notes"] = notes.get(row["listing_id"], [])
        row["other_sources"] = others.get(row["listing_id"], [])
    return rows


def match_card(warehouse: Warehouse, user: User | None, challenge_id: str, listing_id: str) -> Row | None:
    """One match as its card shows it (rejected or not), with its notes; None when the pair is
    not a proposed match of the challenge. A card redraws itself from this after a decision."""
    _broker(warehouse, user)
    rows, _ = workspace_queries.match_page(
        warehouse, challenge_id, Filters(), limit=1, include_rejected=True, listing_id=listing_id
    )
    return _with_notes_and_sources(warehouse, challenge_id, rows)[0] if rows else None


def applications(warehouse: Warehouse, user: User | None, challenge_id: str) -> list[Row]:
    """The 揭榜 applications solvers sent for this challenge, newest first."""
    _broker(warehouse, user)
    return workspace_queries.applications_for(warehouse, challenge_id)


# --- decisions ---------------------------------------------------------------------------------


def reject_reason(choice: str | None, detail: str | None = None) -> str | None:
    """The stored reason: a REJECT_REASONS entry, with the free text after it ("其他" needs one).

    >>> reject_reason("技术不对口", "只做陶瓷基"), reject_reason("成熟度不足")
    ('技术不对口：只做陶瓷基', '成熟度不足')
    """
    if not choice:
        return None
    detail = (detail or "").strip()
    return f"{choice}：{detail}" if detail else choice


def _check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidDecision("排除原因：必填，请从列表中选择 (a reject needs a reason)")
    choice, _, detail = reason.partition("：")
    if choice not in REJECT_REASONS:
        raise InvalidDecision(f"排除原因：须为以下之一：{'、'.join(REJECT_REASONS)}（可补充说明）")
    if choice == "其他" and not detail.strip():
        raise InvalidDecision("排除原因：选择“其他”时请写明原因 (say why)")
    if len(reason) > REASON_MAX_CHARS:
        raise InvalidDecision(f"排除原因：最多 {REASON_MAX_CHARS} 字")
    return reason


def _check_deal(amount: Any, deal_date: Any, today: date) -> tuple[float, date]:
    """The deal amount (万元) and date of a 签约, or InvalidDecision naming both problems."""
    problems, value = [], None
    if amount is None or str(amount).strip() == "":
        problems.append("签约金额：必填（万元）")
    else:
        try:
            value = float(amount)
        except (TypeError, ValueError):
            problems.append("签约金额：请填写数字（万元）")
        else:
            if not math.isfinite(value) or not 0 < value <= DEAL_MAX_WAN:
                problems.append(f"签约金额：须大于 0 且不超过 {DEAL_MAX_WAN:,.0f} 万元（是否把元填成了万元？）")
    if isinstance(deal_date, datetime):
        deal_date = deal_date.date()
    if isinstance(deal_date, str) and deal_date.strip():
        try:
            deal_date = date.fromisoformat(deal_date.strip())
        except ValueError:
            deal_date = "invalid"
    if deal_date is None or deal_date == "":
        problems.append("签约日期：必填")
    elif not isinstance(deal_date, date):
        problems.append("签约日期：格式应为 YYYY-MM-DD")
    elif deal_date > today:
        problems.append("签约日期：不能晚于今天")
    elif deal_date < DEAL_EARLIEST:
        problems.append(f"签约日期：不能早于 {DEAL_EARLIEST:%Y-%m-%d}")
    if problems or value is None or not isinstance(deal_date, date):  # the types: checked above
        raise InvalidDecision("；".join(problems))
    return value, deal_date


def _validated(
    decision: str, reason: str | None, note: str | None, deal_amount_wan: Any, deal_date: Any, today: date
) -> dict[str, Any]:
    if decision not in DECISION_LABELS:
        raise InvalidDecision(f"决定：未知的决定 {decision!r}，应为 {'、'.join(DECISION_LABELS.values())} 之一")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX_CHARS:
        raise InvalidDecision(f"备注：最多 {NOTE_MAX_CHARS} 字（现为 {len(note)} 字）")
    out: dict[str, Any] = {
        "decision": decision,
        "note": note,
        "reason": None,
        "deal_amount_wan": None,
        "deal_date": None,
    }
    if decision == REJECT:
        out["reason"] = _check_reason(reason)
    elif (reason or "").strip():
        raise InvalidDecision("排除原因：只有“排除”需要原因")
    if decision == SIGNED:
        out["deal_amount_wan"], out["deal_date"] = _check_deal(deal_amount_wan, deal_date, today)
    elif deal_amount_wan not in (None, "") or deal_date not in (None, ""):
        raise InvalidDecision("签约金额/日期：只有“签约”需要填写")
    return out


def _check_on_screen(challenge_id: str, on_screen: str | None) -> None:
    """A page passes the challenge it is showing (`on_screen`) beside the ids its card rendered;
    a card left over from another challenge (the page moved on under the click) is refused."""
    if on_screen is not None and on_screen != challenge_id:
        raise NotOnScreen(
            "操作未记录：这张卡片属于另一条需求，页面已切换。请在当前显示的需求上重新操作"
            " (the card belongs to another challenge than the one on screen)"
        )


def _require_matches(warehouse: Warehouse, challenge_id: str, listing_ids: Sequence[str]) -> dict[str, Row]:
    found = workspace_queries.latest_decisions(warehouse, challenge_id, listing_ids)
    missing = [lid for lid in listing_ids if lid not in found]
    if missing:
        raise InvalidDecision(f"匹配不存在：需求 {challenge_id} 没有这些候选：{'、'.join(missing[:5])}")
    return found


def decide(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    listing_id: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    deal_amount_wan: Any = None,
    deal_date: Any = None,
    today: date | None = None,
    on_screen: str | None = None,
) -> int:
    """Record one decision under the signed-in broker's name; returns its review id.

    排除 needs a reason (REJECT_REASONS, optionally "：free text"); 签约 needs the deal amount in
    万元 (0 < amount ≤ DEAL_MAX_WAN) and the deal date (not in the future). InvalidDecision
    says which field is wrong. Pages pass `on_screen`, the challenge they show (see NotOnScreen)."""
    broker = _broker(warehouse, user)
    _check_on_screen(challenge_id, on_screen)
    clean = _validated(decision, reason, note, deal_amount_wan, deal_date, today or beijing_today())
    _require_matches(warehouse, challenge_id, [listing_id])
    return store.record_review(
        warehouse, challenge_id=challenge_id, listing_id=listing_id, reviewer=broker.username, role=broker.role, **clean
    )


def decide_many(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    listing_ids: Sequence[str],
    decision: str,
    *,
    reason: str | None = None,
    note: str | None = None,
    today: date | None = None,
    on_screen: str | None = None,
) -> list[int]:
    """The same decision for several matches of one challenge, all recorded or none (bulk)."""
    broker = _broker(warehouse, user)
    _check_on_screen(challenge_id, on_screen)
    listing_ids = list(dict.fromkeys(listing_ids))
    if not listing_ids:
        raise InvalidDecision("批量操作：请先勾选匹配")
    if decision not in BULK_DECISIONS:
        raise InvalidDecision(
            f"批量操作：不能批量{DECISION_LABELS.get(decision, decision)}（签约须逐条填写金额和日期）"
        )
    clean = _validated(decision, reason, note, None, None, today or beijing_today())
    _require_matches(warehouse, challenge_id, listing_ids)
    return workspace_store.record_reviews(
        warehouse,
        [{"challenge_id": challenge_id, "listing_id": lid, **clean} for lid in listing_ids],
        reviewer=broker.username,
        role=broker.role,
    )


def undo(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    listing_id: str,
    review_id: int,
    *,
    on_screen: str | None = None,
) -> int:
    """撤销: undo the decision `review_id`, which must still be the pair's latest, by appending a
    NEW decision (the log is never rewritten): the one before it again (with its reason and deal),
    or REOPEN (待审) when nothing was decided before. Returns the new review id."""
    broker = _broker(warehouse, user)
    _check_on_screen(challenge_id, on_screen)
    _require_matches(warehouse, challenge_id, [listing_id])
    log = workspace_queries.pair_reviews(warehouse, challenge_id, listing_id)
    if not log or log[0]["review_id"] != review_id:
        raise InvalidDecision("撤销：该匹配此后已有新的决定，未撤销 (a newer decision exists; nothing undone)")
    if len(log) > 1 and log[1]["decision"] != REOPEN:
        restored = {k: log[1][k] for k in ("decision", "reason", "deal_amount_wan", "deal_date")}
    else:
        restored = {"decision": REOPEN}
    return store.record_review(
        warehouse,
        challenge_id=challenge_id,
        listing_id=listing_id,
        reviewer=broker.username,
        role=broker.role,
        **restored,
    )


def add_note(
    warehouse: Warehouse,
    user: User | None,
    challenge_id: str,
    listing_id: str,
    note: str,
    *,
    on_screen: str | None = None,
) -> int:
    """A note on a decided match: its current decision appended again with the note (the
    decision does not change). An undecided match takes its note with its first decision."""
    broker = _broker(warehouse, user)
    _check_on_screen(challenge_id, on_screen)
    note = (note or "").strip()
    if not note:
        raise InvalidDecision("备注：不能为空")
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidDecision(f"备注：最多 {NOTE_MAX_CHARS} 字（现为 {len(note)} 字）")
    latest = _require_matches(warehouse, challenge_id, [listing_id])[listing_id]
    if latest["decision"] is None:
        raise InvalidDecision("备注：请先对该匹配做出决定（入围/排除…），备注随决定一起保存")
    return store.record_review(
        warehouse,
        challenge_id=challenge_id,
        listing_id=listing_id,
        reviewer=broker.username,
        role=broker.role,
        note=note,
        **{k: latest[k] for k in ("decision", "reason", "deal_amount_wan", "deal_date")},
    )


def share_match(
    warehouse: Warehouse, user: User | None, challenge_id: str, listing_id: str, *, on_screen: str | None = None
) -> bool:
    """Show a match to the firm that posted the challenge (audited "share"); True when shared
    now, False when it already was."""
    broker = _broker(warehouse, user)
    _check_on_screen(challenge_id, on_screen)
    owner = queries.get_challenge(warehouse, challenge_id)
    if owner is None:
        raise InvalidDecision(f"分享：需求 {challenge_id} 不存在")
    if not owner.get("firm"):
        raise InvalidDecision("分享：该需求不是企业发布的（来自外部榜单），没有可分享的企业")
    latest = _require_matches(warehouse, challenge_id, [listing_id])[listing_id]
    if latest["decision"] == REJECT:
        raise InvalidDecision("分享：已排除的匹配不能分享给企业")
    shared = workspace_store.share_match(warehouse, challenge_id, listing_id, actor=broker.username, role=broker.role)
    if shared:  # the firm hears of it (jiebang.notifications), once
        listing = market_store.listing(warehouse, listing_id)
        notifications.match_shared(
            warehouse, challenge_id, listing["title"] if listing else listing_id, broker, now=store.now_utc()
        )
    return shared


# --- exports -----------------------------------------------------------------------------------

SHORTLIST_HEADERS = {
    "rank": "排名",
    "score": "匹配分",
    "listing_id": "供给编号",
    "kind": "类型",
    "listing_title": "名称",
    "applicants": "权利人/完成单位",
    "listing_field": "行业",
    "maturity": "成熟度",
    "cooperation": "合作方式",
    "price_text": "价格",
    "contact": "联系方式",
    "decision": "当前状态",
    "note": "备注",
    "reviewer": "经纪人",
    "decided_at": "更新时间（北京时间）",
    "deal_amount_wan": "签约金额（万元）",
    "deal_date": "签约日期",
    "shared_at": "已分享给企业",
    "url": "来源链接",
    "other_sources": "同一技术的其他来源",  # jiebang.dedup: the cluster's other listings' links
}
PIPELINE_HEADERS = {
    "challenge_id": "需求编号",
    "challenge_title": "需求标题",
    "issuer": "发榜单位",
    "challenge_field": "所属行业",
    "listing_id": "供给编号",
    "listing_title": "供给名称",
    "kind": "类型",
    "score": "匹配分",
    "decision": "当前状态",
    "reason": "排除原因",
    "note": "备注",
    "reviewer": "经纪人",
    "decided_at": "更新时间（北京时间）",
    "deal_amount_wan": "签约金额（万元）",
    "deal_date": "签约日期",
    "shared_at": "已分享给企业",
    "url": "来源链接",
    "other_sources": "同一技术的其他来源",  # jiebang.dedup: the cluster's other listings' links
}


def _table(rows: list[Row], headers: dict[str, str]) -> list[list[Any]]:
    labels = {"decision": DECISION_LABELS, "kind": KIND_LABELS}
    table = []
    for row in rows:
        values = []
        for key in headers:
            value = row.get(key)
            if key in labels and value is not None:
                value = labels[key].get(value, value)
            elif key == "challenge_id":  # people cite the 需求编号 and the patent's number, not our ids
                value = challenge_number({"number": row.get("challenge_number")})
            elif key == "listing_id":
                value = listing_number(row)
            elif key == "decided_at" and value is not None:
                value = to_beijing(value).replace(tzinfo=None)
            elif key == "score" and value is not None:
                value = round(float(value), 1)
            elif key == "shared_at":
                value = "是" if value else "否"
            values.append(value)
        table.append(values)
    return table


def export_shortlist(warehouse: Warehouse, user: User | None, challenge_id: str, fmt: str) -> bytes:
    """A challenge's shortlist (入围 and beyond, best first) as "xlsx" or "csv" (UTF-8 with BOM) bytes."""
    _broker(warehouse, user, "export_pipeline")
    rows = dedup.with_sources(warehouse, workspace_queries.shortlist_rows(warehouse, challenge_id))
    return exports.to_bytes(fmt, "入围清单", list(SHORTLIST_HEADERS.values()), _table(rows, SHORTLIST_HEADERS))


def export_pipeline(warehouse: Warehouse, user: User | None, fmt: str) -> bytes:
    """Every decided pair of every challenge with its current state, as "xlsx" or "csv" bytes."""
    _broker(warehouse, user, "export_pipeline")
    rows = dedup.with_sources(warehouse, workspace_queries.pipeline_rows(warehouse))
    return exports.to_bytes(fmt, "对接进展", list(PIPELINE_HEADERS.values()), _table(rows, PIPELINE_HEADERS))


def run_overview(warehouse: Warehouse, user: User | None) -> dict[str, Any]:
    _broker(warehouse, user, "view_runs")
    return {"counts": queries.table_counts(warehouse), "latest_run": queries.latest_run(warehouse)}
