"""Matched terms highlighted in a text, as HTML made only of escaped text and <mark> tags.

The engine's spans index the normalised `title + "\\n" + body` of each side. Normalising may change
a text's length (℃ → °c, ﬁ → fi) and always changes its look (20CrMnTi → 20crmnti, ＶＯＣ → voc):
spans are mapped back through `matching.text.normalise_aligned`, so the card shows only the
original text, with whole original characters marked. The HTML is built from escaped pieces
only: every character that HTML or Markdown gives a meaning to becomes a character reference, so
crawled or posted text can never become a tag, a link or Markdown syntax, and the whole is one
<div> without blank lines (one HTML block, which Markdown leaves alone).

>>> to_html(segments("5G小基站<b>", [[0, 2]]))
'<div class="jb-text"><mark>5G</mark>小基站&lt;b&gt;</div>'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from matching.text import normalise_aligned, raw_tokens
from matching.vocabulary import SYNONYM_GROUPS

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\n": "<br>", "\r": ""}
_ENTITIES.update({c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~$:=^"})
_ESCAPE = str.maketrans(_ENTITIES)

Segment = tuple[str, bool]  # (text, is a matched term)
# One-character words that are whole technical terms (the elements of the synonym table: 镍 ↔ ni)
SINGLE_CHARACTER_TERMS = frozenset(w for group in SYNONYM_GROUPS for w in group if len(w) == 1)


def escape(text: str) -> str:
    """Text made inert for st.markdown(..., unsafe_allow_html=True)."""
    return text.translate(_ESCAPE)


def merged(spans: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Spans sorted, with overlapping or touching ones joined."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans if int(e) > int(s)):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def segments(text: str, spans: Iterable[Sequence[int]], offset: int = 0) -> list[Segment]:
    """`text` cut into plain and matched pieces, for a text that starts at `offset` in the
    string the spans index (spans outside it are ignored, those across its ends clipped)."""
    pieces: list[Segment] = []
    position = 0
    for start, end in merged(spans):
        start, end = max(start - offset, position), min(end - offset, len(text))
        if start >= end:
            continue
        if start > position:
            pieces.append((text[position:start], False))
        pieces.append((text[start:end], True))
        position = end
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def split_highlight(
    parts: Sequence[str], spans: Iterable[Sequence[int]], limits: Sequence[int | None] | None = None
) -> list[list[Segment]]:
    """Segments of each of `parts` (e.g. title and description), in their original text, for
    spans that index the join of their normalised forms with "\\n". `limits` cuts parts to at
    most so many characters ("…" is added). A single-character span is kept only where that
    character is a whole word of the text (镍 in 镍基合金 is not; 镍 between commas is): single
    characters inside words mark half the text and say nothing."""
    spans = merged(spans)
    limits = limits or [None] * len(parts)
    out, offset = [], 0
    for part, limit in zip(parts, limits, strict=True):
        part = part or ""
        shown, starts, ends = normalise_aligned(part)
        local = [(max(s - offset, 0), min(e - offset, len(shown))) for s, e in spans]
        local = whole_terms(shown, [(s, e) for s, e in local if s < e])
        cut = part if limit is None else part[:limit]
        pieces = segments(cut, [(starts[s], ends[e - 1]) for s, e in local])
        if len(cut) < len(part):
            pieces.append(("…", False))
        out.append(pieces)
        offset += len(shown) + 1
    return out


def whole_terms(text: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of `text` worth marking: two or more characters, or one character that stands
    as a term of its own there — no Chinese character either side (钛、镍), or a one-character
    term of the vocabulary (an element) that the segmenter cuts as a word (镍|基合金).

    >>> whole_terms("轮毂电机跑偏，镍基合金、钛", [(0, 1), (4, 5), (7, 8), (12, 13), (0, 4)])
    [(7, 8), (12, 13), (0, 4)]
    """
    if all(e - s >= 2 for s, e in spans):
        return list(spans)
    words, position = set(), 0
    for token in raw_tokens(text):
        if len(token) == 1 and token in SINGLE_CHARACTER_TERMS:
            words.add(position)
        position += len(token)

    def alone(i: int) -> bool:
        return not any(0 <= j < len(text) and _is_han(text[j]) for j in (i - 1, i + 1))

    return [(s, e) for s, e in spans if e - s >= 2 or s in words or alone(s)]


def _is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def to_html(pieces: Sequence[Segment], *, prefix: str = "", bold: bool = False) -> str:
    """One <div> of escaped text with <mark> around the matched pieces (`prefix` is escaped too;
    `bold` wraps the text in <b>)."""
    body = escape(prefix) + "".join(f"<mark>{escape(t)}</mark>" if hit else escape(t) for t, hit in pieces)
    return f'<div class="jb-text">{f"<b>{body}</b>" if bold else body}</div>'
