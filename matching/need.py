"""What a firm's need asks for: its parts and its key concepts.

Firms write business prose around one technical ask ("我公司成立于…，目前采用…，希望…"). Matching
the whole text lets generic words (提高, 效率, 成本, 市场) carry a match, so a need is read first:

- **parts**: each sentence is the *ask* (希望, 要求, 指标, 目标, 寻求 …), the *context* (现有, 目前,
  我公司, 公司简介 …) or *neutral*; the title is the ask too. Context counts much less.
- **specificity**: how technical a word is, against a general-language background (jieba's own
  dictionary frequencies: 提高 16,882 vs 高压线 34 vs 堆垛机 unseen), not only the corpus IDF
  (a generic word can be rare in patents).
- **segmentation slips**: a word the need's text does not support as a word does not count
  (提高压线效率 cut as 提 / 高压线 / 效率: 提高 crosses the cut and is far more common than 高压线).
- **key concepts**: the heaviest remaining terms of two or more characters (the object and the
  problem), the evidence a listing has to meet (Bendersky & Croft 2008, verbose-query reduction).

>>> need = understand("巷道堆垛起重机提速", "我公司成立于2005年。目前起重量100KG。希望提升堆垛起重机的起重量和速度。")
>>> need.concepts[:4]
['堆垛', '起重量', '提速', '起重机']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from matching.text import is_content_token, normalise, raw_tokens

ROLE_WEIGHTS = {"title": 1.5, "ask": 1.0, "neutral": 0.6, "context": 0.25}
ASK_CUES = (
    "希望", "要求", "需求", "需要", "预期", "指标", "目标", "寻求", "寻找", "急需", "期望", "拟", "想要",
    "解决", "攻关", "难题", "达到", "实现", "提升", "提高", "改进", "开发", "研制",
)  # fmt: skip
CONTEXT_CUES = (
    "公司简介", "我公司", "本公司", "我司", "我厂", "本企业", "公司成立", "成立于", "位于", "占地", "注册资金",
    "年产值", "年销售", "员工", "主营", "主要产品", "现有", "现状", "目前", "已有", "原有", "国内外",
)  # fmt: skip
# Words of the need's own genre, not of its technical content (the background dictionary rates
# some of them as rare).
NEED_WORDS = frozenset(
    "技术 需求 问题 公司 企业 产品 项目 方案 研发 合作 单位 工艺 方法 "
    "方面 相关 有关 进行 采用 要求 希望 实现 解决 提高 提升 降低 改进 "
    "改善 现有 目前 国内 国外 市场 成本 效率 质量 效果 性能 时间 生产 "
    "能力 水平 需要 主要 一种 以上 我公司 本公司 以下 左右 情况 达到 通过 "
    "利用 使用 具有 存在 影响 导致 不能 无法 较大 较高 较低 稳定 可靠性 "
    "工作 系统 设备 装置".split()
)
SPECIFICITY_SCALE = 4.0  # e-folding of specificity in log dictionary frequency
SLIP_RATIO = 20.0  # a word crossing a cut this much more common than the cut word marks a slip
MAX_CONCEPTS = 8
_SENTENCES = re.compile(r"[^。；;！!？?\n]+[。；;！!？?\n]?")


@dataclass(frozen=True)
class Need:
    text: str  # normalised title + "\n" + description
    roles: list[tuple[str, str]]  # (sentence, role), title first
    weights: dict[str, float]  # term → weight (rarity × specificity × role), heaviest first
    concepts: list[str]  # the key concepts, heaviest first

    def concept_weights(self) -> dict[str, float]:
        return {c: self.weights[c] for c in self.concepts}


@cache
def dictionary_frequencies() -> dict[str, int]:
    """jieba's general-language word frequencies (read once, when first needed)."""
    text = resources.files("jieba").joinpath("dict.txt").read_text(encoding="utf-8")
    # The dictionary is simplified Chinese already; Latin words are lower-cased as normalise does.
    frequencies = {}
    for line in text.splitlines():
        word, count, *_ = line.split(" ")
        frequencies[word.lower()] = int(count)
    return frequencies


def specificity(term: str) -> float:
    """1 for a word general language never uses, towards 0 for everyday words.

    >>> round(specificity("高压线"), 2) > round(specificity("提高"), 2)
    True
    """
    if term in NEED_WORDS:
        return 0.05
    return math.exp(-math.log1p(dictionary_frequencies().get(term, 0)) / SPECIFICITY_SCALE)


def split_need(title: str, description: str) -> list[tuple[str, str]]:
    """Sentences with their role: title, ask, context or neutral.

    >>> for sentence, role in split_need("防起球", "我公司生产围巾。目前起球严重。希望找到防起球工艺。"):
    ...     print(role, sentence)
    title 防起球
    context 我公司生产围巾。
    context 目前起球严重。
    ask 希望找到防起球工艺。
    """
    parts = [(normalise(title).strip(), "title")]
    for sentence in _SENTENCES.findall(normalise(description)):
        sentence = sentence.strip()
        if not sentence:
            continue
        if any(cue in sentence for cue in ASK_CUES):
            role = "ask"
        elif any(cue in sentence for cue in CONTEXT_CUES):
            role = "context"
        else:
            role = "neutral"
        parts.append((sentence, role))
    return parts


def slips(sentence: str) -> set[str]:
    """Words of the sentence's segmentation that a more common word crossing their edge
    contradicts (提高压线 → 高压线, because 提高 straddles its left edge).

    >>> sorted(slips("提高压线效率"))
    ['高压线']
    """
    frequency = dictionary_frequencies()
    tokens = raw_tokens(sentence)
    found, start = set(), 0
    for token in tokens:
        end = start + len(token)
        if len(token) >= 2:
            own = frequency.get(token, 0)
            crossing = [sentence[a:b] for a in range(max(0, start - 2), start) for b in range(start + 1, end)]
            crossing += [
                sentence[a:b] for a in range(start + 1, end) for b in range(end + 1, min(len(sentence), end + 2) + 1)
            ]
            if any(frequency.get(word, 0) > SLIP_RATIO * max(own, 1) for word in crossing if len(word) >= 2):
                found.add(token)
        start = end
    return found


def understand(title: str, description: str, idf: Callable[[Sequence[str]], Sequence[float]] | None = None) -> Need:
    """A need read for matching: its parts, term weights and key concepts. `idf` gives the
    corpus rarity of terms (default 1 each: specificity alone)."""
    roles = split_need(title, description)
    best_role: dict[str, float] = {}
    slipped: set[str] = set()
    for sentence, role in roles:
        slipped |= slips(sentence)
        for token in raw_tokens(sentence):
            if _is_term(token):
                best_role[token] = max(best_role.get(token, 0.0), ROLE_WEIGHTS[role])
    terms = [t for t in best_role if t not in slipped]
    rarity = list(idf(terms)) if idf is not None else [1.0] * len(terms)
    weights = {t: r * specificity(t) * best_role[t] for t, r in zip(terms, rarity, strict=True)}
    weights = dict(sorted(weights.items(), key=lambda kv: -kv[1]))
    concepts = [t for t in weights if len(t) >= 2][:MAX_CONCEPTS]
    return Need("\n".join(s for s, _ in roles[:1]) + "\n" + normalise(description), roles, weights, concepts)


def _is_term(token: str) -> bool:
    return token not in NEED_WORDS and is_content_token(token)
