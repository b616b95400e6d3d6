"""Broker/admin page (需求审核, 政府立题): challenges by lifecycle status — the 待审核 queue first —
with publish / send back / 揭榜 / close, revealing an anonymous firm, and matching again."""

import streamlit as st

from jiebang import firm
from jiebang.display import beijing_time, beijing_today, challenge_number, is_expired, source_name, state_label
from jiebang.errors import KNOWN_ERRORS
from ui.context import current_user, match_now, or_stop, plain, show_error, warehouse
from warehouse import domain
from warehouse.domain import EXPIRED

PAGE_SIZE = 200
ACTION_LABELS = {
    domain.PUBLISHED: "发布",
    domain.DRAFT: "退回修改",
    domain.PENDING: "转入待审核",
    domain.SOLVED: "标记已揭榜",
    domain.CLOSED: "关闭",
}

user = current_user()
wh = warehouse()
st.title("需求审核")
counts = or_stop(firm.status_counts, wh, user)

if flash := st.session_state.pop("curation_flash", None):
    st.success(flash)
status = st.radio(
    "状态",
    domain.CHALLENGE_STATUSES,
    index=domain.CHALLENGE_STATUSES.index(domain.PENDING),
    horizontal=True,
    key="curation_status",
    format_func=lambda s: f"{s}（{counts.get(s, 0)}）",
)
queue = firm.curation_queue(wh, user, (status,), limit=PAGE_SIZE)
if not queue:
    st.info(f"没有{status}的需求。")
    st.stop()
if status == domain.PUBLISHED and counts.get(EXPIRED):
    st.caption(f"其中 {counts[EXPIRED]} 个已过截止日期（{EXPIRED}）：不在公开榜单上，也不再匹配新成果。")
if counts.get(status, 0) > PAGE_SIZE:
    st.caption(f"显示最早的 {PAGE_SIZE} 条（共 {counts[status]} 条）。")

ids = [row["challenge_id"] for row in queue]
if st.session_state.get("curation_challenge") not in ids:
    st.session_state.pop("curation_challenge", None)
today = beijing_today()
labels = {
    row["challenge_id"]: f"{challenge_number(row)}  {row['title']}  ·  {row['issuer'] or source_name(row['source'])}"
    f"  ·  候选 {row['n_matches']}" + (f"  ·  {EXPIRED}" if is_expired(row, today) else "")
    for row in queue
}
challenge_id = st.selectbox("需求", ids, format_func=labels.get, key="curation_challenge")
challenge = or_stop(firm.curated_challenge, wh, user, challenge_id)

with st.container(border=True):
    st.subheader(plain(challenge["title"]))
    st.caption(
        f"需求编号：{challenge_number(challenge)}　状态：{state_label(challenge, today)}"
        f"　收录时间：{beijing_time(challenge['first_seen'])}"
    )
    budget = "面议" if challenge["budget_wan"] is None else f"{challenge['budget_wan']:g} 万元"
    secrecy = (
        ("匿名（已揭示）" if challenge["revealed"] else "匿名（对揭榜方隐藏企业）")
        if challenge["anonymous"]
        else "公开"
    )
    st.caption(
        f"发榜单位：{plain(challenge['issuer'] or '—')}　提交人：{plain(challenge['posted_by'] or '—')}　"
        f"来源：{plain(source_name(challenge['source']))}　保密：{secrecy}"
    )
    st.caption(
        f"所属行业：{plain(challenge['field'] or '未分类')}　榜额/预算：{budget}　"
        f"截止日期：{challenge['deadline'] or '—'}　"
        f"合作方式：{plain(challenge['cooperation'] or '—')}　地区：{plain(challenge['region'] or '—')}"
    )
    st.markdown(plain(challenge["description"]))
    if challenge["targets"]:
        st.markdown("**期望指标**：" + plain(challenge["targets"]))

for hint in firm.near_duplicates(wh, user, challenge_id):
    st.warning(f"疑似重复：「{plain(hint.title)}」（{plain(hint.status)}）相似度 {hint.score:.0f}%")

n_matches = next(row["n_matches"] for row in queue if row["challenge_id"] == challenge_id)
st.caption(f"候选匹配 {n_matches} 条：在「匹配审核」中逐条审核。")

actions = firm.allowed_transitions(user, challenge["status"])
columns = st.columns(len(actions) + 2)
for column, target in zip(columns, actions, strict=False):  # the last two columns are not transitions
    if column.button(
        ACTION_LABELS.get(target, target),
        key=f"to|{target}|{challenge_id}",
        type="primary" if target == domain.PUBLISHED else "secondary",
    ):
        try:
            firm.set_status(wh, user, challenge_id, target)
        except KNOWN_ERRORS as exc:
            show_error(exc)
        else:
            st.session_state["curation_flash"] = f"「{plain(challenge['title'])}」已改为{target}。"
            st.rerun()
hidden = challenge["anonymous"] and not challenge["revealed"]
if hidden and columns[len(actions)].button("向揭榜方揭示企业", key=f"reveal|{challenge_id}"):
    try:
        firm.reveal_firm(wh, user, challenge_id)
    except KNOWN_ERRORS as exc:
        show_error(exc)
    else:
        st.session_state["curation_flash"] = f"已向揭榜方揭示企业：{plain(challenge['issuer'])}。"
        st.rerun()
if columns[-1].button("重新匹配", key=f"rematch|{challenge_id}"):
    try:
        with st.spinner("正在匹配…"):
            outcome = match_now(wh, challenge_id)
    except KNOWN_ERRORS as exc:
        show_error(exc)
    else:
        st.session_state["curation_flash"] = f"已重新匹配：{outcome['matches']} 条候选。"
        st.rerun()
