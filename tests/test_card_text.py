"""What a match card says (issue 16, items 2 and 3): the original text with the matched terms
marked on it, marks only on terms a broker can read, the need's key concepts met or not, and a
score band whose meaning was measured."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jiebang.highlight import escape, split_highlight, to_html, whole_terms
from matching import engine
from matching.engine import Challenge, Listing, build_index, match_challenges
from matching.ranker import BANDS, FEATURES, measured_bands, score_band, shipped_model
from matching.text import normalise, normalise_aligned
from ui import cards

pytestmark = pytest.mark.unit

_MARKS = re.compile(r"</?mark>")


def _marked(parts: list[str], terms: list[str]) -> list[list[tuple[str, bool]]]:
    """Highlight the terms where the engine finds them: in the join of the normalised parts."""
    text = "\n".join(normalise(p) for p in parts)
    return split_highlight(parts, [s for t in terms for s in engine.spans(text, t)])


# --- item 2: the original text, always ---------------------------------------------------------


@pytest.mark.parametrize(
    "text, term, expected",
    [
        (
            "高镍正极LiNi0.9Co0.05Mn0.05O2，-20℃容量保持率≥85%",
            "lini0.9co0.05mn0.05o2",
            [("高镍正极", False), ("LiNi0.9Co0.05Mn0.05O2", True), ("，-20℃容量保持率≥85%", False)],
        ),
        (
            "硅碳负极比容量1850mAh/g，-20℃放电",
            "硅碳",
            [("硅碳", True), ("负极比容量1850mAh/g，-20℃放电", False)],
        ),
        (
            "齿轮钢20CrMnTi渗碳淬火，回火200℃",
            "20crmnti",
            [("齿轮钢", False), ("20CrMnTi", True), ("渗碳淬火，回火200℃", False)],
        ),
        (
            "家具涂装须满足CARB / VOC / PU漆标准（≤420g/L，25℃测）",
            "voc",
            [("家具涂装须满足CARB / ", False), ("VOC", True), (" / PU漆标准（≤420g/L，25℃测）", False)],
        ),
        ("耐低温-40℃", "°c", [("耐低温-40", False), ("℃", True)]),  # a term inside one original character
        ("ＢＭＳ鋰離子電池", "锂离子电池", [("ＢＭＳ", False), ("鋰離子電池", True)]),
    ],
    ids=["cathode formula", "mAh/g", "steel grade", "firm's CARB/VOC/PU漆", "℃ itself", "full width, traditional"],
)
def test_a_card_shows_the_original_text_with_the_term_marked_on_it(text, term, expected):
    [pieces] = _marked([text], [term])
    assert pieces == expected


def test_spans_after_a_part_whose_normalised_length_differs_land_on_the_right_words():
    title, body = "耐温-40℃～85℃的SAW滤波器", "TC-SAW工艺，频偏≤10ppm/℃"
    marked = _marked([title, body], ["saw", "滤波器", "工艺"])
    assert [t for t, hit in marked[0] if hit] == ["SAW滤波器"]
    assert [t for t, hit in marked[1] if hit] == ["SAW工艺"]  # touching terms are one mark
    assert "".join(t for t, _ in marked[1]) == body


def test_a_cut_part_is_cut_in_its_original_text():
    [pieces] = split_highlight(["20CrMnTi齿轮钢，200℃回火"], [[0, 8]], limits=[10])
    assert pieces == [("20CrMnTi", True), ("齿轮", False), ("…", False)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=60), min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 12)), max_size=6),
)
@example(["-20℃ ﬁ Ⅱ ＶＯＣ", "20CrMnTi"], [(0, 5), (8, 3)])
@example(["e\u0301\u0301x 乾隆 臺灣", "İstanbul ΑΣ"], [(0, 4), (3, 6)])
def test_the_rendered_text_without_marks_is_the_escaped_original(parts, raw_spans):
    spans = [[start, start + length] for start, length in raw_spans]
    for part, pieces in zip(parts, split_highlight(parts, spans), strict=True):
        assert _MARKS.sub("", to_html(pieces)) == f'<div class="jb-text">{escape(part)}</div>'


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
@example("-20℃ ﬁ ＶＯＣ 鋰")
def test_every_normalised_character_comes_from_original_characters(text):
    shown, starts, ends = normalise_aligned(text)
    assert shown == normalise(text) and len(starts) == len(ends) == len(shown)
    assert all(0 <= s <= e <= len(text) for s, e in zip(starts, ends, strict=True))
    assert starts == sorted(starts) and ends == sorted(ends)


# --- item 3: marks a broker can read, key concepts, what a score means -------------------------


def test_single_characters_are_marked_only_where_they_are_a_whole_term():
    text = "轮毂电机跑偏，差速器易损；镍基合金、钛"
    singles = [(i, i + 1) for i, c in enumerate(text) if c in "轮跑差易镍钛"]
    kept = whole_terms(text, [*singles, (0, 4)])
    assert [text[s:e] for s, e in kept] == ["镍", "钛", "轮毂电机"]
    [pieces] = split_highlight([text], [list(s) for s in singles])
    assert [t for t, hit in pieces if hit] == ["镍", "钛"]


def test_a_match_lists_the_need_key_concepts_it_meets_and_those_it_lacks():
    index = build_index(
        [
            Listing("L1", "基于深度学习的注塑件外观缺陷检测系统", "卷积神经网络识别缩痕、银丝。"),
            Listing("L2", "服装拉链头自动装配机", "拉链头、拉片自动上料与装配。"),
        ]
    )
    need = Challenge("C1", "注塑件外观缺陷检测", "注塑件缩痕、银丝、划伤的深度学习检测，漏检率低于0.5%")
    [top, *_] = match_challenges(index, [need], top_k=1)
    concepts = [t for t in top.matched_terms if t["key_concept"]]
    assert {t["term"] for t in concepts} == set(top.concepts)
    lacking = {t["term"] for t in concepts if t.get("met") is False}
    assert "划伤" in lacking and "银丝" not in lacking  # the listing names 银丝, not 划伤
    assert all(not t.get("listing_spans") and not t.get("challenge_spans") for t in concepts if t["term"] in lacking)
    lines = cards.explanation_lines(
        {"matched_terms": json.loads(json.dumps(top.matched_terms))},
        {"title": need.title, "description": need.description},
    )
    met = len(concepts) - len(lacking)
    assert lines[0].startswith(f"需求关键概念（本条满足 {met}/{len(concepts)}）：")
    assert "✗ 划伤" in lines[0] and "✓ 银丝" in lines[0]


def test_terms_are_listed_as_the_need_writes_them_and_stored_single_characters_are_dropped():
    need = {"title": "齿轮钢20CrMnTi渗碳（200℃）", "description": "轮毂跑偏"}
    text = normalise(need["title"]) + "\n" + normalise(need["description"])
    stored = {
        "matched_terms": [
            {"term": "20crmnti", "key_concept": True, "challenge_spans": engine.spans(text, "20crmnti")},
            {"term": "跑", "key_concept": False, "challenge_spans": engine.spans(text, "跑")},
            {"term": "渗碳", "key_concept": False, "challenge_spans": engine.spans(text, "渗碳")},
        ]
    }
    assert cards.explanation_lines(stored, need) == ["命中需求关键概念：✓ 20CrMnTi", "其他命中词：渗碳"]


def test_the_score_band_states_the_share_measured_out_of_fold():
    bands = shipped_model().meta["bands"]
    assert [b["band"] for b in bands] == [name for name, _ in BANDS]
    high, middle, low = (b["relevant"] for b in bands)
    assert high > middle > low  # the calibration orders them
    assert score_band(72) == f"高（≥50）：约 {round(high * 10)}/10 相关"
    assert score_band(30) == f"中（20–50）：约 {round(middle * 10)}/10 相关"
    assert score_band(4).startswith("低（<20）：")
    assert "仅真实企业需求" in cards.score_help()


def test_measured_bands_are_the_weighted_share_of_relevant_pairs_per_band():
    scores = np.array([90, 60, 55, 30, 25, 5, 1])
    relevant = np.array([1, 1, 0, 1, 0, 0, 0])
    weight = np.array([1, 1, 2, 1, 1, 1, 1])
    bands = measured_bands(scores, relevant, weight, ["a", "a", "b", "a", "a", "b", "b"])
    assert [(b["band"], b["pairs"], b["relevant"]) for b in bands] == [("高", 3, 0.5), ("中", 2, 0.5), ("低", 2, 0.0)]
    assert bands[0]["by_set"] == {"a": 1.0, "b": 0.0}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 60, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=6))
def test_the_parts_shown_add_up_to_the_score_shown(values):
    parts = {f"p{i}": v for i, v in enumerate(values)}
    score = round(sum(values), 2)
    shown = cards.whole_parts(parts, score)
    assert sum(shown.values()) == round(score)
    line = cards.score_lines(score, parts)[1]
    assert line.endswith(f"= {round(score)}")


def test_the_industry_part_is_never_shown_while_industry_is_no_evidence():
    """行业一致 gave nearly every candidate the same points: now the feature is a constant the
    model gives no weight (it lowered market_dev's nDCG@10), so no card shows it."""
    model = shipped_model()
    assert model.weights[list(FEATURES).index("industry")] == 0
    index = build_index(
        [
            Listing("L1", "锂离子电池三元正极材料", "高镍三元正极，循环寿命提升", field="新能源新材料"),
            Listing("L2", "服装拉链头自动装配机", "拉链头自动上料", field="时尚纺织"),
        ]
    )
    matches = match_challenges(index, [Challenge("C", "三元正极循环寿命", "高镍正极循环寿命不够")], top_k=2)
    assert matches and all("行业一致" not in m.parts for m in matches)


def test_a_term_is_listed_as_matched_when_the_need_changed_since():
    stale = {"matched_terms": [{"term": "20crmnti", "key_concept": True, "challenge_spans": [[0, 8]]}]}
    edited = {"title": "新标题：齿轮钢渗碳", "description": "20CrMnTi"}
    assert cards.explanation_lines(stale, edited) == ["命中需求关键概念：✓ 20crmnti"]
