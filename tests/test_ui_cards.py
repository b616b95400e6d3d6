"""A match card on the broker page (issue 16, items 2 and 3) under AppTest: the engine's own
matches of a need and a listing whose normalised text differs from what was written."""

from __future__ import annotations

import re

import pytest

from matching.engine import Challenge, Listing, build_index, match_challenges
from matching.ranker import score_band
from tests.test_ui import BROKER, _open, _seeded
from warehouse import store

pytestmark = pytest.mark.integration

NEED = {
    "challenge_id": "card:/1",
    "title": "齿轮钢20CrMnTi渗碳淬火变形大",
    "description": "我公司生产20CrMnTi齿轮，渗碳淬火后变形超差，-20℃冲击韧性不足。希望找到控制渗碳淬火变形的工艺。",
    "source": "card",
}
LISTING = {
    "listing_id": "card-listing",
    "kind": "patent",
    "title": "一种20CrMnTi齿轮渗碳淬火变形控制方法",
    "abstract": "本发明针对20CrMnTi齿轮钢，采用分段渗碳与压床淬火，变形量降低60%，在-40℃仍保持冲击韧性。",
    "claims": "",
    "url": "https://example.org/card-listing",
    "source": "card",
}


def test_the_card_shows_the_original_text_key_concepts_and_what_the_score_means(tmp_path):
    wh = _seeded(tmp_path)
    store.upsert_challenges(wh, [NEED])
    store.upsert_listings(wh, [LISTING])
    index = build_index([Listing.from_record(LISTING)])
    [match] = match_challenges(index, [Challenge.from_record(NEED)], top_k=1)
    store.replace_matches(wh, "cards", [NEED["challenge_id"]], [match.as_record()])

    opened = {f"original|{NEED['challenge_id']}|{LISTING['listing_id']}": True}  # the need's text, drawn while open
    at = _open("broker.py", wh, BROKER, broker_challenge=NEED["challenge_id"], **opened)
    assert not at.exception
    html = [m.value for m in at.markdown if m.proto.allow_html]
    shown = [re.sub(r"</?mark>|<[^>]+>", "", h) for h in html]
    # the listing and the need as written: 20CrMnTi and ℃, never 20crmnti or °c
    assert any("<mark>20CrMnTi" in h for h in html), html
    assert not any("20crmnti" in h or "°c" in h for h in html)
    assert any("&#45;40℃" in h for h in shown) and any("&#45;20℃" in h for h in shown)
    captions = [c.value for c in at.caption]
    concepts = next(c for c in captions if c.startswith("需求关键概念（本条满足 "))
    assert "✓ 20CrMnTi" in concepts  # as the need writes it
    met = sum(1 for t in match.matched_terms if t.get("key_concept") and t.get("met", True))
    assert f"满足 {met}/{len(match.concepts)}）" in concepts
    assert score_band(match.score) in captions
    parts_line = next(c for c in captions if c.endswith(f"= {round(match.score)}"))
    assert sum(int(n) for n in re.findall(r" (\d+)(?= \+| =)", parts_line)) == round(match.score)
