"""Audit log (审计日志), admins only (checked in jiebang.audit): who did what, when, before → after."""

import streamlit as st

from jiebang import audit
from jiebang.display import actor_option, audit_changes, audit_sentence, beijing_time
from ui.context import current_user, or_stop, safe_url, warehouse
from warehouse.domain import AUDIT_ACTION_LABELS as ACTION_LABELS
from warehouse.domain import AUDIT_ENTITY_LABELS

ANY = "全部"

user = current_user()
wh = warehouse()
st.title("审计日志")
options = or_stop(audit.audit_filter_options, wh, user)

with st.form("audit_filters", border=False):
    cols = st.columns(5)
    cols[0].selectbox(
        "操作人（用户名）",
        [ANY, *options["actor"]],
        key="audit_actor",
        format_func=lambda a: a if a == ANY else actor_option(a),
    )
    cols[1].selectbox(
        "操作",
        [ANY, *options["action"]],
        key="audit_action",
        format_func=lambda a: a if a == ANY else ACTION_LABELS.get(a, a),
    )
    cols[2].selectbox(
        "对象类型",
        [ANY, *options["entity_type"]],
        key="audit_entity_type",
        format_func=lambda t: t if t == ANY else AUDIT_ENTITY_LABELS.get(t, t),
    )
    cols[3].text_input("需求编号或对象包含", key="audit_entity", placeholder="如 XQ2026-0001 或用户名")
    cols[4].date_input("日期（起止）", value=(), key="audit_dates")
    st.form_submit_button("筛选", type="primary")


def _chosen(key: str) -> str | None:
    value = st.session_state.get(key, ANY)
    return None if value == ANY else value


dates = tuple(st.session_state.get("audit_dates") or ())
page_number = int(st.session_state.get("audit_page", 1)) - 1
page = audit.audit_entries(
    wh,
    user,
    actor=_chosen("audit_actor"),
    action=_chosen("audit_action"),
    entity_type=_chosen("audit_entity_type"),
    entity=st.session_state.get("audit_entity"),
    since=dates[0] if dates else None,
    until=dates[1] if len(dates) > 1 else None,
    page=page_number,
)
st.caption(f"共 {page.total} 条，第 {page.page + 1} / {page.pages} 页")
st.dataframe(
    [
        {
            "时间（北京时间）": beijing_time(r["acted_at"], seconds=True, suffix=False),
            "事项": audit_sentence(r),
            "操作": ACTION_LABELS.get(r["action"], r["action"]),
            "成果链接": safe_url(r["listing_url"]),
            "之前": audit_changes(r["before"]),
            "之后": audit_changes(r["after"]),
        }
        for r in page.rows
    ],
    hide_index=True,
    key="audit_table",
    column_config={"成果链接": st.column_config.LinkColumn("成果链接", display_text="查看成果 ↗")},
)
if page.pages > 1:
    st.number_input("页码", min_value=1, max_value=page.pages, step=1, key="audit_page")
