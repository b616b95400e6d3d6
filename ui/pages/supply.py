"""成果库: firms and brokers search the supply (patents and achievements) by keywords and by field,
kind, maturity, cooperation, price and source; paginated; each result links to its detail page.
The search and the role check are jiebang.market's."""

import streamlit as st

from jiebang import market
from jiebang.display import source_name
from jiebang.errors import KNOWN_ERRORS
from ui import links
from ui.context import current_user, or_stop, plain, show_error, warehouse
from warehouse.domain import KIND_LABELS

ANY = "全部"

user = current_user()
wh = warehouse()
st.title("成果库")
st.caption("检索高校院所与专利库的技术成果：关键词可输入多个（空格或逗号分隔，全部命中），再按条件筛选。")
options = or_stop(market.supply_options, wh, user)


def _reset_page() -> None:
    st.session_state["supply_page"] = 1


with st.form("supply_filters", border=True):
    st.text_input("关键词", key="supply_keyword", placeholder="如：锂电池 隔膜")
    row1 = st.columns(4)
    row1[0].selectbox("领域", [ANY, *options["field"]], key="supply_field")
    row1[1].selectbox("类型", [ANY, *options["kind"]], key="supply_kind", format_func=lambda k: KIND_LABELS.get(k, k))
    row1[2].selectbox("成熟度", [ANY, *options["maturity"]], key="supply_maturity")
    row1[3].selectbox(
        "来源", [ANY, *options["source"]], key="supply_source", format_func=lambda k: k if k == ANY else source_name(k)
    )
    row2 = st.columns(4)
    row2[0].text_input("合作方式（包含）", key="supply_cooperation", placeholder="如：技术转让")
    row2[1].number_input("最低价格（万元）", min_value=0.0, value=None, step=10.0, key="supply_price_min")
    row2[2].number_input("最高价格（万元）", min_value=0.0, value=None, step=10.0, key="supply_price_max")
    row2[3].selectbox(
        "排序", list(market.SUPPLY_ORDER_LABELS), key="supply_order", format_func=market.SUPPLY_ORDER_LABELS.get
    )
    st.form_submit_button("搜索", type="primary", on_click=_reset_page)


def _chosen(key: str) -> str | None:
    value = st.session_state.get(key)
    return None if value in (None, "", ANY) else value


try:
    result = market.search_supply(
        wh,
        user,
        keyword=st.session_state.get("supply_keyword"),
        field=_chosen("supply_field"),
        kind=_chosen("supply_kind"),
        maturity=_chosen("supply_maturity"),
        source=_chosen("supply_source"),
        cooperation=_chosen("supply_cooperation"),
        price_min=st.session_state.get("supply_price_min"),
        price_max=st.session_state.get("supply_price_max"),
        order=st.session_state.get("supply_order") or "newest",
        page=int(st.session_state.get("supply_page") or 1) - 1,
    )
except KNOWN_ERRORS as exc:
    show_error(exc)
    st.stop()

st.caption(f"共 {result.total} 项成果" + (f" · 第 {result.page + 1} / {result.pages} 页" if result.total else ""))
if not result.rows:
    st.info("没有符合条件的成果，请减少关键词或放宽筛选条件。")
for n, item in enumerate(result.rows):
    with st.container(border=True, key=f"supply-{n}"):
        st.markdown(f"**{plain(item['title'])}**")
        price = item["price_text"] or (None if item["price_wan"] is None else f"{item['price_wan']:g} 万元")
        facts = [
            KIND_LABELS.get(item["kind"], item["kind"]),
            item["field"],
            item["maturity"] and f"成熟度 {item['maturity']}",
            item["cooperation"],
            price,
            item["region"],
            f"来源：{source_name(item['source'])}",
        ]
        st.caption(" · ".join(plain(f) for f in facts if f))
        summary = item["summary"] or ""
        if summary:
            st.markdown(plain(summary) + ("…" if len(summary) >= 200 else ""))
        links.page_link("查看详情", links.LISTING_PAGE, id=item["listing_id"])

if result.pages > 1:
    st.number_input(f"页码（共 {result.pages} 页）", min_value=1, max_value=result.pages, step=1, key="supply_page")
