"""The firm side (企业出题) and the challenge lifecycle (政府立题), with every role check made here.

A firm user posts, edits (while 草稿 / 待审核), submits and follows its own firm's challenges and
sees only the matches a broker shared with it; a broker or admin moves challenges through
草稿 → 待审核 → 已发布 → 已揭榜 → 已关闭 and reveals anonymous firms. Another firm's challenge
and a challenge that does not exist give the same AccessDenied, so ids cannot be probed.

>>> result = post_challenge(wh, firm_user, {"title": "…", ...}, today=date.today())  # doctest: +SKIP
>>> result.challenge_id, [d.score for d in result.duplicates]                          # doctest: +SKIP
('firm:3f2a9c1b7d4e', [])
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz, process

from crawlers.validation import BUDGET_MAX_WAN  # the same cap as a crawled or imported 榜额
from jiebang import notifications
from jiebang.accounts import User, ensure_permission
from jiebang.display import FIELD_NAMES, beijing_today
from jiebang.errors import AccessDenied, JiebangError
from jiebang.permissions import may
from matching.text import normalise
from matching.vocabulary import PRIORITY_INDUSTRIES
from warehouse import board as board_store
from warehouse import challenge_store
from warehouse.domain import (
    CHALLENGE_STATUSES,
    CLOSED,
    DRAFT,
    EDITABLE_STATUSES,
    EXPIRED,
    PENDING,
    PUBLIC_STATUSES,
    TRANSITIONS,
    challenge_state,
)
from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc

INDUSTRIES = (*PRIORITY_INDUSTRIES, "其他")
COOPERATION_MODES = ("技术转让", "技术许可", "作价入股", "合作开发", "委托研发", "技术服务", "面议")
CONFIDENTIALITY = ("公开", "匿名")
_FORM_FIELDS = ("title", "description", "field", "targets", "budget_wan", "deadline", "cooperation", "region")
FIELD_LABELS = {**{k: FIELD_NAMES[k] for k in _FORM_FIELDS}, "confidentiality": FIELD_NAMES["anonymous"]}
TITLE_CHARS = (5, 60)
DESCRIPTION_CHARS = (30, 5000)
TARGETS_MAX_CHARS = 1000
REGION_MAX_CHARS = 50
DEADLINE_MAX_YEARS = 5
DUPLICATE_THRESHOLD = 85.0  # rapidfuzz ratio (0–100) of the normalised title + description
NOT_FOUND = "未找到该需求，或您无权查看 (no such challenge for your firm)"
_IGNORED = re.compile(r"[\s\W_]+")


class InvalidChallenge(JiebangError):
    """A posted or edited challenge has problems; `problems` maps each field to why (all at once)."""

    def __init__(self, problems: Mapping[str, str]):
        self.problems = dict(problems)
        super().__init__(
            "需求填写有误：" + "；".join(f"{FIELD_LABELS.get(k, k)}：{v}" for k, v in self.problems.items())
        )


class InvalidTransition(JiebangError):
    """A lifecycle change that the challenge's current status does not allow."""


class ChallengeNotFound(JiebangError):
    """A broker or admin named a challenge id that does not exist."""


@dataclass(frozen=True)
class DuplicateHint:
    """An existing challenge the new text is close to. For a firm, `challenge_id` is given only
    for its own challenges, and `title` / `status` only for its own and for published ones the
    public board shows with the firm's name (not anonymous, or revealed)."""

    score: float
    challenge_id: str | None = None
    title: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class PostResult:
    challenge: Row
    duplicates: list[DuplicateHint] = field(default_factory=list)

    @property
    def challenge_id(self) -> str:
        return self.challenge["challenge_id"]

    @property
    def status(self) -> str:
        return self.challenge["status"]


# --- validation -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _length_problem(text: str, low: int, high: int) -> str | None:
    if len(text) < low:
        return f"至少 {low} 个字（现在 {len(text)} 个）" if text else "必填"
    if len(text) > high:
        return f"最多 {high} 个字（现在 {len(text)} 个）"
    return None


