"""The matching engine: tokenisation, score parts, exclusions, and ranking properties."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.engine import Challenge, Listing, build_index, match_challenges
from matching.ranker import PART_LABELS
from matching.text import normalise, tokenize

pytestmark = pytest.mark.unit

CORPUS = [
    Listing(
        "L1",
        "一种锂离子电池三元正极材料及其制备方法",
        "本发明公开了一种高镍三元正极材料，循环寿命提升30%，采用共沉淀法制备前驱体。",
        field="新能源新材料",
    ),
    Listing(
        "L2",
        "燃料电池金属双极板涂层",
        "在不锈钢双极板表面沉积碳基涂层，接触电阻低于5mΩ·cm²，耐腐蚀。",
        field="新能源新材料",
    ),
    Listing("L3", "服装拉链头自动装配机", "拉链头、拉片自动上料与装配，效率每分钟60件。", field="时尚纺织"),
    Listing(
        "L4",
        "基于深度学习的注塑件外观缺陷检测系统",
        "工业相机采集图像，卷积神经网络识别缩痕、银丝、划伤。",
        field="新一代信息技术",
    ),
    Listing("L5", "电池管理系统BMS均衡电路", "主动均衡拓扑，SOC估算误差小于3%。", field="新能源新材料"),
]


@pytest.mark.parametrize(
    "description, text, expected",
    [
        ("need language removed", "我公司急需解决锂电池问题", ["锂电池"]),
        ("full width folded, latin lower-cased", "ＢＭＳ电池管理系统", ["bms", "电池管理系统"]),
        ("domain term kept whole", "质子交换膜燃料电池", ["质子交换膜", "燃料电池"]),
        ("patent boilerplate removed", "本发明公开了一种双极板", ["双极板"]),
        (
            "bare numbers and units dropped, codes kept",
            "插损<0.5dB，5G基站，20CrMnTi",
            ["插", "损", "5g", "基站", "20crmnti"],
        ),
        ("traditional folded to simplified", "鋰離子電池", ["锂离子电池"]),
        ("single Chinese characters kept, function words dropped", "钛、镀；和", ["钛", "镀"]),
        ("Latin runs split from Chinese", "h01m8燃料电池98%", ["h01m8", "燃料电池"]),
    ],
)
def test_tokenize(description, text, expected):
    assert tokenize(text) == expected, description


def test_normalise_is_idempotent_on_mixed_text():
    text = "ＩＧＢＴ模块，耐压１２００Ｖ"
    assert normalise(normalise(text)) == normalise(text) == "igbt模块,耐压1200v"


def test_the_relevant_listing_ranks_first_with_explained_parts():
    index = build_index(CORPUS)
    challenge = Challenge(
        "C1",
        "注塑外壳外观缺陷检测",
        "人工目检漏检，缩痕、银丝、划伤识别，希望用深度学习视觉检测",
        field="新一代信息技术",
    )
    matches = match_challenges(index, [challenge], top_k=3)
    assert matches[0].listing_id == "L4"
    assert [m.rank for m in matches] == list(range(1, len(matches) + 1))
    top = matches[0]
    assert round(sum(top.parts.values()), 2) == top.score
    assert top.score > 50 > max((m.score for m in matches[1:]), default=0)  # it, and a clear gap
    assert {"银丝", "划伤"} <= set(top.concepts)  # the need's key concepts …
    assert {t["term"] for t in top.matched_terms if t["key_concept"]} >= {"银丝", "划伤"}  # … met by the listing
    terms = {t["term"] for t in top.matched_terms}
    assert {"银丝", "划伤", "深度学习"} <= terms
    hit = next(t for t in top.matched_terms if t["term"] == "银丝")
    start, end = hit["listing_spans"][0]
    assert (CORPUS[3].title + "\n" + CORPUS[3].abstract)[start:end] == "银丝"
    start, end = hit["challenge_spans"][0]
    assert (challenge.title + "\n" + challenge.description)[start:end] == "银丝"


def test_rejected_pairs_never_come_back():
    index = build_index(CORPUS)
    challenge = Challenge("C2", "锂电池正极材料与电池管理系统", "三元正极循环寿命不够，BMS均衡也要改进")
    first = match_challenges(index, [challenge], top_k=5)
    assert {"L1", "L5"} <= {m.listing_id for m in first}
    rejected = first[0].listing_id
    again = match_challenges(index, [challenge], top_k=5, exclude={("C2", rejected)})
    assert rejected not in {m.listing_id for m in again}
    assert {"L1", "L5"} - {rejected} <= {m.listing_id for m in again}  # the others are still proposed


def test_an_unrelated_challenge_scores_low_and_a_related_one_high():
    index = build_index(CORPUS)
    challenge = Challenge(
        "C3",
        "名优茶嫩芽采摘机器人",
        "名优茶手工采摘成本高、招工难，采摘效率每分钟不到20芽。"
        "希望研发嫩芽识别与柔性采摘末端，完整率95%以上，适应丘陵坡地茶园。",
    )
    matches = match_challenges(index, [challenge], top_k=5)
    assert matches, "generic words (效率, 每分钟, 识别) still retrieve candidates"
    related = match_challenges(index, [Challenge("C4", "外观缺陷检测", "注塑件缩痕、银丝、划伤的深度学习检测")])
    assert max(m.score for m in matches) < 40 < related[0].score
    assert not related[0].no_good_match


def test_a_single_character_is_never_shown_as_evidence():
    index = build_index(CORPUS)
    [top, *_] = match_challenges(index, [Challenge("C5", "拉链头装配", "拉片上料慢，装配机效率低")], top_k=3)
    assert top.listing_id == "L3"
    assert all(len(t["term"]) >= 2 for t in top.matched_terms)


_chinese = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=4, max_size=40)


@settings(max_examples=30, deadline=None)
@given(title=_chinese, abstract=_chinese, field=st.sampled_from([None, "生命健康", "时尚纺织"]))
def test_scores_stay_in_range_and_parts_add_up_and_the_identical_listing_ranks_first(title, abstract, field):
    index = build_index([*CORPUS, Listing("X", title, abstract, field=field)])
    matches = match_challenges(index, [Challenge("Q", title, abstract, field)], top_k=10)
    for match in matches:
        assert 0 <= match.score <= 100
        assert match.score == round(sum(match.parts.values()), 2)
        assert set(match.parts) <= set(PART_LABELS.values())
    assert matches[0].listing_id == "X" and matches[0].score >= 50


@settings(max_examples=30, deadline=None)
@given(listing=st.sampled_from(CORPUS))
def test_a_listing_identical_to_the_challenge_ranks_first_with_a_high_score(listing):
    index = build_index(CORPUS)
    challenge = Challenge("same", listing.title, listing.abstract, listing.field)
    top = match_challenges(index, [challenge], top_k=3)[0]
    assert top.listing_id == listing.listing_id and top.score >= 70


@pytest.mark.parametrize(
    ("term", "text", "found"),
    [
        ("ai", "chain drive 链传动", False),
        ("ai", "基于ai的缺陷检测", True),
        ("pc", "pcb板", False),
        ("pc", "阻燃pc外壳", True),
        ("bms", "bms系统", True),
        ("锂电池", "动力锂电池组", True),
        ("5g", "15g", False),
    ],
)
def test_latin_terms_count_only_as_whole_words(term, text, found):
    from matching.engine import Query

    assert Query(Challenge("Q", term), term, {term: 1.0}).occurs(term, text) is found
