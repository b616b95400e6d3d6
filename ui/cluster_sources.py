"""The line under a match card naming the other sources of its technology (jiebang.dedup), and
the broker's hand correction: 拆分 a listing that is not the same technology (it wins over the model)."""

from __future__ import annotations

import streamlit as st

from jiebang import dedup
from jiebang.display import listing_number, source_name
from jiebang.errors import KNOWN_ERRORS
from ui.context import current_user, forget_reads, plain, safe_url, warehouse


def cluster_sources(others: list[dict], key: str) -> None:
    """Nothing when the technology has one listing; else its other sources (the card row's
    `other_sources`), each linked, and a popover to split any of them off. `key`: the card's
    stable key (challenge and listing ids)."""
    if (done := st.session_state.pop(f"split_done|{key}", None)) is not None:
        getattr(st, done[0])(done[1])
    if not others:
        return
    links = [
        f"[{plain(source_name(m['source']))} ↗]({url})"
        if (url := safe_url(m["url"]))
        else plain(source_name(m["source"]))
        for m in others
    ]
    st.caption(f"同一技术的其他来源（{len(others)}）：" + "　".join(links))
    with st.popover("不是同一技术？拆分"):
        for m in others:
            st.button(
                f"拆分：{source_name(m['source'])} {listing_number(m)}",
                key=f"split|{key}|{m['listing_id']}",
                on_click=_split,
                args=(key, m["listing_id"], m["title"]),
            )


def _split(key: str, listing_id: str, title: str) -> None:
    try:
        dedup.split(warehouse(), current_user(), listing_id)
    except KNOWN_ERRORS as exc:
        st.session_state[f"split_done|{key}"] = ("error", plain(exc))
        return
    forget_reads()
    st.session_state[f"split_done|{key}"] = (
        "success",
        f"已拆分：{plain(title)} 不再算作同一技术（下次匹配时单独出现）",
    )
