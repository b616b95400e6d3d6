"""The line under a match card naming the other sources of its technology (jiebang.dedup), and
the broker's hand corrections, which win over the model: 拆分 a listing that is not the same
technology, 合并 two cards (or, on a listing's page, two listings) that are."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from jiebang import dedup
from jiebang.display import listing_number, source_name
from jiebang.errors import KNOWN_ERRORS
from ui.context import current_user, forget_reads, plain, safe_url, warehouse

# Set by a merge from a card: the merged card leaves the list, so the card's own rerun (a
# fragment's) asks for the whole page.
_RERUN_PAGE = "merge_rerun_page"


def rerun_page_after_merge() -> None:
    """Called first thing in a card's fragment: after a merge from a card the whole page is
    drawn again (the card that was merged away may be this one, which then draws nothing)."""
    if st.session_state.pop(_RERUN_PAGE, False):
        st.rerun(scope="app")


def cluster_sources(
    others: list[dict], key: str, *, challenge_id: str = "", listing_id: str = "", cards: Sequence[dict] = ()
) -> None:
    """Nothing when the technology has one listing; else its other sources (the card row's
    `other_sources`), each linked, and a popover to split any of them off. With `cards` (the
    other cards of the challenge's list on screen: listing_id, source, publication_number, kind,
    title) a popover to merge this card's listing with one of them. `key`: the card's stable key
    (challenge and listing ids)."""
    if (done := st.session_state.pop(f"split_done|{key}", None)) is not None:
        getattr(st, done[0])(done[1])
    merged = st.session_state.get(f"merge_done|{challenge_id}")
    if merged is not None and listing_id in merged[2]:  # the pair's card that stays shows it
        del st.session_state[f"merge_done|{challenge_id}"]
        getattr(st, merged[0])(merged[1])
    if others:
        st.caption(f"同一技术的其他来源（{len(others)}）：" + "　".join(_link(m) for m in others))
    candidates = [c for c in cards if c["listing_id"] != listing_id]
    if not others and not candidates:
        return
    if others:
        with st.popover("不是同一技术？拆分"):
            for m in others:
                st.button(
                    f"拆分：{source_name(m['source'])} {listing_number(m)}",
                    key=f"split|{key}|{m['listing_id']}",
                    on_click=_split,
                    args=(key, m["listing_id"], m["title"]),
                )
    if candidates:
        # Drawn only while open: five cards of four buttons each would weigh on every rerun.
        box = st.popover("同一技术？合并", key=f"merge|{key}", on_change="rerun")
        if box.open:
            with box:
                st.caption("与本需求的以下结果是同一技术：")
                for c in candidates:
                    st.button(
                        f"合并：{source_name(c['source'])} {listing_number(c)} {_short(c['title'])}",
                        key=f"merge|{key}|{c['listing_id']}",
                        on_click=_merge_cards,
                        args=(challenge_id, listing_id, c["listing_id"], c["title"], f"merge|{key}"),
                    )


def _short(title: str | None, chars: int = 24) -> str:
    text = plain(title or "")
    return text if len(title or "") <= chars else plain((title or "")[:chars]) + "…"


def _link(m: dict) -> str:
    name = plain(source_name(m["source"]))
    return f"[{name} ↗]({url})" if (url := safe_url(m["url"])) else name


def _split(key: str, listing_id: str, title: str) -> None:
    try:
        dedup.split(warehouse(), current_user(), listing_id)
    except KNOWN_ERRORS as exc:
        st.session_state[f"split_done|{key}"] = ("error", plain(exc))
        return
    forget_reads()
    st.session_state[f"split_done|{key}"] = (
        "success",
        f"已拆分：{plain(title)} 不再算作同一技术，此后单独列出",
    )


def _merge_cards(challenge_id: str, listing_id: str, other_id: str, title: str, popover: str) -> None:
    try:
        dedup.merge(warehouse(), current_user(), listing_id, other_id)
    except KNOWN_ERRORS as exc:
        st.session_state[f"merge_done|{challenge_id}"] = ("error", plain(exc), {listing_id})
        return
    forget_reads()
    st.session_state[f"merge_done|{challenge_id}"] = (
        "success",
        f"已合并：{plain(title)} 与本卡片算作同一技术，列表中合为一张卡片",
        {listing_id, other_id},
    )
    # Closed: left open it would list the merged card's other candidates over the page, and
    # closing it later (a click elsewhere) reruns the page under the broker's next click.
    st.session_state[popover] = False
    st.session_state[_RERUN_PAGE] = True


def merge_form(listing_id: str) -> None:
    """On a listing's page, for a broker: merge it with another listing named by its 成果编号
    (as cards show it), publication number or id."""
    with st.form(f"merge_listing|{listing_id}", border=False):
        st.text_input("成果编号", key="merge_number", placeholder="另一条成果的成果编号、公开号或成果 ID")
        st.form_submit_button("合并为同一技术", on_click=_merge_number, args=(listing_id,))
    if (done := st.session_state.pop(f"merge_done|{listing_id}", None)) is not None:
        getattr(st, done[0])(done[1])


def _merge_number(listing_id: str) -> None:
    number = (st.session_state.get("merge_number") or "").strip()
    try:
        dedup.merge_by_number(warehouse(), current_user(), listing_id, number)
    except KNOWN_ERRORS as exc:
        st.session_state[f"merge_done|{listing_id}"] = ("error", plain(exc))
        return
    forget_reads()
    st.session_state["merge_number"] = ""
    st.session_state[f"merge_done|{listing_id}"] = ("success", f"已合并：{plain(number)} 与本成果算作同一技术")
