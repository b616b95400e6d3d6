"""How stored values read to a person: times in Beijing time, a challenge's 需求编号 and a listing's
number instead of internal ids, Chinese names for sources, roles, run outcomes and states, and an
audit line as a sentence. Pure functions of the values (and of the vocabulary in
warehouse.domain), so every page, export and message says the same thing the same way.

The warehouse stores times as naive UTC (warehouse.store.now_utc); a naive datetime here is UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from warehouse.domain import (
    ACTOR_LABELS,
    AUDIT_ACTION_LABELS,
    AUDIT_ENTITY_LABELS,
    CHALLENGE_STATUSES,
    EXPIRED,
    LEGAL_STATUS_DETAILS,
    LEGAL_STATUS_LABELS,
    LOGGED_DECISION_LABELS,
    REJECT,
    RUN_STATUS_LABELS,
    SOLVER,
    SOURCE_LABELS,
    challenge_state,
    listing_number,  # noqa: F401  # the pages and services take it from here, beside the other numbers
)

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_SUFFIX = "北京时间"
NO_VALUE = "—"
UNNUMBERED = "未编号"
# The fields a firm fills in, as the audit sentence of an edit names them (jiebang.firm.FIELD_LABELS).
FIELD_NAMES = {
    "title": "标题",
    "description": "需求描述",
    "field": "所属行业",
    "targets": "期望指标",
    "budget_wan": "榜额/预算",
    "deadline": "截止日期",
    "cooperation": "合作方式",
    "region": "地区",
    "anonymous": "保密方式",
    "status": "状态",
    "revealed": "揭示企业",
    "decision": "决定",
    "reason": "原因",
    "note": "备注",
    "deal_amount_wan": "签约金额（万元）",
    "deal_date": "签约日期",
    "shared_by": "分享人",
    "shared_at": "分享时间",
    "team": "团队",
    "role": "角色",
    "firm": "企业",
    "password": "密码",
    "disabled": "停用",
    "failures": "连续失败次数",
    "locked_until": "锁定至",
    "scope": "范围",
}
# Audit values that are internal (the challenge an application names is in the sentence; a client
# key is a hash): not repeated in the before/after text.
_HIDDEN_AUDIT_KEYS = {"challenge_id", "client", "listing_id", "posted_by", "source", "url"}
_TIME_KEYS = {"shared_at", "locked_until", "decided_at", "first_seen", "last_changed", "submitted_at"}


def to_beijing(ts: datetime) -> datetime:
    """A stored time (naive = UTC) as an aware time in Beijing."""
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    return aware.astimezone(BEIJING)


def beijing_time(ts: datetime | date | None, *, seconds: bool = False, suffix: bool = True) -> str:
    """'2026-12-02 17:05 北京时间' for a stored UTC time; a date is a date (no zone); None is '—'.

    >>> beijing_time(datetime(2026, 12, 2, 9, 5))
    '2026-12-02 17:05 北京时间'
    """
    if ts is None:
        return NO_VALUE
    if not isinstance(ts, datetime):
        return ts.isoformat()
    local = to_beijing(ts).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{local} {TIME_SUFFIX}" if suffix else local


def beijing_today(now: datetime | None = None) -> date:
    """Today's date in Beijing (a deadline is a Beijing date): at 17:00 UTC it is already tomorrow."""
    return to_beijing(now or datetime.now(UTC)).date()


def challenge_number(row: Mapping[str, Any]) -> str:
    """The 需求编号 (e.g. XQ2026-0001) stored with the challenge, never its internal id."""
    return row.get("number") or UNNUMBERED


def source_name(key: str | None) -> str:
    """A source's name for people (浙江大学, Google Patents（谷歌专利）…); a source someone named
    in their own configuration is shown as they named it."""
    if not key:
        return NO_VALUE
    return SOURCE_LABELS.get(key, key)


def sources_text(keys: list[str] | None) -> str:
    return "、".join(dict.fromkeys(source_name(k) for k in keys or [])) or NO_VALUE


