"""Need understanding (parts, key concepts, segmentation slips) and the ranking model's pieces
(logistic fit, isotonic calibration, parts that add up, the model file)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.need import specificity, split_need, understand
from matching.ranker import FEATURES, Model, fit_logistic, group_folds, isotonic, shipped_model

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "sentence, role",
    [
        ("我公司成立于2005年，年产值3亿元。", "context"),
        ("目前采用PTC电加热器。", "context"),
        ("希望用热泵替代电加热。", "ask"),
        ("要求能效比达到3.5以上。", "ask"),
        ("产品出口欧美。", "neutral"),
    ],
)
def test_each_sentence_of_a_need_gets_its_role(sentence, role):
    [(title, first), (found, second)] = split_need("压缩机热泵", sentence)
    assert (title, first) == ("压缩机热泵", "title")
    assert second == role


def test_the_ask_outweighs_the_firms_current_product():
    need = understand(
        "压缩机企业转型", "我公司目前主要生产PTC电加热器和空调压缩机。希望开发空气源热泵热水机组，能效比达到4以上。"
    )
    assert need.weights["热水机组"] > need.weights["加热器"]  # what it wants over what it makes
    assert "热水机组" in need.concepts[:3]


@pytest.mark.parametrize("generic", ["提高", "效率", "成本", "市场", "国内", "时间", "可靠性", "有关"])
def test_generic_words_never_become_key_concepts(generic):
    need = understand("堆垛机提速", f"堆垛机{generic}巷道起重量{generic}货叉伸缩速度，{generic}立体仓库的{generic}")
    assert generic not in need.concepts
    assert specificity(generic) < specificity("堆垛机")


def test_a_segmentation_slip_does_not_count():
    need = understand("压线机", "提高压线效率，端子压接高度一致")
    assert "高压线" not in need.weights  # 提高 straddles its edge: 提 / 高压线 is a slip
    assert "压线" in need.concepts


def test_key_concepts_have_two_or_more_characters():
    need = understand("脱硫副产物", "脱硫过程中的硝酸盐和副产物，希望降低碱及催化剂消耗")
    assert need.concepts and all(len(c) >= 2 for c in need.concepts)


# --- the model's pieces -------------------------------------------------------------------------


def test_logistic_fit_finds_the_informative_feature():
    rng = np.random.default_rng(0)
    x = rng.random((400, 2))
    y = (x[:, 0] > 0.6).astype(float)
    weights, _ = fit_logistic(x, y)
    assert weights[0] > 5 and abs(weights[1]) < 1


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.integers(0, 1)), min_size=2, max_size=60))
def test_calibration_is_monotone_and_a_probability(pairs):
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs], dtype=float)
    knots, values = isotonic(x, y)
    grid = np.linspace(-6, 6, 50)
    mapped = np.interp(grid, knots, values)
    assert np.all(np.diff(mapped) >= -1e-12)
    assert np.all((0 <= mapped) & (mapped <= 1))


def test_folds_keep_each_need_whole_and_are_reproducible():
    groups = [f"n{i % 7}" for i in range(70)]
    folds = group_folds(groups, 3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(70))
    for fold in folds:
        inside = {groups[i] for i in fold}
        assert all(groups[i] not in inside for other in folds if other is not fold for i in other)
    assert [f.tolist() for f in group_folds(groups, 3)] == [f.tolist() for f in folds]


def test_the_shipped_model_scores_in_range_with_parts_that_add_up():
    model = shipped_model()
    rng = np.random.default_rng(1)
    x = rng.random((30, len(FEATURES)))
    scores = model.score(x)
    assert np.all((0 <= scores) & (scores <= 100))
    for score, parts in zip(scores, model.parts(x), strict=True):
        assert sum(parts.values()) == pytest.approx(score)
    assert Model.from_json(model.to_json()).to_json() == model.to_json()


def test_more_evidence_never_lowers_the_score():
    model = shipped_model()
    base = np.full((1, len(FEATURES)), 0.2)
    stronger = base.copy()
    for name in ("bigram", "concepts", "coverage", "word_abs"):
        stronger[0, FEATURES.index(name)] = 0.9
        assert model.score(stronger)[0] >= model.score(base)[0], name


def test_a_model_for_other_features_is_refused_with_what_to_run():
    text = shipped_model().to_json().replace('"bigram"', '"something_else"', 1)
    with pytest.raises(ValueError, match="jiebang train"):
        Model.from_json(text)
