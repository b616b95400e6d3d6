"""The learned part of matching: evidence about a (need, listing) pair → a calibrated 0–100 score.

Evidence (FEATURES, each about 0–1): word and character-bigram BM25 relative to the need's best
hit, the need's key concepts met by the listing (by weight, and in its title), coverage of the
need's weighted terms, industry agreement, and what kind of listing it is. A logistic model
combines them with weights fitted on judged pairs (`fit`, cross-validated by need in
`jiebang train`); isotonic regression on out-of-fold predictions maps its output to the chance
that a broker judges the listing relevant (`Model.probability`), and the score is 100 × that
chance. The score's parts are the features' shares of the evidence above a plain listing's
(`Model.parts`), so they add up to the score.

Pure functions over numpy arrays; the model is a small JSON file (`Model.to_json`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from operator import itemgetter

import numpy as np

FEATURES = (
    "bigram",  # character-bigram BM25 / the need's best bigram hit
    "word",  # word BM25 / the need's best word hit
    "bigram_rank",  # 1 / log2(rank + 2) of the listing in the bigram ranking (0 when not there)
    "word_abs",  # word BM25 / the need's total term weight: absolute, unlike the two relative ones
    "bigram_abs",  # bigram BM25 / (the need's bigrams × a typical bigram weight)
    "concepts",  # weighted share of the need's key concepts in the listing's text
    "title_concepts",  # … in the listing's title
    "coverage",  # weighted share of all the need's terms in the listing's text
    "need_title",  # share of the need title's character bigrams in the listing's title + abstract
    "need_title_in_title",  # … in the listing's title
    "blend",  # the first engine's hand-set score: coverage and fused BM25
    "industry",  # agreement of the two industries (0.5 when unknown)
    "achievement",  # 1 for a 科技成果, 0 for a patent
    "title_only",  # 1 when the listing has no abstract
    "design",  # 1 for a design patent (外观设计: no technical content)
    "long",  # how much prose the need is (0 a few keywords … 1 a long business text)
    "bigram_long",  # bigram × long: prose is matched by its character bigrams …
    "word_long",  # … and keywords by their words: the model weighs each by the need's kind
    "concepts_long",  # key concepts × long
)
PART_LABELS = {
    "bigram": "文本相似",
    "word": "词语相关",
    "bigram_rank": "文本相似",
    "word_abs": "词语相关",
    "bigram_abs": "文本相似",
    "concepts": "关键概念",
    "title_concepts": "关键概念",
    "coverage": "需求覆盖",
    "need_title": "文本相似",
    "need_title_in_title": "文本相似",
    "blend": "需求覆盖",
    "industry": "行业一致",
    "achievement": "供给类型",
    "title_only": "供给类型",
    "design": "供给类型",
    "long": "文本相似",
    "bigram_long": "文本相似",
    "word_long": "词语相关",
    "concepts_long": "关键概念",
}
# Features that may only raise the score (a broker trusts "more evidence, higher score"); the
# others describe the listing or the need and may weigh either way.
EVIDENCE = frozenset(FEATURES) - {"achievement", "title_only", "design", "long"}
MODEL_VERSION = 1
L2 = 1.0


@dataclass(frozen=True)
class Model:
    weights: np.ndarray  # one per feature
    bias: float
    mean: np.ndarray  # feature means on the training pairs (the "plain listing" of `parts`)
    calibration_x: np.ndarray  # isotonic map: model output → chance of relevance
    calibration_y: np.ndarray
    no_match_below: float  # a need whose best chance is below this gets "no good match"
    meta: dict = field(default_factory=dict)

    def logit(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights + self.bias

    def probability(self, x: np.ndarray) -> np.ndarray:
        """The calibrated chance of relevance for each row of features."""
        return np.interp(self.logit(x), self.calibration_x, self.calibration_y)

    def score(self, x: np.ndarray) -> np.ndarray:
        return 100.0 * self.probability(x)

    def parts(self, x: np.ndarray) -> list[dict[str, float]]:
        """Each score split over PART_LABELS by the features' positive contributions relative to
        the mean listing (a score with no positive evidence is all 文本相似): they add up."""
        scores = self.score(x)
        contributions = np.maximum((x - self.mean) * self.weights, 0.0)
        totals = contributions.sum(axis=1, keepdims=True)
        shares = np.where(totals > 0, contributions / np.where(totals > 0, totals, 1.0), np.eye(len(FEATURES))[0])
        labels, grouping = _label_grouping()
        by_label = (shares @ grouping) * scores[:, None]
        return [dict(zip(labels, map(float, row), strict=True)) for row in by_label]

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MODEL_VERSION,
                "features": list(FEATURES),
                "weights": [round(float(w), 6) for w in self.weights],
                "bias": round(self.bias, 6),
                "mean": [round(float(m), 6) for m in self.mean],
                "calibration": {
                    "x": [round(float(v), 6) for v in self.calibration_x],
                    "y": [round(float(v), 6) for v in self.calibration_y],
                },
                "no_match_below": round(self.no_match_below, 6),
                "meta": self.meta,
            },
            ensure_ascii=False,
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Model:
        data = json.loads(text)
        if data.get("version") != MODEL_VERSION or data.get("features") != list(FEATURES):
            raise ValueError(
                f"ranking model version {data.get('version')} with features {data.get('features')} does not fit "
                f"this engine (version {MODEL_VERSION}): run `jiebang train`"
            )
        return cls(
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            calibration_x=np.asarray(data["calibration"]["x"], dtype=np.float64),
            calibration_y=np.asarray(data["calibration"]["y"], dtype=np.float64),
            no_match_below=float(data["no_match_below"]),
            meta=data.get("meta", {}),
        )


@cache
def shipped_model() -> Model:
    """The model the project ships (matching/models/ranker-v1.json, written by `jiebang train`)."""
    text = resources.files("matching").joinpath("models", f"ranker-v{MODEL_VERSION}.json").read_text(encoding="utf-8")
    return Model.from_json(text)


def feature_matrix(rows: Sequence[Mapping[str, float]]) -> np.ndarray:
    """Rows of features in FEATURES order (every feature present: what the engine computes)."""
    getter = itemgetter(*FEATURES)
    return np.array([getter(row) for row in rows], dtype=np.float64).reshape(len(rows), len(FEATURES))


# The bands a broker reads beside a score: (name, lowest score). What each means is measured,
# not set here: `jiebang train` stores the out-of-fold share of judged-relevant pairs per band in
# the model (`measured_bands`), and `score_band` states it.
BANDS = (("高", 50.0), ("中", 20.0), ("低", 0.0))


def measured_bands(
    scores: np.ndarray, relevant: np.ndarray, weight: np.ndarray | None = None, sets: Sequence[str] | None = None
) -> list[dict]:
    """Per band of BANDS: its score range, the pairs in it and the (weighted, as the calibration
    is fitted) share judged relevant; with `sets`, also each set's own unweighted share."""
    scores, relevant = np.asarray(scores, float), np.asarray(relevant, float)
    weight = np.ones(len(scores)) if weight is None else np.asarray(weight, float)
    out, high = [], None
    for name, low in BANDS:
        inside = (scores >= low) & (scores < high if high is not None else True)
        share = float(np.average(relevant[inside], weights=weight[inside])) if inside.any() else 0.0
        band = {"band": name, "low": low, "high": high, "pairs": int(inside.sum()), "relevant": round(share, 4)}
        if sets is not None:
            names = np.asarray(sets)
            band["by_set"] = {
                s: round(float(relevant[inside & (names == s)].mean()), 4)
                for s in sorted(set(sets))
                if (inside & (names == s)).any()
            }
        out.append(band)
        high = low
    return out


