"""Field and sense agreement: which industry a listing or a need is about, as a distribution.

The label set is the Zhejiang online tech market's 11 top-level categories (`CATEGORIES`, the part
of an achievement's `field` before "-"). Every text gets a probability distribution over them:

- an achievement that carries a market field is that category (one-hot);
- a field from another vocabulary (the six priority industries, the dev challenges' fields, a
  国民经济行业 sector such as 制造业) or a patent's IPC codes give a prior, which the text then
  sharpens (Bayes: p(c | text, field) ∝ p(c | text) · p(c | field) / p(c));
- otherwise the text classifier alone.

The classifier is a multinomial logistic regression over the words of `matching.text.tokenize`
and the character bigrams (binary, idf-weighted, L2-normalised; the 5,000 features with the
highest χ² for some category kept; the market's boilerplate such as 摘要 / 专利号 never a feature;
small categories weighted up half-way to balance). It is trained on the market's 2,810 labelled
achievements (title + abstract) and shipped as `matching/models/industry-v1.json` (≈ 285 KB, read
on first use in ≈ 30 ms): `jiebang train-industry` refits it, byte for byte, from
`../shared/data/real/zj_market/achievements.jsonl`.

Measured (`jiebang train-industry --cv`: 5-fold stratified cross-validation on the achievements):
accuracy 0.738 on the top-level category (majority class 0.246), macro recall 0.55, log-loss 0.89.
Words alone scored 0.744 in cross-validation but failed on short texts (污水处理, a single unseen
word); multinomial naive Bayes reached 0.708 with far worse probabilities (log-loss 3.9). The small
categories are weak (生活必需 0.02, 技术服务 0.13, 新能源 0.21 recall: their listings read like
新材料 / 装备制造 ones), and most errors are between neighbours, where the distribution stays split,
so the agreement of two such texts stays partial.

`agreement(p, q) = Σ p_c q_c` is the chance that the two sides fall in the same category when
each is drawn from its distribution: symmetric, in [0, 1], 1 only when both are sure of the same
category, 0 when they share none. It is deliberately not the Bhattacharyya coefficient, which gives
1 to two equally *uncertain* texts: an unsure classifier should not vouch for a match.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from matching.text import char_bigrams, normalise, tokenize_normalised

MODEL_VERSION = "industry-v1"
MODEL_FILE = f"{MODEL_VERSION}.json"

# The market's top-level categories, largest first (2,810 achievements: 691 … 34).
CATEGORIES = (
    "现代农业",
    "新材料",
    "装备制造",
    "电子信息",
    "生物医药",
    "交通运输",
    "技术服务",
    "新能源",
    "资源环保",
    "生活必需",
    "建筑安装",
)
OTHER = "其他"

# Each market category in the project's priority industries (vocabulary.PRIORITY_INDUSTRIES);
# 现代农业 is an application scenario of the county's plan, not a priority industry.
CATEGORY_INDUSTRY = {
    "电子信息": "新一代信息技术",
    "生物医药": "生命健康",
    "新材料": "新能源新材料",
    "新能源": "新能源新材料",
    "装备制造": "高端装备制造",
    "现代农业": OTHER,
    "交通运输": OTHER,
    "技术服务": OTHER,
    "资源环保": OTHER,
    "生活必需": OTHER,
    "建筑安装": OTHER,
}
# Subcategories whose priority industry differs from their category's.
SUBFIELD_INDUSTRY = {
    "新材料-纺织新材料": "时尚纺织",
    "生活必需-服装": "时尚纺织",
    "生活必需-家电": "绿色智能家居",
    "新材料-生物医用材料": "生命健康",
    "装备制造-智能仪表": "高端装备制造",
    "交通运输-汽车及零部件": "高端装备制造",
    "交通运输-轨道交通": "高端装备制造",
    "资源环保-水污染防治": OTHER,
}

# The other way: each priority industry (and the fields of the dev challenges) as categories.
INDUSTRY_CATEGORIES: dict[str, dict[str, float]] = {
    "新一代信息技术": {"电子信息": 1.0},
    "生命健康": {"生物医药": 1.0},
    "新能源新材料": {"新材料": 0.6, "新能源": 0.4},
    "高端装备制造": {"装备制造": 0.85, "交通运输": 0.15},
    "绿色智能家居": {"生活必需": 0.5, "新材料": 0.25, "装备制造": 0.15, "建筑安装": 0.1},
    "时尚纺织": {"新材料": 0.5, "生活必需": 0.4, "资源环保": 0.1},
    # The written dev challenges' fields.
    "软件与人工智能": {"电子信息": 1.0},
    "机械装备": {"装备制造": 1.0},
    "节能环保": {"资源环保": 0.6, "新能源": 0.4},
    "生物医药与医疗器械": {"生物医药": 1.0},
    "家具家居": {"生活必需": 0.6, "新材料": 0.2, "建筑安装": 0.2},
    "材料化工": {"新材料": 1.0},
}

# IPC prefixes (longest wins) as categories: classes, with the subclasses and groups that differ.
IPC_CATEGORIES: dict[str, dict[str, float]] = {
    **{c: {"现代农业": 1.0} for c in ("A01", "C05", "C13")},
    **{c: {"现代农业": 0.6, "生活必需": 0.4} for c in ("A21", "A22", "A23")},
    **{
        c: {"生活必需": 1.0}
        for c in ("A24", "A41", "A42", "A43", "A44", "A45", "A46", "A47", "A63", "A61Q", "C11", "C14")
    },
    "A61": {"生物医药": 1.0},
    "A62": {"装备制造": 0.6, "技术服务": 0.4},
    "B01": {"新材料": 0.5, "资源环保": 0.3, "装备制造": 0.2},
    "B01D53": {"资源环保": 1.0},
    **{c: {"装备制造": 1.0} for c in ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B21", "B22", "B23", "B24")},
    **{c: {"装备制造": 1.0} for c in ("B25", "B26", "B27", "B28", "B30", "B33Y", "B41", "B42", "B43", "B44")},
    **{c: {"装备制造": 1.0} for c in ("B65", "B66", "B67", "B68", "F01", "F03", "F04", "F15", "F16", "F17")},
    **{c: {"装备制造": 1.0} for c in ("F25", "F26", "F27", "F41", "F42", "G05", "G01B", "E21")},
    "B09": {"资源环保": 1.0},
    "B29": {"新材料": 0.5, "装备制造": 0.5},
    **{
        c: {"新材料": 1.0} for c in ("B31", "B32", "B81", "B82", "C01", "C03", "C04", "C06", "C08", "C09", "C21", "C22")
    },
    **{c: {"新材料": 1.0} for c in ("C23", "C25", "C30", "D21", "H01F")},
    **{c: {"新材料": 0.6, "生活必需": 0.4} for c in ("D01", "D02", "D03", "D04", "D05", "D06", "D07")},
    **{c: {"交通运输": 1.0} for c in ("B60", "B61", "B62", "B63", "B64")},
    "C02": {"资源环保": 1.0},
    "C07": {"新材料": 0.5, "生物医药": 0.5},
    **{c: {"生物医药": 1.0} for c in ("C07K", "C12", "C40", "G01N33")},
    **{c: {"新能源": 1.0} for c in ("C10", "C25B", "F24S", "G21", "H01M", "H01L31", "H02J", "H02S")},
    "E01": {"建筑安装": 0.5, "交通运输": 0.5},
    **{c: {"建筑安装": 1.0} for c in ("E02", "E03", "E04", "E05", "E06")},
    "F02": {"装备制造": 0.6, "交通运输": 0.4},
    **{c: {"新能源": 0.5, "资源环保": 0.5} for c in ("F22", "F23")},
    "F24": {"生活必需": 0.4, "新能源": 0.3, "装备制造": 0.3},
    "F28": {"装备制造": 0.6, "新能源": 0.4},
    "G01": {"装备制造": 0.5, "电子信息": 0.5},
    "G16H": {"生物医药": 0.5, "电子信息": 0.5},
    **{c: {"电子信息": 1.0} for c in ("F21", "G01S", "G02", "G03", "G04", "G06", "G07", "G08", "G09", "G10", "G11")},
    **{c: {"电子信息": 1.0} for c in ("G16", "H01", "H03", "H04", "H05")},
    "H02": {"新能源": 0.5, "装备制造": 0.5},
    "H02K": {"装备制造": 1.0},
    "H01S": {"装备制造": 0.5, "电子信息": 0.5},  # lasers: 光纤激光器 are 高端装备制造 in the county's plan
}
_IPC_LENGTHS = sorted({len(prefix) for prefix in IPC_CATEGORIES}, reverse=True)

# The market's house style, not the technology: section headings, boilerplate of patents and of
# business plans. Never features (they tied 专利号 to 现代农业, 摘要 to 新材料).
BOILERPLATE = frozenset(
    "摘要 简介 专利号 及其 一种 制造业 缺点 优势 市场前景 产业化 广泛应用 投资 国家 特色 优点 效益"
    " 前景 项目 应用领域".split()
)

# Training: the vocabulary kept, the regularisation and the (full-batch Adam) steps.
FEATURES = 5000
MIN_DOCUMENTS = 2
L2 = 1e-4
STEPS = 200
STEP_SIZE = 0.1
CLASS_BALANCE = 0.5  # 0: the market's mix of categories, 1: every category weighs the same
WEIGHT_SCALE = 100  # weights are stored as integers in hundredths
SECTOR_SMOOTHING = 5.0  # a sector's distribution is shrunk towards the overall one by this many records
SECTOR_WEIGHT = 0.5  # a 国民经济行业 sector is a hint: half its distribution, half the overall mix
FIELD_FLOOR = 0.02  # a stated field or IPC never rules a category out entirely: the text can still win


# ---------------------------------------------------------------------------------------- fields
def category_of_field(field: str | None) -> str | None:
    """The market category a field names ("新材料-高分子材料" → 新材料), or None.

    >>> category_of_field("新材料-高分子材料"), category_of_field("制造业")
    ('新材料', None)
    """
    top = (field or "").strip().split("-")[0].strip()
    return top if top in CATEGORIES else None


def priority_industry(field: str | None) -> str | None:
    """The priority industry (or 其他) of a market field, or None for another vocabulary.

    >>> priority_industry("生活必需-服装"), priority_industry("电子信息-人工智能")
    ('时尚纺织', '新一代信息技术')
    """
    field = (field or "").strip()
    if field in SUBFIELD_INDUSTRY:
        return SUBFIELD_INDUSTRY[field]
    category = category_of_field(field)
    return CATEGORY_INDUSTRY[category] if category else None


def ipc_distribution(codes: Iterable[str] | None) -> dict[str, float] | None:
    """The categories a listing's IPC codes fall in (each code one vote), or None.

    >>> ipc_distribution(["H01M 10/0525", "C08L 23/06"])
    {'新材料': 0.5, '新能源': 0.5}
    """
    votes: Counter[str] = Counter()
    counted = 0
    for code in codes or ():
        compact = code.replace(" ", "").upper()
        for length in _IPC_LENGTHS:
            if (spread := IPC_CATEGORIES.get(compact[:length])) is not None:
                votes.update(spread)
                counted += 1
                break
    return _normalised({c: votes[c] / counted for c in sorted(votes)}) if counted else None


def field_prior(field: str | None) -> dict[str, float] | None:
    """What a stated field says about the category, before the text is read, or None.

    A market category is itself; a priority industry or another known field spreads over the
    categories it covers; a 国民经济行业 sector (制造业 …) gives the categories of the market's
    achievements filed under it (learned with the model); a field of several sectors run
    together (the market's multi-select) averages them.
    """
    field = (field or "").strip()
    if not field:
        return None
    if category := category_of_field(field):
        return {category: 1.0}
    if field in INDUSTRY_CATEGORIES:
        return dict(INDUSTRY_CATEGORIES[field])
    sectors = _model()["sectors"]
    named = [name for name in sectors if name in field]
    if not named:
        return None
    overall = _model()["class_prior"]
    mixed: Counter[str] = Counter()
    for name in named:
        mixed.update(
            {c: (SECTOR_WEIGHT * p + (1 - SECTOR_WEIGHT) * overall[c]) / len(named) for c, p in sectors[name].items()}
        )
    return _normalised(dict(mixed))


# ----------------------------------------------------------------------------------- listings
def listing_industry(
    kind: str | None,
    field: str | None,
    ipc: Iterable[str] | None,
    title: str | None,
    abstract: str | None,
) -> dict[str, float]:
    """A listing's categories: an achievement's own market field, else field or IPC with the text.

    >>> listing_industry("achievement", "新材料-高分子材料", None, "任意", "")
    {'新材料': 1.0}
    """
    category = category_of_field(field)
    if category and kind != "patent":
        return {category: 1.0}
    prior = field_prior(field) or ipc_distribution(ipc)
    return _with_prior(classify(f"{title or ''}。{abstract or ''}"), prior)


def need_industry(field: str | None, title: str | None, description: str | None) -> dict[str, float]:
    """A need's categories: the field it names (one of the 11 or a priority industry), else the
    text, sharpened by a coarse field (制造业 rules out most of 现代农业)."""
    category = category_of_field(field)
    if category:
        return {category: 1.0}
    return _with_prior(classify(f"{title or ''}。{description or ''}"), field_prior(field))


def agreement(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """The chance that two sides share a category, each drawn from its distribution.

    >>> agreement({"新材料": 1.0}, {"新材料": 0.7, "新能源": 0.3})
    0.7
    """
    return min(1.0, max(0.0, sum(pc * q.get(c, 0.0) for c, pc in p.items())))


def top_category(p: Mapping[str, float]) -> tuple[str, float]:
    """The most likely category and its probability (ties: the earlier of `CATEGORIES`)."""
    best = max(CATEGORIES, key=lambda c: p.get(c, 0.0))
    return best, p.get(best, 0.0)


# --------------------------------------------------------------------------------- classifier
def classify(text: str) -> dict[str, float]:
    """The text classifier's distribution over `CATEGORIES` (the class prior for an empty text)."""
    return dict(zip(CATEGORIES, _probabilities(_model(), text_features(text)).tolist(), strict=True))


def text_features(text: str) -> list[str]:
    """What the classifier reads: the words of `tokenize` and, marked "~", the character bigrams
    (短文本 such as 污水处理 or 机床主轴 are often one unseen word, never unseen bigrams)."""
    normalised = normalise(text or "")
    bigrams = (f"~{b}" for b in char_bigrams(normalised) if not b.isascii())
    return sorted(set(tokenize_normalised(normalised)) | set(bigrams))


def _probabilities(model: dict[str, Any], tokens: Iterable[str]) -> np.ndarray:
    columns = sorted({j for token in tokens if (j := model["index"].get(token)) is not None})
    scores = model["bias"].copy()
    if columns:
        values = model["idf"][columns]
        scores += (values / np.linalg.norm(values)) @ model["weights"][columns]
    return _softmax(scores)


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def _with_prior(text: dict[str, float], prior: Mapping[str, float] | None) -> dict[str, float]:
    if not prior:
        return text
    base = _model()["class_prior"]
    floor = FIELD_FLOOR / len(CATEGORIES)
    combined = {c: text[c] * ((1 - FIELD_FLOOR) * prior.get(c, 0.0) + floor) / base[c] for c in CATEGORIES}
    return _normalised(combined)


def _normalised(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {c: w / total for c, w in weights.items()} if total > 0 else dict(weights)


@cache
def _model() -> dict[str, Any]:
    """The shipped model, read once on first use (never at import)."""
    text = (resources.files("matching") / "models" / MODEL_FILE).read_text(encoding="utf-8")
    return load_model(json.loads(text))


def load_model(raw: dict[str, Any]) -> dict[str, Any]:
    """A trained model (the JSON of `train`) in the arrays the classifier uses."""
    if tuple(raw["categories"]) != CATEGORIES:
        raise ValueError(f"industry model: categories {raw['categories']} are not {CATEGORIES}")
    rows = raw["rows"]
    return {
        "index": {row[0]: j for j, row in enumerate(rows)},
        "idf": np.asarray([row[1] for row in rows], dtype=np.float64),
        "weights": np.asarray([row[2] for row in rows], dtype=np.float64).reshape(len(rows), len(CATEGORIES))
        / raw["weight_scale"],
        "bias": np.asarray(raw["bias"], dtype=np.float64) / raw["weight_scale"],
        "class_prior": dict(zip(CATEGORIES, raw["class_prior"], strict=True)),
        "sectors": {name: dict(zip(CATEGORIES, probs, strict=True)) for name, probs in raw["sectors"].items()},
    }


# ------------------------------------------------------------------------------------ training
def _example(record: Mapping[str, Any]) -> tuple[list[str], int] | None:
    category = category_of_field(record.get("field"))
    if category is None:
        return None
    return text_features(f"{record.get('title') or ''}。{record.get('abstract') or ''}"), CATEGORIES.index(category)


def train(achievements: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Fit the classifier on labelled achievements (`field` "类别-子类", `title`, `abstract`;
    `classification` "行业——…" for the sector priors). Deterministic: the same records give the
    same model (no randomness; ties broken by word; sums in a fixed order)."""
    records = list(achievements)
    examples = [e for r in records if (e := _example(r)) is not None]
    if not examples:
        raise ValueError("industry model: no record with a market field (类别-子类) to learn from")
    docs = [words for words, _ in examples]
    labels = np.array([label for _, label in examples], dtype=np.int64)
    features = _select_features(docs, labels)
    index = {word: j for j, word in enumerate(features)}
    documents = np.array([sum(1 for w in words if w in index) for words in docs], dtype=np.float64)
    frequency = Counter(w for words in docs for w in words if w in index)
    idf = np.round([math.log(len(docs) / (frequency[w] + 1)) + 1 for w in features], 3)
    weights, bias = _fit(docs, labels, index, idf)
    class_counts = np.bincount(labels, minlength=len(CATEGORIES)).astype(np.float64)
    class_prior = (class_counts + 1) / (class_counts.sum() + len(CATEGORIES))
    return {
        "version": MODEL_VERSION,
        "about": "matching.industry: logistic regression over words and character bigrams → market category",
        "trained_on": {
            "records": len(examples),
            "words_per_record": round(float(documents.mean()), 2),
            "sha256": _fingerprint(records),
        },
        "categories": list(CATEGORIES),
        "class_prior": [round(float(p), 4) for p in class_prior],
        "sectors": _sector_priors(records, class_prior),
        "weight_scale": WEIGHT_SCALE,
        "bias": [int(v) for v in np.rint(bias * WEIGHT_SCALE)],
        # One row per word kept: [word, idf, weights (one per category, in hundredths)].
        "rows": [
            [word, float(i), [int(v) for v in row]]
            for word, i, row in zip(features, idf, np.rint(weights * WEIGHT_SCALE), strict=True)
        ],
    }


def cross_validate(achievements: Iterable[Mapping[str, Any]], folds: int = 5) -> dict[str, Any]:
    """Stratified k-fold accuracy and log-loss of `train` on labelled achievements (each record
    is held out once; the i-th record of a category goes to fold i mod k)."""
    records = [r for r in achievements if category_of_field(r.get("field"))]
    seen: Counter[str] = Counter()
    fold_of = []
    for r in records:
        category = category_of_field(r.get("field")) or ""
        fold_of.append(seen[category] % folds)
        seen[category] += 1
    correct, loss = 0, 0.0
    confusion = {c: Counter[str]() for c in CATEGORIES}
    for k in range(folds):
        model = load_model(train(r for r, f in zip(records, fold_of, strict=True) if f != k))
        for r in (r for r, f in zip(records, fold_of, strict=True) if f == k):
            example = _example(r)
            assert example is not None
            probabilities = _probabilities(model, example[0])
            guess = int(probabilities.argmax())
            correct += guess == example[1]
            loss -= math.log(max(float(probabilities[example[1]]), 1e-12))
            confusion[CATEGORIES[example[1]]][CATEGORIES[guess]] += 1
    return {
        "records": len(records),
        "folds": folds,
        "accuracy": round(correct / len(records), 4),
        "log_loss": round(loss / len(records), 4),
        "majority": round(max(seen.values()) / len(records), 4),
        "macro_recall": round(
            sum(confusion[c][c] / max(1, sum(confusion[c].values())) for c in CATEGORIES) / len(CATEGORIES), 4
        ),
        "recall": {c: round(confusion[c][c] / max(1, sum(confusion[c].values())), 3) for c in CATEGORIES},
        "confusion": {c: dict(confusion[c].most_common()) for c in CATEGORIES},
    }


def _select_features(docs: list[list[str]], labels: np.ndarray) -> list[str]:
    """The words with the highest χ² for some category (present in ≥ MIN_DOCUMENTS records)."""
    n_classes = len(CATEGORIES)
    per_class: dict[str, np.ndarray] = {}
    for words, label in zip(docs, labels, strict=True):
        for word in words:
            per_class.setdefault(word, np.zeros(n_classes))[label] += 1
    n = float(len(docs))
    class_totals = np.bincount(labels, minlength=n_classes).astype(np.float64)
    scored = []
    for word, a in per_class.items():
        df = a.sum()
        if df < MIN_DOCUMENTS or word.lstrip("~") in BOILERPLATE:
            continue
        b, c = df - a, class_totals - a
        d = n - df - c
        chi2 = n * (a * d - b * c) ** 2 / np.maximum((a + b) * (c + d) * (a + c) * (b + d), 1e-9)
        scored.append((-round(float(chi2.max()), 6), word))
    scored.sort()
    return [word for _, word in scored[:FEATURES]]


def _design(docs: list[list[str]], index: Mapping[str, int], idf: np.ndarray) -> tuple[np.ndarray, ...]:
    """The sparse document matrix as (row, column, value) arrays, rows L2-normalised."""
    rows, columns, values = [], [], []
    for r, words in enumerate(docs):
        cols = sorted(index[w] for w in words if w in index)
        if not cols:
            continue
        weights = idf[cols]
        rows.extend([r] * len(cols))
        columns.extend(cols)
        values.extend((weights / np.linalg.norm(weights)).tolist())
    return np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64), np.array(values)


def _fit(
    docs: list[list[str]], labels: np.ndarray, index: Mapping[str, int], idf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression with an L2 penalty, full-batch Adam for a fixed number of steps."""
    rows, columns, values = _design(docs, index, idf)
    n, d, k = len(docs), len(index), len(CATEGORIES)
    onehot = np.eye(k)[labels]
    # Small categories count more (half-way to balanced): needs and patents are not the market's mix.
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    sample_weight = ((n / (k * np.maximum(counts, 1))) ** CLASS_BALANCE)[labels]
    sample_weight *= n / sample_weight.sum()
    weights, bias = np.zeros((d, k)), np.zeros(k)
    moments = [np.zeros((d, k)), np.zeros((d, k)), np.zeros(k), np.zeros(k)]
    beta1, beta2 = 0.9, 0.999
    for step in range(1, STEPS + 1):
        contributions = weights[columns] * values[:, None]
        scores = np.stack([np.bincount(rows, contributions[:, j], minlength=n) for j in range(k)], axis=1)
        residual = (_softmax(scores + bias) - onehot) * (sample_weight / n)[:, None]
        spread = residual[rows] * values[:, None]
        gradient = np.stack([np.bincount(columns, spread[:, j], minlength=d) for j in range(k)], axis=1) + L2 * weights
        for param, grad, m, v in ((weights, gradient, moments[0], moments[1]), (bias, residual.sum(0), *moments[2:])):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= STEP_SIZE * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + 1e-8)
    return weights, bias


def _sector_priors(records: list[Mapping[str, Any]], class_prior: np.ndarray) -> dict[str, list[float]]:
    """P(category | 国民经济行业 sector) from the achievements filed under both, shrunk to the prior."""
    counts: dict[str, np.ndarray] = {}
    for record in records:
        category = category_of_field(record.get("field"))
        sector = (record.get("classification") or "").split("——")[0].strip()
        if category and sector:
            counts.setdefault(sector, np.zeros(len(CATEGORIES)))[CATEGORIES.index(category)] += 1
    return {
        sector: [round(float(p), 4) for p in (c + SECTOR_SMOOTHING * class_prior) / (c.sum() + SECTOR_SMOOTHING)]
        for sector, c in sorted(counts.items())
    }


def _fingerprint(records: list[Mapping[str, Any]]) -> str:
    digest = hashlib.sha256()
    for r in records:
        digest.update(
            json.dumps(
                [r.get("title"), r.get("abstract"), r.get("field"), r.get("classification")], ensure_ascii=False
            ).encode()
        )
    return digest.hexdigest()[:16]


def dumps(model: Mapping[str, Any]) -> str:
    """The model file's text: one line per word, so that the diff of two fits reads."""
    head = json.dumps({k: v for k, v in model.items() if k != "rows"}, ensure_ascii=False, indent=1)
    rows = ",\n".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in model["rows"])
    return f'{head[:-2]},\n "rows": [\n{rows}\n ]\n}}\n'


def read_records(lines: Iterable[str]) -> list[dict[str, Any]]:
    """JSON lines (blank lines skipped), e.g. the market's achievements.jsonl."""
    return [json.loads(line) for line in lines if line.strip()]
