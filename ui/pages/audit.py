"""Audit log (审计日志), admins only (checked in jiebang.audit): who did what, when, before → after."""

import json

import streamlit as st

from jiebang import audit
from ui.context import current_user, or_stop, warehouse

ANY = "全部"

user = current_user()
wh = warehouse()
st.title("审计日志")
options = or_stop(audit.audit_filter_options, wh, user)

with st.form("audit_filters", border=False):
    cols = st.columns(5)
    cols[0].selectbox("操作人", [ANY, *options["actor"]], key="audit_actor")
    cols[1].selectbox(
        "操作",
        [ANY, *options["action"]],
        key="audit_action",
        format_func=lambda a: a if a == ANY else f"{audit.ACTION_LABELS.get(a, a)}（{a}）",
    )
    cols[2].selectbox("对象类型", [ANY, *options["entity_type"]], key="audit_entity_type")
    cols[3].text_input("对象编号包含", key="audit_entity")
    cols[4].date_input("日期（起止）", value=(), key="audit_dates")
    st.form_submit_button("筛选", type="primary")


def _chosen(key: str) -> str | None:
    value = st.session_state.get(key, ANY)
    return None if value == ANY else value


def _compact(value) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, default=str)


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
            "时间 (UTC)": r["acted_at"],
            "操作人": r["actor"],
            "角色": r["role"],
            "操作": audit.ACTION_LABELS.get(r["action"], r["action"]),
            "对象": f"{r['entity_type']}:{r['entity_id']}",
            "之前": _compact(r["before"]),
            "之后": _compact(r["after"]),
        }
        for r in page.rows
    ],
    hide_index=True,
    key="audit_table",
)
if page.pages > 1:
    st.number_input("页码", min_value=1, max_value=page.pages, step=1, key="audit_page")
