"""Every page, while another process holds the warehouse past the lock timeout: the page shows
the one-line WarehouseLocked message, never Streamlit's exception box (issue 14, item 6).

The lock is real: a second process opens the DuckDB file read-write and keeps it open, which
locks every other process out (as a long refresh does)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from jiebang.accounts import User
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.workspace_data import register
from ui import context
from ui.context import plain

pytestmark = pytest.mark.integration

PAGES = ROOT / "ui" / "pages"
BROKER = User("wang", "王经纪", "broker")
ADMIN = User("root", "管理员", "admin")
FIRM = User("zhang", "张经理", "firm", firm="嘉善甲科技有限公司")
LOCKED = "被其他进程占用"  # WarehouseLocked's message
# Each page, as the user who may see it.
PAGE_USERS = [
    ("board.py", None),
    ("login.py", None),
    ("broker.py", BROKER),
    ("runs.py", BROKER),
    ("curation.py", BROKER),
    ("dashboard.py", BROKER),
    ("audit.py", ADMIN),
    ("firm_post.py", FIRM),
    ("firm_challenges.py", FIRM),
    ("account.py", BROKER),
]
HOLDER = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"


@pytest.fixture
def hold(warehouse):
    """Hold the warehouse's write lock from another process for the `with` block."""

    def holding() -> Iterator[None]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(warehouse.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            yield
        finally:
            assert holder.stdin is not None
            holder.stdin.close()  # the holder's read ends, it exits and the lock goes with it
            holder.wait(timeout=30)

    from contextlib import contextmanager

    return contextmanager(holding)


def _page(name: str, path: Path, user: User | None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=path, lock_timeout_seconds=0.3)
    if user is not None:
        at.session_state["user"] = user
    return at


def _filled(name: str, at: AppTest):
    """The pages that touch the warehouse only when a form is sent: their form filled in (while
    the warehouse is free), and the button that sends it; None for the other pages."""
    if name == "login.py":
        at.text_input[0].input("wang")
        at.text_input[1].input("a-password")
        return at.button[0]
    if name == "firm_post.py":
        at.text_input(key="post_title").input("注塑外壳外观缺陷AI视觉检测")
        at.text_area(key="post_description").input(
            "我们做小家电塑料外壳，外观全靠人工目检，漏检率约1.5%。希望用深度学习视觉检测替代人工，样本少也能训练。"
        )
        at.selectbox(key="post_field").select("新一代信息技术")
        at.selectbox(key="post_cooperation").select("合作开发")
        at.date_input(key="post_deadline").set_value(date(date.today().year + 1, 6, 30))
        return next(b for b in at.button if b.label == "提交审核")
    return None


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_every_page_shows_a_held_warehouse_as_one_message(warehouse, hold):
    context._migrated_warehouse.clear()
    register(warehouse, BROKER, ADMIN, FIRM)
    for name, user in PAGE_USERS:  # unlocked first: every page works, and the app has its warehouse
        at = _page(name, warehouse.path, user).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert not _errors(at), (name, _errors(at))
    for name, user in PAGE_USERS:
        at = _page(name, warehouse.path, user).run()
        send = _filled(name, at)
        with hold():
            at = send.click().run() if send is not None else at.run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert [e for e in _errors(at) if LOCKED in e] == [_locked_message(warehouse.path)], (name, _errors(at))


def test_a_page_opening_the_warehouse_first_while_it_is_held_shows_the_message(warehouse, hold):
    """A fresh server (nothing cached): the first page's migration meets the lock."""
    context._migrated_warehouse.clear()
    with hold():
        at = _page("board.py", warehouse.path, None).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _errors(at) == [_locked_message(warehouse.path)]


def _locked_message(path: Path) -> str:
    """As a page shows it: escaped for Markdown (ui.context.show_error), so a path renders as typed."""
    return plain(
        f"数据仓库 {path} 被其他进程占用超过 0 秒 (warehouse locked by another process; wait for the running flow"
        " to finish, or raise JIEBANG_LOCK_TIMEOUT_SECONDS)"
    )
