"""Signals, synonyms, metrics and the on-disk index: the pieces under the engine."""

from datetime import date

import pytest

from matching import signals
from matching.engine import Challenge, Listing, build_index, match_challenges
from matching.evaluation import evaluate, ndcg_at, precision_at, recall_at, reciprocal_rank
from matching.index import ListingIndex
from matching.text import chinese_number, normalise
from matching.vocabulary import synonym_map

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 26)


@pytest.mark.parametrize(
    "description, fit, expected",
    [
        ("same stated industry", signals.field_fit("生命健康", "生命健康", ()), 1.0),
        ("industry from IPC", signals.field_fit("新能源新材料", None, ("H01M8/0228", "C25B1/04")), 1.0),
        ("other industry from IPC", signals.field_fit("时尚纺织", None, ("A61K38/00",)), 0.0),
        ("nothing to compare", signals.field_fit(None, "生命健康", ()), None),
        ("产业化 fits best", signals.maturity_fit("产业化"), 1.0),
        ("实验室 fits least", signals.maturity_fit("实验室"), 0.25),
        ("price within 榜额", signals.price_fit(100, 80), 1.0),
        ("price up to twice", signals.price_fit(100, 180), 0.5),
        ("price far above", signals.price_fit(100, 500), 0.0),
        ("面议 is neutral", signals.price_fit(100, None), None),
        ("both in the delta", signals.region_fit("浙江省嘉兴市嘉善县", "上海大学"), 1.0),
        ("solver outside the delta", signals.region_fit("浙江省嘉兴市嘉善县", "四川大学 成都"), 0.0),
        ("expired patent", signals.status_fit("Expired - Fee Related", date(2024, 1, 1), TODAY), 0.0),
        ("recent patent", signals.status_fit("Active", date(2023, 5, 1), TODAY), 1.0),
        ("CNIPR 无效", signals.status_fit("无效", date(2023, 5, 1), TODAY), 0.0),
        ("USPTO abandoned", signals.status_fit("Abandoned -- Failure to Respond", date(2023, 5, 1), TODAY), 0.0),
        (
            "an invalidation request is pending, not decided",
            signals.status_fit("有效 无效宣告请求审查中", date(2023, 5, 1), TODAY),
            1.0,
        ),
        ("twenty-year-old publication fades to half", signals.status_fit(None, date(2006, 11, 26), TODAY), 0.5),
        ("same cooperation mode", signals.cooperation_fit("技术转让", "技术转让"), 1.0),
    ],
)
def test_signals(description, fit, expected):
    assert fit == pytest.approx(expected) if expected is not None else fit is None, description


@pytest.mark.parametrize(
    "text, expected",
    [("榜额50万元", 500_000.0), ("产能2万吨/年", 20_000.0), ("约3.5亿元", 3.5e8), ("面议", None)],
)
def test_chinese_numbers(text, expected):
    assert chinese_number(text) == expected


def test_synonyms_are_symmetric_and_drive_matching():
    synonyms = synonym_map()
    assert "电池管理系统" in synonyms["bms"] and "bms" in synonyms["电池管理系统"]
    index = build_index([Listing("A", "电池管理系统的主动均衡电路", "均衡电流2a"), Listing("B", "拉链头装配", "拉链")])
    top = match_challenges(index, [Challenge("C", "BMS均衡", "动力电池包BMS均衡电流太小")], top_k=1)[0]
    assert top.listing_id == "A"
    assert {"term": "bms", "listing_term": "电池管理系统"}.items() <= next(
        t for t in top.matched_terms if t["term"] == "bms"
    ).items()


@pytest.mark.parametrize(
    "symptom, remedy, listing",
    [
        ("发黄", "耐黄变", "一种耐黄变聚碳酸酯组合物"),
        ("生锈", "防锈", "轴承套圈防锈处理工艺"),
        ("鼓包", "抑制产气", "抑制产气的锂电池电解液添加剂"),
    ],
)
def test_a_symptom_finds_the_listing_that_names_its_remedy(symptom, remedy, listing):
    assert remedy in synonym_map()[symptom] and symptom not in synonym_map().get(remedy, ())
    index = build_index([Listing("A", listing), Listing("B", "拉链头装配", "拉链"), Listing("C", "光伏组件清洗")])
    top = match_challenges(index, [Challenge("C1", f"产品{symptom}", f"我们的产品使用半年后{symptom}")], top_k=1)[0]
    assert top.listing_id == "A"
    found = next(t for t in top.matched_terms if t["term"] == symptom)["listing_term"]
    assert found in synonym_map()[symptom] and found in listing


