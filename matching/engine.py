"""Match challenges to listings: BM25 candidates (words + character bigrams), their evidence,
and a learned, calibrated 0–100 score.

1. The need is read first (matching.need): its ask and context, term weights that discount
   generic and everyday words, its key concepts.
2. Candidates: word BM25 over the need's terms and character-bigram BM25 over its whole text
   (as the bigram baseline: repeats count, b = 0.75), fused.
3. Evidence per candidate (matching.ranker.FEATURES): both BM25s relative to the need's best
   hit and absolute, the key concepts and terms the listing meets, the first engine's blend,
   what kind of listing it is, how much prose the need is.
4. The ranking model (matching/models/ranker-v1.json, `jiebang train`) turns the evidence into
   the calibrated chance that a broker judges the listing relevant; score = 100 × that chance,
   its parts the features' shares (they add up). A need whose best chance is below the model's
   threshold is flagged "no good match".
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from matching.index import Listing, ListingIndex, bigram_key, build_index, matching_text
from matching.need import Need, understand
from matching.ranker import Model, feature_matrix, shipped_model
from matching.text import char_bigrams, normalise, tokenize_normalised
from matching.vocabulary import synonym_map

__all__ = [
    "Challenge",
    "Listing",
    "ListingIndex",
    "Match",
    "Query",
    "Retrieved",
    "Scored",
    "build_index",
    "fuse",
    "make_queries",
    "match_challenges",
    "rank",
    "rescore",
    "retrieve",
]

BIGRAM_WEIGHT = 0.7  # the recall net counts less than word matches
RECALL_TERMS: int | None = None  # bigrams of the title and this many rarest terms (None: the whole text)
TITLE_TERM_WEIGHT = 1.5
FUZZY_MIN = 80.0
MAX_SHARE = 0.05  # query terms in more than this share of listings are not used for retrieval
CANDIDATES = 300  # from each of the two BM25 indexes
RESCORED = 150  # best fused candidates that get rescored
FUZZY_CANDIDATES = 20  # of those, the best that also get fuzzy term matching (segmenting costs)
MAX_SPANS = 3  # occurrences highlighted per term
MAX_TERMS = 10  # matched terms explained per match, the rarest first
BIGRAM_ABS_SCALE = 4.0  # a need's bigrams each meeting a typical BM25 weight of this much: full marks
LONG_NEED_CHARS = 300  # a need this long or longer is prose, not keywords
RELEASE_EVERY = 100  # challenges rescored between giving back the index pages read (bounds memory)


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    title: str
    description: str = ""
    field: str | None = None
    budget_wan: float | None = None
    region: str | None = None
    cooperation: str | None = None

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Challenge:
        return cls(
            r["challenge_id"],
            r.get("title") or "",
            r.get("description") or "",
            r.get("field"),
            r.get("budget_wan"),
            r.get("region"),
            r.get("cooperation"),
        )


@dataclass(frozen=True)
class Match:
    challenge_id: str
    listing_id: str
    rank: int
    score: float
    parts: dict[str, float]
    matched_terms: list[dict[str, Any]]
    no_good_match: bool = False
    concepts: list[str] = field(default_factory=list)  # the need's key concepts (which are met: matched_terms)

    def as_record(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Query:
    challenge: Challenge
    text: str  # normalised title + "\n" + description
    weights: dict[str, float]  # term → weight (IDF × title emphasis)
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    need: Need | None = None
    _spans: dict[str, list[list[int]]] = field(default_factory=dict)
    _explainable: list[tuple[str, float, bool]] | None = None
    _latin: dict[str, re.Pattern] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Coverage checks every term against every candidate: split once into the terms a plain
        # substring test decides and the Latin codes that need a whole-word test.
        self.plain_terms = [t for t in self.weights if not t.isascii()]
        self.latin_terms = [t for t in self.weights if t.isascii()]
        self.total_weight = sum(self.weights.values()) or 1.0

    def occurs(self, term: str, text: str) -> bool:
        """Whether the term is in the text; a Latin code only as a whole word ("ai" is not in
        "chain", "pcb" is not "pc")."""
        if term not in text:
            return False
        if not term.isascii():
            return True
        if (pattern := self._latin.get(term)) is None:
            pattern = self._latin[term] = re.compile(rf"(?<![a-z0-9]){re.escape(term)}(?![a-z0-9])")
        return pattern.search(text) is not None

    def explainable(self) -> list[tuple[str, float, bool]]:
        """(term, weight, is a key concept) in the order explanations list them: the key concepts,
        then the rarest other terms; no single Chinese character (asked for every match: cached)."""
        if self._explainable is None:
            concepts = self.need.concepts if self.need else []
            need_weights = self.need.weights if self.need else {}
            self._explainable = [
                (term, round(self.weights.get(term) or need_weights.get(term, 0.0), 3), term in concepts)
                for term in dict.fromkeys([*concepts, *self.weights])
                if len(term) >= 2 or term.isascii()
            ]
        return self._explainable

    def spans(self, term: str) -> list[list[int]]:
        """Where a term occurs in the challenge (asked for every match that has it: cached)."""
        if term not in self._spans:
            self._spans[term] = spans(self.text, term)
        return self._spans[term]

    def recall_bigrams(self) -> list[int]:
        """Bigrams (as keys) of the title and of the rarest terms: the recall net for words
        segmented differently, kept short because every query bigram costs a posting-list scan."""
        if RECALL_TERMS is None:  # the whole text, repeats included: BM25 counts a bigram the need repeats
            return list(map(bigram_key, char_bigrams(self.text)))
        else:
            rarest = list(self.weights)[:RECALL_TERMS]
            bigrams = char_bigrams(self.text.split("\n", 1)[0]) + [b for t in rarest for b in char_bigrams(t)]
        return list(dict.fromkeys(map(bigram_key, bigrams)))

    @property
    def retrieval_terms(self) -> list[str]:
        expanded = list(self.weights)
        for alternatives in self.synonyms.values():
            expanded += [t for alt in alternatives for t in tokenize_normalised(alt)]
        return list(dict.fromkeys(expanded))


def make_query(challenge: Challenge, index: ListingIndex) -> Query:
    title = normalise(challenge.title)
    text = title + "\n" + normalise(challenge.description)
    title_terms = set(tokenize_normalised(title))
    terms = list(dict.fromkeys(tokenize_normalised(text)))
    weights = {
        t: idf * (TITLE_TERM_WEIGHT if t in title_terms else 1.0)
        for t, idf in zip(terms, index.idf(terms), strict=True)
    }
    weights = dict(sorted(weights.items(), key=lambda kv: -kv[1]))  # rarest first: explanations list them so
    known = synonym_map()
    need = understand(challenge.title, challenge.description, index.idf)
    return Query(challenge, text, weights, {t: known[t] for t in weights if t in known}, need)


# A fused candidate: (segment, row, fused score, {"word", "bigram", "bigram_rank"} features).
Candidate = tuple[int, int, float, dict[str, float]]


@dataclass(frozen=True)
class Retrieved:
    """BM25 hits of a batch of queries in some of the index's segments, before fusion: for words
    and for bigrams, keys ((segment << 32) + row) and raw scores, (queries × at most CANDIDATES),
    best first. Raw scores from different partitions of the same index compare directly."""

    words: tuple[np.ndarray, np.ndarray]
    bigrams: tuple[np.ndarray, np.ndarray]


def retrieve(index: ListingIndex, queries: Sequence[Query], segments: Iterable[int] | None = None) -> Retrieved:
    """The CANDIDATES best raw word and bigram hits per query among `segments` (default: all).

    Array operations throughout: a million Python tuples per thousand queries was most of
    retrieval time."""
    numbers = range(len(index.segments)) if segments is None else list(segments)
    found = []
    for terms, postings_of in (
        ([q.retrieval_terms for q in queries], "words"),
        ([q.recall_bigrams() for q in queries], "bigrams"),
    ):
        keys = [np.zeros((len(queries), 0), dtype=np.int64)]
        scores = [np.zeros((len(queries), 0), dtype=np.float64)]
        for number in numbers:
            segment = index.segments[number]
            postings = getattr(segment, postings_of)
            columns = [postings.lookup(t, MAX_SHARE) for t in terms]
            docs, hits = postings.retrieve(columns, min(CANDIDATES, len(segment.ids)), segment.alive)
            postings.release()
            keys.append((number << 32) + np.asarray(docs, dtype=np.int64))
            scores.append(np.asarray(hits, dtype=np.float64))
        found.append(_best(np.concatenate(keys, axis=1), np.concatenate(scores, axis=1)))
    return Retrieved(*found)


def _best(keys: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Stable, so equal scores keep segment order: partitions merged in order rank like one pass.
    order = np.argsort(-scores, axis=1, kind="stable")[:, :CANDIDATES]
    return np.take_along_axis(keys, order, 1), np.take_along_axis(scores, order, 1)


def fuse(parts: Sequence[Retrieved]) -> list[list[Candidate]]:
    """The RESCORED best candidates per query as (segment, row, fused score, retrieval features),
    best first, from the hits of consecutive partitions of the index (in segment order).

    Fused: word BM25 + BIGRAM_WEIGHT × bigram BM25, each relative to the query's best hit among
    its CANDIDATES best over all segments (masked rows skipped)."""
    fused, bests = [], []
    for kind, weight in (("words", 1.0), ("bigrams", BIGRAM_WEIGHT)):
        keys, scores = _best(
            np.concatenate([getattr(p, kind)[0] for p in parts], axis=1),
            np.concatenate([getattr(p, kind)[1] for p in parts], axis=1),
        )
        best = np.maximum(scores[:, :1], np.finfo(np.float64).tiny)
        fused.append((keys, np.where(scores > 0, weight * scores / best, 0.0)))
        bests.append(best[:, 0])
    (word_keys, word_scores), (bigram_keys, bigram_scores) = fused
    ranked = []
    for i in range(len(word_keys)):
        keys = np.concatenate([word_keys[i], bigram_keys[i]])
        scores = np.concatenate([word_scores[i], bigram_scores[i]])
        is_word = np.concatenate([np.ones(len(word_keys[i]), bool), np.zeros(len(bigram_keys[i]), bool)])
        keep = scores > 0
        keys, scores, is_word = keys[keep], scores[keep], is_word[keep]
        distinct, where = np.unique(keys, return_inverse=True)
        total = np.bincount(where, weights=scores)
        words = np.bincount(where, weights=np.where(is_word, scores, 0.0), minlength=len(distinct))
        best = np.argsort(-total, kind="stable")[:RESCORED]
        bigram_rank = {int(k): r for r, k in enumerate(bigram_keys[i][bigram_scores[i] > 0])}
        ranked.append(
            [
                (
                    int(k >> 32),
                    int(k & 0xFFFFFFFF),
                    float(t),
                    {
                        "word": float(w),
                        "bigram": float(t - w) / BIGRAM_WEIGHT,
                        "bigram_rank": 1 / math.log2(bigram_rank[int(k)] + 2) if int(k) in bigram_rank else 0.0,
                        "word_raw": float(w) * float(bests[0][i]),
                        "bigram_raw": float(t - w) / BIGRAM_WEIGHT * float(bests[1][i]),
                    },
                )
                for k, t, w in zip(distinct[best], total[best], words[best], strict=True)
            ]
        )
    return ranked


def _coverage(query: Query, text: str, words: list[str] | None) -> tuple[float, dict[str, str]]:
    """IDF-weighted share of the query's terms in the listing text, and what matched what.

    A term counts when it or a synonym occurs in the text; with the listing's `words`, terms
    still missing count half when rapidfuzz finds a close variant among them."""
    hits = {term: term for term in query.plain_terms if term in text}
    hits.update((term, term) for term in query.latin_terms if query.occurs(term, text))
    missed = []
    for term in query.weights:
        if term in hits:
            continue
        if term in query.synonyms and (found := next((s for s in query.synonyms[term] if query.occurs(s, text)), None)):
            hits[term] = found
        elif len(term) >= 3:
            missed.append(term)
    credit = sum(query.weights[term] for term in hits)
    if words and missed:
        ratios = process.cdist(missed, words, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN)
        for term, row, best in zip(missed, ratios, ratios.argmax(axis=1), strict=True):
            if row[best] >= FUZZY_MIN:
                hits[term] = words[best]
                credit += query.weights[term] / 2
    return credit / query.total_weight, hits


def spans(text: str, term: str) -> list[list[int]]:
    """Where a term occurs in a text: [start, end) of its first MAX_SPANS occurrences."""
    found: list[list[int]] = []
    start = text.find(term)
    while start >= 0 and len(found) < MAX_SPANS:
        found.append([start, start + len(term)])
        start = text.find(term, start + len(term))
    return found


def _explain(query: Query, shown: str, hits: Mapping[str, str]) -> list[dict[str, Any]]:
    """The matched terms a broker can check, with their positions in the challenge and in the
    listing's title + abstract (a fuzzy or synonym match may occur only further down: no listing
    span): the need's key concepts first (`key_concept`), then the rarest other terms, then the
    key concepts it does not meet (`met` false). A single character is evidence only as a
    Latin-free whole term of its own, never shown on its own."""
    explained = []
    for term, weight, key_concept in query.explainable():
        found = hits.get(term)
        if found is None:
            continue
        explained.append(
            {
                "term": term,
                "listing_term": found,
                "weight": weight,
                "key_concept": key_concept,
                "challenge_spans": query.spans(term),
                "listing_spans": spans(shown, found),
            }
        )
        if len(explained) == MAX_TERMS:
            break
    # The key concepts the listing does not meet, so a broker sees what it lacks as well ("met":
    # false; their place in the need is "need_spans", never marked as matched).
    for concept in query.need.concepts if query.need else []:
        if concept not in hits:
            explained.append(
                {"term": concept, "key_concept": True, "met": False, "need_spans": query.spans(concept)[:1]}
            )
    return explained


def match_challenges(
    index: ListingIndex,
    challenges: Iterable[Challenge],
    *,
    top_k: int = 20,
    exclude: frozenset[tuple[str, str]] | set = frozenset(),
    today: date | None = None,
    model: Model | None = None,
) -> list[Match]:
    """Rank listings for each challenge, best first, at most `top_k` each.

    Excluded (challenge_id, listing_id) pairs, such as rejected ones, never appear. Spans in
    `matched_terms` index the normalised `challenge.title + "\\n" + challenge.description` and
    listing `title + "\\n" + abstract` (normalisation keeps CJK text length).
    """
    challenges = list(challenges)
    if not len(index) or not challenges:
        return []
    with _without_cyclic_gc():
        return _match(index, challenges, top_k, exclude, today or date.today(), model)


@contextmanager
def _without_cyclic_gc():
    """Matching allocates millions of small acyclic objects (freed by reference counting);
    each collection the allocations trigger would re-scan every object of the loaded index."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _match(
    index: ListingIndex, challenges: list[Challenge], top_k: int, exclude, today: date, model: Model | None = None
) -> list[Match]:
    queries = make_queries(index, challenges)
    candidates = fuse([retrieve(index, queries)])
    return rank(
        queries, candidates, [rescore(index, queries, candidates, exclude)], top_k=top_k, today=today, model=model
    )


