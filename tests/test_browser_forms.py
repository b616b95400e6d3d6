"""Issue 12 (2, 3) in Chromium, typed as a user types: a past deadline is refused on its field and
kept as typed (never replaced by another date), and a 揭榜 application sent twice is stored once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from warehouse import queries

from .test_browser_decisions import _settle
from .test_browser_walk import choose, sign_in

pytestmark = pytest.mark.system
TIMEOUT = 30_000
TITLE = "家具水性涂料VOC超标与干燥慢问题攻关"
DESCRIPTION = (
    "我们是嘉善的实木家具企业，现用水性涂料在梅雨季干燥时间超过八小时，且VOC检测接近限值。"
    "希望找到低VOC快干水性涂料配方或干燥工艺，干燥时间缩短到两小时以内。"
)


def test_a_typed_past_deadline_is_refused_on_the_field_and_never_replaced(loaded_warehouse, app_url):
    add_user(loaded_warehouse, "firm1", "firm-pass-1", "firm", display_name="王经理", firm="嘉善木业有限公司")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        sign_in(page, app_url, "firm1", "firm-pass-1")
        expect(page.get_by_role("heading", name="发布需求")).to_be_visible(timeout=TIMEOUT)
        page.get_by_label("标题 *").fill(TITLE)
        page.get_by_label("需求描述 *").fill(DESCRIPTION)
        choose(page, "所属行业 *", "绿色智能家居")
        choose(page, "合作方式 *", "合作开发")
        page.get_by_role("spinbutton", name="year, 截止日期 *").click()
        page.keyboard.type("20250531")  # year, month, day: the field moves on by itself
        page.keyboard.press("Tab")
        page.get_by_role("button", name="提交审核").click()

        expect(page.get_by_text("截止日期：不能早于今天")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_text("已提交")).to_have_count(0)
        typed = page.get_by_role("group", name="截止日期 *")
        expect(typed).to_contain_text("2025")  # what the firm typed stays
        expect(typed).to_contain_text("05")
        expect(typed).to_contain_text("31")
        browser.close()

    assert loaded_warehouse.query("SELECT count(*) AS n FROM challenges WHERE title = ?", [TITLE])[0]["n"] == 0


def test_an_application_is_stored_once_however_often_the_button_is_clicked(loaded_warehouse, app_url):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url)
        page.get_by_role("link", name="全球破题").click()
        expect(page.get_by_role("heading", name="全球破题 · 揭榜挂帅")).to_be_visible(timeout=TIMEOUT)
        card = page.locator("[class*='st-key-board-']").first
        title = card.locator("h3").first.inner_text().strip()
        card.get_by_text("我要揭榜").click()
        card.get_by_label("团队 / 单位").fill("浙江大学化工学院涂料课题组")
        card.get_by_label("方案简述（技术路线、已有基础、预期指标）").fill(
            "我们有低VOC水性聚氨酯快干配方，已在两家家具厂中试，表干三十分钟，实干两小时。"
        )
        card.get_by_label("联系方式（手机、座机或邮箱）").fill("13800000000")
        submit = card.get_by_role("button", name="提交揭榜申请")
        submit.click()
        expect(card.get_by_text("揭榜申请已提交")).to_be_visible(timeout=TIMEOUT)
        # the form is empty again: a second click has nothing to send …
        expect(card.get_by_label("团队 / 单位")).to_have_value("")
        expect(card.get_by_label("联系方式（手机、座机或邮箱）")).to_have_value("")
        # … however often it is clicked (a click that lands while a busy machine is still rerunning
        # may be dropped by the browser, so the applicant clicks again: that is the point here).
        for _ in range(3):
            _settle(page)
            if not submit.is_visible():  # the rerun may fold the expander; the applicant opens it again
                card.get_by_text("我要揭榜").click()
            submit.click()
            _settle(page)
            if card.get_by_text("必填").count():
                break
        expect(card.get_by_text("必填").first).to_be_visible(timeout=TIMEOUT)
        browser.close()

    [challenge] = [c for c in queries.challenge_match_counts(loaded_warehouse) if c["title"] == title]
    stored = loaded_warehouse.query(
        "SELECT team, contact FROM applications WHERE challenge_id = ?", [challenge["challenge_id"]]
    )
    assert [(a["team"], a["contact"]) for a in stored] == [("浙江大学化工学院涂料课题组", "13800000000")]
