"""Candidate retrieval (BM25 over jieba tokens) and rescoring into an explained 0–100 score.

Score parts (they add up to the score):
- coverage  (0–50): share of the challenge's terms found in the listing, weighted by rarity
  (IDF); a term counts when the listing has it or a close variant (rapidfuzz on segmented terms).
  Full marks at COVERAGE_FULL: a firm's text carries symptoms and constraints no solution repeats;
- relevance (0–40): BM25 score as a share of the challenge's "ideal" score (every term present
  once in a listing of average length), full marks at RELEVANCE_FULL;
- field     (0–10): the listing is in the challenge's industry.
Both scales are absolute, not relative to the best candidate, so a weak best match stays weak.
A challenge whose best score is below `no_match_below` is flagged "no good match".
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bm25s
from rapidfuzz import fuzz, process

from matching.text import tokenize

WEIGHTS = {"coverage": 50.0, "relevance": 40.0, "field": 10.0}
COVERAGE_FULL = 0.35
RELEVANCE_FULL = 0.20
BM25_K1, BM25_B = 1.5, 0.75  # bm25s defaults, used for the ideal score
FUZZY_MIN = 85.0  # rapidfuzz ratio for a near-identical term (锂电池 ~ 锂电池组)
TITLE_WEIGHT = 2  # title tokens count twice in the BM25 document


@dataclass(frozen=True)
class Listing:
    listing_id: str
    title: str
    abstract: str = ""
    claims: str = ""
    keywords: tuple[str, ...] = ()
    field: str | None = None
    kind: str = "patent"

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Listing:
        return cls(r["listing_id"], r["title"], r.get("abstract") or "", r.get("claims") or "",
                   tuple(r.get("keywords") or ()), r.get("field"), r.get("kind") or "patent")


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    title: str
    description: str = ""
    field: str | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Challenge:
        return cls(r["challenge_id"], r["title"], r.get("description") or "", r.get("field"))


@dataclass(frozen=True)
class Match:
    challenge_id: str
    listing_id: str
    rank: int
    score: float
    parts: dict[str, float]
    matched_terms: list[dict[str, Any]]
    no_good_match: bool = False

    def as_record(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class ListingIndex:
    listings: list[Listing]
    tokens: list[list[str]]  # per listing, for coverage and explanations
    term_sets: list[frozenset[str]]
    idf: dict[str, float]
    avg_length: float
    retriever: bm25s.BM25 = field(repr=False)


def listing_tokens(listing: Listing) -> list[str]:
    title = tokenize(listing.title)
    body = tokenize(" ".join((listing.abstract, listing.claims, " ".join(listing.keywords))))
    return title * TITLE_WEIGHT + body


def build_index(listings: Iterable[Listing]) -> ListingIndex:
    """Tokenise the listings and build the BM25 index over them."""
    listings = list(listings)
    tokens = [listing_tokens(listing) for listing in listings]
    doc_freq = Counter(term for toks in tokens for term in set(toks))
    n = max(len(listings), 1)
    idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in doc_freq.items()}
    retriever = bm25s.BM25()
    if listings:
        retriever.index(tokens, show_progress=False)
    avg_length = sum(map(len, tokens)) / n
    return ListingIndex(listings, tokens, [frozenset(t) for t in tokens], idf, avg_length, retriever)


def term_weight(term: str, idf: Mapping[str, float]) -> float:
    """IDF; a term no listing has gets the highest IDF: missing it is the strongest signal."""
    return idf.get(term) or max(idf.values(), default=1.0)


def ideal_bm25(terms: Sequence[str], idf: Mapping[str, float], avg_length: float) -> float:
    """The BM25 score of a listing of average length that contains every term once."""
    norm = 1 + BM25_K1 * (1 - BM25_B + BM25_B * len(terms) / max(avg_length, 1.0))
    return sum(term_weight(t, idf) for t in terms) * (BM25_K1 + 1) / norm


def _challenge_terms(challenge: Challenge) -> list[str]:
    seen: dict[str, None] = {}
    for term in tokenize(challenge.title) + tokenize(challenge.description):
        seen.setdefault(term, None)
    return list(seen)


def _term_hits(terms: Sequence[str], listing_terms: frozenset[str]) -> dict[str, str]:
    """Challenge term → the listing term it matched (itself, or a close variant)."""
    hits: dict[str, str] = {}
    vocabulary = list(listing_terms)
    for term in terms:
        if term in listing_terms:
            hits[term] = term
        elif len(term) >= 3:
            found = process.extractOne(term, vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
            if found:
                hits[term] = found[0]
    return hits


def _positions(text: str, term: str) -> list[list[int]]:
    lowered = text.lower()
    spans, start = [], lowered.find(term)
    while start >= 0:
        spans.append([start, start + len(term)])
        start = lowered.find(term, start + len(term))
    return spans


def score_candidate(challenge: Challenge, terms: Sequence[str], listing: Listing,
                    listing_terms: frozenset[str], idf: Mapping[str, float],
                    bm25_score: float, ideal: float) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """The score parts and matched terms of one (challenge, listing) pair."""
    weights = {t: term_weight(t, idf) for t in terms}
    hits = _term_hits(terms, listing_terms)
    total = sum(weights.values()) or 1.0
    coverage = sum(weights[t] for t in hits) / total
    relevance = bm25_score / ideal if ideal > 0 else 0.0
    same_field = bool(challenge.field and listing.field and challenge.field == listing.field)
    parts = {
        "coverage": round(WEIGHTS["coverage"] * min(1.0, coverage / COVERAGE_FULL), 2),
        "relevance": round(WEIGHTS["relevance"] * min(1.0, relevance / RELEVANCE_FULL), 2),
        "field": WEIGHTS["field"] if same_field else 0.0,
    }
    listing_text = listing.title + "\n" + listing.abstract
    challenge_text = challenge.title + "\n" + challenge.description
    matched = [
        {
            "term": term, "listing_term": found, "weight": round(weights[term], 3),
            "challenge_spans": _positions(challenge_text, term),
            "listing_spans": _positions(listing_text, found),
        }
        for term, found in sorted(hits.items(), key=lambda kv: -weights[kv[0]])
    ]
    return parts, matched


def match_challenges(index: ListingIndex, challenges: Iterable[Challenge], *, top_k: int = 20,
                     candidates: int = 100, exclude: frozenset[tuple[str, str]] | set = frozenset(),
                     no_match_below: float = 35.0) -> list[Match]:
    """Rank listings for each challenge; excluded (challenge_id, listing_id) pairs never appear.

    Returns up to `top_k` matches per challenge, best first; every match of a challenge whose
    best score is below `no_match_below` carries `no_good_match=True`.
    """
    challenges = list(challenges)
    if not index.listings or not challenges:
        return []
    term_lists = [_challenge_terms(c) for c in challenges]
    k = min(candidates, len(index.listings))
    docs, scores = index.retriever.retrieve(
        [terms or ["\u0000"] for terms in term_lists], k=k, show_progress=False
    )
    results: list[Match] = []
    for challenge, terms, doc_row, score_row in zip(challenges, term_lists, docs, scores):
        ideal = ideal_bm25(terms, index.idf, index.avg_length)
        scored = []
        for doc, bm25_score in zip(doc_row, score_row):
            listing = index.listings[int(doc)]
            if bm25_score <= 0 or (challenge.challenge_id, listing.listing_id) in exclude:
                continue
            parts, matched = score_candidate(challenge, terms, listing, index.term_sets[int(doc)],
                                             index.idf, float(bm25_score), ideal)
            scored.append((round(sum(parts.values()), 2), listing.listing_id, parts, matched))
        scored.sort(key=lambda s: (-s[0], s[1]))
        weak = not scored or scored[0][0] < no_match_below
        results.extend(
            Match(challenge.challenge_id, listing_id, rank, score, parts, matched, weak)
            for rank, (score, listing_id, parts, matched) in enumerate(scored[:top_k], start=1)
        )
    return results
