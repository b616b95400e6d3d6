"""The whole workspace in headless Chromium, as its users walk it: a firm posts a challenge (with
hostile markup in it), matches appear, a broker shortlists one, rejects one with a reason,
shares one and exports Excel, and the firm sees the shared match. Screenshots are saved."""

from __future__ import annotations

import io

import openpyxl
import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from warehouse import queries

pytestmark = pytest.mark.system

FIRM = "嘉善智造科技有限公司"
TITLE = "锂电池组热失控预警与电池管理系统BMS升级"
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"
DESCRIPTION = (
    "我们生产储能锂电池组，现有电池管理系统BMS对单体过温、析锂预警滞后，热失控前无有效报警。"
    "寻求基于多传感器的热失控早期预警算法与BMS升级方案，要求预警提前5分钟以上。" + HOSTILE
)


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("用户名 (username)").fill(username)
    page.get_by_label("密码 (password)").fill(password)
    page.get_by_role("button", name="登录").click()


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).first.click()


def test_firm_posts_broker_curates_and_the_firm_sees_the_shared_match(loaded_warehouse, app_url, tmp_path):
    add_user(loaded_warehouse, "firm1", "firm-pass-1", "firm", display_name="王经理", firm=FIRM)
    add_user(loaded_warehouse, "broker1", "broker-pass-1", "broker", display_name="李经纪")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        firm_page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        firm_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(firm_page, app_url, "firm1", "firm-pass-1")
        expect(firm_page.get_by_role("heading", name="发布需求")).to_be_visible(timeout=30_000)
        firm_page.get_by_label("标题 *").fill(TITLE)
        firm_page.get_by_label("需求描述 *").fill(DESCRIPTION)
        choose(firm_page, "所属行业 *", "新能源新材料")
        choose(firm_page, "合作方式 *", "合作开发")
        firm_page.get_by_role("spinbutton", name="year, 截止日期 *").click()
        firm_page.keyboard.type("20301231")  # no default deadline: the firm types one
        firm_page.keyboard.press("Tab")
        firm_page.get_by_role("button", name="提交审核").click()
        expect(firm_page.get_by_text("匹配完成")).to_be_visible(timeout=60_000)
        firm_page.screenshot(path=str(SCREENSHOTS / "walk_1_firm_posted.png"), full_page=True)

        posted = [
            c
            for c in loaded_warehouse.query(
                "SELECT challenge_id, firm, status FROM challenges WHERE title = ?", [TITLE]
            )
        ]
        assert [(c["firm"], c["status"]) for c in posted] == [(FIRM, "待审核")]
        challenge_id = posted[0]["challenge_id"]
        first, second, third = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=3)

        broker_page = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True).new_page()
        broker_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(broker_page, app_url, "broker1", "broker-pass-1")
        expect(broker_page.get_by_role("heading", name="匹配审核")).to_be_visible(timeout=30_000)
        broker_page.get_by_label("需求（共").click()
        broker_page.get_by_role("option", name=TITLE).first.click()
        expect(broker_page.get_by_role("heading", name=TITLE)).to_be_visible(timeout=30_000)
        # The hostile markup is shown as text, and nothing of it became an element.
        expect(broker_page.get_by_text("<script>alert(1)</script>", exact=False).first).to_be_visible()
        assert broker_page.locator("img[src='x']").count() == 0
        broker_page.screenshot(path=str(SCREENSHOTS / "walk_2_broker_matches.png"), full_page=True)

        card = broker_page.locator(".st-key-match-1")
        expect(card).to_contain_text(first["title"])
        card.get_by_role("button", name="入围").click()
        expect(card.get_by_text("状态：入围")).to_be_visible(timeout=30_000)
        card.get_by_role("button", name="分享给企业").click()
        expect(card.get_by_text("已分享给企业").first).to_be_visible(timeout=30_000)

        card = broker_page.locator(".st-key-match-2")
        expect(card).to_contain_text(second["title"])
        reason = card.get_by_role("combobox", name="排除原因")
        reason.click()
        reason.press_sequentially("技术不对口")
        broker_page.get_by_role("option", name="技术不对口").first.click()
        expect(reason).to_have_value("技术不对口")
        reject = card.get_by_role("button", name="排除")
        expect(reject).to_be_enabled(timeout=30_000)  # enabled once the reason has reached the server
        reject.click()
        # rejected: the card folds into one line naming the listing, with 撤销 (issue 16)
        folded = broker_page.locator(".st-key-match-2")
        expect(folded.get_by_text(f"已排除：{second['title']}（技术不对口）")).to_be_visible(timeout=30_000)
        expect(folded.get_by_role("button", name="入围")).to_have_count(0)
        broker_page.screenshot(path=str(SCREENSHOTS / "walk_3_broker_decided.png"), full_page=True)

        with broker_page.expect_download() as download:
            broker_page.get_by_role("button", name="本需求清单（XLSX）").click()
        saved = tmp_path / "shortlist.xlsx"
        download.value.save_as(saved)

        sign_in(firm_page, app_url, "firm1", "firm-pass-1")  # a fresh look, as the firm comes back later
        firm_page.get_by_role("link", name="我的需求").click()
        expect(firm_page.get_by_role("heading", name="经纪人推荐的成果")).to_be_visible(timeout=30_000)
        expect(firm_page.get_by_text(first["title"]).first).to_be_visible(timeout=30_000)
        expect(firm_page.get_by_text(second["title"])).to_have_count(0)  # rejected: never shown to the firm
        firm_page.screenshot(path=str(SCREENSHOTS / "walk_4_firm_sees_shared.png"), full_page=True)
        browser.close()

    assert dialogs == []  # no alert() ever ran
    decisions = {
        (r["listing_id"], r["decision"], r["reason"]) for r in queries.reviews_for(loaded_warehouse, challenge_id)
    }
    assert decisions == {(first["listing_id"], "shortlist", None), (second["listing_id"], "reject", "技术不对口")}
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes())).active
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert any(first["title"] in str(v) for row in body for v in row.values())
    assert not any(second["title"] in str(v) for row in body for v in row.values())
    assert third["listing_id"]  # the third match was left undecided


