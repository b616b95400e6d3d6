"""Solvers (全球破题): the public board of published challenges and the 揭榜 application.

No sign-in is needed. The board never shows who posted an anonymous challenge until a broker
reveals it: the issuer is 匿名企业 and the firm's names, in every spelling (jiebang.anonymity), are
cut out of the title, description, targets and cooperation, and a search looks only at the cut
text. Applications are validated (every problem at once), limited per client and challenge
(counted in the stored applications, so a new browser session is not a new allowance), stored
with an audit line, and shown to the broker beside the matches.

>>> page = board(wh, today=date.today())                                     # doctest: +SKIP
>>> apply(wh, page.rows[0]["ref"], {"team": "浙大材料学院", "proposal": "…", "contact": "13800000000"},
...       client_key=key)                                                   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from jiebang import notifications
from jiebang.accounts import User, ensure_permission, my_contact
from jiebang.anonymity import name_variants, redact
from jiebang.broker import Page
from jiebang.contacts import contact_problem
from jiebang.display import beijing_today
from jiebang.errors import DuplicateApplication, InvalidApplication, InvalidValue, RateLimited
from jiebang.permissions import may
from warehouse import board as board_store
from warehouse.board import ANONYMOUS_FIRM, BOARD_ORDERS
from warehouse.domain import CLOSED, PUBLISHED, SOLVED
from warehouse.gateway import Row, Warehouse
from warehouse.store import now_utc

RATE_LIMIT = 3  # applications from one client to one challenge …
RATE_WINDOW = timedelta(minutes=10)  # … in this window
DUPLICATE_WINDOW = timedelta(days=1)  # an identical application within this is a second click, not news
TEAM_CHARS = (2, 100)
PROPOSAL_CHARS = (20, 3000)
BOARD_PAGE_SIZE = 10
BOARD_ORDER_LABELS = {
    "newest": "最新发布",
    "budget_desc": "榜额从高到低",
    "budget_asc": "榜额从低到高",
    "deadline": "截止日期最近",
}
FIELD_LABELS = {"team": "团队/单位", "proposal": "方案简述", "contact": "联系方式"}

__all__ = [
    "ANONYMOUS_FIRM",
    "apply",
    "board",
    "board_fields",
    "board_regions",
    "closed_count",
    "validate_application",
]


def board(
    warehouse: Warehouse,
    *,
    today: date | None = None,
    field: str | None = None,
    search: str | None = None,
    region: str | None = None,
    budget_min: float | None = None,
    budget_max: float | None = None,
    order: str = "newest",
    page: int = 0,
    page_size: int = BOARD_PAGE_SIZE,
) -> Page:
    """One page of open published challenges as solvers see them (anonymised), in `order` (one of
    BOARD_ORDERS: newest first by default), of `region` (a province, see board_regions) and with a
    榜额 within the budget bounds (万元; a bound drops 面议). Each row is known by `ref`, not by
    its challenge id. InvalidValue for a negative bound or a low bound above the high one."""
    if order not in BOARD_ORDERS:
        raise InvalidValue(f"未知排序「{order}」（可选：{'、'.join(BOARD_ORDER_LABELS.values())}）")
    for bound in (budget_min, budget_max):
        if bound is not None and bound < 0:
            raise InvalidValue("榜额不能为负数")
    if budget_min is not None and budget_max is not None and budget_min > budget_max:
        raise InvalidValue(f"最低榜额（{budget_min:g} 万元）高于最高榜额（{budget_max:g} 万元）")
    today = today or beijing_today()  # a deadline is a date in Beijing, whatever the server's zone
    field = field or None
    search = (search or "").strip() or None
    shown = None
    if search is not None:  # searched in the text as solvers see it, never in the firm's name
        shown = [
            row["challenge_id"]
            for row in board_store.hidden_open(warehouse, today=today, field=field)
            if any(search in (text or "") for text in _public_texts(row, ("title", "description")).values())
        ]
    rows, total = board_store.published(
        warehouse,
        today=today,
        field=field,
        search=search,
        hidden_shown=shown,
        region=region or None,
        budget_min=budget_min,
        budget_max=budget_max,
        order=order,
        redact=_public_texts,
        limit=page_size,
        offset=max(page, 0) * page_size,
    )
    return Page(rows, total, page, page_size)


def _public_texts(
    row: Mapping[str, Any], fields: tuple[str, ...] = ("title", "description", "targets", "cooperation")
) -> dict[str, str | None]:
    """The texts of a hidden challenge with its firm's names (firm, issuer, english_name) cut out."""
    variants = name_variants(row["firm"], row["issuer"], row["english_name"])
    return {k: redact(row[k], variants) for k in fields}


def board_fields(warehouse: Warehouse, *, today: date | None = None) -> list[str]:
    return board_store.board_fields(warehouse, today=today or beijing_today())


def closed_count(warehouse: Warehouse, *, today: date | None = None) -> int:
    """How many published challenges passed their deadline (已截止) and left the board: the board
    says so, rather than letting them vanish without a word."""
    return board_store.expired_count(warehouse, today=today or beijing_today())


def board_regions(warehouse: Warehouse, *, today: date | None = None) -> list[str]:
    """The provinces (浙江省, 上海市 …) the open challenges are in, for the board's region filter."""
    return board_store.board_regions(warehouse, today=today or beijing_today())