def _budget(value: Any) -> tuple[float | None, str | None]:
    if value is None or _text(value) in ("", "面议"):
        return None, None
    try:
        budget = float(str(value).replace(",", "").strip()) if not isinstance(value, (int, float)) else float(value)
    except ValueError:
        return None, f"请填写数字（万元），面议请留空（现在「{_text(value)[:20]}」）"
    if math.isnan(budget) or math.isinf(budget):
        return None, "请填写一个有限的数字（万元）"
    if budget < 0:
        return None, f"不能为负数（现在 {budget:g} 万元）"
    if budget > BUDGET_MAX_WAN:
        return None, f"超过 {BUDGET_MAX_WAN:,.0f} 万元，请确认单位是万元（现在 {budget:,.0f}）"
    return budget, None


def _deadline(value: Any, today: date) -> tuple[date | None, str | None]:
    if value is None or _text(value) == "":
        return None, "必填，请选择截止日期"
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(_text(value))
        except ValueError:
            return None, f"日期格式应为 YYYY-MM-DD（现在「{_text(value)[:20]}」）"
    if value < today:
        return None, f"不能早于今天 {today.isoformat()}（现在 {value.isoformat()}）"
    try:
        latest = today.replace(year=today.year + DEADLINE_MAX_YEARS)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + DEADLINE_MAX_YEARS, day=28)
    if value > latest:
        return None, f"不能晚于 {latest.isoformat()}（{DEADLINE_MAX_YEARS} 年内）"
    return value, None


