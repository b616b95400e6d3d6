"""The text of a match card: the listing and the need in their original text with the matched
terms marked, the need's key concepts the listing meets or lacks, and what the score means.

Pure functions returning strings (no Streamlit calls), so a page renders each block with one
call. HTML comes only from jiebang.highlight (escaped text and <mark>); Markdown lines escape
every piece of data with ui.context.plain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from jiebang.highlight import SINGLE_CHARACTER_TERMS, split_highlight, to_html
from matching.ranker import band_meaning, score_band, shipped_model
from matching.text import normalise, normalise_aligned
from ui.context import plain

# Part names of matches stored before the learned ranker (issue 13); new parts are named in Chinese.
PART_LABELS = {
    "coverage": "需求覆盖",
    "relevance": "文本相关",
    "field": "行业一致",
    "maturity": "成熟度",
    "price": "价格/榜额",
    "region": "长三角",
    "status": "法律状态",
    "cooperation": "合作方式",
}
MAX_OTHER_TERMS = 12


def score_help(bands: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The score's tooltip: what it is, and each band's measured share of relevant listings on
    all labelled needs and on the real market needs alone (default: the shipped model's figures)."""
    bands = bands if bands is not None else shipped_model().meta.get("bands") or []
    real = [
        f"{b['band']} {band_meaning(b['by_set']['market_dev']).removesuffix(' 相关')}"
        for b in bands
        if "market_dev" in b.get("by_set", {})
    ]
    return (
        "匹配分 ≈ 经纪人判定相关的把握（%），在已标注的需求上交叉验证校准；"
        "高/中/低 旁是该档实测相关的比例"
        + (f"（仅真实企业需求：{'，'.join(real)}）" if real else "")
        + "。各部分（文本相似、关键概念、需求覆盖…）相加等于总分。"
    )


def listing_html(m: Mapping[str, Any], limit: int | None = None) -> tuple[str, str]:
    """The listing's title (bold, after its rank) and abstract (at most `limit` characters), as
    written, with the matched terms marked."""
    spans = [s for t in m["matched_terms"] for s in t.get("listing_spans", [])]
    title, abstract = split_highlight([m["title"], m["abstract"]], spans, limits=[None, limit])
    return to_html(title, prefix=f"{m['rank']}. ", bold=True), to_html(abstract)


def need_html(challenge: Mapping[str, Any], m: Mapping[str, Any]) -> list[str]:
    """The need's title and description as the firm wrote them, with the terms this listing meets marked."""
    spans = [s for t in m["matched_terms"] for s in t.get("challenge_spans", [])]
    return [to_html(part) for part in split_highlight([challenge["title"], challenge["description"]], spans)]


def explanation_lines(m: Mapping[str, Any], challenge: Mapping[str, Any] | None = None) -> list[str]:
    """Markdown lines (data escaped): the need's key concepts, each ✓ met or ✗ not by the listing,
    then the other matched terms. Terms are shown as the need writes them when `challenge` is
    given (20CrMnTi, not 20crmnti)."""
    parts = [challenge["title"], challenge["description"]] if challenge else None
    concepts = [t for t in m["matched_terms"] if t.get("key_concept") and _readable(t["term"])]
    others = [t for t in m["matched_terms"] if not t.get("key_concept") and _readable(t["term"])]
    lines = []
    if concepts:
        met = [t for t in concepts if t.get("met", True)]
        marks = [("✓ " if t.get("met", True) else "✗ ") + plain(_as_written(t, parts)) for t in concepts]
        known = any("met" in t for t in concepts)  # stored before unmet concepts were: met ones only
        head = f"需求关键概念（本条满足 {len(met)}/{len(concepts)}）：" if known else "命中需求关键概念："
        lines.append(head + "　".join(marks))
    if others:
        lines.append("其他命中词：" + "、".join(plain(_as_written(t, parts)) for t in others[:MAX_OTHER_TERMS]))
    return lines


def score_lines(score: float, parts: Mapping[str, float]) -> list[str]:
    """The score's band with its measured meaning, and its parts in whole points that add up to
    the score as shown."""
    shown = whole_parts(parts, score)
    return [
        band_line(score),
        " + ".join(f"{plain(PART_LABELS.get(k, k))} {v}" for k, v in shown.items()) + f" = {round(score)}",
    ]


def band_line(score: float) -> str:
    """高（≥50）：约 7/10 相关 — the band of a score and what scores in it have meant."""
    return score_band(score)


def whole_parts(parts: Mapping[str, float], score: float) -> dict[str, int]:
    """Parts rounded to whole points that add up to the score rounded (largest remainders get the
    spare points), parts of 0 left out.

    >>> whole_parts({"文本相似": 4.4, "关键概念": 4.4}, 8.8)
    {'文本相似': 5, '关键概念': 4}
    """
    total = round(score)
    floors = {k: math.floor(v) for k, v in parts.items() if v > 0}
    spare = total - sum(floors.values())
    for k in sorted(floors, key=lambda k: -(parts[k] - floors[k]))[: max(spare, 0)]:
        floors[k] += 1
    return {k: v for k, v in floors.items() if v > 0}


def _readable(term: str) -> bool:
    """A term worth listing: two or more characters, a Latin code, or a one-character term."""
    return len(term) >= 2 or term.isascii() or term in SINGLE_CHARACTER_TERMS


def _as_written(term: Mapping[str, Any], parts: Sequence[str] | None) -> str:
    """The term as the need writes it (its first place in the need), else as matched."""
    spans = term.get("challenge_spans") or term.get("need_spans") or []
    if not parts or not spans:
        return term["term"]
    start, end = spans[0]
    offset = 0
    for part in parts:
        shown, starts, ends = normalise_aligned(part or "")
        if offset <= start < end <= offset + len(shown):
            written = (part or "")[starts[start - offset] : ends[end - offset - 1]]
            # spans of a need edited since it was matched point elsewhere: then the term as matched
            return written if normalise(written) == term["term"] else term["term"]
        offset += len(shown) + 1
    return term["term"]
