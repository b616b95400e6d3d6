"""用户管理 (admins only, checked in jiebang.accounts): the accounts, and disabling, enabling,
re-roling or resetting one. Each change is audited and reaches the account's live sessions at
their next run."""

import streamlit as st

from jiebang import accounts
from jiebang.display import beijing_time
from jiebang.errors import KNOWN_ERRORS
from ui.context import current_user, or_stop, plain, warehouse
from warehouse.domain import ROLE_LABELS, ROLES

user = current_user()
wh = warehouse()
st.title("用户管理")
rows = or_stop(accounts.accounts_list, wh, user)
st.dataframe(
    [
        {
            "用户名": r["username"],
            "显示名": r["display_name"],
            "角色": ROLE_LABELS.get(r["role"], r["role"]),
            "企业": r["firm"] or "",
            "联系方式": r["contact"] or "",  # a self-made solver account's, as given at sign-up
            "状态": "已停用" if r["disabled"] else "正常",
            "创建时间（北京时间）": beijing_time(r["created_at"], suffix=False),
        }
        for r in rows
    ],
    hide_index=True,
)


def _do(done: str, call, *args) -> None:
    """One account change from a button's callback; its outcome shown below the buttons."""
    try:
        result = call(wh, current_user(), *args)
    except KNOWN_ERRORS as exc:
        st.session_state["users_flash"] = ("error", str(exc), None)
    else:
        # A new password is shown as code: as Markdown, its _ and - could turn into formatting.
        st.session_state["users_flash"] = ("success", done, result if isinstance(result, str) else None)


names = [r["username"] for r in rows]
if names:
    picked = st.selectbox("账户", names, key="users_pick")
    account = next(r for r in rows if r["username"] == picked)
    shown = plain(picked)  # a username is text, never Markdown, in the messages below
    left, middle, right = st.columns(3)
    left.button(
        "停用",
        key="users_disable",
        disabled=account["disabled"],
        on_click=_do,
        args=(f"已停用 {shown}", accounts.admin_set_disabled, picked, True),
    )
    middle.button(
        "启用",
        key="users_enable",
        disabled=not account["disabled"],
        on_click=_do,
        args=(f"已启用 {shown}", accounts.admin_set_disabled, picked, False),
    )
    right.button(
        "重置密码",
        key="users_reset",
        on_click=_do,
        args=(f"已重置 {shown} 的密码，新密码只显示这一次", accounts.admin_reset_password, picked),
    )
    # Keyed by account: a widget keeps its value across runs, so one shared key would show the
    # previous account's role after another is picked.
    with st.form("users_role_form", border=False):
        role = st.selectbox(
            "角色",
            ROLES,
            index=ROLES.index(account["role"]),
            key=f"users_role|{picked}",
            format_func=lambda r: ROLE_LABELS[r],
        )
        firm_name = st.text_input("企业（企业用户必填）", value=account["firm"] or "", key=f"users_firm|{picked}")
        saved = st.form_submit_button("保存角色", key="users_save_role")
    if saved:
        _do(f"已保存 {shown} 的角色", accounts.admin_set_role, picked, role, firm_name)
        st.rerun()
if flash := st.session_state.pop("users_flash", None):
    kind, text, new_password = flash
    getattr(st, kind)(text)
    if new_password:
        st.code(new_password, language=None)
