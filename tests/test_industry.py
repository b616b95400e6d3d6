"""Field and sense agreement (matching.industry): the classifier, the field rules, agreement."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import industry
from matching.industry import CATEGORIES, agreement, classify, listing_industry, need_industry

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text, expected",
    [
        ("水稻种植", {"现代农业"}),
        ("锂电池正极材料", {"新能源", "新材料"}),
        ("数控机床加工中心主轴的自动化装备", {"装备制造"}),
        ("抗肿瘤药物", {"生物医药"}),
        ("汽车悬架减振器", {"交通运输"}),
        ("污水处理", {"资源环保"}),
        ("图像识别与物联网平台", {"电子信息"}),
    ],
)
def test_obvious_texts_get_their_category(text, expected):
    assert industry.top_category(classify(text))[0] in expected


def test_an_achievements_own_field_wins_over_its_text():
    p = listing_industry("achievement", "生物医药-中药", None, "锂电池正极材料", "磷酸铁锂")
    assert p == {"生物医药": 1.0}


def test_a_need_naming_a_category_or_a_priority_industry_keeps_it():
    assert need_industry("装备制造", "水稻种植", "") == {"装备制造": 1.0}
    p = need_industry("新一代信息技术", "水稻种植", "")
    assert industry.top_category(p) == ("电子信息", pytest.approx(1.0, abs=0.05))


def test_a_patents_ipc_gives_the_prior_and_the_text_sharpens_it():
    p = listing_industry("patent", None, ["H01M 4/58"], "一种正极材料", "")
    assert industry.top_category(p)[0] == "新能源"
    assert industry.ipc_distribution(["A01G 22/22"]) == {"现代农业": 1.0}
    assert industry.ipc_distribution(["Z99"]) is None


def test_a_coarse_sector_only_tilts_the_text():
    text_only = need_industry(None, "木薯酒糟制备有机肥", "水稻种植施肥")
    with_sector = need_industry("制造业", "木薯酒糟制备有机肥", "水稻种植施肥")
    assert industry.top_category(text_only)[0] == industry.top_category(with_sector)[0] == "现代农业"
    assert with_sector["现代农业"] < text_only["现代农业"]


def test_every_priority_industry_and_category_maps_both_ways():
    from matching.vocabulary import PRIORITY_INDUSTRIES

    assert set(industry.CATEGORY_INDUSTRY) == set(CATEGORIES)
    assert set(industry.CATEGORY_INDUSTRY.values()) <= {*PRIORITY_INDUSTRIES, industry.OTHER}
    for name in PRIORITY_INDUSTRIES:
        spread = industry.INDUSTRY_CATEGORIES[name]
        assert set(spread) <= set(CATEGORIES) and sum(spread.values()) == pytest.approx(1.0)


def test_the_ipc_prefixes_of_the_priority_industries_fall_in_their_categories():
    from matching.signals import IPC_INDUSTRIES

    for prefix, name in IPC_INDUSTRIES.items():
        if prefix == "C02F":  # 印染废水 for 时尚纺织; water treatment is 资源环保 here
            continue
        assert agreement(industry.ipc_distribution([prefix]) or {}, industry.INDUSTRY_CATEGORIES[name]) > 0, prefix


@pytest.mark.parametrize(
    "p, q, expected",
    [
        ({"新材料": 1.0}, {"新材料": 1.0}, 1.0),
        ({"新材料": 1.0}, {"新能源": 1.0}, 0.0),
        ({"新材料": 0.5, "新能源": 0.5}, {"新材料": 1.0}, 0.5),
    ],
)
def test_agreement_of_simple_distributions(p, q, expected):
    assert agreement(p, q) == pytest.approx(expected)


distributions = (
    st.lists(st.floats(0, 1), min_size=len(CATEGORIES), max_size=len(CATEGORIES))
    .filter(lambda xs: sum(xs) > 1e-3)
    .map(lambda xs: {c: x / sum(xs) for c, x in zip(CATEGORIES, xs, strict=True)})
)


@given(distributions, distributions)
def test_agreement_is_symmetric_and_in_unit_interval(p, q):
    assert agreement(p, q) == pytest.approx(agreement(q, p))
    assert 0.0 <= agreement(p, q) <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80), st.sampled_from([None, "", "制造业", "新能源新材料", "新材料-膜材料", "未知行业"]))
def test_every_distribution_sums_to_one(text, field):
    for p in (classify(text), need_industry(field, text, text), listing_industry("patent", field, ["C08L"], text, "")):
        assert set(p) <= set(CATEGORIES)
        assert sum(p.values()) == pytest.approx(1.0)
        assert all(v >= 0 for v in p.values())


SAMPLE = [
    {"title": t, "abstract": a, "field": f, "classification": s}
    for t, a, f, s in [
        ("水稻新品种", "高产优质水稻品种，抗倒伏", "现代农业-农林植物新品种", "农、林、牧、渔业——农业"),
        ("小麦种植技术", "小麦高产栽培", "现代农业-农业生物技术", "农、林、牧、渔业——农业"),
        ("纳米复合材料", "高分子纳米复合材料制备", "新材料-复合材料", "制造业——化学原料"),
        ("高分子膜材料", "分离膜材料制备方法", "新材料-膜材料", "制造业——化学原料"),
        ("工业机器人", "六轴机器人减速器", "装备制造-机器人", "制造业——通用设备制造业"),
        ("数控机床", "数控机床精密加工", "装备制造-精密机械", "制造业——通用设备制造业"),
        ("无标签", "没有类别", "", ""),
    ]
]


def test_training_is_deterministic_and_the_model_loads():
    first, second = industry.train(SAMPLE), industry.train(dict(r) for r in SAMPLE)
    assert first == second
    assert industry.dumps(first) == industry.dumps(second)
    assert json.loads(industry.dumps(first)) == first
    model = industry.load_model(first)
    probabilities = industry._probabilities(model, industry.text_features("高产"))
    assert CATEGORIES[int(probabilities.argmax())] == "现代农业"


def test_the_shipped_model_is_small_and_versioned():
    from importlib import resources

    path = resources.files("matching") / "models" / industry.MODEL_FILE
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["version"] == industry.MODEL_VERSION and raw["categories"] == list(CATEGORIES)
    assert len(path.read_bytes()) < 320_000
