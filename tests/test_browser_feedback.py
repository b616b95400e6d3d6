"""Issue 16 (6) in Chromium: a rejected card folds into a line naming the listing with 撤销, and
the undo is a new decision in the log; a 签约 without a date keeps the form open, with the error
in it and the amount typed, and the 签约日期 field shows the whole date."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from warehouse import queries

from .test_browser_decisions import _header, _settle
from .test_browser_walk import sign_in

pytestmark = pytest.mark.system

TIMEOUT = 30_000


def test_undo_of_a_reject_and_a_signed_form_error_in_chromium(loaded_warehouse, app_url):
    add_user(loaded_warehouse, "broker1", "broker-pass-1", "broker", display_name="李经纪")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        sign_in(page, app_url, "broker1", "broker-pass-1")
        expect(page.locator(".st-key-match-1")).to_be_visible(timeout=TIMEOUT)
        _settle(page)
        title = _header(page).inner_text().strip()
        challenge_id = next(
            c["challenge_id"] for c in queries.challenge_match_counts(loaded_warehouse) if c["title"] == title
        )
        first, second = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=2)

        # 排除 → one line naming the listing, with 撤销
        card = page.locator(f".st-key-match-{first['rank']}")
        card.scroll_into_view_if_needed()
        page.wait_for_timeout(300)  # a popover opened while the page still scrolls closes again
        card.get_by_label("排除原因").click()
        expect(page.get_by_role("option", name="技术不对口")).to_be_visible(timeout=TIMEOUT)
        page.get_by_role("option", name="技术不对口").click()
        _settle(page)
        card.get_by_role("button", name="排除", exact=True).click()
        expect(card.get_by_text(f"已排除：{first['title']}（技术不对口）")).to_be_visible(timeout=TIMEOUT)
        _settle(page)
        page.screenshot(path=str(SCREENSHOTS / "broker_reject_undo.png"), full_page=True)
        card.get_by_role("button", name="撤销").click()
        expect(card.get_by_role("button", name="入围", exact=True)).to_be_visible(timeout=TIMEOUT)
        expect(card.get_by_text("已撤销排除")).to_be_visible(timeout=TIMEOUT)
        _settle(page)

        # 签约 without a date: the error is in the open form, the amount still there
        card = page.locator(f".st-key-match-{second['rank']}")
        card.get_by_text("跟进与备注").click()
        _settle(page)
        card.get_by_text("签约", exact=True).click()
        card.get_by_label("签约金额（万元）").fill("120")
        card.get_by_role("button", name="提交", exact=True).click()
        form = card.get_by_test_id("stForm")
        expect(form.get_by_text("签约日期：必填")).to_be_visible(timeout=TIMEOUT)
        _settle(page)
        expect(card.get_by_label("签约金额（万元）")).to_have_value("120.00")
        card.get_by_role("spinbutton", name="year, 签约日期").click()
        page.keyboard.type("20261120")  # year, month, day: the field moves on by itself
        page.keyboard.press("Tab")
        # the whole date is shown: no segment runs past the field's edge (it showed "2026/12/0")
        field = card.get_by_role("group", name="签约日期")
        expect(field).to_contain_text("20")
        inside = field.evaluate(
            "e => { const right = e.getBoundingClientRect().right;"
            " return [...e.querySelectorAll('[role=spinbutton]')].every(s => s.getBoundingClientRect().right <= right)"
            " && e.scrollWidth <= e.clientWidth + 1; }"
        )
        assert inside, field.evaluate("e => [e.scrollWidth, e.clientWidth, e.innerText]")
        page.screenshot(path=str(SCREENSHOTS / "broker_signed_form.png"), full_page=True)
        card.get_by_role("button", name="提交", exact=True).click()
        expect(card.get_by_text("已记录：签约")).to_be_visible(timeout=TIMEOUT)
        _settle(page)
        expect(card.get_by_text("状态：签约 120 万元（2026-11-20）")).to_be_visible(timeout=TIMEOUT)
        expect(card.get_by_role("button", name="入围", exact=True)).to_have_count(0)  # signed: no 入围 / 排除
        expect(card.get_by_role("button", name="排除", exact=True)).to_have_count(0)
        browser.close()

    log = [(r["listing_id"], r["decision"]) for r in queries.reviews_for(loaded_warehouse, challenge_id)]
    assert log == [(first["listing_id"], "reject"), (first["listing_id"], "reopen"), (second["listing_id"], "signed")]
