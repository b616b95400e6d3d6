"""成果详情: one patent or achievement by its link (?id=<listing id>), to share, for signed-in firms,
brokers and admins (jiebang.market checks). A broker also sees the challenges it was proposed
for; a firm is pointed to its broker for the contact. Crawled text is shown as plain text only."""

import streamlit as st

from jiebang import dedup, market
from jiebang.display import listing_number, source_name, sources_text
from jiebang.errors import KNOWN_ERRORS, NotFound
from jiebang.permissions import may
from ui import links
from ui.cluster_sources import merge_form
from ui.context import current_user, plain, safe_url, show_error, warehouse
from warehouse.domain import KIND_LABELS

user = current_user()
wh = warehouse()
st.title("成果详情")
try:
    view = market.listing_page(wh, user, st.query_params.get("id"))
except NotFound as exc:
    show_error(exc)
    links.page_link("去成果库查找", links.SUPPLY_PAGE, icon=":material/search:")
    st.stop()
except KNOWN_ERRORS as exc:
    show_error(exc)
    st.stop()

row = view.row
broker_view = may(user, "review_matches")
price = row["price_text"] or (None if row["price_wan"] is None else f"{row['price_wan']:g} 万元")
with st.container(border=True, key="listing-detail"):
    st.subheader(plain(row["title"]))
    facts = [
        KIND_LABELS.get(row["kind"], row["kind"]),
        row["publication_number"] and f"公开号：{row['publication_number']}",
        row["applicants"] and ("权利人：" + "、".join(row["applicants"])),
        row["inventors"] and ("发明人：" + "、".join(row["inventors"])),
        f"领域：{row['field'] or '未分类'}",
        row["maturity"] and f"成熟度：{row['maturity']}",
        row["cooperation"] and f"合作方式：{row['cooperation']}",
        price and f"价格：{price}",
        row["region"] and f"地区：{row['region']}",
        row["legal_status"] and f"法律状态：{row['legal_status']}",
        row["published_on"] and f"公开日期：{row['published_on']}",
        "来源：" + sources_text(row["sources"] or [row["source"]]),
    ]
    st.caption("　".join(plain(f) for f in facts if f))
    if not row["active"]:
        st.warning("该成果已在来源网站下架，以下为最后一次采集的内容。")
    st.markdown(plain(row["abstract"]) or "（无摘要）")
    if row["keywords"]:
        st.caption("关键词：" + "、".join(plain(k) for k in row["keywords"]))
    if row["claims"]:
        with st.expander("权利要求"):
            st.markdown(plain(row["claims"]))
    if url := safe_url(row["url"]):
        st.markdown(f"[查看来源 ↗]({url})")
    if broker_view and row["contact"]:
        st.caption("联系方式：" + plain(row["contact"]))

# One technology, several sources (jiebang.dedup): the other listings of its cluster.
others = dedup.other_sources(wh, row["listing_id"])
if others:
    st.subheader(f"同一技术的其他来源（{len(others)}）")
for m in others:
    name = f"{source_name(m['source'])} {listing_number(m)}  {m['title'] or ''}"
    line, detail = st.columns([4, 1])
    line.markdown(f"[{plain(name)} ↗]({url})" if (url := safe_url(m["url"])) else plain(name))
    with detail:
        links.page_link("成果详情", links.LISTING_PAGE, id=m["listing_id"])
if broker_view:
    st.caption("与另一条成果是同一技术？填写其成果编号合并（您的合并优先于自动识别）")
    merge_form(row["listing_id"])  # dedup.merge_by_number checks the role again, server side

st.caption("分享链接：")
st.code(links.absolute(links.path(links.LISTING_PAGE, id=row["listing_id"])), language=None)

if view.shared_with_me:
    st.success("技术经纪人已将该成果推荐给贵企业，详见「我的需求」中的推荐理由。")
elif not broker_view:
    st.info("对该成果感兴趣？请联系您的技术经纪人，由经纪人为您对接权利人。")

if broker_view:
    st.subheader(f"被推荐给的需求（{len(view.challenges)}）")
    if not view.challenges:
        st.caption("暂未被推荐给任何需求。")
    for c in view.challenges:
        with st.container(border=True):
            st.markdown(f"**{plain(c['title'])}**")
            st.caption(f"{plain(c['status'])} · 匹配分 {c['score']:.0f}")
            links.page_link("需求详情", links.CHALLENGE_PAGE, id=c["ref"])
