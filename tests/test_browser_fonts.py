"""Issue 16 (7) in Chromium: "-20℃" shows its ℃. With the theme's default font stack the browser
took ℃ after a digit from a font without it and drew nothing; the app's CJK font stack (Noto Sans
CJK SC first, as scripts/system-deps.sh installs) draws it."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from warehouse import store

pytestmark = pytest.mark.system
TIMEOUT = 30_000
TITLE = "动力电池包-20℃低温启动加热方案"

# Where the heading draws each of some characters: the box of its first occurrence in the text.
BOXES = """
(element) => {
  const out = {fontFamily: getComputedStyle(element).fontFamily};
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    for (const ch of ["0", "℃", "低"]) {
      const at = node.data.indexOf(ch);
      if (at >= 0 && !(ch in out)) {
        const range = document.createRange();
        range.setStart(node, at); range.setEnd(node, at + 1);
        const r = range.getBoundingClientRect();
        out[ch] = {x: r.x, y: r.y, width: r.width, height: r.height};
      }
    }
  }
  return out;
}
"""


def _ink(image: Image.Image, box: dict) -> int:
    """Pixels the browser drew dark inside a character's box."""
    left, top = math.floor(box["x"]), math.floor(box["y"])
    right, bottom = math.ceil(box["x"] + box["width"]), math.ceil(box["y"] + box["height"])
    return sum(image.crop((left, top, right, bottom)).histogram()[:128])


def _boxes_and_shot(page, heading) -> tuple[dict, Image.Image]:
    """The characters' boxes and one screenshot of the viewport taken while they stayed put: a
    page still settling (a rerun, a late layout) moved the heading between measuring a box and
    photographing it, and the box held no ink (seen on a busy machine)."""
    for _ in range(40):
        boxes = heading.evaluate(BOXES)
        png = page.screenshot()
        if heading.evaluate(BOXES) == boxes:
            return boxes, Image.open(io.BytesIO(png)).convert("L")
        page.wait_for_timeout(250)
    raise AssertionError("the heading kept moving for 10 s")


def test_the_degree_sign_after_a_digit_is_drawn_in_chromium(loaded_warehouse, app_url):
    store.upsert_challenges(
        loaded_warehouse,
        [
            {
                "challenge_id": "jsmarket:/xq/celsius",
                "title": TITLE,
                "description": "电池包在-20℃下无法启动，希望-20℃环境下10分钟内加热到5℃。",
                "source": "jiashan_market",
                "deadline": "2099-12-31",
            }
        ],
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url)
        page.get_by_role("link", name="全球破题").click()
        heading = page.get_by_role("heading", name=TITLE)
        expect(heading).to_be_visible(timeout=TIMEOUT)
        page.wait_for_load_state("networkidle")
        page.evaluate("document.fonts.ready")
        boxes, shot = _boxes_and_shot(page, heading)
        ink = {ch: _ink(shot, boxes[ch]) for ch in ("0", "℃", "低")}
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        heading.screenshot(path=str(SCREENSHOTS / "celsius_heading.png"))
        browser.close()

    # ℃ is drawn where the text puts it, with about the ink of a digit (the old stack left a blank box)
    assert boxes["℃"]["width"] > 0 and ink["0"] > 0 and ink["低"] > 0, (boxes, ink)
    assert ink["℃"] > 0.5 * ink["0"], (boxes, ink)
    assert boxes["fontFamily"].startswith('"Noto Sans CJK SC"'), boxes["fontFamily"]
