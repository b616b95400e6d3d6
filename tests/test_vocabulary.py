"""The domain's words in one module (warehouse/domain.py) and one table of which role may do
which action (jiebang/permissions.py), read by the services and by the navigation (issue 15)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jiebang import accounts, audit, broker, dashboard, firm, market, notifications, solver
from jiebang.accounts import User
from jiebang.errors import AccessDenied, JiebangError
from tests.conftest import ROOT
from tests.workspace_data import register

VOCABULARY = ROOT / "warehouse" / "domain.py"
SCANNED = ("jiebang", "warehouse", "ui")
# The benchmarks write synthetic rows in SQL text of their own (no service, no page reads them).
DEV_TOOLS = set((ROOT / "jiebang").glob("bench*.py"))

# The words themselves, spelled here on purpose: the test must not read them from the module it checks.
STATUSES = ("草稿", "待审核", "已发布", "已揭榜", "已关闭")
DECISIONS = ("shortlist", "reject", "contacted", "intent", "signed", "follow_up", "unreviewed")
LABELS = ("入围", "排除", "已联系", "意向", "签约", "回访", "已入围", "已排除", "有意向", "已签约", "待审")
ROLES = ("admin", "broker", "firm")


def _docstrings(tree: ast.AST) -> set[int]:
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef))]
    return {
        id(n.body[0].value)
        for n in nodes
        if n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }


def _is_role(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "role") or (
        isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "role"
    )


def _literal_strings(node: ast.AST) -> list[str]:
    elements = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return [e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def _spelled_words(path: Path) -> list[str]:
    """Where `path` spells a status, a decision or its label, or compares a role with a literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
            if text in STATUSES or text in DECISIONS or text in LABELS:
                found.append(f"{where} {text!r}")
            elif quoted := [w for w in (*STATUSES, *DECISIONS, *ROLES) if f"'{w}'" in text]:
                found.append(f"{where} SQL literal {quoted}")
        elif isinstance(node, ast.Compare) and any(map(_is_role, [node.left, *node.comparators])):
            sides = [node.left, *node.comparators]
            if literals := [s for side in sides for s in _literal_strings(side)]:
                found.append(f"{where} role compared with {literals}")
        elif isinstance(node, ast.Tuple) and len(node.elts) > 1 and set(_literal_strings(node)) <= set(ROLES):
            if len(_literal_strings(node)) == len(node.elts):
                found.append(f"{where} roles tuple {_literal_strings(node)}")
    return found


@pytest.mark.unit
def test_no_status_decision_or_role_is_spelled_outside_the_vocabulary_module():
    files = [p for top in SCANNED for p in sorted((ROOT / top).rglob("*.py")) if p != VOCABULARY and p not in DEV_TOOLS]
    assert len(files) > 40  # the whole of the three packages, not an empty glob
    assert [hit for path in files for hit in _spelled_words(path)] == []


@pytest.mark.unit
def test_the_vocabulary_gives_one_label_per_word():
    from warehouse import domain

    assert domain.CHALLENGE_STATUSES == STATUSES
    assert domain.DECISION_LABELS == {
        "shortlist": "入围",
        "reject": "排除",
        "contacted": "已联系",
        "intent": "意向",
        "signed": "签约",
        "follow_up": "回访",
    }
    assert domain.REVIEW_STATUS_LABELS == {"unreviewed": "待审", **domain.DECISION_LABELS}
    assert domain.ROLE_LABELS == {"admin": "管理员", "broker": "技术经纪人", "firm": "企业用户", "solver": "揭榜方"}
    assert [domain.DECISION_LABELS[s] for s in domain.PIPELINE_STAGES] == ["入围", "已联系", "意向", "签约"]


# --- the action table ------------------------------------------------------------------------------

GUEST, ADMIN_, BROKER_, FIRM_, SOLVER_ = "guest", "admin", "broker", "firm", "solver"
POLICY = {
    "sign_in": {GUEST},
    "view_board": {GUEST, ADMIN_, BROKER_, FIRM_, SOLVER_},
    "manage_own_account": {ADMIN_, BROKER_, FIRM_, SOLVER_},
    "review_matches": {ADMIN_, BROKER_},
    "export_pipeline": {ADMIN_, BROKER_},
    "view_runs": {ADMIN_, BROKER_},
    "curate_challenges": {ADMIN_, BROKER_},
    "view_dashboard": {ADMIN_, BROKER_},
    "close_any_challenge": {ADMIN_},
    "view_audit": {ADMIN_},
    "manage_users": {ADMIN_},
    "manage_own_challenges": {FIRM_},
    "view_supply": {ADMIN_, BROKER_, FIRM_},
    "view_challenge_detail": {GUEST, ADMIN_, BROKER_, FIRM_, SOLVER_},
    "follow_own_applications": {SOLVER_},
    "view_notifications": {ADMIN_, BROKER_, FIRM_, SOLVER_},
}
USERS = {
    GUEST: None,
    ADMIN_: User("root", "管理员", "admin"),
    BROKER_: User("wang", "王经纪", "broker"),
    FIRM_: User("zhang", "张经理", "firm", firm="嘉善甲科技有限公司"),
    SOLVER_: User("team1", "浙大团队", "solver"),
}
# Every action a service checks, with service calls that need nothing but an account.
SERVICES = {
    "manage_own_account": [lambda wh, u: accounts.change_password(wh, u, "not-the-password", "Xq7!mountain")],
    "review_matches": [
        lambda wh, u: broker.filter_options(wh, u),
        lambda wh, u: broker.review_queue_page(wh, u),
        lambda wh, u: broker.applications(wh, u, "mkt:/1"),
    ],
    "export_pipeline": [
        lambda wh, u: broker.export_pipeline(wh, u, "csv"),
        lambda wh, u: broker.export_shortlist(wh, u, "mkt:/1", "csv"),
    ],
    "view_runs": [lambda wh, u: broker.run_overview(wh, u)],
    "curate_challenges": [
        lambda wh, u: firm.status_counts(wh, u),
        lambda wh, u: firm.curation_queue(wh, u),
        lambda wh, u: firm.curated_challenge(wh, u, "firm:000000000000"),  # ChallengeNotFound: allowed
    ],
    "view_dashboard": [
        lambda wh, u: dashboard.funnel(wh, u),
        lambda wh, u: dashboard.deals_by_month(wh, u),
        lambda wh, u: dashboard.last_nightly_run(wh, u),
    ],
    "view_audit": [lambda wh, u: audit.audit_entries(wh, u), lambda wh, u: audit.audit_filter_options(wh, u)],
    "manage_users": [lambda wh, u: accounts.accounts_list(wh, u)],
    "manage_own_challenges": [lambda wh, u: firm.my_challenges(wh, u)],
    "view_supply": [lambda wh, u: market.search_supply(wh, u), lambda wh, u: market.supply_options(wh, u)],
    "follow_own_applications": [lambda wh, u: solver.my_applications(wh, u)],
    "view_notifications": [lambda wh, u: notifications.mine(wh, u), lambda wh, u: notifications.mark_read(wh, u, [])],
}


