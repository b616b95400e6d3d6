"""Broker page (匹配审核): filtered queue → one challenge → ranked match cards with one-click
decisions, follow-ups, notes, bulk actions and sharing; the solvers' applications and the
exports beside them. Every action goes through jiebang.broker (role checked there) in a widget
callback, so the page below always shows the state after it.

Text from crawls, firms and solvers is shown through ui.context.plain (Markdown-escaped) or
jiebang.highlight (HTML-escaped, with <mark> around matched terms); never as raw HTML.
"""

import streamlit as st

from jiebang import broker
from jiebang.display import (
    beijing_time,
    beijing_today,
    challenge_number,
    legal_status,
    listing_number,
    queue_label,
    source_name,
    sources_text,
    state_label,
)
from jiebang.errors import KNOWN_ERRORS
from jiebang.exports import MIME_TYPES
from jiebang.market import challenge_ref
from ui import cards, links
from ui.cluster_sources import cluster_sources, rerun_page_after_merge
from ui.context import ANY_DATE, cached, current_user, forget_reads, or_stop, plain, safe_url, warehouse
from warehouse.domain import (
    BULK_DECISIONS,
    DECISION_LABELS,
    FOLLOW_UPS,
    KIND_LABELS,
    REJECT,
    REVIEW_STATUS_LABELS,
    SHORTLIST,
    SIGNED,
)

# How a rerun stays fast (issue 16): every card is its own fragment, so a click on a card reruns
# that card only (it redraws itself from broker.match_card); reads are cached per data version
# (ui.context.cached) and forgotten after every write of this page; 10 cards a page.

ANY = "全部"
LISTING_CHARS = 400


# The challenge on screen is this page's own state, by id. The selector's widget value travels as
# its option label, which carries live counts: a decision changes the label, and a stale label must
# never decide which challenge the page shows (issue 12).
ON_SCREEN = "broker_challenge"
PICK = "broker_challenge_pick"

user = current_user()
wh = warehouse()
st.title("匹配审核")
today = beijing_today()
options = or_stop(cached, broker.filter_options, user, today)


def _flash(kind: str, text: str, scope: str = "page") -> None:
    st.session_state["broker_flash"] = {"kind": kind, "text": text, "scope": scope}


def _show_flash(scope: str) -> None:
    flash = st.session_state.get("broker_flash")
    if flash and flash["scope"] == scope:
        getattr(st, flash["kind"])(flash["text"])
        del st.session_state["broker_flash"]


def _act(scope: str, done: str, action, *args, **kwargs) -> None:
    """Run one service call from a widget callback; its outcome is shown where it was asked for.
    The call carries the ids the card rendered (in `args`) and the challenge the page showed when
    the broker clicked; the service refuses the call when they differ."""
    try:
        with wh.pinned() as one:  # the role check, the checks and the write on one open file
            result = action(one, user, *args, on_screen=st.session_state.get(ON_SCREEN), **kwargs)
    except KNOWN_ERRORS as exc:
        _flash("error", plain(exc), scope)
        return None
    forget_reads()
    _flash("success", done, scope)
    return result


# --- filters (one form: Enter or the button applies them) -------------------------------------
with st.expander("筛选", expanded=False), st.form("filters", border=False):
    row1 = st.columns(4)
    row1[0].selectbox("所属行业", [ANY, *options["field"]], key="f_field")
    row1[1].selectbox("地区", [ANY, *options["region"]], key="f_region")
    row1[2].selectbox("需求状态", [ANY, *options["status"]], key="f_status")
    row1[3].date_input("收录日期（起止）", value=(), key="f_dates")
    row2 = st.columns(4)
    row2[0].slider("匹配分", 0, 100, (0, 100), key="f_score")
    row2[1].selectbox("供给类型", [ANY, *KIND_LABELS], key="f_kind", format_func=lambda k: KIND_LABELS.get(k, k))
    row2[2].selectbox("来源", [ANY, *options["source"]], key="f_source", format_func=source_name)
    row2[3].selectbox(
        "审核状态",
        [ANY, *REVIEW_STATUS_LABELS],
        key="f_decision",
        format_func=lambda k: REVIEW_STATUS_LABELS.get(k, k),
    )
    st.form_submit_button("应用筛选", type="primary")


def _chosen(key: str):
    value = st.session_state.get(key, ANY)
    return None if value == ANY else value


