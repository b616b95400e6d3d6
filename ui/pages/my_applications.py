"""我的揭榜: a solver account's 揭榜 applications and where each stands (its challenge's lifecycle),
with a link to the challenge while it is on the board. The role check is jiebang.solver's."""

import streamlit as st

from jiebang import notifications, solver
from ui import links
from ui.context import current_user, or_stop, plain, warehouse

user = current_user()
wh = warehouse()
st.title("我的揭榜")
st.caption("您以本账户提交的揭榜申请。需求状态变化时，「通知」中会提醒您。")
rows = or_stop(solver.my_applications, wh, user)
if not rows:
    st.info("还没有揭榜申请。在「全球破题」中选择需求，登录后提交的申请会显示在这里。")
    links.page_link("去全球破题", "board.py", icon=":material/campaign:")
for row in rows:
    with st.container(border=True, key=f"application-{row['application_id']}"):
        st.markdown(f"**{plain(row['title'])}**")
        st.caption(
            f"申请编号 {row['application_id']} · 团队：{plain(row['team'])} · "
            f"提交于 {notifications.shown_time(row['submitted_at'])}"
        )
        st.markdown(f"状态：{plain(row['status_text'])}")
        if row["open"]:
            links.page_link("查看需求详情", links.CHALLENGE_PAGE, id=row["ref"])
