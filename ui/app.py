"""Jiebang Streamlit app: settings built here (the entry point), then st.navigation by role.

Run: streamlit run ui/app.py   (settings from JIEBANG_* and JIEBANG_CONFIG)
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from jiebang import notifications
from jiebang.permissions import may, role_label
from jiebang.settings import Settings
from ui import navigation
from ui.context import current_user, plain, warehouse

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="揭榜 Jiebang · 技术供需匹配", page_icon=":material/handshake:", layout="wide")
if "settings" not in st.session_state:
    st.session_state["settings"] = Settings.load(os.environ)

user = current_user()  # re-read from the warehouse on every run: the menu follows the role as it is now
# The pages of the actions this role may do (ui/navigation.py); the first is where it lands.
unread = notifications.unread_count(warehouse(), user) if may(user, "view_notifications") else 0
pages = [
    st.Page(
        PAGES / spec.file,
        title=f"{spec.title}（{unread} 条未读）" if spec.file == "notifications.py" and unread else spec.title,
        icon=spec.icon,
        default=n == 0,
        visibility="visible" if spec.in_menu else "hidden",
    )
    for n, spec in enumerate(navigation.pages_for(user))
]
if user is not None:
    with st.sidebar:
        st.caption(f"已登录：{plain(user.display_name)}（{role_label(user.role)}）")

st.navigation(pages).run()
