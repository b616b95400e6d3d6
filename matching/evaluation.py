"""Ranking quality metrics over graded relevance judgments (qrels), as in ../shared/data/eval.

nDCG@10 (gain = grade, log2 discount, ideal from all the challenge's qrels), P@5 (grade ≥ 1),
MRR (first grade ≥ 1), Recall@50 (grade ≥ 1). Averaged over challenges with at least one
relevant item; challenges without any are reported by whether "no good match" was flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
