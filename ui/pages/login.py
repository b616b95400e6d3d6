"""Sign in with a local account (created by `jiebang user add`, the admin's 用户管理 or `jiebang
demo`); throttled per account and per client by jiebang.accounts.sign_in. A solver (揭榜方) may
make their own account here unless the settings turn it off (`solver_sign_up`)."""

import streamlit as st

from jiebang.accounts import (
    DISPLAY_NAME_CHARS,
    SIGN_UP_FIELDS,
    USERNAME_CHARS,
    USERNAME_HELP,
    InvalidSignUp,
    sign_in,
    sign_up_solver,
    user_for_identity,
)
from jiebang.contacts import CONTACT_MAX_CHARS
from jiebang.errors import KNOWN_ERRORS
from ui.context import client_key, plain, settings, warehouse


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


def _sign_up() -> None:
    form = {name: st.session_state.get(f"signup_{name}") for name in SIGN_UP_FIELDS}
    try:
        user = sign_up_solver(warehouse(), form, client_key=client_key())
    except InvalidSignUp as exc:  # each problem under its own line, the form kept as typed
        st.session_state["signup_problems"] = [f"{SIGN_UP_FIELDS[k]}：{v}" for k, v in exc.problems.items()]
    except KNOWN_ERRORS as exc:
        st.session_state["signup_problems"] = [str(exc)]
    else:
        st.session_state.pop("signup_problems", None)
        for name in SIGN_UP_FIELDS:
            st.session_state.pop(f"signup_{name}", None)
        st.session_state["user"] = user


if settings().solver_sign_up:
    problems = st.session_state.get("signup_problems")
    with st.expander("还没有账户？注册揭榜方账户 (sign up as a solver)", expanded=bool(problems)):
        st.caption(
            "揭榜方（高校、院所、团队）注册后可在「我的揭榜」跟踪自己的揭榜申请。"
            "企业和技术经纪人的账户由科技大市场开通。"
        )
        with st.form("sign_up"):
            # Labels unlike the sign-in form's: a person (or a browser test) finds each field by its label.
            st.text_input(
                SIGN_UP_FIELDS["username"], key="signup_username", max_chars=USERNAME_CHARS[1], help=USERNAME_HELP
            )
            st.text_input(SIGN_UP_FIELDS["display_name"], key="signup_display_name", max_chars=DISPLAY_NAME_CHARS[1])
            st.text_input(
                SIGN_UP_FIELDS["contact"] + "（手机、座机或邮箱）", key="signup_contact", max_chars=CONTACT_MAX_CHARS
            )
            st.text_input(SIGN_UP_FIELDS["password"] + "（至少 8 位）", type="password", key="signup_password")
            st.text_input(SIGN_UP_FIELDS["password_again"], type="password", key="signup_password_again")
            st.form_submit_button("注册并登录", on_click=_sign_up)
        for problem in problems or ():
            st.error(plain(problem))

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