low, high = st.session_state.get("f_score", (0, 100))
dates = tuple(st.session_state.get("f_dates") or ())
filters = broker.Filters(
    field=_chosen("f_field"),
    region=_chosen("f_region"),
    challenge_status=_chosen("f_status"),
    today=today,
    posted_from=dates[0] if len(dates) > 0 else None,
    posted_to=dates[1] if len(dates) > 1 else None,
    min_score=low if low > 0 else None,
    max_score=high if high < 100 else None,
    kind=_chosen("f_kind"),
    source=_chosen("f_source"),
    decision=_chosen("f_decision"),
)

# --- the queue --------------------------------------------------------------------------------
if st.session_state.get("broker_filters", filters) != filters:  # new filters: start from their first page
    st.session_state["queue_page"] = 1
    st.session_state.pop(ON_SCREEN, None)
st.session_state["broker_filters"] = filters
queue_page = int(st.session_state.get("queue_page", 1)) - 1
queue = or_stop(cached, broker.review_queue_page, user, filters, page=queue_page)
if not queue.total:
    st.info("没有符合条件的需求。请调整筛选，或先运行 `jiebang refresh` 爬取并匹配。")
    st.stop()
labels = {row["challenge_id"]: queue_label(row, today) for row in queue.rows}
ids = list(labels)
on_screen = st.session_state.get(ON_SCREEN)
if on_screen and on_screen not in labels and (pinned := cached(broker.challenge, user, on_screen)) is not None:
    ids.insert(0, on_screen)  # keep the challenge being worked on while the queue page changes
    labels[on_screen] = f"{challenge_number(pinned)}  {pinned['title']}（不在本页）"
if on_screen not in labels:
    on_screen = ids[0]
st.session_state[ON_SCREEN] = st.session_state[PICK] = on_screen  # the selector shows what the page shows


def _pick() -> None:
    st.session_state[ON_SCREEN] = st.session_state[PICK]
    st.session_state.pop("broker_flash", None)
    for key in [k for k in st.session_state if str(k).startswith("undo|")]:  # undo stays with its challenge
        del st.session_state[key]


pick, paging = st.columns([5, 1])
pick.selectbox(f"需求（共 {queue.total} 个）", ids, key=PICK, format_func=labels.get, on_change=_pick)
paging.number_input(
    f"需求页（共 {queue.pages} 页）", min_value=1, max_value=max(queue.pages, queue_page + 1), step=1, key="queue_page"
)
challenge_id = on_screen
challenge = cached(broker.challenge, user, challenge_id)
if challenge is None:
    st.warning("该需求不存在。")
    st.stop()

with st.container(border=True):
    st.subheader(plain(challenge["title"]))
    budget = "面议" if challenge["budget_wan"] is None else f"{challenge['budget_wan']:.0f} 万元"
    st.caption(
        f"需求编号：{challenge_number(challenge)}　所属行业：{plain(challenge['field'] or '未分类')}　榜额：{budget}　"
        f"截止日期：{challenge['deadline'] or '—'}　"
        f"发榜单位：{plain(challenge['firm'] or challenge['issuer'] or '—')}　"
        f"地区：{plain(challenge['region'] or '—')}　状态：{plain(state_label(challenge, today))}"
        + ("　（匿名发布）" if challenge.get("anonymous") and not challenge.get("revealed") else "")
    )
    st.markdown(plain(challenge["description"]))
    if challenge.get("targets"):
        st.markdown("**期望指标：** " + plain(challenge["targets"]))
    links.page_link("需求详情与分享链接", links.CHALLENGE_PAGE, id=challenge_ref(challenge_id))

main, side = st.columns([3, 1])

