"""The signed-in account: who, change one's password (the password policy applies; the
account's other sessions end), and sign out."""

import streamlit as st

from jiebang.accounts import CONTACT_MAX_CHARS, change_password, my_contact, set_my_contact
from jiebang.errors import KNOWN_ERRORS
from jiebang.permissions import may
from ui.context import current_user, plain, warehouse
from warehouse.domain import ROLE_LABELS

user = current_user()
st.title("账户")
if user is not None:
    st.write(f"用户名：{plain(user.username)}　角色：{ROLE_LABELS.get(user.role, user.role)}")
    if st.button("退出登录"):
        del st.session_state["user"]
        st.rerun()
    if may(user, "review_matches"):  # shown to a firm beside the matches this account shares
        with st.expander("联系方式（推荐成果时显示给企业）"), st.form("my_contact"):
            contact = st.text_input(
                "手机、座机或邮箱",
                value=my_contact(warehouse(), user) or "",
                max_chars=CONTACT_MAX_CHARS,
                key="my_contact_text",
            )
            if st.form_submit_button("保存联系方式"):
                try:
                    set_my_contact(warehouse(), user, contact)
                except KNOWN_ERRORS as exc:
                    st.error(plain(exc))
                else:
                    st.success("联系方式已保存。")
    with st.expander("修改密码"), st.form("change_password", clear_on_submit=True):
        current = st.text_input("当前密码", type="password", key="pw_current")
        new = st.text_input("新密码（至少 8 位，不能是常见密码或包含用户名）", type="password", key="pw_new")
        repeat = st.text_input("再输入一次新密码", type="password", key="pw_repeat")
        changed = st.form_submit_button("修改密码")
    if changed:
        if new != repeat:
            st.error("两次输入的新密码不一致。")
        else:
            try:
                st.session_state["user"] = change_password(warehouse(), user, current, new)
            except KNOWN_ERRORS as exc:
                st.error(str(exc))
            else:
                st.success("密码已修改；用这个账户打开的其他会话需要重新登录。")
