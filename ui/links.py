"""Links between the market's pages, keyed by stable ids in the query (?id=…), so that a link can be
shared: a challenge by its board ref, a listing by its listing id.

Inside the app (app.py's st.navigation) a link is an st.page_link: the click stays in the same
session, so a signed-in broker stays signed in. A page run on its own (AppTest) has no navigation
to resolve a page against; it gets the same link as plain Markdown.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st
from streamlit.errors import StreamlitAPIException

from jiebang.market import challenge_ref
from ui.context import plain

CHALLENGE_PAGE = "challenge.py"
LISTING_PAGE = "listing.py"
SUPPLY_PAGE = "supply.py"


def path(page_file: str, **params: str) -> str:
    """The page's address relative to the app's root: `challenge?id=3f2a…` (url_path = file stem)."""
    stem = page_file.removesuffix(".py")
    return f"{stem}?{urlencode(params)}" if params else stem


def challenge_path(challenge_id: str) -> str:
    return path(CHALLENGE_PAGE, id=challenge_ref(challenge_id))


def listing_path(listing_id: str) -> str:
    return path(LISTING_PAGE, id=listing_id)


def page_link(label: str, page_file: str, *, icon: str | None = None, **params: str) -> None:
    """A link to another page of the app with `params` in its query."""
    try:
        st.page_link(f"pages/{page_file}", label=label, icon=icon, query_params=params or None)
    except StreamlitAPIException:  # no st.navigation around this page (run on its own)
        st.markdown(f"[{plain(label)}]({path(page_file, **params)})")


def absolute(relative: str) -> str:
    """`relative` (a page's path and query) as the full address the browser shows, when the server
    knows it (st.context.url); the relative path otherwise."""
    here = st.context.url
    if not isinstance(here, str) or not here.startswith(("http://", "https://")):
        return relative
    parts = urlsplit(here)
    base = parts.path.rsplit("/", 1)[0]  # the app's base path, without the current page
    return f"{parts.scheme}://{parts.netloc}{base}/{relative}"