# --- beside the matches: applications and exports ---------------------------------------------
with side:
    applications = cached(broker.applications, user, challenge_id)
    st.subheader(f"揭榜申请（{len(applications)}）")
    if not applications:
        st.caption("暂无申请。")
    for app in applications:
        with st.container(border=True):
            st.markdown(f"**{plain(app['team'])}**")
            st.caption(f"{beijing_time(app['submitted_at'])} · {plain(app['contact'])}")
            st.markdown(plain(app["proposal"]))
    st.subheader("导出 Excel / CSV")
    st.caption("本需求清单：入围及之后各阶段的匹配；全部对接进展：所有需求的全部审核结果。")
    slug = today.strftime("%Y%m%d")
    for fmt in ("xlsx", "csv"):
        st.download_button(
            f"本需求清单（{fmt.upper()}）",
            key=f"export_shortlist_{fmt}",
            on_click="ignore",
            data=lambda fmt=fmt: broker.export_shortlist(wh, user, challenge_id, fmt),
            file_name=f"shortlist-{slug}.{fmt}",
            mime=MIME_TYPES[fmt],
        )
    for fmt in ("xlsx", "csv"):
        st.download_button(
            f"全部对接进展（{fmt.upper()}）",
            key=f"export_pipeline_{fmt}",
            on_click="ignore",
            data=lambda fmt=fmt: broker.export_pipeline(wh, user, fmt),
            file_name=f"pipeline-{slug}.{fmt}",
            mime=MIME_TYPES[fmt],
        )

# --- the match cards --------------------------------------------------------------------------
with main:
    show_rejected = st.toggle("显示已排除", key="show_rejected")
    page_key = f"match_page|{challenge_id}"  # each challenge keeps its own page of cards
    match_page = int(st.session_state.get(page_key, 1)) - 1
    page = or_stop(
        cached, broker.match_page, user, challenge_id, filters, page=match_page, include_rejected=show_rejected
    )
    keys = {m["listing_id"]: f"{challenge_id}|{m['listing_id']}" for m in page.rows}
    # The rows this full run read, handed to the cards once; a card rerun alone reads its own row.
    st.session_state["broker_rows"] = {keys[m["listing_id"]]: m for m in page.rows}
    _show_flash("page")

    def _bulk(challenge_id: str, keys: dict[str, str]) -> None:
        chosen_ids = [lid for lid, key in keys.items() if st.session_state.get(f"select|{key}")]
        decision = st.session_state["bulk_decision"]
        reason = broker.reject_reason(st.session_state.get("bulk_reason"), st.session_state.get("bulk_detail"))
        review_ids = _act(
            "page",
            f"已对 {len(chosen_ids)} 条匹配执行：{DECISION_LABELS[decision]}",
            broker.decide_many,
            challenge_id,
            chosen_ids,
            decision,
            reason=reason if decision == REJECT else None,
            note=st.session_state.get("bulk_note"),
        )
        if review_ids is not None:
            for key in keys.values():
                st.session_state.pop(f"select|{key}", None)
            if decision == REJECT:  # each rejected card folds into its line with 撤销
                for lid, review_id in zip(chosen_ids, review_ids, strict=True):
                    st.session_state[f"undo|{keys[lid]}"] = review_id

    def _select_all(value: bool) -> None:
        for key in keys.values():
            st.session_state[f"select|{key}"] = value

    if page.rows:
        with st.expander("批量操作（先勾选匹配）"), st.form("bulk", border=False):
            cols = st.columns([1, 1, 2, 2])
            cols[0].selectbox("决定", BULK_DECISIONS, key="bulk_decision", format_func=DECISION_LABELS.get)
            cols[1].selectbox(
                "排除原因", broker.REJECT_REASONS, index=None, placeholder="仅排除时必选", key="bulk_reason"
            )
            cols[2].text_input("排除说明（可选）", key="bulk_detail")
            cols[3].text_input("备注（可选）", key="bulk_note")
            st.form_submit_button(
                "对选中的匹配执行", key="bulk_submit", on_click=_bulk, args=(challenge_id, keys), type="primary"
            )
        all_on, all_off, _ = st.columns([1, 1, 4])
        all_on.button("全选本页", key="select_all", on_click=_select_all, args=(True,))
        all_off.button("取消全选", key="select_none", on_click=_select_all, args=(False,))
    else:
        st.info("暂无匹配结果。")


def _decide(key: str, challenge_id: str, lid: str, decision: str, **kwargs) -> None:
    """入围 / 排除 from a card; a reject leaves an undo (撤销) on the card, naming the listing."""
    review_id = _act(key, f"已记录：{DECISION_LABELS[decision]}", broker.decide, challenge_id, lid, decision, **kwargs)
    if review_id is not None and decision == REJECT:
        st.session_state[f"undo|{key}"] = review_id


def _undo(key: str, challenge_id: str, lid: str, title: str) -> None:
    review_id = st.session_state.pop(f"undo|{key}", None)
    if review_id is not None:
        _act(key, f"已撤销排除：{plain(title)}", broker.undo, challenge_id, lid, review_id)


