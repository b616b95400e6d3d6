"""The two baselines `jiebang eval` prints beside the engine, run on the same data."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
from rapidfuzz import fuzz, process

from matching.engine import Challenge, Listing
from matching.text import normalise


def char_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of the normalised text, whitespace and punctuation removed."""
    chars = [c for c in normalise(text) if c.isalnum()]
    return [a + b for a, b in zip(chars, chars[1:])]


def bigram_bm25(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> dict[str, list[str]]:
    """Character-bigram BM25 over title + abstract."""
    retriever = bm25s.BM25()
    retriever.index([char_bigrams(l.title + " " + l.abstract) or ["\u0000"] for l in listings], show_progress=False)
    queries = [char_bigrams(c.title + " " + c.description) or ["\u0000"] for c in challenges]
    docs, _ = retriever.retrieve(queries, k=min(k, len(listings)), show_progress=False)
    return {c.challenge_id: [listings[int(d)].listing_id for d in row] for c, row in zip(challenges, docs)}


def plain_rapidfuzz(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> dict[str, list[str]]:
    """Whole-text fuzzy matching (partial_ratio of the challenge against each listing title + abstract)."""
    texts = [normalise(l.title + " " + l.abstract) for l in listings]
    ranking = {}
    for c in challenges:
        hits = process.extract(normalise(c.title + " " + c.description), texts, scorer=fuzz.partial_ratio, limit=k)
        ranking[c.challenge_id] = [listings[i].listing_id for _, _, i in hits]
    return ranking
