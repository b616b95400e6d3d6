"""Broker page (匹配审核): the challenge queue, and for one challenge its ranked matches."""

import streamlit as st

from jiebang import broker
from jiebang.errors import JiebangError
from ui.context import current_user, plain, safe_url, show_error, warehouse

PAGE_SIZE = 10
KIND_LABELS = {"patent": "专利", "achievement": "科技成果"}
DECISION_LABELS = {"shortlist": "已入围", "reject": "已排除", "contacted": "已联系", "intent": "有意向",
                   "signed": "已签约", "follow_up": "回访"}
PART_LABELS = {"coverage": "需求覆盖", "relevance": "文本相关", "field": "行业一致", "maturity": "成熟度",
               "price": "价格/榜额", "region": "长三角", "status": "法律状态", "cooperation": "合作方式"}

user = current_user()
wh = warehouse()
st.title("匹配审核")
try:
    queue = broker.challenge_queue(wh, user)
except JiebangError as exc:
    show_error(exc)
    st.stop()

if not queue:
    st.info("还没有需求。请先运行 `jiebang refresh` 爬取并匹配。")
    st.stop()

labels = {
    row["challenge_id"]: f"{row['title']}  ·  待审 {row['n_unreviewed']}  ·  最高分 {row['best_score'] or 0:.0f}"
    for row in queue
}
challenge_id = st.selectbox("需求 (challenge)", list(labels), format_func=labels.get, key="challenge_id")
challenge = broker.challenge(wh, user, challenge_id)
if challenge is None:
    st.warning("该需求不存在。")
    st.stop()

with st.container(border=True):
    st.subheader(plain(challenge["title"]))
    budget = "面议" if challenge["budget_wan"] is None else f"{challenge['budget_wan']:.0f} 万元"
    st.caption(
        f"所属行业：{plain(challenge['field'] or '未分类')}　榜额：{budget}　"
        f"截止日期：{challenge['deadline'] or '—'}　发布单位：{plain(challenge['issuer'] or '—')}　"
        f"状态：{plain(challenge['status'])}"
    )
    st.markdown(plain(challenge["description"]))

show_rejected = st.toggle("显示已排除", key="show_rejected")
page = st.number_input("页码", min_value=1, value=1, step=1, key="page") - 1
matches = broker.ranked_matches(wh, user, challenge_id, page=int(page), page_size=PAGE_SIZE,
                                include_rejected=show_rejected)
if not matches:
    st.info("暂无匹配结果。")

for m in matches:
    with st.container(border=True, key=f"match-{m['rank']}"):  # stable hook for browser tests
        left, right = st.columns([4, 1])
        with left:
            url = safe_url(m["url"])
            title = plain(m["title"])
            st.markdown(f"**{m['rank']}. [{title}]({url})**" if url else f"**{m['rank']}. {title}**")
            who = "、".join(m["applicants"] or []) or "—"
            st.caption(
                f"{KIND_LABELS.get(m['kind'], m['kind'])} · {plain(m['publication_number'] or m['listing_id'])}"
                f" · {plain(who)} · {plain(m['field'] or '未分类')}"
                + (f" · 成熟度 {plain(m['maturity'])}" if m["maturity"] else "")
                + (f" · {plain(m['price_text'])}" if m["price_text"] else "")
            )
            terms = [t["term"] for t in m["matched_terms"][:12]]
            if terms:
                st.markdown("命中词：" + " ".join(f":blue-background[{plain(t)}]" for t in terms))
            st.markdown(plain(m["abstract"][:300]) + ("…" if len(m["abstract"]) > 300 else ""))
        with right:
            st.metric("匹配分", f"{m['score']:.0f}")
            st.caption(" + ".join(f"{PART_LABELS.get(k, k)} {v:.0f}" for k, v in m["parts"].items() if v))
            if m["decision"]:
                st.caption(f"状态：{DECISION_LABELS.get(m['decision'], m['decision'])}")
            key = f"{challenge_id}|{m['listing_id']}"
            if st.button("入围", key=f"shortlist|{key}", type="primary"):
                broker.decide(wh, user, challenge_id, m["listing_id"], "shortlist")
                st.rerun()
            reason = st.selectbox("排除原因", broker.REJECT_REASONS, key=f"reason|{key}",
                                  index=None, placeholder="排除原因…", label_visibility="collapsed")
            if st.button("排除", key=f"reject|{key}", disabled=reason is None):
                broker.decide(wh, user, challenge_id, m["listing_id"], "reject", reason=reason)
                st.rerun()
