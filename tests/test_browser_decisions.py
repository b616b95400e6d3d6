"""Issue 12 (1): in Chromium, every decision lands on the challenge and the listing the page showed
when the broker clicked, also after a decision has changed the queue's counts and order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect, sync_playwright

from jiebang.accounts import add_user
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from warehouse import queries

from .test_browser_walk import sign_in

pytestmark = pytest.mark.system

TIMEOUT = 30_000


def _settle(page) -> None:
    """Wait until Streamlit has finished the rerun a click started."""
    page.wait_for_timeout(300)  # the rerun request leaves the browser before the status widget shows
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=TIMEOUT)
    expect(page.locator("[data-stale='true']")).to_have_count(0, timeout=TIMEOUT)  # no element of the last run


def _selector(page):
    return page.get_by_test_id("stSelectbox").filter(has_text="需求（共")


def _selected(page) -> str:
    """What the challenge selector shows as chosen (its text, or its search input's value)."""
    return _selector(page).evaluate(
        "e => e.innerText + ' ' + [...e.querySelectorAll('input')].map(i => i.value || i.placeholder).join(' ')"
    )


def _header(page):
    return page.get_by_test_id("stMainBlockContainer").locator("h3").first


def _shown(page, rank: int) -> tuple[str, str]:
    """The challenge title in the page's header and the text of the card at `rank`."""
    header = _header(page).inner_text().strip()
    return header, page.locator(f".st-key-match-{rank}").inner_text()


def _decide(page, rank: int, button: str) -> tuple[str, str]:
    shown = _shown(page, rank)
    card = page.locator(f".st-key-match-{rank}")
    card.get_by_role("button", name=button, exact=True).click()
    expect(card.get_by_test_id("stAlertContentSuccess")).to_be_visible(timeout=TIMEOUT)
    _settle(page)
    return shown


def _switch(page, avoid: list[str]) -> str:
    """Choose the first challenge in the selector whose title is not in `avoid`; its label."""
    _selector(page).scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # a popover opened while the page still scrolls closes again
    _selector(page).get_by_role("combobox").click()
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=TIMEOUT)
    target = next(o for o in options.all() if not any(title in o.inner_text() for title in avoid))
    label = target.inner_text()
    target.click()
    title = re.sub(r"^\S+\s+", "", label.split("·")[0].strip())  # the 需求编号 first, then the title
    expect(_header(page)).to_have_text(title, timeout=TIMEOUT)  # the selector and the page agree
    _settle(page)
    return title


def _follow_up(page, rank: int, decision: str) -> tuple[str, str]:
    """A follow-up (已联系 / 意向 / 回访) through the card's form."""
    shown = _shown(page, rank)
    card = page.locator(f".st-key-match-{rank}")
    card.get_by_text("跟进与备注").click()
    card.get_by_text(decision, exact=True).click()
    card.get_by_role("button", name="提交", exact=True).click()
    expect(card.get_by_text(f"已记录：{decision}")).to_be_visible(timeout=TIMEOUT)
    _settle(page)
    return shown


def test_decisions_land_on_the_challenge_and_listing_on_screen(loaded_warehouse, app_url):
    add_user(loaded_warehouse, "broker1", "broker-pass-1", "broker", display_name="李经纪")
    queue = queries.challenge_match_counts(loaded_warehouse)
    assert len(queue) >= 3
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clicked: list[tuple[str, str, str]] = []  # (header, card text, decision) as the page showed them

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        sign_in(page, app_url, "broker1", "broker-pass-1")
        expect(page.get_by_role("heading", name="匹配审核")).to_be_visible(timeout=TIMEOUT)
        expect(page.locator(".st-key-match-1")).to_be_visible(timeout=TIMEOUT)
        _settle(page)

        # switch to a challenge through the selector, decide, decide again (each decision changes the
        # queue's counts and may reorder it), switch again, decide.
        for _ in range(2):
            target_title = _switch(page, avoid=[_shown(page, 1)[0], *(header for header, _, _ in clicked)])
            for rank in (1, 2, 3):
                clicked.append((*_decide(page, rank, "入围"), "shortlist"))
                assert _shown(page, 1)[0] == target_title  # the page stays on the challenge chosen
            clicked.append((*_follow_up(page, 2, "意向"), "intent"))
            assert _shown(page, 1)[0] == target_title
            assert target_title in _selected(page)
        page.screenshot(path=str(SCREENSHOTS / "broker_decisions.png"), full_page=True)
        browser.close()

    titles = {c["title"]: c["challenge_id"] for c in queries.challenge_match_counts(loaded_warehouse)}
    expected = []
    for header, card, decision in clicked:
        challenge_id = titles[header]
        matches = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=20)
        title = card.strip().splitlines()[0].split(". ", 1)[1]  # the card's first line: "rank. title"
        listing = next((m for m in matches if m["title"] == title), None)  # the card the broker clicked on
        assert listing is not None, (title, [m["title"] for m in matches])
        expected.append((challenge_id, listing["listing_id"], decision))
    stored = [
        (r["challenge_id"], r["listing_id"], r["decision"])
        for r in loaded_warehouse.query("SELECT challenge_id, listing_id, decision FROM reviews ORDER BY review_id")
    ]
    assert stored == expected
    assert len({c for c, _, _ in stored}) == 2