def test_the_market_pages_detail_links_supply_search_and_notifications(loaded_warehouse, app_url):
    """The pages a market has, in Chromium: the public opens a challenge's detail page from the
    board's link and by its shared address, 揭榜 there; the broker sees the notice of it, opens
    the challenge from the notice, searches the 成果库 and opens a listing's detail page."""
    from jiebang import solver

    add_user(loaded_warehouse, "broker1", "broker-pass-1", "broker", display_name="李经纪")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    newest = solver.board(loaded_warehouse).rows[0]  # a card on the board's first page
    listing = loaded_warehouse.query(
        "SELECT title FROM listings WHERE active AND length(title) >= 6 ORDER BY listing_id LIMIT 1"
    )[0]
    keyword = listing["title"][:4]
    dialogs: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        public = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        public.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        public.goto(app_url)
        public.get_by_role("link", name="全球破题").click()
        expect(public.get_by_role("heading", name="全球破题 · 揭榜挂帅")).to_be_visible(timeout=30_000)
        card = public.locator(f".st-key-board-{newest['ref']}")
        expect(card).to_contain_text(newest["title"], timeout=30_000)
        card.get_by_role("link", name="详情与分享链接").click()
        expect(public.get_by_role("heading", name="需求详情")).to_be_visible(timeout=30_000)
        expect(public.get_by_role("heading", name=newest["title"])).to_be_visible(timeout=30_000)
        assert f"challenge?id={newest['ref']}" in public.url  # the address is the link to share
        shared_address = public.url

        solver_page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        solver_page.goto(shared_address)  # someone the link was sent to, in a fresh session
        expect(solver_page.get_by_role("heading", name=newest["title"])).to_be_visible(timeout=30_000)
        solver_page.get_by_label("团队 / 单位").fill("浙江大学材料学院")
        solver_page.get_by_label("方案简述（技术路线、已有基础、预期指标）").fill(
            "我们有成熟的工艺方案，已完成中试，可在三个月内导入。"
        )
        solver_page.get_by_label("联系方式（手机、座机或邮箱）").fill("0573-84000000")
        solver_page.get_by_role("button", name="提交揭榜申请").click()
        expect(solver_page.get_by_text("揭榜申请已提交")).to_be_visible(timeout=30_000)
        solver_page.screenshot(path=str(SCREENSHOTS / "walk_5_challenge_detail.png"), full_page=True)
        solver_page.goto(f"{app_url}/challenge?id=0123456789abcdef")
        expect(solver_page.get_by_text("未找到该需求")).to_be_visible(timeout=30_000)

        broker_page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
        broker_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        sign_in(broker_page, app_url, "broker1", "broker-pass-1")
        expect(broker_page.get_by_role("heading", name="匹配审核")).to_be_visible(timeout=30_000)
        broker_page.get_by_role("link", name="通知（1 条未读）").click()
        expect(broker_page.get_by_role("heading", name="通知")).to_be_visible(timeout=30_000)
        expect(broker_page.get_by_text("收到新的揭榜申请").first).to_be_visible(timeout=30_000)
        broker_page.screenshot(path=str(SCREENSHOTS / "walk_6_notifications.png"), full_page=True)
        broker_page.get_by_role("button", name="标为已读").first.click()
        expect(broker_page.get_by_text("未读 0 条")).to_be_visible(timeout=30_000)
        broker_page.get_by_role("link", name="查看").first.click()
        expect(broker_page.get_by_role("heading", name="最佳匹配")).to_be_visible(timeout=30_000)
        expect(broker_page.get_by_text("揭榜申请 1 份", exact=False)).to_be_visible(timeout=30_000)

        broker_page.get_by_role("link", name="成果库").click()
        expect(broker_page.get_by_role("heading", name="成果库")).to_be_visible(timeout=30_000)
        broker_page.get_by_label("关键词").fill(keyword)
        broker_page.get_by_role("button", name="搜索").click()
        expect(broker_page.locator(".st-key-supply-0")).to_contain_text(keyword, timeout=30_000)
        broker_page.screenshot(path=str(SCREENSHOTS / "walk_7_supply_search.png"), full_page=True)
        broker_page.locator(".st-key-supply-0").get_by_role("link", name="查看详情").click()
        expect(broker_page.get_by_role("heading", name="成果详情")).to_be_visible(timeout=30_000)
        assert "listing?id=" in broker_page.url
        expect(broker_page.get_by_text("分享链接")).to_be_visible()
        broker_page.screenshot(path=str(SCREENSHOTS / "walk_8_listing_detail.png"), full_page=True)
        browser.close()

    assert dialogs == []
    assert loaded_warehouse.query("SELECT count(*) AS n FROM applications")[0]["n"] == 1
    assert loaded_warehouse.query(
        "SELECT recipient, read_at IS NOT NULL AS read FROM notifications WHERE kind = 'application'"
    ) == [{"recipient": "broker1", "read": True}]


