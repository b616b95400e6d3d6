"""Dashboards (数据看板) for brokers and admins: the pipeline funnel, industries, 技术交易额 by
month, source freshness and the last nightly run. Figures come aggregated from DuckDB
(jiebang.dashboard); the page only draws them with Altair."""

import altair as alt
import streamlit as st

from jiebang import dashboard, firm
from jiebang.display import beijing_time, run_status_label, source_name
from ui.context import current_user, or_stop, plain, warehouse
from warehouse.domain import (
    CHALLENGE_STATUSES,
    DECISION_LABELS,
    EXPIRED,
    PRIVATE_STATUSES,
    PUBLISHED,
    SHORTLIST,
    SIGNED,
)

SHORTLISTED, DEALS = DECISION_LABELS[SHORTLIST], DECISION_LABELS[SIGNED]  # 入围, 签约
RUN_SOURCE_COLUMNS = {
    "pages_fetched": "页面",
    "loaded": "入库",
    "quarantined": "隔离",
    "blocked": "受阻",
    "skipped_unchanged": "未变跳过",
    "complete": "完整抓取",
    "error": "错误",
}

user = current_user()
wh = warehouse()
st.title("数据看板")
stages = or_stop(dashboard.funnel, wh, user)


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


# --- pipeline funnel --------------------------------------------------------------------------
st.subheader("对接漏斗")
for column, stage in zip(st.columns(len(stages)), stages, strict=True):
    column.metric(
        stage["label"],
        f"{stage['pairs']:,}",
        help=None if stage["from_previous"] is None else f"上一阶段转化率 {_percent(stage['from_previous'])}",
    )
funnel_chart = (
    alt.Chart(alt.Data(values=stages))
    .mark_bar()
    .encode(
        x=alt.X("pairs:Q", title="匹配对数"),
        y=alt.Y("label:N", title=None, sort=[s["label"] for s in stages]),
        tooltip=[alt.Tooltip("label:N", title="阶段"), alt.Tooltip("pairs:Q", title="匹配对数")],
    )
)
st.altair_chart(funnel_chart, key="chart_funnel")
st.dataframe(
    [
        {
            "阶段": s["label"],
            "匹配对数": s["pairs"],
            "较上一阶段": _percent(s["from_previous"]),
            "较候选": _percent(s["from_candidates"]),
        }
        for s in stages
    ],
    hide_index=True,
    key="table_funnel",
)

# --- challenges by state: 已截止 is derived (published, deadline passed) and counted apart -----------
st.subheader("需求状态")
counts = firm.status_counts(wh, user)
expired = counts.get(EXPIRED, 0)
states = {s: counts.get(s, 0) for s in CHALLENGE_STATUSES if s not in PRIVATE_STATUSES}
states[PUBLISHED] -= expired  # still open on the board
states = {(f"{s}（征集中）" if s == PUBLISHED else s): n for s, n in states.items()} | {EXPIRED: expired}
for column, (label, n) in zip(st.columns(len(states)), states.items(), strict=True):
    column.metric(label, f"{n:,}")
if expired:
    st.caption(f"{expired} 个已发布需求已过截止日期：不在公开榜单上，也不再匹配新成果（状态仍为已发布）。")

# --- industries and deal value ----------------------------------------------------------------
left, right = st.columns(2)
with left:
    st.subheader("分行业匹配与签约")
    industries = dashboard.by_industry(wh, user)
    long = [
        {"industry": r["industry"], "measure": label, "count": r[key]}
        for r in industries
        for key, label in (("matches", "匹配"), ("shortlisted", SHORTLISTED), ("deals", DEALS))
    ]
    if long:
        st.altair_chart(
            alt.Chart(alt.Data(values=long))
            .mark_bar()
            .encode(
                x=alt.X("count:Q", title="数量"),
                y=alt.Y("industry:N", title=None),
                color=alt.Color("measure:N", title=None, sort=["匹配", SHORTLISTED, DEALS]),
                yOffset=alt.YOffset("measure:N", sort=["匹配", SHORTLISTED, DEALS]),
                tooltip=[
                    alt.Tooltip("industry:N", title="所属行业"),
                    alt.Tooltip("measure:N", title="指标"),
                    alt.Tooltip("count:Q", title="数量"),
                ],
            ),
            key="chart_industry",
        )
    st.dataframe(
        [
            {
                "所属行业": r["industry"],
                "匹配": r["matches"],
                SHORTLISTED: r["shortlisted"],
                DEALS: r["deals"],
                "交易额（万元）": r["deal_wan"],
            }
            for r in industries
        ],
        hide_index=True,
        key="table_industry",
    )
with right:
    st.subheader("技术交易额（万元，按月）")
    months = dashboard.deals_by_month(wh, user)
    if months:
        st.altair_chart(
            alt.Chart(alt.Data(values=months))
            .mark_bar()
            .encode(
                x=alt.X("month:O", title="月份"),
                y=alt.Y("deal_wan:Q", title="交易额（万元）"),
                tooltip=[
                    alt.Tooltip("month:O", title="月份"),
                    alt.Tooltip("deal_wan:Q", title="万元"),
                    alt.Tooltip("deals:Q", title="签约数"),
                ],
            ),
            key="chart_deals",
        )
        st.metric("累计技术交易额", f"{sum(m['deal_wan'] for m in months):,.1f} 万元")
    else:
        st.caption("还没有签约记录。")

# --- sources and the nightly run --------------------------------------------------------------
st.subheader("数据来源新鲜度")
freshness = dashboard.source_freshness(wh, user)
st.dataframe(
    [
        {
            "来源": source_name(r["source"]),
            "类别": "供给" if r["record"] == "listing" else "需求",
            "记录数": r["records"],
            "有效": r["active"],
            "最近收录（北京时间）": beijing_time(r["last_seen"], suffix=False),
            "距今（天）": r["age_days"],
        }
        for r in freshness
    ],
    hide_index=True,
    key="table_freshness",
)
run = dashboard.last_nightly_run(wh, user)
st.subheader("最近一次夜间更新")
if run is None:
    st.info("夜间更新尚未运行。")
else:
    took = "" if run["seconds"] is None else f"，用时 {run['seconds'] / 60:.1f} 分钟"
    (st.error if run["status"] == "failed" else st.success)(
        f"{run_status_label(run['status'])}：开始于 {beijing_time(run['started_at'])}{took}"
    )
    for name, source in run["sources"].items():
        if source.get("error"):
            st.error(f"{source_name(name)}：{plain(source['error'])}")
    if run["run_error"]:
        st.error(plain(run["run_error"]))
    if run["sources"]:
        st.dataframe(
            [
                {
                    "来源": source_name(name),
                    **{label: s.get(k) for k, label in RUN_SOURCE_COLUMNS.items() if k in s},
                }
                for name, s in run["sources"].items()
            ],
            hide_index=True,
            key="table_run",
        )