def _follow_up(challenge_id: str, lid: str, key: str, note_only: bool = False) -> None:
    decision = st.session_state[f"decision|{key}"]
    signed = decision == SIGNED
    note = st.session_state.get(f"note|{key}")
    scope = f"form|{key}"  # shown inside the form: an error keeps the form open with what was typed
    if note_only:
        _act(scope, "备注已保存", broker.add_note, challenge_id, lid, note)
    else:
        _act(
            scope,
            f"已记录：{DECISION_LABELS[decision]}",
            broker.decide,
            challenge_id,
            lid,
            decision,
            note=note,
            deal_amount_wan=st.session_state.get(f"amount|{key}") if signed else None,
            deal_date=st.session_state.get(f"deal_date|{key}") if signed else None,
        )
    if st.session_state["broker_flash"]["kind"] == "success":
        st.session_state[f"note|{key}"] = ""


@st.fragment
def _card(challenge_id: str, lid: str, key: str, shareable: bool, screen: tuple[dict, ...] = ()) -> None:
    """One match card. A click on it reruns this function only: it takes the row the full run
    read, or (on its own rerun) reads its row again, so what it shows is the state after the click.
    `screen`: the cards on screen, which the broker may merge this one with."""
    rerun_page_after_merge()
    m = st.session_state.get("broker_rows", {}).pop(key, None) or cached(broker.match_card, user, challenge_id, lid)
    if m is None:
        return
    if st.session_state.get(f"undo|{key}") != m["review_id"]:
        st.session_state.pop(f"undo|{key}", None)  # decided again since (here or elsewhere): nothing to undo
    if m["decision"] == REJECT and not st.session_state.get("show_rejected"):
        # Rejected in this session: the card folds into one line naming the listing, with 撤销 (undo).
        with st.container(border=True, key=f"match-{m['rank']}"):
            line, undo = st.columns([6, 1])
            line.success(f"已排除：{plain(m['title'])}（{plain(m['reason'])}）")
            if f"undo|{key}" in st.session_state:
                undo.button("撤销", key=f"undo_button|{key}", on_click=_undo, args=(key, challenge_id, lid, m["title"]))
        return
    with st.container(border=True, key=f"match-{m['rank']}"):  # stable hook for browser tests
        tick, body, score = st.columns([0.3, 4, 1.2])
        tick.checkbox("选择", key=f"select|{key}", label_visibility="collapsed")
        with body:
            title_html, abstract_html = cards.listing_html(m, LISTING_CHARS)
            st.markdown(title_html, unsafe_allow_html=True)
            who = "、".join(m["applicants"] or []) or "—"
            details = [
                KIND_LABELS.get(m["kind"], m["kind"]),
                listing_number(m),
                who,
                m["field"] or "未分类",
                m["maturity"] and f"成熟度 {m['maturity']}",
                m["cooperation"],
                m["price_text"],
                m["region"],
                legal_status(m["legal_status"]),
                m["contact"] and f"联系：{m['contact']}",
                "来源：" + sources_text(m["sources"] or [m["source"]]),
            ]
            st.caption(" · ".join(plain(d) for d in details if d))
            st.markdown(abstract_html, unsafe_allow_html=True)
            if url := safe_url(m["url"]):
                st.markdown(f"[查看来源 ↗]({url})")
            # One card per technology: its other sources, 拆分, and 合并 with another card on screen.
            cluster_sources(m["other_sources"], key, challenge_id=challenge_id, listing_id=lid, cards=screen)
            for line in cards.explanation_lines(m, challenge):
                st.caption(line)
            links.page_link("成果详情", links.LISTING_PAGE, id=lid)
            # Drawn only while open (a closed expander would still carry the whole challenge text).
            original = st.expander("需求原文对照（命中词高亮）", key=f"original|{key}", on_change="rerun")
            if original.open:
                with original:
                    for part_html in cards.need_html(challenge, m):
                        st.markdown(part_html, unsafe_allow_html=True)
            for n in m["notes"]:
                st.caption(f"备注（{n['reviewer']}，{beijing_time(n['decided_at'])}）：{plain(n['note'])}")
        with score:
            st.metric("匹配分", f"{m['score']:.0f}", help=cards.score_help())
            for line in cards.score_lines(m["score"], m["parts"]):
                st.caption(line)
            if m["decision"]:
                state = DECISION_LABELS.get(m["decision"], m["decision"])
                if m["decision"] == SIGNED and m["deal_amount_wan"] is not None:
                    state += f" {m['deal_amount_wan']:g} 万元（{m['deal_date']}）"
                elif m["decision"] == REJECT and m["reason"]:
                    state += f"：{m['reason']}"
                st.caption("状态：" + plain(state))
            if m["shared_at"]:
                st.caption("已分享给企业")
        _show_flash(key)
        act = st.columns([1, 2, 2, 1, 1.2])
        if m["decision"] != SIGNED:  # a deal is signed: 入围 / 排除 no longer apply
            act[0].button(
                DECISION_LABELS[SHORTLIST],
                key=f"shortlist|{key}",
                type="primary",
                on_click=_decide,
                args=(key, challenge_id, lid, SHORTLIST),
            )
            act[1].selectbox(
                "排除原因",
                broker.REJECT_REASONS,
                key=f"reason|{key}",
                index=None,
                placeholder="排除原因…",
                label_visibility="collapsed",
            )
            if st.session_state.get(f"reason|{key}"):  # asked for once a reason is chosen: one widget less a card
                act[2].text_input(
                    "排除说明",
                    key=f"reason_detail|{key}",
                    placeholder="补充说明（“其他”必填）",
                    label_visibility="collapsed",
                )
            reason = broker.reject_reason(
                st.session_state.get(f"reason|{key}"), st.session_state.get(f"reason_detail|{key}")
            )
            act[3].button(
                DECISION_LABELS[REJECT],
                key=f"reject|{key}",
                disabled=reason is None,
                on_click=_decide,
                args=(key, challenge_id, lid, REJECT),
                kwargs={"reason": reason},
            )
        if shareable:
            act[4].button(
                "分享给企业",
                key=f"share|{key}",
                disabled=bool(m["shared_at"]) or m["decision"] == REJECT,
                on_click=_act,
                args=(key, "已分享给企业", broker.share_match, challenge_id, lid),
            )

        follow_ups = " / ".join(DECISION_LABELS[d] for d in FOLLOW_UPS)
        # The form's six widgets are drawn only while it is open: most of a card's weight in the browser.
        form = st.expander(f"跟进与备注（{follow_ups}）", key=f"follow_up|{key}", on_change="rerun")
        if not form.open:
            return
        with form, st.form(f"decide|{key}", border=False):
            st.radio("进展", FOLLOW_UPS, key=f"decision|{key}", horizontal=True, format_func=DECISION_LABELS.get)
            amount, when = st.columns(2)  # wide enough for a whole YYYY/MM/DD
            amount.number_input("签约金额（万元）", min_value=0.0, value=None, step=1.0, key=f"amount|{key}")
            when.date_input("签约日期", value=None, key=f"deal_date|{key}", format="YYYY/MM/DD", **ANY_DATE)
            st.text_input("备注", key=f"note|{key}", placeholder="回车提交")
            _show_flash(f"form|{key}")
            send, note_only, _ = st.columns([1, 1, 3])
            send.form_submit_button(
                "提交", key=f"submit|{key}", type="primary", on_click=_follow_up, args=(challenge_id, lid, key)
            )
            note_only.form_submit_button(
                "仅保存备注",
                key=f"note_only|{key}",
                on_click=_follow_up,
                args=(challenge_id, lid, key),
                kwargs={"note_only": True},
            )


with main:
    shareable = bool(challenge.get("firm"))
    # Cards rejected in this session (not on the page any more) first, each as its line with 撤销.
    screen = tuple(
        {k: m[k] for k in ("listing_id", "source", "publication_number", "kind", "title")} for m in page.rows
    )
    prefix = f"undo|{challenge_id}|"
    for undo_key in [k for k in st.session_state if str(k).startswith(prefix)]:
        lid = undo_key.removeprefix(prefix)
        if lid not in keys:
            _card(challenge_id, lid, f"{challenge_id}|{lid}", shareable, screen)
    for m in page.rows:
        _card(challenge_id, m["listing_id"], keys[m["listing_id"]], shareable, screen)

    if page.total > page.page_size:
        st.number_input(
            f"匹配页（共 {page.pages} 页，{page.total} 条）",
            min_value=1,
            max_value=max(page.pages, match_page + 1),
            step=1,
            key=page_key,
        )
