"""Firm page (我的需求): the firm's challenges, their status, editing while allowed, submitting
for review, and the matches a broker shared. Only the firm's own challenges can be opened: the
`challenge` query parameter and the `firm_challenge` session key are checked against them, and
the service checks again."""

import streamlit as st

from jiebang import firm, notifications
from jiebang.display import beijing_time, beijing_today, challenge_number, expired_notice, listing_number
from jiebang.errors import KNOWN_ERRORS, AccessDenied, IndexUnusable
from jiebang.market import challenge_ref
from ui import cards, links
from ui.context import ANY_DATE, current_user, match_now, or_stop, plain, safe_url, show_error, warehouse
from warehouse import domain
from warehouse.domain import KIND_LABELS

STATUS_HELP = {
    domain.DRAFT: "草稿：只有贵企业看得到。完善后请提交审核。",
    domain.PENDING: "待审核：技术经纪人正在审核，审核通过后发布到榜单。",
    domain.PUBLISHED: "已发布：已在榜单上公开征集解决方案。",
    domain.SOLVED: "已揭榜：已有揭榜方，经纪人正在对接。",
    domain.CLOSED: "已关闭。",
}
SELECTED = "firm_challenge"  # session key of the selected challenge (the selectbox)
FOLLOWED = "firm_challenge_param"  # the query parameter value already followed

user = current_user()
wh = warehouse()
st.title("我的需求")
mine = or_stop(firm.my_challenges, wh, user)

if flash := st.session_state.pop("firm_flash", None):
    st.success(flash)
if not mine:
    st.info("还没有发布需求。请在「发布需求」中填写。")
    st.stop()

ids = [row["challenge_id"] for row in mine]
requested = st.query_params.get("challenge")
if requested is not None and requested not in ids:
    st.error(firm.NOT_FOUND)  # the same words for another firm's id and an unknown one
elif requested is not None and requested != st.session_state.get(FOLLOWED):
    st.session_state[SELECTED] = requested  # a link (发布需求 → 查看) asks for this one
if st.session_state.get(SELECTED) not in ids:
    st.session_state.pop(SELECTED, None)

labels = {
    row["challenge_id"]: f"{challenge_number(row)}  {row['title']}  ·  {row['state']}"
    + (f"  ·  推荐 {row['n_shared']}" if row["n_shared"] else "")
    for row in mine
}
challenge_id = st.selectbox("需求", ids, format_func=labels.get, key=SELECTED)
st.query_params["challenge"] = st.session_state[FOLLOWED] = challenge_id  # the URL names the open one
try:
    challenge = firm.my_challenge(wh, user, challenge_id)
except AccessDenied as exc:
    show_error(exc)
    st.stop()

status = challenge["status"]
with st.container(border=True):
    st.subheader(plain(challenge["title"]))
    st.caption(f"需求编号：{challenge_number(challenge)}　发布时间：{beijing_time(challenge['first_seen'])}")
    st.markdown(" → ".join(f"**{s}**" if s == status else s for s in domain.CHALLENGE_STATUSES))
    if challenge["state"] == domain.EXPIRED:
        st.warning(f"**{domain.EXPIRED}**　" + expired_notice(challenge["deadline"]))
    else:
        st.caption(STATUS_HELP.get(status, ""))
    budget = "面议" if challenge["budget_wan"] is None else f"{challenge['budget_wan']:g} 万元"
    secrecy = "匿名" + ("（经纪人已揭示企业）" if challenge["revealed"] else "") if challenge["anonymous"] else "公开"
    st.caption(
        f"所属行业：{plain(challenge['field'] or '未分类')}　榜额/预算：{budget}　"
        f"截止日期：{challenge['deadline'] or '—'}　"
        f"合作方式：{plain(challenge['cooperation'] or '—')}　地区：{plain(challenge['region'] or '—')}　"
        f"保密：{secrecy}"
    )
    st.markdown(plain(challenge["description"]))
    if challenge["targets"]:
        st.markdown("**期望指标**：" + plain(challenge["targets"]))
    links.page_link("需求详情与分享链接", links.CHALLENGE_PAGE, id=challenge_ref(challenge_id))

if status == domain.DRAFT and st.button("提交审核", key=f"submit|{challenge_id}", type="primary"):
    try:
        firm.submit_for_review(wh, user, challenge_id)
    except KNOWN_ERRORS as exc:
        show_error(exc)
    else:
        st.session_state["firm_flash"] = "已提交审核。"
        st.rerun()

