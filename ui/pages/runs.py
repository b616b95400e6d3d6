"""Run status (运行状态): table sizes and the latest nightly run, per source."""

import json

import streamlit as st

from jiebang import broker, run_report
from jiebang.display import beijing_time, run_status_label
from ui.context import current_user, or_stop, warehouse

st.title("运行状态")
overview = or_stop(broker.run_overview, warehouse(), current_user())

labels = {
    "listings": "供给 (专利/成果)",
    "challenges": "需求",
    "matches": "匹配",
    "reviews": "审核记录",
    "runs": "运行次数",
    "quarantine": "隔离记录",
}
columns = st.columns(len(labels))
for column, (key, label) in zip(columns, labels.items(), strict=True):
    column.metric(label, overview["counts"].get(key, 0))

run = overview["latest_run"]
if run is None:
    st.info("尚未运行。")
else:
    st.subheader(f"最近一次运行：{run_status_label(run['status'])}")
    st.caption(f"开始 {beijing_time(run['started_at'])} · 结束 {beijing_time(run['finished_at'])}")
    if run["error"]:
        # The error may quote outside text (a CSV header, a page): a plain-text element, never Markdown.
        st.error("本次运行出错，错误信息原文如下：")
        st.code(run["error"], language=None, wrap_lines=True)
    stats = json.loads(run["stats"] or "{}")
    rows = run_report.table_rows(stats)
    if rows:
        st.dataframe(rows, hide_index=True)
    if "matching" in stats:
        st.caption(
            f"匹配：{stats['matching'].get('challenges', 0)} 个需求 × {stats['matching'].get('listings', 0)} 条供给"
        )