def band_meaning(share: float) -> str:
    """A measured share in words a broker reads at a glance.

    >>> band_meaning(0.64), band_meaning(0.36), band_meaning(0.012)
    ('约 6/10 相关', '约 4/10 相关', '不到 1/10 相关')
    """
    tenths = round(share * 10)
    return f"约 {tenths}/10 相关" if tenths >= 1 else "不到 1/10 相关"


def score_band(score: float, bands: Sequence[Mapping] | None = None) -> str:
    """The plain-language band of a calibrated score with its measured meaning (default: the
    shipped model's, measured out of fold when it was trained).

    >>> bands = [{"band": "高", "low": 50.0, "relevant": 0.64}, {"band": "中", "low": 20.0, "relevant": 0.36},
    ...          {"band": "低", "low": 0.0, "relevant": 0.01}]
    >>> score_band(72, bands), score_band(30, bands), score_band(4, bands)
    ('高（≥50）：约 6/10 相关', '中（20–50）：约 4/10 相关', '低（<20）：不到 1/10 相关')
    """
    bands = bands if bands is not None else shipped_model().meta.get("bands") or []
    ordered = sorted(bands, key=lambda b: -b["low"])
    for i, band in enumerate(ordered):
        if score >= band["low"] or i == len(ordered) - 1:
            if i == 0:
                limits = f"≥{band['low']:.0f}"
            elif i == len(ordered) - 1:
                limits = f"<{ordered[i - 1]['low']:.0f}"
            else:
                limits = f"{band['low']:.0f}–{ordered[i - 1]['low']:.0f}"
            return f"{band['band']}（{limits}）：{band_meaning(band['relevant'])}"
    return ""


