"""Sign in with a local account (created by `jiebang user add` or `jiebang demo`); throttled per
account and per client by jiebang.accounts.sign_in."""

import streamlit as st

from jiebang.accounts import sign_in, user_for_identity
from jiebang.errors import KNOWN_ERRORS
from ui.context import client_key, plain, warehouse


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
    try:
        user = sign_in(warehouse(), username, password, client_key=client_key())
    except KNOWN_ERRORS as exc:
        st.error(str(exc))
    else:
        st.session_state["user"] = user
        st.rerun()

if oidc_configured():
    st.divider()
    st.button("单点登录 (OIDC)", on_click=st.login)
    if st.user.is_logged_in:
        user = user_for_identity(warehouse(), st.user.get("email") or "")
        if user is None:
            st.error(f"{plain(st.user.get('email'))} 尚未开通账户或已停用，请联系管理员。")
            st.button("退出单点登录", on_click=st.logout)
        else:
            st.session_state["user"] = user
            st.rerun()