def make_queries(index: ListingIndex, challenges: Iterable[Challenge]) -> list[Query]:
    """Each challenge's query: its terms weighted by rarity over the whole index."""
    return [make_query(c, index) for c in challenges]


# A rescored candidate: (position among the query's candidates, listing id, shown text, matched
# terms, facts, features).
Scored = tuple[int, str, str, dict[str, str], dict[str, Any], dict[str, float]]
_DESIGN_PATENT = re.compile(r"(?:^|:)CN3\d{6,}S?$")  # 外观设计: a shape, no technical content


def rescore(
    index: ListingIndex,
    queries: Sequence[Query],
    candidates: Sequence[Sequence[Candidate]],
    exclude=frozenset(),
    segments: Iterable[int] | None = None,
) -> list[list[Scored]]:
    """The evidence (ranker.FEATURES) about each query's candidates that lie in `segments`
    (default: all); excluded pairs are left out. The costly step: it reads every candidate's record."""
    wanted = None if segments is None else set(segments)
    results = []
    for done, (query, found) in enumerate(zip(queries, candidates, strict=True), start=1):
        if done % RELEASE_EVERY == 0:
            index.release_pages()
        best = max((c[3]["word"] for c in found), default=0.0), max((c[3]["bigram"] for c in found), default=0.0)
        concepts = query.need.concept_weights() if query.need else {}
        concept_total = sum(concepts.values()) or 1.0
        long = min(1.0, len(query.text) / LONG_NEED_CHARS)
        n_bigrams = max(len(query.recall_bigrams()), 1)
        title_bigrams = set(char_bigrams(query.text.split("\n", 1)[0]))
        scored = []
        best_fused = found[0][2] if found else 1.0
        for position, (number, row, fused, retrieval) in enumerate(found):
            if wanted is not None and number not in wanted:
                continue
            segment = index.segments[number]
            listing_id = segment.ids[row]
            if (query.challenge.challenge_id, listing_id) in exclude:
                continue
            fields, facts = segment.record(row)
            text = matching_text(fields)
            shown = text[: len(fields["title"]) + 1 + len(fields["abstract"])]
            coverage, hits = _coverage(query, text, segment.words_of(row) if position < FUZZY_CANDIDATES else None)
            met = [c for c in concepts if c in text]
            title_met = [b for b in title_bigrams if b in shown]
            features = {
                "word": retrieval["word"] / best[0] if best[0] > 0 else 0.0,
                "bigram": retrieval["bigram"] / best[1] if best[1] > 0 else 0.0,
                "bigram_rank": retrieval["bigram_rank"],
                # absolute evidence: the best hit of a need that nothing meets is still the best
                "word_abs": min(1.0, retrieval["word_raw"] / query.total_weight),
                "bigram_abs": min(1.0, retrieval["bigram_raw"] / (BIGRAM_ABS_SCALE * n_bigrams)),
                "concepts": sum(concepts[c] for c in met) / concept_total,
                "title_concepts": sum(concepts[c] for c in met if c in fields["title"]) / concept_total,
                "coverage": coverage,
                "need_title": len(title_met) / len(title_bigrams) if title_bigrams else 0.0,
                "need_title_in_title": (
                    sum(1 for b in title_met if b in fields["title"]) / len(title_bigrams) if title_bigrams else 0.0
                ),
                # the hand-set blend of the first engine (coverage and fused BM25): still good evidence
                "blend": (45 * min(1.0, coverage / 0.8) + 35 * fused / best_fused) / 80,
                # constant: matching.industry's agreement lowered market_dev's nDCG@10 (0.467 → 0.455)
                "industry": 0.5,
                "achievement": 1.0 if facts.get("kind") == "achievement" else 0.0,
                "title_only": 0.0 if fields["abstract"].strip() else 1.0,
                "design": 1.0 if _DESIGN_PATENT.search(listing_id) else 0.0,
            }
            features.update(
                long=long,
                bigram_long=features["bigram"] * long,
                word_long=features["word"] * long,
                concepts_long=features["concepts"] * long,
            )
            for concept in met:  # a key concept met counts as matched evidence in the explanation
                hits.setdefault(concept, concept)
            scored.append((position, listing_id, shown, hits, facts, features))
        results.append(scored)
    return results


