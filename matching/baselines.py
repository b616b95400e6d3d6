"""The two baselines `jiebang eval` prints beside the engine, run on the same data: BM25 over
character bigrams and BM25 over jieba words, both on title + abstract (title + description of
the challenge), with bm25s's default parameters (k1 1.5, b 0.75, Lucene IDF)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import bm25s

from matching.engine import Challenge, Listing
from matching.text import char_bigrams, normalise, tokenize

Ranked = tuple[dict[str, list[str]], dict[str, list[float]]]  # challenge_id → listing ids, their scores
_EMPTY = ["\u0000"]  # bm25s needs at least one token per text; this one occurs nowhere else


def _bm25(
    listings: Sequence[Listing], challenges: Sequence[Challenge], tokens: Callable[[str], list[str]], k: int
) -> Ranked:
    if not listings or not challenges:
        return {c.challenge_id: [] for c in challenges}, {c.challenge_id: [] for c in challenges}
    retriever = bm25s.BM25()
    retriever.index([tokens(li.title + " " + li.abstract) or _EMPTY for li in listings], show_progress=False)
    queries = [tokens(c.title + " " + c.description) or _EMPTY for c in challenges]
    docs, scores = retriever.retrieve(queries, k=min(k, len(listings)), show_progress=False)
    ranking, scored = {}, {}
    for c, row, points in zip(challenges, docs, scores, strict=True):
        ranking[c.challenge_id] = [listings[int(d)].listing_id for d in row]
        scored[c.challenge_id] = [float(p) for p in points]
    return ranking, scored


def bigram_bm25(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> Ranked:
    """Character-bigram BM25 over title + abstract: the ranking and the BM25 scores.

    >>> ranking, scores = bigram_bm25(
    ...     [Listing("S1", "燃料电池双极板"), Listing("S2", "拉链头")],
    ...     [Challenge("C1", "双极板腐蚀")],
    ... )
    >>> ranking["C1"][0], scores["C1"][0] > scores["C1"][1]
    ('S1', True)
    """
    return _bm25(listings, challenges, lambda text: char_bigrams(normalise(text)), k)


def word_bm25(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> Ranked:
    """BM25 over jieba words (`matching.text.tokenize`: content words, duplicates kept)."""
    return _bm25(listings, challenges, tokenize, k)
