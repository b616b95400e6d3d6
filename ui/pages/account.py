"""The signed-in account, and sign out."""

import streamlit as st

from jiebang.accounts import ROLE_LABELS
from ui.context import current_user, plain

user = current_user()
st.title("账户")
if user is not None:
    st.write(f"用户名：{plain(user.username)}　角色：{ROLE_LABELS.get(user.role, user.role)}")
    if st.button("退出登录"):
        del st.session_state["user"]
        st.rerun()
