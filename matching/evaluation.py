"""Ranking quality metrics over graded relevance judgments (qrels), as in ../shared/data/eval.

nDCG@10 (gain = grade, log2 discount, ideal from all the challenge's qrels), P@5 (grade ≥ 1),
MRR (first grade ≥ 1), Recall@50 (grade ≥ 1). Averaged over challenges with at least one
relevant item; challenges without any are reported by whether "no good match" was flagged.
Beside them: unjudged@10 (results nobody judged, counted as 0 above), the AUC of a system's own
score (relevant against judged non-relevant results in its top 10) and the flag counts.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

Qrels = Mapping[str, Mapping[str, int]]  # challenge_id → listing_id → grade
Ranking = Mapping[str, Sequence[str]]  # challenge_id → listing ids, best first


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(grades.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def precision_at(ranked: Sequence[str], grades: Mapping[str, int], k: int = 5) -> float:
    return sum(1 for doc in ranked[:k] if grades.get(doc, 0) >= 1) / k


def reciprocal_rank(ranked: Sequence[str], grades: Mapping[str, int]) -> float:
    return next((1 / (i + 1) for i, doc in enumerate(ranked) if grades.get(doc, 0) >= 1), 0.0)


def recall_at(ranked: Sequence[str], grades: Mapping[str, int], k: int = 50) -> float:
    relevant = {doc for doc, g in grades.items() if g >= 1}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


@dataclass(frozen=True)
class Scores:
    ndcg10: float
    p5: float
    mrr: float
    recall50: float
    evaluated: int

    def row(self) -> dict[str, float]:
        return {"nDCG@10": self.ndcg10, "P@5": self.p5, "MRR": self.mrr, "Recall@50": self.recall50}


def evaluate(ranking: Ranking, qrels: Qrels) -> Scores:
    """Average the metrics over challenges that have at least one relevant item."""
    judged = [cid for cid, grades in qrels.items() if any(g >= 1 for g in grades.values())]
    if not judged:
        return Scores(0.0, 0.0, 0.0, 0.0, 0)
    per = [(ranking.get(cid, ()), qrels[cid]) for cid in judged]
    n = len(per)
    return Scores(
        ndcg10=sum(ndcg_at(r, g) for r, g in per) / n,
        p5=sum(precision_at(r, g) for r, g in per) / n,
        mrr=sum(reciprocal_rank(r, g) for r, g in per) / n,
        recall50=sum(recall_at(r, g) for r, g in per) / n,
        evaluated=n,
    )


def unjudged_at(ranked: Sequence[str], judged: Set[str], k: int = 10) -> int:
    """How many of the top k have never been judged (the metrics count them as 0).

    >>> unjudged_at(["a", "x", "b"], {"a", "b"}, k=2)
    1
    """
    return sum(1 for doc in ranked[:k] if doc not in judged)


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """Chance that a random positive scores above a random negative (Mann-Whitney U / n·m, a tie
    counts 0.5); None when either side is empty.

    >>> auc([3.0, 2.0], [1.0, 2.0])
    0.875
    """
    if not positives or not negatives:
        return None
    ordered = sorted(negatives)
    wins = 0.0
    for p in positives:
        below, not_above = bisect.bisect_left(ordered, p), bisect.bisect_right(ordered, p)
        wins += below + 0.5 * (not_above - below)
    return wins / (len(positives) * len(negatives))


def score_auc(
    ranking: Ranking,
    scores: Mapping[str, Sequence[float]],
    grades: Qrels,
    judged: Mapping[str, Set[str]] | None,
    k: int = 10,
) -> float | None:
    """AUC of the system's own scores over its top k of every challenge, pooled (a score is meant
    to be comparable across challenges): relevant (grade ≥ 1) against judged non-relevant. With
    `judged` None (the qrels are complete), every result that is not relevant counts as
    non-relevant; otherwise an unjudged result is left out of both sides.
    """
    positives: list[float] = []
    negatives: list[float] = []
    for cid, ranked in ranking.items():
        graded, seen = grades.get(cid, {}), judged.get(cid, set()) if judged is not None else None
        for doc, score in zip(ranked[:k], scores.get(cid, ())[:k], strict=False):
            if graded.get(doc, 0) >= 1:
                positives.append(score)
            elif seen is None or doc in seen:
                negatives.append(score)
    return auc(positives, negatives)


@dataclass(frozen=True)
class Flags:
    """ "No good match" against the qrels: hopeless challenges (nothing relevant) flagged, and
    the others flagged wrongly."""

    hopeless_flagged: list[str]
    hopeless_missed: list[str]
    others_flagged: list[str]
    others: int

    @property
    def hopeless(self) -> int:
        return len(self.hopeless_flagged) + len(self.hopeless_missed)


def flag_counts(challenge_ids: Iterable[str], flagged: Set[str], qrels: Qrels) -> Flags:
    """Split the challenges into hopeless (no grade ≥ 1 in the qrels) and the others, and count
    which of each were flagged.

    >>> flag_counts(["a", "b", "c"], {"a", "c"}, {"a": {"x": 0}, "b": {"y": 1}, "c": {"z": 2}})
    Flags(hopeless_flagged=['a'], hopeless_missed=[], others_flagged=['c'], others=2)
    """
    ids = sorted(set(challenge_ids))
    hopeless = [cid for cid in ids if not any(g >= 1 for g in qrels.get(cid, {}).values())]
    others = [cid for cid in ids if cid not in set(hopeless)]
    return Flags(
        hopeless_flagged=[cid for cid in hopeless if cid in flagged],
        hopeless_missed=[cid for cid in hopeless if cid not in flagged],
        others_flagged=[cid for cid in others if cid in flagged],
        others=len(others),
    )
