"""The line under a match card naming the other sources of its technology (jiebang.dedup)."""

from __future__ import annotations

import streamlit as st

from jiebang import dedup
from jiebang.display import source_name
from ui.context import cached, plain, safe_url


def cluster_sources(listing_id: str) -> None:
    """Nothing when the technology has one listing; else its other sources, each linked."""
    others = cached(dedup.other_sources, listing_id)
    if not others:
        return
    links = [
        f"[{plain(source_name(m['source']))} ↗]({url})"
        if (url := safe_url(m["url"]))
        else plain(source_name(m["source"]))
        for m in others
    ]
    st.caption(f"同一技术的其他来源 (also listed by, {len(others)}): " + "　".join(links))
