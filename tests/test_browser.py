"""The real app in headless Chromium: sign in, see ranked matches, shortlist one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from jiebang.broker import MATCH_PAGE_SIZE
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from warehouse import queries

pytestmark = pytest.mark.system


def test_broker_signs_in_and_shortlists_in_chromium(loaded_warehouse, app_url):
    add_user(loaded_warehouse, "broker1", "browser-pass", "broker", display_name="测试经纪人")
    queue = queries.challenge_match_counts(loaded_warehouse)
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
        expect(page.get_by_role("button", name="入围")).to_have_count(
            MATCH_PAGE_SIZE, timeout=30_000
        )  # a screen of cards
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENSHOTS / "broker_matches.png"), full_page=True)

        card = page.locator(f".st-key-match-{top['rank']}")
        expect(card).to_contain_text(top["title"])
        card.get_by_role("button", name="入围").click()
        expect(page.get_by_text("状态：入围").first).to_be_visible(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "broker_shortlisted.png"), full_page=True)
        browser.close()

    decisions = [
        (r["listing_id"], r["decision"], r["reviewer"]) for r in queries.reviews_for(loaded_warehouse, challenge_id)
    ]
    assert decisions == [(top["listing_id"], "shortlist", "broker1")]


def test_a_run_error_quoting_markdown_is_plain_text_in_chromium(loaded_warehouse, app_url):
    # A CSV header put a clickable link and a remote image on 运行状态 (issue 14): now the text only.
    from warehouse import store

    error = "h.csv: its columns are [点我](http://evil.example/a), ![](http://remote.example/img.png)"
    run_id = store.start_run(loaded_warehouse, "import-table")
    store.finish_run(loaded_warehouse, run_id, {}, error=error, status="failed")
    add_user(loaded_warehouse, "broker2", "browser-pass", "broker", display_name="测试经纪人")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(app_url)
        page.get_by_label("用户名 (username)").fill("broker2")
        page.get_by_label("密码 (password)").fill("browser-pass")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("heading", name="匹配审核")).to_be_visible(timeout=30_000)
        page.get_by_role("link", name="运行状态").click()
        expect(page.get_by_text(error)).to_be_visible(timeout=30_000)
        page.wait_for_load_state("networkidle")
        assert page.locator('a[href*="evil.example"]').count() == 0
        assert page.locator('img[src*="remote.example"]').count() == 0
        browser.close()
    assert not [url for url in requested if "example" in url]


def test_a_solver_signs_up_and_lands_on_the_board_in_chromium(loaded_warehouse, app_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_text("还没有账户？注册揭榜方账户").click()
        page.get_by_role("textbox", name="登录名").fill("zju-coatings")
        page.get_by_label("团队/单位").fill("浙江大学化工学院涂料课题组")
        page.get_by_label("联系方式（手机、座机或邮箱）").fill("0571-87950000")
        page.get_by_label("设置密码（至少 8 位）").fill("青山-ridge-47")
        page.get_by_label("再次输入密码").fill("青山-ridge-48")
        page.get_by_role("button", name="注册并登录").click()
        expect(page.get_by_text("再次输入密码：两次输入的密码不一致")).to_be_visible(timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / "solver_sign_up_form.png"), full_page=True)
        page.get_by_label("再次输入密码").fill("青山-ridge-47")
        page.get_by_role("button", name="注册并登录").click()
        expect(page.get_by_role("heading", name="全球破题")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("已登录：浙江大学化工学院涂料课题组（揭榜方）")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("link", name="我的揭榜")).to_be_visible()
        first = page.locator("[class*='st-key-board-']").first
        first.get_by_text("我要揭榜").click()  # the form starts with the account's team and contact
        expect(first.get_by_label("团队 / 单位")).to_have_value("浙江大学化工学院涂料课题组", timeout=30_000)
        expect(first.get_by_label("联系方式（手机、座机或邮箱）")).to_have_value("0571-87950000")
        expect(page.get_by_role("button", name="登录", exact=True)).to_have_count(
            0, timeout=30_000
        )  # nothing left of the sign-in page
        page.screenshot(path=str(SCREENSHOTS / "solver_signed_up.png"), full_page=True)
        browser.close()
    [row] = loaded_warehouse.query("SELECT username, role, contact FROM users WHERE role = 'solver'")
    assert row == {"username": "zju-coatings", "role": "solver", "contact": "0571-87950000"}