def test_normalise_keeps_chinese_length_so_spans_fit_the_original():
    original = "鋰離子電池正極材料，ＮＣＭ８１１"
    assert len(normalise(original)) == len(original)


@pytest.mark.parametrize(
    "description, ranked, grades, metric, expected",
    [
        ("perfect nDCG", ["a", "b"], {"a": 2, "b": 1}, ndcg_at, 1.0),
        ("swapped nDCG", ["b", "a"], {"a": 2, "b": 1}, ndcg_at, (1 + 2 / 1.5849625) / (2 + 1 / 1.5849625)),
        ("P@5 counts grade ≥ 1", ["a", "x", "b", "y", "z"], {"a": 2, "b": 1}, precision_at, 0.4),
        ("MRR of first relevant", ["x", "y", "a"], {"a": 1}, reciprocal_rank, 1 / 3),
        ("recall@50", ["a"], {"a": 2, "b": 1}, recall_at, 0.5),
    ],
)
def test_metrics(description, ranked, grades, metric, expected):
    assert metric(ranked, grades) == pytest.approx(expected), description


def test_evaluate_skips_challenges_without_relevant_items():
    scores = evaluate({"q1": ["a"], "q2": ["b"]}, {"q1": {"a": 2}, "q2": {"b": 0}})
    assert scores.evaluated == 1 and scores.mrr == 1.0


LISTINGS = [
    Listing("P1", "一种燃料电池金属双极板涂层", "碳基涂层，接触电阻低，耐腐蚀"),
    Listing("P2", "锂离子电池硅碳负极", "首效90%，膨胀率低"),
    Listing("P3", "谐波减速器柔轮", "双圆弧齿形，疲劳寿命提升"),
]
FUEL_CELL = Challenge("C1", "双极板涂层耐蚀", "燃料电池金属双极板腐蚀快，接触电阻高")


def test_index_saved_and_loaded_memory_mapped_answers_the_same(tmp_path):
    index = build_index(LISTINGS)
    index.save(tmp_path / "idx")
    loaded = ListingIndex.load(tmp_path / "idx", mmap=True)
    assert len(loaded) == 3
    before = [(m.listing_id, m.score) for m in match_challenges(index, [FUEL_CELL], top_k=3)]
    after = [(m.listing_id, m.score) for m in match_challenges(loaded, [FUEL_CELL], top_k=3)]
    assert before == after and before[0][0] == "P1"


def test_adding_listings_needs_no_rebuild_and_masks_old_copies(tmp_path):
    index = build_index(LISTINGS)
    index.save(tmp_path / "idx")
    index = ListingIndex.load(tmp_path / "idx")
    changed = Listing("P1", "拉链头自动装配机", "拉链头上料")  # P1 now says something else
    new = Listing("P4", "燃料电池双极板激光焊接", "金属双极板焊接，耐腐蚀涂层")
    assert index.add([changed, new]) == 2
    assert len(index.segments) == 2 and len(index) == 4
    index.save(tmp_path / "idx")
    reloaded = ListingIndex.load(tmp_path / "idx")
    ranked = [m.listing_id for m in match_challenges(reloaded, [FUEL_CELL], top_k=4)]
    assert ranked[0] == "P4"
    assert ranked.count("P1") <= 1  # the old copy is masked: P1 is never found twice
    assert reloaded.listing("P1").title == "拉链头自动装配机"
    compacted = reloaded.compact(tmp_path / "compact")
    assert len(compacted.segments) == 1 and len(compacted) == 4
    assert [m.listing_id for m in match_challenges(compacted, [FUEL_CELL], top_k=1)] == ["P4"]


def test_removed_listings_are_not_proposed():
    index = build_index(LISTINGS)
    index.remove(["P1"])
    assert "P1" not in {m.listing_id for m in match_challenges(index, [FUEL_CELL], top_k=3)}


def test_segments_built_in_parallel_answer_like_one_process(tmp_path):
    serial = ListingIndex()
    serial.add(LISTINGS, segment_size=1)
    parallel = ListingIndex()
    parallel.add(LISTINGS, segment_size=1, workers=2, folder=tmp_path / "idx")
    parallel.save(tmp_path / "idx")
    assert len(parallel.segments) == 3
    reloaded = ListingIndex.load(tmp_path / "idx")
    expected = [(m.listing_id, m.score) for m in match_challenges(serial, [FUEL_CELL], top_k=3)]
    assert [(m.listing_id, m.score) for m in match_challenges(reloaded, [FUEL_CELL], top_k=3)] == expected
