"""Jiebang Streamlit app: settings built here (the entry point), then st.navigation by role.

Run: streamlit run ui/app.py   (settings from JIEBANG_* and JIEBANG_CONFIG)
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from jiebang.settings import Settings

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="揭榜 Jiebang · 技术供需匹配", page_icon=":material/handshake:", layout="wide")
if "settings" not in st.session_state:
    st.session_state["settings"] = Settings.load(os.environ)

user = st.session_state.get("user")
if user is None:
    pages = [st.Page(PAGES / "login.py", title="登录", icon=":material/login:")]
else:
    pages = []
    if user.role in ("broker", "admin"):
        pages += [
            st.Page(PAGES / "broker.py", title="匹配审核", icon=":material/fact_check:", default=True),
            st.Page(PAGES / "runs.py", title="运行状态", icon=":material/monitoring:"),
        ]
    pages.append(st.Page(PAGES / "account.py", title="账户", icon=":material/person:"))
    with st.sidebar:
        st.caption(f"已登录：{user.display_name}（{user.role}）")

st.navigation(pages).run()
