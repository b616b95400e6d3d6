"""Sign in with a local account (created by `jiebang user add` or `jiebang demo`)."""

import streamlit as st

from jiebang.accounts import authenticate
from ui.context import warehouse

st.title("揭榜 Jiebang · 登录")
st.caption("嘉善县科技大市场 · 技术供需匹配平台")
with st.form("login"):
    username = st.text_input("用户名 (username)")
    password = st.text_input("密码 (password)", type="password")
    submitted = st.form_submit_button("登录", type="primary")
if submitted:
    user = authenticate(warehouse(), username, password)
    if user is None:
        st.error("用户名或密码错误 (wrong username or password)")
    else:
        st.session_state["user"] = user
        st.rerun()
