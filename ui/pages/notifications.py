"""通知: the signed-in user's in-app notifications (new matches, applications, shares, status
changes), newest first, each linking to its page; mark one or all read. Written by the services
where the events happen (jiebang.notifications), never by a page."""

from urllib.parse import parse_qsl

import streamlit as st

from jiebang import notifications
from jiebang.errors import KNOWN_ERRORS
from ui import links
from ui.context import current_user, or_stop, plain, show_error, warehouse

SHOWN_TZ_NOTE = "时间为北京时间"

user = current_user()
wh = warehouse()
st.title("通知")
only_unread = st.toggle("只看未读", key="notices_unread")
rows = or_stop(notifications.mine, wh, user, unread_only=only_unread, limit=100)
unread = or_stop(notifications.unread_count, wh, user)


def _read(ids: list[int] | None) -> None:
    try:
        notifications.mark_read(wh, user, ids)
    except KNOWN_ERRORS as exc:
        show_error(exc)


st.caption(f"未读 {unread} 条 · 共显示 {len(rows)} 条")
if unread:
    st.button("全部标为已读", key="notices_read_all", on_click=_read, args=(None,))
if not rows:
    st.info("暂无通知。新匹配、揭榜申请、经纪人推荐和需求状态变化会显示在这里。")
for row in rows:
    nid = row["notification_id"]
    with st.container(border=True, key=f"notice-{nid}"):
        left, right = st.columns([5, 1])
        with left:
            mark = "" if row["read_at"] else "🔵 "
            st.markdown(f"{mark}**{plain(row['title'])}**")
            when = notifications.shown_time(row["created_at"])
            st.caption(f"{plain(row['kind_label'])} · {when}")
            if row["body"]:
                st.markdown(plain(row["body"]))
            if row["link"]:
                page, _, query = row["link"].partition("?")
                links.page_link("查看", f"{page}.py", **dict(parse_qsl(query)))
        if not row["read_at"]:
            right.button("标为已读", key=f"notice_read|{nid}", on_click=_read, args=([nid],))
