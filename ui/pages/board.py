"""全球破题 (the public board): published challenges, anonymised where the firm asked, and the
揭榜 application form. No sign-in needed; applications are limited per client and challenge
(checked by jiebang.solver against the stored applications)."""

import streamlit as st

from jiebang import solver
from jiebang.contacts import CONTACT_MAX_CHARS
from jiebang.errors import KNOWN_ERRORS
from ui import links
from ui.context import client_key, current_user, or_stop, plain, safe_url, warehouse

ANY = "全部"

wh = warehouse()
st.title("全球破题 · 揭榜挂帅")
st.caption("嘉善县科技大市场发布的企业技术需求。看中了就揭榜：留下团队、方案和联系方式，技术经纪人会与您联系。")


def _first_page() -> None:
    st.session_state["board_page"] = 1  # a new search starts at its first page


with st.form("board_filters", border=False):
    left, right, go = st.columns([2, 3, 1], vertical_alignment="bottom")
    left.selectbox("所属行业", [ANY, *solver.board_fields(wh)], key="board_field")
    right.text_input("关键词", key="board_search", placeholder="标题或描述中的词，回车搜索")
    region, low, high, order = st.columns([2, 1, 1, 2], vertical_alignment="bottom")
    region.selectbox("地区", [ANY, *solver.board_regions(wh)], key="board_region")
    low.number_input("榜额不低于（万元）", min_value=0.0, value=None, step=10.0, key="board_budget_min")
    high.number_input("榜额不高于（万元）", min_value=0.0, value=None, step=10.0, key="board_budget_max")
    order.selectbox(
        "排序", list(solver.BOARD_ORDER_LABELS), key="board_order", format_func=solver.BOARD_ORDER_LABELS.get
    )
    go.form_submit_button("搜索", on_click=_first_page)

field = st.session_state.get("board_field", ANY)
region_choice = st.session_state.get("board_region", ANY)
page_number = int(st.session_state.get("board_page", 1)) - 1
page = or_stop(
    solver.board,
    wh,
    field=None if field == ANY else field,
    search=st.session_state.get("board_search"),
    region=None if region_choice == ANY else region_choice,
    budget_min=st.session_state.get("board_budget_min"),
    budget_max=st.session_state.get("board_budget_max"),
    order=st.session_state.get("board_order") or "newest",
    page=page_number,
)
closed = solver.closed_count(wh)
st.caption(f"共 {page.total} 个需求正在征集" + (f"；另有 {closed} 个需求已截止，不再接受揭榜" if closed else ""))
if not page.rows:
    st.info("暂无符合条件的征集中需求。")


def _apply(ref: str) -> None:
    form = {k: st.session_state.get(f"apply_{k}|{ref}") for k in ("team", "proposal", "contact")}
    try:
        application_id = solver.apply(wh, ref, form, client_key=client_key(), applicant=current_user())
    except KNOWN_ERRORS as exc:
        st.session_state["board_flash"] = {"ref": ref, "kind": "error", "text": plain(exc)}
    else:
        st.session_state["board_flash"] = {
            "ref": ref,
            "kind": "success",
            "text": f"揭榜申请已提交（编号 {application_id}），技术经纪人会尽快与您联系。",
        }
        for k in ("team", "proposal", "contact"):
            # Set, not popped: a popped key leaves the browser showing the old text, and a second
            # click would send it again.
            st.session_state[f"apply_{k}|{ref}"] = ""


start = solver.form_start(wh, current_user())
for row in page.rows:
    ref = row["ref"]
    for k, v in start.items():  # a signed-in solver's team and contact, until they change them
        st.session_state.setdefault(f"apply_{k}|{ref}", v)
    with st.container(border=True, key=f"board-{ref}"):
        st.subheader(plain(row["title"]))
        budget = "面议" if row["budget_wan"] is None else f"{row['budget_wan']:.0f} 万元"
        facts = [
            f"发榜单位：{row['issuer'] or '—'}",
            f"所属行业：{row['field'] or '未分类'}",
            f"榜额：{budget}",
            f"截止日期：{row['deadline'] or '长期有效'}",
            f"地区：{row['region'] or '—'}",
            row["cooperation"] and f"合作方式：{row['cooperation']}",
        ]
        st.caption("　".join(plain(f) for f in facts if f))
        st.markdown(plain(row["description"]))
        if row["targets"]:
            st.markdown("**期望指标：** " + plain(row["targets"]))
        if url := safe_url(row["url"]):
            st.markdown(f"[查看原榜单]({url})")
        links.page_link("详情与分享链接", links.CHALLENGE_PAGE, id=ref)
        flash = st.session_state.get("board_flash")
        if flash and flash["ref"] == ref:
            getattr(st, flash["kind"])(flash["text"])
            del st.session_state["board_flash"]
        with st.expander("我要揭榜"), st.form(f"apply|{ref}", border=False):
            st.text_input("团队 / 单位", key=f"apply_team|{ref}", max_chars=solver.TEAM_CHARS[1])
            st.text_area(
                "方案简述（技术路线、已有基础、预期指标）",
                key=f"apply_proposal|{ref}",
                max_chars=solver.PROPOSAL_CHARS[1],
            )
            st.text_input("联系方式（手机、座机或邮箱）", key=f"apply_contact|{ref}", max_chars=CONTACT_MAX_CHARS)
            st.form_submit_button(
                "提交揭榜申请", key=f"apply_submit|{ref}", type="primary", on_click=_apply, args=(ref,)
            )

if page.pages > 1:
    st.number_input(f"页码（共 {page.pages} 页）", min_value=1, max_value=page.pages, step=1, key="board_page")
