"""Which role may do which action: one table, read by the services (accounts.ensure_permission,
which re-reads the account first) and by the app's navigation (a role sees the pages of its
actions). To let a role do something new, change the table, not a page or a service.

>>> may(None, "view_board"), may(None, "view_audit")
(True, False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.domain import ADMIN, BROKER, FIRM, ROLE_LABELS, SOLVER

if TYPE_CHECKING:
    from jiebang.accounts import User

GUEST = "guest"  # whoever is not signed in (never a stored role)
GUEST_LABEL = "访客"
CURATORS = frozenset({BROKER, ADMIN})

ACTIONS: dict[str, frozenset[str]] = {
    "sign_in": frozenset({GUEST}),
    "view_board": frozenset({GUEST, ADMIN, BROKER, FIRM, SOLVER}),  # 全球破题 and its 揭榜 form: public
    "manage_own_account": frozenset({ADMIN, BROKER, FIRM, SOLVER}),  # name, own password
    "review_matches": CURATORS,  # the queue, match cards, decisions, notes, shares, applications
    "export_pipeline": CURATORS,  # shortlist and pipeline exports
    "view_runs": CURATORS,  # run status and the last nightly refresh
    "curate_challenges": CURATORS,  # the lifecycle 草稿 → … → 已关闭, revealing anonymous firms
    "view_dashboard": CURATORS,  # funnel, industries, deal value, source freshness
    "close_any_challenge": frozenset({ADMIN}),  # close from any status, not only from 已揭榜
    "view_audit": frozenset({ADMIN}),
    "manage_users": frozenset({ADMIN}),
    "manage_own_challenges": frozenset({FIRM}),  # post, edit, submit and follow the firm's own
    "view_supply": frozenset({ADMIN, BROKER, FIRM}),  # 成果库 and a listing's detail page
    "view_challenge_detail": frozenset({GUEST, ADMIN, BROKER, FIRM, SOLVER}),  # as the board shows it; curators more
    "follow_own_applications": frozenset({SOLVER}),  # 我的揭榜: the solver's applications and their status
    "view_notifications": frozenset({ADMIN, BROKER, FIRM, SOLVER}),  # 通知: one's own, marked read
}


def role_of(user: User | None) -> str:
    return GUEST if user is None else user.role


def role_label(role: str) -> str:
    return GUEST_LABEL if role == GUEST else ROLE_LABELS.get(role, role)


def may(user: User | None, action: str) -> bool:
    """Whether `user` (None: not signed in) may do `action`, by the role it carries. Services
    ask accounts.ensure_permission instead, which re-reads the role from the warehouse."""
    return role_of(user) in ACTIONS[action]


def actions_of(user: User | None) -> set[str]:
    role = role_of(user)
    return {action for action, roles in ACTIONS.items() if role in roles}