def legal_status(value: str | None) -> str | None:
    """A patent's legal status in Chinese: 'Active' → 有效, 'Expired - Fee Related' → 失效（未缴年费）;
    Chinese statuses (CNIPR) as they are, and an English one not known here as written."""
    if not value or not value.strip():
        return None
    text = value.strip()
    head, _, detail = (part.strip().lower() for part in text.partition(" - "))
    label = LEGAL_STATUS_LABELS.get(head)
    if label is None:
        return text
    return f"{label}（{LEGAL_STATUS_DETAILS.get(detail, text)}）" if detail else label


def role_label(role: str | None) -> str:
    return ACTOR_LABELS.get(role or "", role or NO_VALUE)


def run_status_label(status: str | None) -> str:
    return RUN_STATUS_LABELS.get(status or "", status or NO_VALUE)


def state_label(row: Mapping[str, Any], today: date) -> str:
    """A challenge's state as shown: its lifecycle status, or 已截止 past its deadline."""
    return challenge_state(row["status"], row.get("deadline"), today)


def is_expired(row: Mapping[str, Any], today: date) -> bool:
    return state_label(row, today) == EXPIRED


def queue_label(row: Mapping[str, Any], today: date) -> str:
    """A challenge in the broker's queue: number, title, and what waits — or 已截止 and when, for
    one past its deadline (matching no longer proposes for it; pairs left undecided are said)."""
    head = f"{challenge_number(row)}  {row['title']}"
    if is_expired(row, today):
        waiting = f"  ·  待审 {row['n_unreviewed']}" if row.get("n_unreviewed") else ""
        return f"{head}  ·  {EXPIRED}（{row['deadline']:%Y-%m-%d}）{waiting}"
    return f"{head}  ·  待审 {row['n_unreviewed']}  ·  最高分 {row['best_score'] or 0:.0f}"


# --- the audit log as sentences ------------------------------------------------------------------


def _quoted(title: str | None) -> str:
    return f"《{title}》" if title else ""


def _challenge(row: Mapping[str, Any]) -> str:
    number = row.get("challenge_number")
    if number or row.get("challenge_title"):
        return f"需求 {number or UNNUMBERED}{_quoted(row.get('challenge_title'))}"
    return "一个已不存在的需求"


def _listing(row: Mapping[str, Any]) -> str:
    if row.get("listing_title") is None:
        return "一条已不存在的成果"
    number = listing_number(
        {"publication_number": row.get("listing_number"), "listing_id": row.get("listing_id"), "kind": row.get("kind")}
    )
    return f"成果 {number}{_quoted(row.get('listing_title'))}"


def _actor(row: Mapping[str, Any]) -> str:
    role = row.get("role")
    after = row.get("after") or {}
    if role == SOLVER:
        return f"{role_label(role)} {after.get('team') or ''}".strip()
    name = row.get("actor_name") or row.get("actor") or ""
    return f"{role_label(role)} {name}".strip()


def actor_option(actor: str) -> str:
    """An audit actor as a filter offers it: a username, or who the non-accounts are."""
    kind, sep, key = actor.partition(":")
    if sep and kind == SOLVER:  # solver:<client key>, a hash: the visitor, told apart by its end
        return f"{role_label(SOLVER)}（访客 {key[-6:]}）"
    return role_label(actor) if actor in ("system", "cli") else actor


def _changed(after: Mapping[str, Any]) -> str:
    return "、".join(FIELD_NAMES.get(k, k) for k in after) or "内容"