def _length(text: str, low: int, high: int) -> str | None:
    if not text:
        return "必填"
    if len(text) < low:
        return f"至少 {low} 个字（现为 {len(text)} 个）"
    if len(text) > high:
        return f"最多 {high} 个字（现为 {len(text)} 个）"
    return None


def validate_application(form: Mapping[str, Any]) -> dict[str, str]:
    """The cleaned application (team, proposal, contact), or InvalidApplication with every problem."""
    record = {k: str(form.get(k) or "").strip() for k in FIELD_LABELS}
    problems = {}
    if problem := _length(record["team"], *TEAM_CHARS):
        problems["team"] = problem
    if problem := _length(record["proposal"], *PROPOSAL_CHARS):
        problems["proposal"] = problem
    if problem := contact_problem(record["contact"]):
        problems["contact"] = problem
    if problems:
        raise InvalidApplication({FIELD_LABELS[k]: v for k, v in problems.items()})
    return record


def apply(
    warehouse: Warehouse,
    ref: str,
    form: Mapping[str, Any],
    *,
    client_key: str,
    now: datetime | None = None,
    today: date | None = None,
    applicant: User | None = None,
) -> int:
    """Store a 揭榜 application to the open challenge `ref` from the client `client_key` (see
    jiebang.accounts.client_key); returns its id. Sent by a signed-in solver account
    (`applicant`), it is kept under that account so that 我的揭榜 follows it; any other caller's is
    anonymous. The challenge's brokers and firm are notified (jiebang.notifications).

    InvalidApplication lists the form's problems; RateLimited when this client already sent
    RATE_LIMIT applications to this challenge within RATE_WINDOW, from any browser session;
    InvalidApplication when the challenge is not
    (or no longer) open; DuplicateApplication when the same contact sent the same proposal to it
    within DUPLICATE_WINDOW."""
    if not client_key:
        raise ValueError("apply needs the client key of the caller")
    record = validate_application(form)
    now = now or now_utc()
    solver_account = None
    if applicant is not None and may(applicant, "follow_own_applications"):
        solver_account = ensure_permission(warehouse, applicant, "follow_own_applications").username

    def check(challenge: Row | None, recent: int, same: int) -> None:
        if same:  # before the rate limit: a second click is told it arrived, not to wait
            raise DuplicateApplication(
                "这份揭榜申请已经提交过（同一联系方式、同一方案），无需重复提交；技术经纪人会尽快与您联系"
                " (an identical application was already received)"
            )
        if recent >= RATE_LIMIT:
            minutes = int(RATE_WINDOW.total_seconds() // 60)
            raise RateLimited(
                f"提交过于频繁：同一需求每 {minutes} 分钟最多提交 {RATE_LIMIT} 份申请，请稍后再试"
                " (too many applications to this challenge from here; try again later)"
            )
        if challenge is None:
            raise InvalidApplication({"需求": "该需求不存在或已截止，无法揭榜"})

    application_id = board_store.insert_application(
        warehouse,
        ref,
        record,
        client_key=client_key,
        now=now,
        since=now - RATE_WINDOW,
        duplicate_since=now - DUPLICATE_WINDOW,
        today=today or beijing_today(),
        check=check,
        applicant=solver_account,
    )
    challenge_id = board_store.challenge_of_application(warehouse, application_id)
    notifications.application_received(warehouse, challenge_id, application_id, record["team"], now=now)
    return application_id


# What a solver's application stands at, by its challenge's lifecycle (brokers contact the
# applicants themselves; the application has no status of its own).
APPLICATION_STATUS = {
    PUBLISHED: "征集中：申请已送达，技术经纪人将与您联系",
    SOLVED: "已揭榜：该需求已确定揭榜方，经纪人正在对接",
    CLOSED: "已关闭：该需求已结束征集",
}
EXPIRED = "已截止：该需求已过截止日期"


def form_start(warehouse: Warehouse, user: User | None) -> dict[str, str]:
    """What a signed-in solver's 揭榜 form starts with, to change or keep: the team and contact
    their account holds (as they gave them at sign-up). Empty for anyone else: the public form
    starts blank."""
    if user is None or not may(user, "follow_own_applications"):
        return {}
    me = ensure_permission(warehouse, user, "follow_own_applications")
    start = {"team": me.display_name, "contact": my_contact(warehouse, me) or ""}
    return {k: v for k, v in start.items() if v}


def my_applications(warehouse: Warehouse, user: User | None, *, today: date | None = None) -> list[Row]:
    """The signed-in solver's 揭榜 applications, newest first: each with `status_text` (where it
    stands), its challenge's `ref` and title as the public sees them (anonymised), and `open`
    (still on the board, so its detail page shows)."""
    me = ensure_permission(warehouse, user, "follow_own_applications")
    rows = board_store.applications_of(warehouse, me.username, today=today or beijing_today())
    out = []
    for row in rows:
        names = {k: row.pop(f"_{k}") for k in ("firm", "issuer", "english_name")}
        if row.pop("_hidden"):
            row["title"] = _public_texts({**row, **names}, ("title",))["title"]
        for k in ("description", "targets", "cooperation"):
            row.pop(k)
        if row["status"] == PUBLISHED and not row["open"]:
            row["status_text"] = EXPIRED
        else:
            row["status_text"] = APPLICATION_STATUS.get(row["status"], row["status"])
        out.append(row)
    return out
