"""The real app in headless Chromium: sign in, see ranked matches, shortlist one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from tests.conftest import ROOT
from warehouse import queries

pytestmark = pytest.mark.system

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "var" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(loaded_warehouse):
    if not os.access(CHROMIUM, os.X_OK):  # one line, not Playwright's launch trace
        pytest.fail(
            f"{CHROMIUM} 不存在 (Chromium missing): run `make test` as root, "
            "or apt-get install -y chromium fonts-wqy-microhei",
            pytrace=False,
        )
    port = _free_port()
    env = {**os.environ, "JIEBANG_WAREHOUSE_PATH": str(loaded_warehouse.path), "JIEBANG_UI_PORT": str(port)}
    server = subprocess.Popen(
        [sys.executable, "-m", "jiebang.cli", "ui"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    yield url
    server.terminate()
    server.wait(timeout=20)
    # Stopping `jiebang ui` stops Streamlit with it: nothing is left listening on the port.
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_stcore/health", timeout=2)


def test_broker_signs_in_and_shortlists_in_chromium(loaded_warehouse, app_url):
    add_user(loaded_warehouse, "broker1", "browser-pass", "broker", display_name="测试经纪人")
    queue = queries.challenge_queue(loaded_warehouse)
    challenge_id = queue[0]["challenge_id"]
    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_label("用户名 (username)").fill("broker1")
        page.get_by_label("密码 (password)").fill("browser-pass")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="匹配审核")).to_be_visible(timeout=30_000)
        expect(page.get_by_text(top["title"]).first).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="入围")).to_have_count(10, timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / "broker_matches.png"), full_page=True)

        card = page.locator(f".st-key-match-{top['rank']}")
        expect(card).to_contain_text(top["title"])
        card.get_by_role("button", name="入围").click()
        expect(page.get_by_text("状态：已入围").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "broker_shortlisted.png"), full_page=True)
        browser.close()

    decisions = [
        (r["listing_id"], r["decision"], r["reviewer"]) for r in queries.reviews_for(loaded_warehouse, challenge_id)
    ]
    assert decisions == [(top["listing_id"], "shortlist", "broker1")]