def audit_sentence(row: Mapping[str, Any]) -> str:
    """One audit line as a sentence, e.g. '技术经纪人 王经纪 将 成果 CN1…《…》 标为入围（需求 XQ2026-0003）'.

    `row` is an audit line (actor, role, action, entity_type, entity_id, before, after) with what
    the log's ids name: actor_name, challenge_number, challenge_title, listing_title,
    listing_number (publication number), listing_id, kind (jiebang.audit adds them)."""
    action, after, before = row["action"], row.get("after") or {}, row.get("before") or {}
    who, target = _actor(row), row.get("entity_id") or ""
    if action == "decide":
        decision = str(after.get("decision") or "")
        label = LOGGED_DECISION_LABELS.get(decision, decision)
        detail = f"，原因：{after['reason']}" if decision == REJECT and after.get("reason") else ""
        if after.get("deal_amount_wan") is not None:
            detail += f"，金额 {after['deal_amount_wan']:g} 万元"
        if after.get("note"):
            detail += f"，备注：{after['note']}"
        return f"{who} 将 {_listing(row)} 标为{label}（{_challenge(row)}{detail}）"
    if action == "share":
        return f"{who} 将 {_listing(row)} 推荐给企业（{_challenge(row)}）"
    if action == "post":
        return f"{who} 发布了 {_challenge(row)}"
    if action == "edit":
        return f"{who} 修改了 {_challenge(row)} 的{_changed(after)}"
    if action == "submit":
        return f"{who} 将 {_challenge(row)} 提交审核"
    if action == "status":
        old, new = before.get("status"), after.get("status")
        if old in CHALLENGE_STATUSES and new in CHALLENGE_STATUSES:
            return f"{who} 将 {_challenge(row)} 由{old}改为{new}"
        return f"{who} 更改了 {_challenge(row)} 的{_changed(after)}"
    if action == "reveal":
        return f"{who} 向揭榜方公开了 {_challenge(row)} 的发榜企业"
    if action == "apply":
        return f"{who} 揭榜 {_challenge(row)}（申请编号 {target}）"
    if action == "login_failed":
        return f"账户 {target} 登录失败" + (f"（{after['reason']}）" if after.get("reason") else "")
    if action == "login_locked":
        until = after.get("locked_until")
        when = f"，至 {beijing_time(datetime.fromisoformat(until))}" if isinstance(until, str) else ""
        subject = f"账户 {target}" if row.get("entity_type") == "user" else "一个客户端"
        return f"{subject} 因连续 {after.get('failures', '多')} 次登录失败被暂时锁定{when}"
    if action == "account_signup":
        return f"{target} 注册了揭榜方账户（自行注册）"
    if action == "account_save":
        return f"{who} 保存了账户 {target}（角色：{role_label(after.get('role'))}）"
    if action == "account_disable":
        return f"{who} 停用了账户 {target}"
    if action == "account_enable":
        return f"{who} 启用了账户 {target}"
    if action == "account_role":
        firm = f"，企业：{after['firm']}" if after.get("firm") else ""
        return f"{who} 将账户 {target} 的角色改为{role_label(after.get('role'))}{firm}"
    if action == "password_reset":
        return f"{who} 重置了账户 {target} 的密码"
    entity = AUDIT_ENTITY_LABELS.get(row.get("entity_type") or "", "对象")
    return f"{who} {AUDIT_ACTION_LABELS.get(action, '操作')}（{entity}）"


def _audit_value(key: str, value: Any) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "decision":
        return LOGGED_DECISION_LABELS.get(value, value)
    if key == "role":
        return role_label(value)
    if key == "password":
        return "已设置"
    if key == "scope":
        return {"account": "账户", "client": "客户端"}.get(value, value)
    if key in _TIME_KEYS and isinstance(value, str):
        try:
            return beijing_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def audit_changes(values: Mapping[str, Any] | None) -> str:
    """An audit line's before or after as 字段：值；… in Chinese (not JSON), internal ids left out."""
    if not values:
        return ""
    return "；".join(
        f"{FIELD_NAMES.get(k, k)}：{_audit_value(k, v)}" for k, v in values.items() if k not in _HIDDEN_AUDIT_KEYS
    )


def expired_notice(deadline: date) -> str:
    """What a firm is told about its challenge past the deadline."""
    return (
        f"本需求已于 {deadline.isoformat()} 截止：不再显示在公开榜单上，也不再匹配新的成果；"
        "已推荐的成果和揭榜申请仍然保留。如需延期，请联系技术经纪人。"
    )