@pytest.fixture(scope="module")
def accounts_warehouse(tmp_path_factory):
    """One migrated warehouse with an account per role, shared: the calls below only read (a
    wrong current password is refused before anything is written)."""
    from jiebang.pipeline import open_warehouse

    wh = open_warehouse(tmp_path_factory.mktemp("roles") / "jiebang.duckdb", 30)
    register(wh, *(u for u in USERS.values() if u))
    return wh


def _outcome(call, wh, user) -> str:
    try:
        call(wh, user)
    except AccessDenied:
        return "denied"
    except JiebangError:  # refused for what was asked (no such challenge, wrong password), after the check
        return "allowed"
    return "allowed"


@pytest.mark.unit
def test_the_action_table_is_the_policy():
    from jiebang import permissions

    assert {action: set(roles) for action, roles in permissions.ACTIONS.items()} == POLICY
    assert permissions.actions_of(None) == {"sign_in", "view_board", "view_challenge_detail"}
    assert permissions.actions_of(USERS[BROKER_]) == {a for a, roles in POLICY.items() if BROKER_ in roles}


@pytest.mark.integration
@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("action", list(SERVICES))
def test_each_role_may_do_exactly_the_actions_the_table_gives_it(accounts_warehouse, action, role):
    expected = "allowed" if role in POLICY[action] else "denied"
    outcomes = [_outcome(call, accounts_warehouse, USERS[role]) for call in SERVICES[action]]
    assert outcomes == [expected] * len(SERVICES[action])


@pytest.mark.unit
@pytest.mark.parametrize("role", [ADMIN_, BROKER_, FIRM_])
def test_only_an_admin_may_close_a_published_challenge(role):
    from warehouse import domain

    assert (domain.CLOSED in firm.allowed_transitions(USERS[role], domain.PUBLISHED)) == (role == ADMIN_)


@pytest.mark.integration
def test_a_refusal_names_the_role_in_chinese(accounts_warehouse):
    with pytest.raises(AccessDenied, match="企业用户无权执行此操作"):
        accounts.ensure_permission(accounts_warehouse, USERS[FIRM_], "view_audit")
    with pytest.raises(AccessDenied, match="请先登录"):
        accounts.ensure_permission(accounts_warehouse, None, "view_audit")
    with pytest.raises(KeyError):  # a misspelt action is a programming error, never "allowed"
        accounts.ensure_permission(accounts_warehouse, USERS[FIRM_], "veiw_audit")


# --- the navigation ----------------------------------------------------------------------------------

DETAIL = ["需求详情", "成果详情"]  # routable, not in the menu: opened by their links
NAVIGATION = {
    GUEST: ["登录", "全球破题", "需求详情"],
    ADMIN_: [
        "匹配审核",
        "运行状态",
        "需求审核",
        "数据看板",
        "审计日志",
        "用户管理",
        "全球破题",
        "成果库",
        "通知",
        "账户",
        *DETAIL,
    ],
    BROKER_: ["匹配审核", "运行状态", "需求审核", "数据看板", "全球破题", "成果库", "通知", "账户", *DETAIL],
    FIRM_: ["发布需求", "我的需求", "全球破题", "成果库", "通知", "账户", *DETAIL],
    SOLVER_: ["全球破题", "我的揭榜", "通知", "账户", "需求详情"],
}


@pytest.mark.unit
@pytest.mark.parametrize("role", list(USERS))
def test_the_navigation_lists_exactly_the_pages_of_the_roles_actions(role):
    from jiebang import permissions
    from ui import navigation

    pages = navigation.pages_for(USERS[role])
    assert [p.title for p in pages] == NAVIGATION[role]
    # Every action has its page, but those done on another action's page (exports on 匹配审核, closing on 需求审核).
    within_pages = {"export_pipeline", "close_any_challenge"}
    assert {p.action for p in pages} == permissions.actions_of(USERS[role]) - within_pages
    assert all((ROOT / "ui" / "pages" / p.file).exists() for p in pages)
    assert [p.title for p in pages if not p.in_menu] == [t for t in NAVIGATION[role] if t in DETAIL]