def validate_challenge(form: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """The cleaned fields of a posted challenge, or InvalidChallenge listing every problem.

    >>> validate_challenge({"title": "短"}, today=date(2026, 1, 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    jiebang.firm.InvalidChallenge: 需求填写有误：标题：至少 5 个字（现在 1 个）；...
    """
    problems: dict[str, str] = {}
    for key, value in form.items():
        if key not in FIELD_LABELS:
            problems[key] = "不是可填写的字段"
        elif isinstance(value, str) and "\x00" in value:  # refused as a crawled or imported one is
            problems[key] = "含有空字符 (NUL)，请重新输入"
    title, description = _text(form.get("title")), _text(form.get("description"))
    targets, region = _text(form.get("targets")), _text(form.get("region"))
    if problem := _length_problem(title, *TITLE_CHARS):
        problems["title"] = problem
    if problem := _length_problem(description, *DESCRIPTION_CHARS):
        problems["description"] = problem + "（请写清问题、现状和目标）"
    industry = _text(form.get("field"))
    if industry not in INDUSTRIES:
        problems["field"] = f"「{industry[:20]}」不是可选行业（{'、'.join(INDUSTRIES)}）" if industry else "必选"
    if len(targets) > TARGETS_MAX_CHARS:
        problems["targets"] = f"最多 {TARGETS_MAX_CHARS} 个字（现在 {len(targets)} 个）"
    budget, problem = _budget(form.get("budget_wan"))
    if problem:
        problems["budget_wan"] = problem
    deadline, problem = _deadline(form.get("deadline"), today)
    if problem:
        problems["deadline"] = problem
    cooperation = _text(form.get("cooperation"))
    if cooperation not in COOPERATION_MODES:
        problems["cooperation"] = (
            f"「{cooperation[:20]}」不是可选方式（{'、'.join(COOPERATION_MODES)}）" if cooperation else "必选"
        )
    if len(region) > REGION_MAX_CHARS:
        problems["region"] = f"最多 {REGION_MAX_CHARS} 个字（现在 {len(region)} 个）"
    confidentiality = _text(form.get("confidentiality")) or "公开"
    if confidentiality not in CONFIDENTIALITY:
        problems["confidentiality"] = f"只能是「公开」或「匿名」（现在「{confidentiality[:20]}」）"
    if problems:
        raise InvalidChallenge(problems)
    return {
        "title": title,
        "description": description,
        "field": industry,
        "targets": targets or None,
        "budget_wan": budget,
        "deadline": deadline,
        "cooperation": cooperation,
        "region": region or None,
        "anonymous": confidentiality == "匿名",
    }


def as_form(challenge: Mapping[str, Any]) -> dict[str, Any]:
    """A stored challenge as the form that would post it (to prefill the edit form)."""
    form = {k: challenge.get(k) for k in FIELD_LABELS if k != "confidentiality"}
    form["confidentiality"] = "匿名" if challenge.get("anonymous") else "公开"
    return form


# --- near-duplicates --------------------------------------------------------------------------


def _comparable(title: str, description: str) -> str:
    return _IGNORED.sub("", normalise(f"{title}\n{description}"))


def _near_duplicates(
    warehouse: Warehouse,
    title: str,
    description: str,
    *,
    exclude_id: str | None,
    visible_to: str | None,
    limit: int = 3,
) -> list[DuplicateHint]:
    """Existing challenges whose normalised title + description is at least DUPLICATE_THRESHOLD
    similar. `visible_to` (a firm) hides other firms' unpublished challenges' ids and titles;
    None shows everything (brokers)."""
    text = _comparable(title, description)
    # Ratio ≥ t needs the shorter text to be at least t / (2 - t) of the longer: the rest cannot match.
    share = (DUPLICATE_THRESHOLD / 100) / (2 - DUPLICATE_THRESHOLD / 100)
    raw = len(title) + len(description) + 1
    rows = challenge_store.duplicate_candidates(
        warehouse, min_length=int(raw * share * 0.9), max_length=int(raw / share * 1.1) + 1, exclude_id=exclude_id
    )
    if not rows or not text:
        return []
    choices = {i: _comparable(r["title"], r["description"]) for i, r in enumerate(rows)}
    hits = process.extract(text, choices, scorer=fuzz.ratio, score_cutoff=DUPLICATE_THRESHOLD, limit=limit)
    hints = []
    for _, score, i in hits:
        row = rows[i]
        if visible_to is None or row["firm"] == visible_to:  # a broker, or the firm's own
            hints.append(DuplicateHint(round(score, 1), row["challenge_id"], row["title"], row["status"]))
        elif row["status"] in PUBLIC_STATUSES and not (row["anonymous"] and not row["revealed"]):
            hints.append(DuplicateHint(round(score, 1), None, row["title"], row["status"]))  # as on the board
        else:  # another firm's unpublished or anonymous challenge: only that there is one
            hints.append(DuplicateHint(round(score, 1)))
    return hints


# --- the firm side ----------------------------------------------------------------------------


def require_firm(warehouse: Warehouse, user: User | None) -> User:
    """The user if signed in as a firm user with a firm; AccessDenied otherwise."""
    firm_user = ensure_permission(warehouse, user, "manage_own_challenges")
    if not firm_user.firm:
        raise AccessDenied("该企业账户未关联企业 (firm account without a firm): ask an admin to set --firm")
    return firm_user


def firm_of(warehouse: Warehouse, user: User | None) -> str:
    """The signed-in firm user's firm; AccessDenied as `require_firm`."""
    firm_name = require_firm(warehouse, user).firm
    assert firm_name  # require_firm refuses a firm account without a firm
    return firm_name


def post_challenge(
    warehouse: Warehouse, user: User | None, form: Mapping[str, Any], *, today: date, submit: bool = False
) -> PostResult:
    """Post a challenge for the signed-in firm: validated (InvalidChallenge lists every problem),
    stored as 草稿 (or 待审核 with `submit`), audited, and checked for near-duplicates (flagged in
    the result, not refused). Matching is the caller's next step (matching_run.match_one_challenge)."""
    firm_user = require_firm(warehouse, user)
    record = validate_challenge(form, today=today)
    duplicates = _near_duplicates(
        warehouse, record["title"], record["description"], exclude_id=None, visible_to=firm_user.firm
    )
    record.update(
        challenge_id=f"firm:{uuid.uuid4().hex[:12]}",  # no firm name: anonymous stays anonymous
        firm=firm_user.firm,
        issuer=firm_user.firm,
        posted_by=firm_user.username,
        source="firm",
        url=None,
        status=PENDING if submit else DRAFT,
    )
    row = challenge_store.insert_posted(warehouse, record, actor=firm_user.username, role=firm_user.role)
    return PostResult(row, duplicates)


def my_challenges(warehouse: Warehouse, user: User | None, *, today: date | None = None) -> list[Row]:
    """The signed-in firm's challenges, newest first, with n_shared (matches shared with it) and
    `state`: the status, or 已截止 once a published one's deadline has passed."""
    rows = challenge_store.firm_challenges(warehouse, firm_of(warehouse, user))
    return [_with_state(row, today) for row in rows]


def my_challenge(warehouse: Warehouse, user: User | None, challenge_id: str, *, today: date | None = None) -> Row:
    """One of the signed-in firm's challenges, with its `state`; AccessDenied (the same message)
    for another firm's challenge and for an id that does not exist."""
    row = challenge_store.firm_challenge(warehouse, str(challenge_id), firm_of(warehouse, user))
    if row is None:
        raise AccessDenied(NOT_FOUND)
    return _with_state(row, today)


def _with_state(row: Row, today: date | None) -> Row:
    row["state"] = challenge_state(row["status"], row["deadline"], today or beijing_today())
    return row


def _require_status(allowed: tuple[str, ...], doing: str):
    def check(before: Row) -> None:
        if before["status"] not in allowed:
            raise InvalidTransition(f"只有{'或'.join(allowed)}的需求可以{doing}（现在：{before['status']}）")

    return check


def update_challenge(
    warehouse: Warehouse, user: User | None, challenge_id: str, changes: Mapping[str, Any], *, today: date
) -> Row:
    """Change the signed-in firm's challenge while it is 草稿 or 待审核 (InvalidTransition after);
    `changes` holds any of the form's fields, validated together with the rest. Audited
    (action "edit", before → after of the changed columns)."""
    firm_user = require_firm(warehouse, user)
    current = my_challenge(warehouse, firm_user, challenge_id)
    _require_status(EDITABLE_STATUSES, "修改")(current)
    record = validate_challenge({**as_form(current), **changes}, today=today)
    row = challenge_store.change_challenge(
        warehouse,
        challenge_id,
        record,
        actor=firm_user.username,
        role=firm_user.role,
        action="edit",
        firm=firm_user.firm,
        check=_require_status(EDITABLE_STATUSES, "修改"),
    )
    if row is None:
        raise AccessDenied(NOT_FOUND)
    return row


def submit_for_review(warehouse: Warehouse, user: User | None, challenge_id: str) -> Row:
    """草稿 → 待审核 for the signed-in firm's own challenge. Audited (action "status")."""
    firm_user = require_firm(warehouse, user)
    row = challenge_store.change_challenge(
        warehouse,
        str(challenge_id),
        {"status": PENDING},
        actor=firm_user.username,
        role=firm_user.role,
        action="status",
        firm=firm_user.firm,
        check=_require_status((DRAFT,), "提交审核"),
    )
    if row is None:
        raise AccessDenied(NOT_FOUND)
    notifications.status_changed(warehouse, str(challenge_id), DRAFT, PENDING, actor=firm_user.username, now=now_utc())
    return row


def shared_matches(warehouse: Warehouse, user: User | None, challenge_id: str) -> list[Row]:
    """The matches a broker shared with the signed-in firm for its challenge (listing title,
    summary, score, link), best first, each with why it was recommended — `band` (what its score
    means, matching.ranker.score_band), `concepts` (the need's key concepts it meets) and `terms`
    (the other matched terms) — and who its broker is (`broker_name`, `broker_contact`)."""
    firm_user = require_firm(warehouse, user)
    my_challenge(warehouse, firm_user, challenge_id)
    rows = challenge_store.shared_matches(warehouse, challenge_id, firm_of(warehouse, firm_user))
    for row in rows:
        terms = row.pop("matched_terms", None) or []
        if isinstance(terms, str):
            terms = json.loads(terms)
        row["concepts"] = [t["term"] for t in terms if t.get("key_concept") and t.get("met", True)]
        row["terms"] = [t["term"] for t in terms if not t.get("key_concept")]
    return rows


# --- the lifecycle (brokers and admins) -------------------------------------------------------


def allowed_transitions(user: User | None, status: str) -> tuple[str, ...]:
    """The statuses `user` may move a challenge in `status` to (for buttons; set_status checks again)."""
    if not may(user, "curate_challenges"):
        return ()
    targets = TRANSITIONS.get(status, ())
    if may(user, "close_any_challenge") and status != CLOSED and CLOSED not in targets:
        targets = (*targets, CLOSED)
    return targets


def set_status(warehouse: Warehouse, user: User | None, challenge_id: str, status: str) -> Row:
    """Move a challenge along 草稿 → 待审核 → 已发布 → 已揭榜 → 已关闭 (or 待审核 → 草稿 to send it
    back; an admin may close from any status). Audited (action "status", before → after)."""
    curator = ensure_permission(warehouse, user, "curate_challenges")
    if status not in CHALLENGE_STATUSES:
        raise InvalidTransition(f"未知状态「{status}」（可选：{' → '.join(CHALLENGE_STATUSES)}）")

    def check(before: Row) -> None:
        if status not in allowed_transitions(curator, before["status"]):
            raise InvalidTransition(
                f"不能从「{before['status']}」改为「{status}」"
                f"（可改为：{'、'.join(allowed_transitions(curator, before['status'])) or '无'}）"
            )

    before = challenge_store.any_challenge(warehouse, str(challenge_id))
    row = challenge_store.change_challenge(
        warehouse,
        str(challenge_id),
        {"status": status},
        actor=curator.username,
        role=curator.role,
        action="status",
        check=check,
    )
    if row is None or before is None:
        raise ChallengeNotFound(f"需求 {challenge_id} 不存在 (no such challenge)")
    notifications.status_changed(
        warehouse, str(challenge_id), before["status"], status, actor=curator.username, now=now_utc()
    )
    return row


def reveal_firm(warehouse: Warehouse, user: User | None, challenge_id: str) -> Row:
    """Show an anonymous challenge's firm to solvers (a broker's decision). Audited ("reveal")."""
    curator = ensure_permission(warehouse, user, "curate_challenges")

    def check(before: Row) -> None:
        if not before["anonymous"]:
            raise InvalidTransition("该需求是公开发布的，无需揭示企业 (not anonymous)")
        if before["revealed"]:
            raise InvalidTransition("该需求的企业已揭示 (already revealed)")

    row = challenge_store.change_challenge(
        warehouse,
        str(challenge_id),
        {"revealed": True},
        actor=curator.username,
        role=curator.role,
        action="reveal",
        check=check,
    )
    if row is None:
        raise ChallengeNotFound(f"需求 {challenge_id} 不存在 (no such challenge)")
    return row


def curation_queue(
    warehouse: Warehouse,
    user: User | None,
    statuses: tuple[str, ...] = (PENDING,),
    *,
    limit: int = 200,
    offset: int = 0,
) -> list[Row]:
    """Challenges in the given statuses, oldest first (the 待审核 queue by default)."""
    ensure_permission(warehouse, user, "curate_challenges")
    return challenge_store.challenges_in_status(warehouse, statuses, limit=limit, offset=offset)


def status_counts(warehouse: Warehouse, user: User | None, *, today: date | None = None) -> dict[str, int]:
    """How many challenges are in each status, and under 已截止 how many of the published ones are
    past their deadline (counted in 已发布 as well: the state is derived, the status unchanged)."""
    ensure_permission(warehouse, user, "curate_challenges")
    counts = challenge_store.status_counts(warehouse)
    counts[EXPIRED] = board_store.expired_count(warehouse, today=today or beijing_today())
    return counts


def curated_challenge(warehouse: Warehouse, user: User | None, challenge_id: str) -> Row:
    """Any challenge with its owner and lifecycle fields, for a broker or admin."""
    ensure_permission(warehouse, user, "curate_challenges")
    row = challenge_store.any_challenge(warehouse, str(challenge_id))
    if row is None:
        raise ChallengeNotFound(f"需求 {challenge_id} 不存在 (no such challenge)")
    return row


def near_duplicates(warehouse: Warehouse, user: User | None, challenge_id: str) -> list[DuplicateHint]:
    """Other challenges close to this one (for the broker curating it)."""
    row = curated_challenge(warehouse, user, challenge_id)
    return _near_duplicates(
        warehouse, row["title"], row["description"], exclude_id=row["challenge_id"], visible_to=None
    )
