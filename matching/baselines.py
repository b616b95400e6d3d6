"""The two baselines `jiebang eval` prints beside the engine, run on the same data."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from matching.engine import Challenge, Listing
from matching.text import char_bigrams, normalise, tokenize


def bigram_bm25(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> dict[str, list[str]]:
    """Character-bigram BM25 over title + abstract."""
    retriever = bm25s.BM25()
    retriever.index(
        [char_bigrams(normalise(li.title + " " + li.abstract)) or ["\u0000"] for li in listings], show_progress=False
    )
    queries = [char_bigrams(normalise(c.title + " " + c.description)) or ["\u0000"] for c in challenges]
    docs, _ = retriever.retrieve(queries, k=min(k, len(listings)), show_progress=False)
    return {c.challenge_id: [listings[int(d)].listing_id for d in row] for c, row in zip(challenges, docs, strict=True)}


def plain_rapidfuzz(listings: Sequence[Listing], challenges: Sequence[Challenge], k: int = 50) -> dict[str, list[str]]:
    """Word-level fuzzy matching of whole texts: token_sort_ratio of the segmented challenge
    against every segmented listing (no retrieval, no weighting)."""
    texts = [" ".join(tokenize(li.title + " " + li.abstract)) for li in listings]
    queries = [" ".join(tokenize(c.title + " " + c.description)) for c in challenges]
    scores = process.cdist(queries, texts, scorer=fuzz.token_sort_ratio, workers=-1)
    ranking = {}
    for c, row in zip(challenges, scores, strict=True):
        best = np.argsort(-row, kind="stable")[:k]
        ranking[c.challenge_id] = [listings[i].listing_id for i in best]
    return ranking
