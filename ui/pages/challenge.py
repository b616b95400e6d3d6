"""需求详情: one challenge by its link (?id=<ref>), to share. The public sees it exactly as the board
shows it (published, open, anonymised) and may 揭榜 from here; a broker or an admin sees its firm,
status, source and best matches; a firm sees its own in full. What to show is decided in
jiebang.market, not here; an unknown link gets one Chinese line, never a traceback."""

import streamlit as st

from jiebang import market, solver
from jiebang.contacts import CONTACT_MAX_CHARS
from jiebang.display import beijing_today
from jiebang.errors import KNOWN_ERRORS, NotFound
from jiebang.permissions import may
from ui import links
from ui.context import client_key, current_user, plain, safe_url, show_error, warehouse
from warehouse.domain import KIND_LABELS

user = current_user()
wh = warehouse()
st.title("需求详情")
try:
    view = market.challenge_page(wh, user, st.query_params.get("id"), today=beijing_today())
except NotFound as exc:
    show_error(exc)
    links.page_link("返回全球破题榜单", "board.py", icon=":material/campaign:")
    st.stop()
except KNOWN_ERRORS as exc:
    show_error(exc)
    st.stop()

row = view.row
ref = row["ref"]
with st.container(border=True, key="challenge-detail"):
    st.subheader(plain(row["title"]))
    budget = "面议" if row["budget_wan"] is None else f"{row['budget_wan']:g} 万元"
    issuer = row["issuer"] if not view.full else (row["firm"] or row["issuer"])
    facts = [
        f"发榜单位：{issuer or '—'}",
        f"所属行业：{row['field'] or '未分类'}",
        f"榜额：{budget}",
        f"截止日期：{row['deadline'] or '长期有效'}",
        f"地区：{row['region'] or '—'}",
        row["cooperation"] and f"合作方式：{row['cooperation']}",
    ]
    if view.full:
        secrecy = ("匿名（已揭示企业）" if row["revealed"] else "匿名") if row["anonymous"] else "公开"
        facts += [f"状态：{row['status']}", f"保密：{secrecy}"]
    st.caption("　".join(plain(f) for f in facts if f))
    st.markdown(plain(row["description"]))
    if row["targets"]:
        st.markdown("**期望指标：** " + plain(row["targets"]))
    if url := safe_url(row["url"]):
        st.markdown(f"[查看原榜单 ↗]({url})")

st.caption("分享链接（复制后发给同事或揭榜方）：")
st.code(links.absolute(links.path(links.CHALLENGE_PAGE, id=ref)), language=None)

if view.own:
    links.page_link(
        "在「我的需求」中管理", "firm_challenges.py", icon=":material/list_alt:", challenge=row["challenge_id"]
    )
if view.full and not view.own:
    st.caption(f"已匹配 {row['n_matches']} 项成果 · 揭榜申请 {row['n_applications']} 份")
    st.subheader("最佳匹配")
    if not view.matches:
        st.info("暂无匹配结果。")
    for m in view.matches:
        with st.container(border=True):
            st.markdown(f"**{plain(m['title'])}**")
            st.caption(
                " · ".join(
                    plain(x)
                    for x in (
                        KIND_LABELS.get(m["kind"], m["kind"]),
                        m["field"],
                        m["maturity"],
                        f"匹配分 {m['score']:.0f}",
                    )
                    if x
                )
            )
            links.page_link("成果详情", links.LISTING_PAGE, id=m["listing_id"])

if not view.full:  # on the board: the 揭榜 form, as on the board's card
    for k, v in solver.form_start(wh, user).items():  # a signed-in solver's team and contact
        st.session_state.setdefault(f"detail_{k}|{ref}", v)
    if flash := st.session_state.pop(f"detail_flash|{ref}", None):
        getattr(st, flash["kind"])(flash["text"])

    def _apply() -> None:
        form = {k: st.session_state.get(f"detail_{k}|{ref}") for k in ("team", "proposal", "contact")}
        try:
            application_id = solver.apply(wh, ref, form, client_key=client_key(), applicant=user)
        except KNOWN_ERRORS as exc:
            st.session_state[f"detail_flash|{ref}"] = {"kind": "error", "text": plain(exc)}
        else:
            st.session_state[f"detail_flash|{ref}"] = {
                "kind": "success",
                "text": f"揭榜申请已提交（编号 {application_id}），技术经纪人会尽快与您联系。",
            }
            for k in ("team", "proposal", "contact"):
                st.session_state[f"detail_{k}|{ref}"] = ""

    with (
        st.expander("我要揭榜", expanded=user is None or may(user, "follow_own_applications")),
        st.form("detail_apply", border=False),
    ):
        st.text_input("团队 / 单位", key=f"detail_team|{ref}", max_chars=solver.TEAM_CHARS[1])
        st.text_area(
            "方案简述（技术路线、已有基础、预期指标）", key=f"detail_proposal|{ref}", max_chars=solver.PROPOSAL_CHARS[1]
        )
        st.text_input("联系方式（手机、座机或邮箱）", key=f"detail_contact|{ref}", max_chars=CONTACT_MAX_CHARS)
        st.form_submit_button("提交揭榜申请", type="primary", on_click=_apply)

links.page_link("返回全球破题榜单", "board.py", icon=":material/campaign:")
