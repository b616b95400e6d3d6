"""Jiebang Streamlit app: settings built here (the entry point), then st.navigation by role.

Run: streamlit run ui/app.py   (settings from JIEBANG_* and JIEBANG_CONFIG)
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from jiebang.settings import Settings
from ui.context import current_user, plain

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="揭榜 Jiebang · 技术供需匹配", page_icon=":material/handshake:", layout="wide")
if "settings" not in st.session_state:
    st.session_state["settings"] = Settings.load(os.environ)

user = current_user()  # re-read from the warehouse on every run: the menu follows the role as it is now
board = st.Page(PAGES / "board.py", title="全球破题", icon=":material/campaign:")  # public: no sign-in
if user is None:
    pages = [st.Page(PAGES / "login.py", title="登录", icon=":material/login:"), board]
else:
    pages = []
    if user.role in ("broker", "admin"):
        pages += [
            st.Page(PAGES / "broker.py", title="匹配审核", icon=":material/fact_check:", default=True),
            st.Page(PAGES / "runs.py", title="运行状态", icon=":material/monitoring:"),
            st.Page(PAGES / "curation.py", title="需求审核", icon=":material/approval:"),
            st.Page(PAGES / "dashboard.py", title="数据看板", icon=":material/bar_chart:"),
        ]
    if user.role == "admin":
        pages.append(st.Page(PAGES / "audit.py", title="审计日志", icon=":material/history:"))
        pages.append(st.Page(PAGES / "users.py", title="用户管理", icon=":material/manage_accounts:"))
    if user.role == "firm":
        pages += [
            st.Page(PAGES / "firm_post.py", title="发布需求", icon=":material/edit_note:", default=True),
            st.Page(PAGES / "firm_challenges.py", title="我的需求", icon=":material/list_alt:"),
        ]
    pages += [board, st.Page(PAGES / "account.py", title="账户", icon=":material/person:")]
    with st.sidebar:
        st.caption(f"已登录：{plain(user.display_name)}（{user.role}）")

st.navigation(pages).run()
