"""What every page needs: the settings built by app.py, the warehouse, the signed-in user,
and one-line error messages."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from urllib.parse import quote

import duckdb
import streamlit as st

from jiebang import accounts, matching_run
from jiebang.accounts import User
from jiebang.display import beijing_today
from jiebang.errors import KNOWN_ERRORS, KnownError
from jiebang.pipeline import open_warehouse
from jiebang.settings import Settings
from warehouse.errors import WarehouseLocked, WarehouseUnavailable
from warehouse.gateway import Warehouse

# Date widgets take any date a user types: a date outside a widget's bounds is dropped in the
# browser without a word and the old value kept, so the bounds are wide and the services say
# what is wrong with the date (issue 12: a typed 2025/05/31 was stored as the default 2027-05-31).
ANY_DATE = {"min_value": date(1900, 1, 1), "max_value": date(2199, 12, 31)}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def settings() -> Settings:
    return st.session_state["settings"]


class PageWarehouse(Warehouse):
    """The warehouse as a page uses it: when the file cannot be opened (another process held it
    past the lock timeout, or it is unusable) the page shows the one-line reason and stops
    there, whichever query of the page it was, instead of Streamlit's exception box."""

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            return super()._connect()
        except (WarehouseLocked, WarehouseUnavailable) as exc:
            show_error(exc)
            st.stop()


def match_now(wh: Warehouse, challenge_id: str) -> dict:
    """Match one challenge now (a firm posted or edited it, a broker asked): the index loaded
    once per server process is reused while its manifest is unchanged; a page waits at most
    `index_wait_seconds` for an index being rewritten (IndexUnusable then)."""
    s = settings()
    return matching_run.match_one_challenge(
        wh,
        challenge_id,
        today=beijing_today(),
        top_k=s.match_top_k,
        index_dir=s.index_dir,
        backend=s.page_match_backend,
        wait_seconds=s.index_wait_seconds,
    )


def warehouse() -> Warehouse:
    s = settings()
    try:
        _migrated_warehouse(s.warehouse_path, s.lock_timeout_seconds)
    except (WarehouseLocked, WarehouseUnavailable) as exc:
        show_error(exc)
        st.stop()
    return PageWarehouse(s.warehouse_path, s.lock_timeout_seconds)


@st.cache_resource(show_spinner=False)
def _migrated_warehouse(path, lock_timeout_seconds: float) -> Warehouse:
    # Migrate once per server process; the Warehouse holds no open connection, so sharing it is safe.
    return open_warehouse(path, lock_timeout_seconds)


def data_version() -> tuple:
    """What changes whenever the warehouse's data does, in this process or any other (a nightly
    run, the CLI): the file's and its write-ahead log's inode, modification time and size. Reads
    leave both untouched; every commit changes one of them."""
    path = settings().warehouse_path
    version: list[tuple[int, int, int] | None] = []
    for file in (path, path.with_name(path.name + ".wal")):
        try:
            stat = file.stat()
        except OSError:
            version.append(None)
        else:
            version.append((stat.st_ino, stat.st_mtime_ns, stat.st_size))
    return tuple(version)


def cached(service, *args, **kwargs):
    """`service(warehouse(), *args, **kwargs)` for a read, remembered while the data is unchanged
    (data_version) for these exact arguments, the signed-in User among them (its role is checked
    by the service on the first call; a role or password change is a write, so it is re-checked).
    A page clears the cache after its own writes (forget_reads), so a decision is never shown stale."""
    s = settings()
    name = f"{service.__module__}.{service.__qualname__}"
    return _cached_read(
        service, name, str(s.warehouse_path), s.lock_timeout_seconds, data_version(), args, tuple(kwargs.items())
    )


@st.cache_data(max_entries=2000, show_spinner=False)
def _cached_read(_service, name: str, path: str, lock_timeout_seconds: float, version: tuple, args, kwargs):
    with PageWarehouse(Path(path), lock_timeout_seconds).pinned() as one:  # one open file for its queries
        return _service(one, *args, **dict(kwargs))


def forget_reads() -> None:
    """After a write from a page: the next read goes to the warehouse (the file's timestamp may
    not have ticked yet)."""
    _cached_read.clear()


def current_user() -> User | None:
    """The signed-in account as the warehouse has it now, re-read on every run: a role changed
    since sign-in applies at once, and a disabled account or a reset password signs the session
    out, saying why."""
    user = st.session_state.get("user")
    if user is None:
        return None
    try:
        # Not cached: this one read per full run also tells every page at once that another
        # process holds the file (the page's own reads may all come from the cache).
        live = accounts.live_user(warehouse(), user)
    except accounts.SessionEnded as exc:
        del st.session_state["user"]
        st.warning(f"您已退出登录：{plain(exc)}")
        return None
    st.session_state["user"] = live
    return live


def client_key() -> str:
    """Who the caller is, as far as the server can tell: its connection's address, hashed (no
    address, e.g. on localhost or under AppTest: one shared key, so throttling still holds per
    account and per challenge). Headers such as X-Forwarded-For are not used: any browser can
    set them, so they would let a caller pick a fresh key for every try."""
    address = st.context.ip_address
    # Only a string is an address: AppTest's stand-in client answers with a mock object.
    return accounts.client_key(address if isinstance(address, str) else None)


def plain(text: object) -> str:
    """Crawled or posted text made inert for st.markdown: every markdown/HTML character escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text or ""))


def safe_url(url: str | None) -> str | None:
    """Only http(s) links are shown; anything else (javascript:, data:) is dropped. Characters
    that could end a Markdown link or break out of an attribute (spaces, parentheses, quotes,
    angle brackets) are percent-encoded."""
    if not url or not re.match(r"^https?://", url, re.I):
        return None
    return quote(url, safe=":/?#[]@!$&*+,;=%~")


def show_error(exc: KnownError) -> None:
    st.error(plain(exc))  # a message may quote what a user typed or a page said


def or_stop(call, *args, **kwargs):
    """The service call's result; a refused or failed call becomes its one-line message and
    the page stops there (the role check itself is in the service, not here)."""
    try:
        return call(*args, **kwargs)
    except KNOWN_ERRORS as exc:
        show_error(exc)
        st.stop()
