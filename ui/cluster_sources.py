"""The line under a match card naming the other sources of its technology (jiebang.dedup)."""

from __future__ import annotations

import streamlit as st

from jiebang import dedup
from ui.context import plain, safe_url
from warehouse.gateway import Warehouse


def cluster_sources(warehouse: Warehouse, listing_id: str) -> None:
    """Nothing when the technology has one listing; else its other sources, each linked."""
    others = dedup.other_sources(warehouse, listing_id)
    if not others:
        return
    links = [f"[{plain(m['source'])} ↗]({url})" if (url := safe_url(m["url"])) else plain(m["source"]) for m in others]
    st.caption(f"同一技术的其他来源 (also listed by, {len(others)}): " + "　".join(links))
