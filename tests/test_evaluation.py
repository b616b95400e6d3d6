"""The evaluation's own pieces: unjudged@10, the score's AUC, the flag counts, the baselines."""

import pytest

from matching.baselines import bigram_bm25, word_bm25
from matching.engine import Challenge, Listing
from matching.evaluation import auc, flag_counts, score_auc, unjudged_at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "description, ranked, judged, k, expected",
    [
        ("all judged", ["a", "b"], {"a", "b"}, 10, 0),
        ("none judged", ["a", "b"], set(), 10, 2),
        ("only the top k count", ["a", "x", "y"], {"a"}, 2, 1),
        ("fewer results than k", ["x"], {"a"}, 10, 1),
        ("no results", [], {"a"}, 10, 0),
    ],
)
def test_unjudged_at(description, ranked, judged, k, expected):
    assert unjudged_at(ranked, judged, k=k) == expected, description


@pytest.mark.parametrize(
    "description, positives, negatives, expected",
    [
        ("perfect separation", [3.0, 2.0], [1.0, 0.5], 1.0),
        ("perfectly wrong", [0.1], [1.0, 2.0], 0.0),
        ("all tied", [1.0, 1.0], [1.0], 0.5),
        ("one tie of four pairs", [3.0, 2.0], [1.0, 2.0], 0.875),
        ("no positives", [], [1.0], None),
        ("no negatives", [1.0], [], None),
    ],
)
def test_auc(description, positives, negatives, expected):
    assert auc(positives, negatives) == (pytest.approx(expected) if expected is not None else None), description


def test_auc_agrees_with_counting_every_pair():
    positives, negatives = [0.3, 0.9, 0.5, 0.5, 0.1], [0.5, 0.2, 0.2, 0.95, 0.0, 0.5]
    pairs = [(1.0 if p > n else 0.5 if p == n else 0.0) for p in positives for n in negatives]
    assert auc(positives, negatives) == pytest.approx(sum(pairs) / len(pairs))


@pytest.mark.parametrize(
    "description, judged, expected",
    [
        # q1: a (rel, 9), b (judged 0, 5), u (unjudged, 7); q2: c (judged 0, 8), d (rel, 1)
        ("judged non-relevant only", {"q1": {"a", "b"}, "q2": {"c", "d"}}, 2 / 4),  # 9>5, 9>8, 1<5, 1<8
        ("qrels complete: the unjudged one is non-relevant", None, 3 / 6),  # + 9>7, 1<7
    ],
)
def test_score_auc_pools_the_top_k_of_every_challenge(description, judged, expected):
    ranking = {"q1": ["a", "u", "b", "far"], "q2": ["c", "d"]}
    scores = {"q1": [9.0, 7.0, 5.0, 100.0], "q2": [8.0, 1.0]}
    grades = {"q1": {"a": 2, "b": 0}, "q2": {"c": 0, "d": 1}}
    assert score_auc(ranking, scores, grades, judged, k=3) == pytest.approx(expected), description


def test_flag_counts_split_hopeless_challenges_from_the_others():
    qrels = {"h1": {"x": 0}, "m1": {"y": 1}, "m2": {"z": 2}}  # h2 has no qrels at all: hopeless too
    flags = flag_counts(["h1", "h2", "m1", "m2"], {"h2", "m1"}, qrels)
    assert (flags.hopeless_flagged, flags.hopeless_missed, flags.others_flagged) == (["h2"], ["h1"], ["m1"])
    assert (flags.hopeless, flags.others) == (2, 2)


LISTINGS = [
    Listing("S1", "燃料电池金属双极板涂层", "碳基涂层，耐腐蚀，接触电阻低"),
    Listing("S2", "谐波减速器柔轮齿形", "双圆弧齿形，寿命提升"),
    Listing("S3", "茶叶揉捻机"),
]


@pytest.mark.parametrize("baseline", [bigram_bm25, word_bm25])
def test_baselines_rank_and_score_best_first(baseline):
    ranking, scores = baseline(LISTINGS, [Challenge("C1", "双极板涂层腐蚀", "燃料电池")], k=50)
    assert ranking["C1"][0] == "S1" and len(ranking["C1"]) == len(scores["C1"]) == 3
    assert scores["C1"] == sorted(scores["C1"], reverse=True) and scores["C1"][0] > scores["C1"][1]


@pytest.mark.parametrize("baseline", [bigram_bm25, word_bm25])
def test_baselines_answer_a_challenge_without_content_words(baseline):
    ranking, scores = baseline(LISTINGS, [Challenge("C1", "的")], k=2)
    assert len(ranking["C1"]) == 2 and scores["C1"] == [0.0, 0.0]
