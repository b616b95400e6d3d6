"""Matched terms highlighted in a text, as HTML made only of escaped text and <mark> tags.

The engine's spans index the normalised `title + "\\n" + body` of each side (normalisation keeps
the length of CJK text). The HTML is built from escaped pieces only: every character that HTML or
Markdown gives a meaning to becomes a character reference, so crawled or posted text can never
become a tag, a link or Markdown syntax, and the whole is one <div> without blank lines (one HTML
block, which Markdown leaves alone).

>>> to_html(segments("5G小基站<b>", [[0, 2]]))
'<div class="jb-text"><mark>5G</mark>小基站&lt;b&gt;</div>'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from matching.text import normalise

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "\n": "<br>", "\r": ""}
_ENTITIES.update({c: f"&#{ord(c)};" for c in "\\`*_{}[]()#+-.!|~$:=^"})
_ESCAPE = str.maketrans(_ENTITIES)

Segment = tuple[str, bool]  # (text, is a matched term)


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
    """Segments for each of `parts` (e.g. title and description), whose join with "\\n" the spans
    index. A part whose normalised form has another length is shown normalised, so the spans
    still fall on the right characters. `limits` cuts parts to at most so many characters ("…"
    is added)."""
    spans = list(spans)
    limits = limits or [None] * len(parts)
    out, offset = [], 0
    for part, limit in zip(parts, limits, strict=True):
        part = part or ""
        shown = part if len(normalise(part)) == len(part) else normalise(part)
        cut = shown if limit is None else shown[:limit]
        pieces = segments(cut, spans, offset)
        if len(cut) < len(shown):
            pieces.append(("…", False))
        out.append(pieces)
        offset += len(shown) + 1
    return out


def to_html(pieces: Sequence[Segment], *, prefix: str = "", bold: bool = False) -> str:
    """One <div> of escaped text with <mark> around the matched pieces (`prefix` is escaped too;
    `bold` wraps the text in <b>)."""
    body = escape(prefix) + "".join(f"<mark>{escape(t)}</mark>" if hit else escape(t) for t, hit in pieces)
    return f'<div class="jb-text">{f"<b>{body}</b>" if bold else body}</div>'
