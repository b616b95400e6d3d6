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
UNREVIEWED = "unreviewed"  # the decision filter for pairs nobody has decided on yet (never stored)
REVIEW_STATUS_LABELS = {UNREVIEWED: "待审", **DECISION_LABELS}

# --- a listing's kind (listings.kind) -----------------------------------------------------------
PATENT, ACHIEVEMENT = "patent", "achievement"
KIND_LABELS = {PATENT: "专利", ACHIEVEMENT: "科技成果"}

# --- an account's role (users.role) -------------------------------------------------------------
ADMIN, BROKER, FIRM = "admin", "broker", "firm"
ROLE_LABELS = {ADMIN: "管理员", BROKER: "技术经纪人", FIRM: "企业用户"}
ROLES = tuple(ROLE_LABELS)
