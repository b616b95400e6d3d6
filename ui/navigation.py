"""Which pages the menu lists: a page per action of the action table (jiebang/permissions.py), so
a role sees exactly the pages of the actions it may do. Pure (no Streamlit): app.py turns the
specs into st.Page objects, and tests read them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from jiebang.accounts import User
from jiebang.permissions import may


@dataclass(frozen=True)
class PageSpec:
    file: str  # under ui/pages/
    title: str
    icon: str
    action: str  # the action the page is for (permissions.ACTIONS)
    in_menu: bool = True  # False: opened by its link only (a detail page needs an ?id=…)


# In menu order; a role's first page is where it lands after signing in.
PAGES = (
    PageSpec("login.py", "登录", ":material/login:", "sign_in"),
    PageSpec("broker.py", "匹配审核", ":material/fact_check:", "review_matches"),
    PageSpec("runs.py", "运行状态", ":material/monitoring:", "view_runs"),
    PageSpec("curation.py", "需求审核", ":material/approval:", "curate_challenges"),
    PageSpec("dashboard.py", "数据看板", ":material/bar_chart:", "view_dashboard"),
    PageSpec("audit.py", "审计日志", ":material/history:", "view_audit"),
    PageSpec("users.py", "用户管理", ":material/manage_accounts:", "manage_users"),
    PageSpec("firm_post.py", "发布需求", ":material/edit_note:", "manage_own_challenges"),
    PageSpec("firm_challenges.py", "我的需求", ":material/list_alt:", "manage_own_challenges"),
    PageSpec("board.py", "全球破题", ":material/campaign:", "view_board"),
    PageSpec("my_applications.py", "我的揭榜", ":material/assignment_turned_in:", "follow_own_applications"),
    PageSpec("supply.py", "成果库", ":material/inventory_2:", "view_supply"),
    PageSpec("notifications.py", "通知", ":material/notifications:", "view_notifications"),
    PageSpec("account.py", "账户", ":material/person:", "manage_own_account"),
    PageSpec("challenge.py", "需求详情", ":material/description:", "view_challenge_detail", in_menu=False),
    PageSpec("listing.py", "成果详情", ":material/article:", "view_supply", in_menu=False),
)


def pages_for(user: User | None) -> list[PageSpec]:
    """The pages `user` (None: not signed in) may open, in menu order."""
    return [page for page in PAGES if may(user, page.action)]