def rank(
    queries: Sequence[Query],
    candidates: Sequence[Sequence[Candidate]],
    parts: Sequence[Sequence[Sequence[Scored]]],
    *,
    top_k: int,
    today: date,
    model: Model | None = None,
) -> list[Match]:
    """The explained, ranked matches of each query from its rescored candidates (`parts`: the
    `rescore` results of one or more partitions of the index), scored by the ranking model
    (default: the shipped one)."""
    model = model or shipped_model()
    results: list[Match] = []
    for i, query in enumerate(queries):
        scored = sorted((s for part in parts for s in part[i]), key=lambda s: s[0])
        if not scored:
            continue
        x = feature_matrix([s[5] for s in scored])
        scores, logits = np.round(model.score(x), 2), model.logit(x)
        # Ranked by the model's output: the calibration is a step function, and its ties say
        # nothing about which listing is better.
        order = sorted(range(len(scored)), key=lambda j: (-logits[j], scored[j][1]))[:top_k]
        weak = bool(scores[order[0]] < 100 * model.no_match_below)
        split = model.parts(x[order])
        for place, (j, points) in enumerate(zip(order, split, strict=True), start=1):
            _, listing_id, shown, hits, _, _ = scored[j]
            points = _rounded_parts(points, float(scores[j]))
            results.append(
                Match(
                    query.challenge.challenge_id,
                    listing_id,
                    place,
                    round(sum(points.values()), 2),
                    points,
                    _explain(query, shown, hits),
                    weak,
                    query.need.concepts if query.need else [],
                )
            )
    return results


def _rounded_parts(points: Mapping[str, float], score: float) -> dict[str, float]:
    """Parts rounded to 2 decimals that still add up to the rounded score (the rounding
    remainder goes to the largest part)."""
    rounded = {name: round(value, 2) for name, value in points.items() if round(value, 2) > 0}
    if not rounded:
        return {"文本相似": round(score, 2)}
    largest = max(rounded, key=lambda name: rounded[name])
    rounded[largest] = round(rounded[largest] + round(score, 2) - sum(rounded.values()), 2)
    return rounded


def candidate_features(
    index: ListingIndex, challenges: Sequence[Challenge]
) -> dict[str, list[tuple[str, dict[str, float]]]]:
    """Every challenge's candidates with their evidence, before any model: what `jiebang train`
    fits the ranking model on."""
    queries = make_queries(index, challenges)
    candidates = fuse([retrieve(index, queries)])
    with _without_cyclic_gc():
        rescored = rescore(index, queries, candidates)
    return {
        q.challenge.challenge_id: [(s[1], s[5]) for s in sorted(found, key=lambda s: s[0])]
        for q, found in zip(queries, rescored, strict=True)
    }