if status in domain.EDITABLE_STATUSES:
    with st.expander("修改需求"), st.form(f"edit|{challenge_id}"):
        current = firm.as_form(challenge)
        key = f"|{challenge_id}"
        edited = {
            "title": st.text_input(
                "标题 *", value=current["title"], key="edit_title" + key, max_chars=firm.TITLE_CHARS[1]
            ),
            "description": st.text_area(
                "需求描述 *",
                value=current["description"],
                height=200,
                key="edit_description" + key,
                max_chars=firm.DESCRIPTION_CHARS[1],
            ),
            "field": st.selectbox(
                "所属行业 *",
                firm.INDUSTRIES,
                key="edit_field" + key,
                index=firm.INDUSTRIES.index(current["field"]) if current["field"] in firm.INDUSTRIES else None,
            ),
            "targets": st.text_area(
                "期望指标", value=current["targets"] or "", key="edit_targets" + key, max_chars=firm.TARGETS_MAX_CHARS
            ),
            "budget_wan": st.number_input(
                "榜额/预算（万元，留空表示面议）", value=current["budget_wan"], step=10.0, key="edit_budget" + key
            ),
            "deadline": st.date_input(
                "截止日期 *", value=current["deadline"], key="edit_deadline" + key, format="YYYY/MM/DD", **ANY_DATE
            ),
            "cooperation": st.selectbox(
                "合作方式 *",
                firm.COOPERATION_MODES,
                key="edit_cooperation" + key,
                index=firm.COOPERATION_MODES.index(current["cooperation"])
                if current["cooperation"] in firm.COOPERATION_MODES
                else None,
            ),
            "region": st.text_input(
                "地区", value=current["region"] or "", key="edit_region" + key, max_chars=firm.REGION_MAX_CHARS
            ),
            "confidentiality": st.radio(
                "保密方式",
                firm.CONFIDENTIALITY,
                horizontal=True,
                key="edit_secrecy" + key,
                index=firm.CONFIDENTIALITY.index(current["confidentiality"]),
            ),
        }
        saved = st.form_submit_button("保存修改")
    if saved:
        try:
            firm.update_challenge(wh, user, challenge_id, edited, today=beijing_today())
        except firm.InvalidChallenge as exc:
            for name, problem in exc.problems.items():
                st.error(f"**{firm.FIELD_LABELS.get(name, plain(name))}**：{plain(problem)}")
        except KNOWN_ERRORS as exc:
            show_error(exc)
        else:
            try:  # the text changed: match again so brokers see fitting candidates
                match_now(wh, challenge_id)
            except IndexUnusable:  # the why is for the operator, not the firm
                st.session_state["firm_flash"] = "已保存修改；匹配索引正在维护，重新匹配将在下一次运行重建索引后进行。"
            except KNOWN_ERRORS as exc:
                st.session_state["firm_flash"] = f"已保存修改；重新匹配暂未完成：{plain(exc)}"
            else:
                st.session_state["firm_flash"] = "已保存修改，并已重新匹配。"
            st.rerun()

st.subheader("经纪人推荐的成果")
shared = firm.shared_matches(wh, user, challenge_id)
if not shared:
    st.info("技术经纪人审核匹配结果后，推荐给您的专利和科技成果会显示在这里。")
for i, match in enumerate(shared):
    with st.container(border=True, key=f"shared-{i}"):
        left, right = st.columns([4, 1])
        with left:
            url, title = safe_url(match["url"]), plain(match["title"])
            st.markdown(f"**[{title}]({url})**" if url else f"**{title}**")
            st.caption(
                " · ".join(
                    plain(x)
                    for x in (
                        KIND_LABELS.get(match["kind"], match["kind"]),
                        listing_number(match),
                        match["field"],
                        match["maturity"],
                        match["cooperation"],
                        match["price_text"],
                    )
                    if x
                )
            )
            summary = match["summary"] or ""
            st.markdown(plain(summary) + ("…" if len(summary) >= 300 else ""))
            why = []
            if match["concepts"]:
                why.append("满足需求关键概念：" + "、".join(plain(t) for t in match["concepts"]))
            if match["terms"]:
                why.append("其他命中词：" + "、".join(plain(t) for t in match["terms"][:8]))
            if why:
                st.caption("推荐理由：" + "；".join(why))
            broker_line = f"推荐经纪人：{plain(match['broker_name'])}"
            if match["broker_contact"]:
                broker_line += f"（联系方式：{plain(match['broker_contact'])}）"
            st.caption(broker_line + f" · 推荐于 {notifications.shown_time(match['shared_at'])}")
            links.page_link("成果详情", links.LISTING_PAGE, id=match["listing_id"])
        with right:
            if match["score"] is not None:
                st.metric("匹配分", f"{match['score']:.0f}")
                st.caption(cards.band_line(match["score"]))
