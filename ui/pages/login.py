"""Sign in with a local account (created by `jiebang user add` or `jiebang demo`)."""

import streamlit as st

from jiebang.accounts import authenticate, user_for_identity
from ui.context import plain, warehouse


def oidc_configured() -> bool:
    """Single sign-on is offered when `.streamlit/secrets.toml` has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


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

if oidc_configured():
    st.divider()
    st.button("单点登录 (OIDC)", on_click=st.login)
    if st.user.is_logged_in:
        user = user_for_identity(warehouse(), st.user.get("email") or "")
        if user is None:
            st.error(f"{plain(st.user.get('email'))} 尚未开通账户，请联系管理员 (no local account for this identity)")
            st.button("退出单点登录", on_click=st.logout)
        else:
            st.session_state["user"] = user
            st.rerun()
