"""The domain's words, each spelled once: the codes the warehouse stores for a challenge's status,
a broker's decision, a listing's kind and an account's role, and the one Chinese label each is
shown as — by the services, the pages and the exports alike.

They sit at the bottom, beside the schema that already fixes the same codes (the CHECK
constraints and the status default in migrations 0001 and 0002), because the gateway's SQL needs
them (open = published, drafts never listed, a rejected pair never proposed again) and the
gateway may import nothing above it; the SQL binds them as parameters. Which role may do which
action is the application's policy, in jiebang/permissions.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any

# --- a challenge's lifecycle (政府立题): the stored code is the Chinese word itself ---------------
DRAFT, PENDING, PUBLISHED, SOLVED, CLOSED = "草稿", "待审核", "已发布", "已揭榜", "已关闭"
CHALLENGE_STATUSES = (DRAFT, PENDING, PUBLISHED, SOLVED, CLOSED)  # in lifecycle order
EDITABLE_STATUSES = (DRAFT, PENDING)  # a firm may change its challenge only before it is published
OPEN_STATUSES = (PUBLISHED,)  # on the public board and matched (while the deadline has not passed)
PUBLIC_STATUSES = (PUBLISHED, SOLVED)  # other firms may see the title (as the board showed it)
PRIVATE_STATUSES = (DRAFT,)  # the firm's own: never in a broker's queue or filter
# What a broker may move a challenge to from each status (an admin may also close from any).
TRANSITIONS = {DRAFT: (PENDING,), PENDING: (PUBLISHED, DRAFT), PUBLISHED: (SOLVED,), SOLVED: (CLOSED,)}

# --- a broker's decision on a proposed match (reviews.decision) ---------------------------------
SHORTLIST, REJECT, CONTACTED, INTENT, SIGNED, FOLLOW_UP = (
    "shortlist",
    "reject",
    "contacted",
    "intent",
    "signed",
    "follow_up",
)
# One label per decision, on the buttons, on a card's 状态, in the exports and on the dashboard.
DECISION_LABELS = {
    SHORTLIST: "入围",
    REJECT: "排除",
    CONTACTED: "已联系",
    INTENT: "意向",
    SIGNED: "签约",
    FOLLOW_UP: "回访",
}
DECISIONS = tuple(DECISION_LABELS)
BULK_DECISIONS = (SHORTLIST, REJECT, CONTACTED, INTENT, FOLLOW_UP)  # 签约 is one deal at a time
FOLLOW_UPS = (CONTACTED, INTENT, SIGNED, FOLLOW_UP)  # the card's 进展 form, after 入围
# How far a pair got, in order (reject and 回访 do not move it): 入围 → 已联系 → 意向 → 签约.
PIPELINE_STAGES = (SHORTLIST, CONTACTED, INTENT, SIGNED)
# A broker's latest decision as a relevance grade for tuning: rejected 0, shortlisted 1, taken further 2.
DECISION_GRADES = {REJECT: 0, SHORTLIST: 1, CONTACTED: 2, INTENT: 2, SIGNED: 2, FOLLOW_UP: 2}
# 撤销 (undo) of a decision that had nothing before it: stored (migration 0013), and read as "no
# decision" by every latest-decision query, so the pair is 待审 again. Never a button of its own.
REOPEN = "reopen"
LOGGED_DECISION_LABELS = {**DECISION_LABELS, REOPEN: "待审（已撤销）"}  # how the audit log reads them
UNREVIEWED = "unreviewed"  # the decision filter for pairs nobody has decided on yet (never stored)
REVIEW_STATUS_LABELS = {UNREVIEWED: "待审", **DECISION_LABELS}

# --- a listing's kind (listings.kind) -----------------------------------------------------------
PATENT, ACHIEVEMENT = "patent", "achievement"
KIND_LABELS = {PATENT: "专利", ACHIEVEMENT: "科技成果"}


def listing_number(row: Mapping[str, Any]) -> str:
    """A listing's number as people cite it: the publication number of a patent; for a listing
    without one a short 成果编号 derived from its id, so it stays the same across crawls
    (CG + 8 characters for an achievement, ZL + 8 for a patent without a publication number)."""
    if number := (row.get("publication_number") or "").strip():
        return number
    digest = hashlib.sha256(str(row.get("listing_id") or "").encode("utf-8")).hexdigest()[:8].upper()
    return f"{'CG' if row.get('kind') == ACHIEVEMENT else 'ZL'}{digest}"


# listing_number in SQL over a listings row, to find a listing by the number a person typed
# (binds $achievement to ACHIEVEMENT): the two are kept side by side so they cannot drift apart.
LISTING_NUMBER_SQL = (
    "coalesce(nullif(trim(publication_number), ''),"
    " (CASE WHEN kind = $achievement THEN 'CG' ELSE 'ZL' END) || upper(substr(sha256(listing_id), 1, 8)))"
)

# --- an account's role (users.role) -------------------------------------------------------------
ADMIN, BROKER, FIRM = "admin", "broker", "firm"
SOLVER = "solver"  # 揭榜方: a team that 揭榜 and follows its applications (migration 0012)
ROLE_LABELS = {ADMIN: "管理员", BROKER: "技术经纪人", FIRM: "企业用户", SOLVER: "揭榜方"}
ROLES = tuple(ROLE_LABELS)

# --- a challenge past its deadline: a state derived on reading, never stored -------------------
# A published challenge whose deadline (a Beijing date) has passed is 已截止: off the public board
# and out of matching, but still shown, so that with that word, to its firm and to brokers.
EXPIRED = "已截止"


def challenge_state(status: str, deadline: date | None, today: date) -> str:
    """The state to show for a challenge: its stored status, or EXPIRED for an open one whose
    deadline lies before `today` (the date in Beijing)."""
    if status in OPEN_STATUSES and deadline is not None and deadline < today:
        return EXPIRED
    return status


# --- who acted, in the audit log (audit_log.role): the account roles and the others that act ------
SOLVER = "solver"  # an anonymous 揭榜 applicant on the public board
ACTOR_LABELS = {**ROLE_LABELS, SOLVER: "揭榜方", "login": "登录者", "system": "系统", "cli": "命令行 (CLI)"}

# --- what was done (audit_log.action) --------------------------------------------------------------
AUDIT_ACTION_LABELS = {
    "post": "发布需求",
    "edit": "修改需求",
    "status": "状态变更",
    "decide": "审核决定",
    "share": "分享匹配",
    "reveal": "公开企业",
    "apply": "揭榜申请",
    "submit": "提交审核",
    "login_failed": "登录失败",
    "login_locked": "登录锁定",
    "account_signup": "注册账户",
    "account_save": "保存账户",
    "account_disable": "停用账户",
    "account_enable": "启用账户",
    "account_role": "角色变更",
    "password_reset": "重置密码",
}
AUDIT_ENTITY_LABELS = {
    "challenge": "需求",
    "match": "匹配",
    "application": "揭榜申请",
    "user": "账户",
    "client": "客户端",
}

# --- a run's outcome (runs.status) -------------------------------------------------------------------
RUN_STATUS_LABELS = {
    "running": "运行中",
    "completed": "已完成",
    "partial": "部分完成",
    "failed": "失败",
    "interrupted": "已中断",
}

# --- where a record came from (listings.source, challenges.source): the crawled sources' names
# (jiebang.settings.default_sources, config/live_sources.toml) and the import formats, which are a
# file's source unless `--source` names one.
SOURCE_LABELS = {
    "google_patents": "Google Patents（谷歌专利）",
    "google_patents_cn": "Google Patents（谷歌专利·中国）",
    "google_patents_csv": "Google Patents（谷歌专利·导入）",
    "cnipr": "中国知识产权网 (CNIPR)",
    "cnipa_xml": "国家知识产权局（导入）",
    "epo_ops": "欧洲专利局 (EPO)",
    "uspto_odp": "美国专利商标局 (USPTO)",
    "uspto_xml": "美国专利商标局（导入）",
    "patentsview": "美国专利商标局 PatentsView（导入）",
    "nstrs": "国家科技报告服务系统",
    "zju": "浙江大学",
    "tsinghua": "清华大学",
    "fudan": "复旦大学",
    "tongji": "同济大学",
    "cas": "中国科学院",
    "shu": "上海大学",
    "jiashan_market": "嘉善县科技大市场",
    "firm": "企业发布",
    "table": "表格导入",
}

# --- a patent's legal status as the English sources write it (Google Patents' legalStatusIfi,
# USPTO's status text), in Chinese: the first word decides ("Expired - Fee Related" is 失效).
LEGAL_STATUS_LABELS = {
    "active": "有效",
    "granted": "授权",
    "pending": "审中",
    "expired": "失效",
    "withdrawn": "撤回",
    "abandoned": "放弃",
    "ceased": "终止",
    "revoked": "无效",
    "not-in-force": "失效",
}
LEGAL_STATUS_DETAILS = {"fee related": "未缴年费", "lifetime": "期限届满"}  # after "Expired - "