def test_one_technology_is_one_card_listing_every_source_and_a_broker_splits_it(loaded_warehouse, app_url):
    """Issue 17 in Chromium: a broker sees two cards of one technology and merges them from the
    card's 合并 popover (the decision that wins over the model); the list then shows one card
    listing both sources, and the broker's 拆分 takes the wrong one out again."""
    from jiebang import broker, dedup
    from jiebang.display import listing_number, source_name

    user = add_user(loaded_warehouse, "broker1", "broker-pass-1", "broker", display_name="李经纪")
    first = broker.review_queue_page(loaded_warehouse, user).rows[0]["challenge_id"]  # what the page opens on
    top, copy = loaded_warehouse.query(
        "SELECT m.listing_id, m.rank, l.source, l.kind, l.publication_number FROM matches m"
        " JOIN listings l USING (listing_id) WHERE m.challenge_id = ? AND m.rank <= ? ORDER BY m.rank",
        [first, broker.MATCH_PAGE_SIZE],
    )[:: broker.MATCH_PAGE_SIZE - 1]  # the first card and the last of the screen
    assert top["rank"] == 1

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        sign_in(page, app_url, "broker1", "broker-pass-1")
        card = page.locator(".st-key-match-1")
        expect(card).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)  # the page has settled
        _open_popover(page, card.get_by_role("button", name="同一技术？合并"), f"合并：{source_name(copy['source'])}")
        page.get_by_role("button", name=f"合并：{source_name(copy['source'])} {listing_number(copy)}").click()
        expect(card).to_contain_text("已合并", timeout=30_000)
        expect(page.locator(f".st-key-match-{copy['rank']}")).to_have_count(0)  # one card for the two
        expect(card).to_contain_text("同一技术的其他来源（1）", timeout=30_000)
        expect(card).to_contain_text(source_name(copy["source"]))
        assert page.locator("[class*='st-key-match-']").filter(has_text=source_name(copy["source"])).count() >= 1
        page.screenshot(path=str(SCREENSHOTS / "walk_9_one_card_two_sources.png"), full_page=True)
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)  # the page has settled
        split = _open_popover(
            page, card.get_by_role("button", name="不是同一技术？拆分"), f"拆分：{source_name(copy['source'])}"
        )
        split.click()
        expect(card).to_contain_text("已拆分", timeout=30_000)
        expect(card).not_to_contain_text("同一技术的其他来源")
        browser.close()
    assert dedup.other_sources(loaded_warehouse, top["listing_id"]) == []


def _open_popover(page, trigger, button: str):
    """Open a card's popover and return its `button` (by the start of its name), once in view:
    a popover opened while the page still moved opens off-screen."""
    found = page.get_by_role("button", name=button).first
    for attempt in range(3):
        trigger.evaluate("e => e.scrollIntoView({block: 'center'})")
        trigger.click()
        try:
            expect(found).to_be_in_viewport(timeout=5_000)
            return found
        except AssertionError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    return found