@cache
def _label_grouping() -> tuple[tuple[str, ...], np.ndarray]:
    """The part labels and the (features × labels) 0/1 matrix that sums features into them."""
    labels = tuple(dict.fromkeys(PART_LABELS[name] for name in FEATURES))
    grouping = np.zeros((len(FEATURES), len(labels)))
    for i, name in enumerate(FEATURES):
        grouping[i, labels.index(PART_LABELS[name])] = 1.0
    return labels, grouping


# --- fitting ---------------------------------------------------------------------------------


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
    l2: float = L2,
    non_negative: Sequence[int] = (),
):
    """L2-regularised logistic regression (Newton's method: features are few and dense), with
    the weights of the `non_negative` columns kept ≥ 0 (active set: a column whose weight comes
    out negative is dropped and the rest refitted). Returns (weights, bias)."""
    dropped: set[int] = set()
    while True:
        kept = [j for j in range(x.shape[1]) if j not in dropped]
        weights_kept, bias = _newton(x[:, kept], y, sample_weight, l2)
        weights = np.zeros(x.shape[1])
        weights[kept] = weights_kept
        negative = [j for j in non_negative if weights[j] < 0]
        if not negative:
            return weights, bias
        dropped.add(min(negative, key=lambda j: weights[j]))


def evidence_columns() -> list[int]:
    return [j for j, name in enumerate(FEATURES) if name in EVIDENCE]


def _newton(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, l2: float) -> tuple[np.ndarray, float]:
    n, d = x.shape
    w8 = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(design @ beta)))
        gradient = design.T @ (w8 * (p - y)) + penalty * beta
        hessian = (design * (w8 * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def isotonic(x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: the non-decreasing step map from x to the mean of y, as
    (knots, values) for np.interp (the first and last values extend beyond the data)."""
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, float)[order], np.asarray(y, float)[order]
    ws = np.ones(len(xs)) if sample_weight is None else np.asarray(sample_weight, float)[order]
    blocks: list[list[float]] = []  # [sum of w·y, sum of w, min x, max x]
    for xv, yv, wv in zip(xs, ys, ws, strict=True):
        blocks.append([wv * yv, wv, xv, xv])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2], last[3]]
    knots, values = [], []
    for total, weight, low, high in blocks:
        knots += [low, high]
        values += [total / weight, total / weight]
    return np.asarray(knots), np.asarray(values)


def group_folds(groups: Sequence[str], k: int = 5, seed: int = 0) -> list[np.ndarray]:
    """Fold number of each row, whole groups (needs) to a fold, reproducibly."""
    distinct = sorted(set(groups))
    rng = np.random.default_rng(seed)
    rng.shuffle(distinct)
    fold_of = {g: i % k for i, g in enumerate(distinct)}
    fold = np.array([fold_of[g] for g in groups])
    return [np.flatnonzero(fold == i) for i in range(k)]
