"""`jiebang train`: fit the ranking model on the labelled sets (and brokers' decisions), cross-
validated by need, and write the model file the project ships (matching/models/ranker-v1.json).

Every labelled set is run through the engine's own retrieval to collect its candidates and their
evidence (`candidate_features`); a candidate is relevant when judged grade ≥ 1 and not relevant
otherwise (unjudged counts as not relevant, as in the metrics). Sets count equally however many
needs they hold. Out-of-fold predictions (5 folds, whole needs to a fold) give the calibration and
the "no good match" threshold, so neither is fitted on the pairs it is judged on.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jiebang.files import read_challenges, read_qrels, read_supply
from matching.engine import Challenge, Listing, ListingIndex, build_index, candidate_features
from matching.ranker import (
    FEATURES,
    Model,
    evidence_columns,
    feature_matrix,
    fit_logistic,
    group_folds,
    isotonic,
    measured_bands,
)
from warehouse import queries
from warehouse.gateway import Warehouse

DEFAULT_SETS = (  # (name, corpus, folder) under the eval data directory
    ("market_dev", "corpus_market.jsonl", "market_dev"),
    ("dev_challenges", "corpus_cn.jsonl", "dev_challenges"),
    ("kp_known_item", "corpus_cn.jsonl", "kp_known_item"),
)
# How much each set counts in the fit (its needs share it equally). Real needs are the measure:
# market_dev counts four times, dev_challenges twice as much as kp_known_item (chosen out of fold: 2× fell below
# bigram BM25 on market_dev's nDCG@10, 8× lost dev_challenges' without gaining market_dev's).
# Brokers' own decisions on the market's needs count like the judged real needs.
SET_WEIGHTS = {"market_dev": 4.0, "dev_challenges": 2.0, "kp_known_item": 1.0, "broker": 4.0}
BROKER_SET = "broker"
FOLDS = 5
MAX_WRONG_FLAGS = 0.1  # share of needs with a relevant listing that "no good match" may flag
CANDIDATES_PER_NEED = 100  # the best retrieved candidates a need contributes to the fit


@dataclass
class TrainingData:
    x: np.ndarray
    y: np.ndarray  # 1 relevant, 0 not
    weight: np.ndarray
    group: list[str]  # "set/need" of each row
    set_name: list[str]
    listing: list[str]


@dataclass(frozen=True)
class LabelledSet:
    name: str
    index: ListingIndex
    challenges: list[Challenge]
    qrels: dict[str, dict[str, int]]  # challenge → listing → grade (unlisted: not relevant)


def shared_sets(data_dir: Path, extra_qrels: Path | None = None) -> list[LabelledSet]:
    """The labelled sets of ../shared/data/eval, each corpus indexed once."""
    indexes: dict[str, ListingIndex] = {}
    sets = []
    for name, corpus, folder in DEFAULT_SETS:
        qrels = read_qrels(data_dir / folder / "qrels.tsv")
        if extra_qrels is not None and name == "market_dev":
            for cid, grades in read_qrels(extra_qrels).items():
                qrels.setdefault(cid, {}).update(grades)
        if corpus not in indexes:
            indexes[corpus] = build_index(read_supply(data_dir / corpus))
        sets.append(LabelledSet(name, indexes[corpus], read_challenges(data_dir / folder / "challenges.jsonl"), qrels))
    return sets


def broker_set(warehouse: Warehouse) -> LabelledSet | None:
    """Brokers' decisions as labels (`jiebang labels`: rejected 0, shortlisted 1, contacted or
    further 2) on the warehouse's own listings and challenges; None when nobody decided yet."""
    qrels: dict[str, dict[str, int]] = {}
    for row in queries.labelled_pairs(warehouse):
        qrels.setdefault(row["challenge_id"], {})[row["listing_id"]] = int(row["grade"])
    records = [queries.get_challenge(warehouse, cid) for cid in sorted(qrels)]
    challenges = [Challenge.from_record(r) for r in records if r is not None]
    if not challenges:
        return None
    index = build_index(Listing.from_record(r) for r in queries.listings_for_matching(warehouse))
    return LabelledSet(BROKER_SET, index, challenges, qrels)


def collect(sets: Sequence[LabelledSet]) -> TrainingData:
    """The candidates of every labelled need with their evidence and labels."""
    rows, labels, groups, names, listings = [], [], [], [], []
    per_set: dict[str, int] = {}
    for labelled in sets:
        found = candidate_features(labelled.index, labelled.challenges)
        for challenge in labelled.challenges:
            grades = labelled.qrels.get(challenge.challenge_id, {})
            for listing_id, features in found.get(challenge.challenge_id, [])[:CANDIDATES_PER_NEED]:
                rows.append(features)
                labels.append(1.0 if grades.get(listing_id, 0) >= 1 else 0.0)
                groups.append(f"{labelled.name}/{challenge.challenge_id}")
                names.append(labelled.name)
                listings.append(listing_id)
        per_set[labelled.name] = sum(1 for n in names if n == labelled.name)
    weight = np.array([SET_WEIGHTS.get(n, 1.0) / per_set[n] for n in names]) * len(names) / len(per_set)
    return TrainingData(feature_matrix(rows), np.array(labels), weight, groups, names, listings)


def out_of_fold(data: TrainingData, folds: int = FOLDS) -> np.ndarray:
    """Each row's model output from a model fitted without its need."""
    logits = np.zeros(len(data.y))
    for held in group_folds(data.group, folds):
        train = np.setdiff1d(np.arange(len(data.y)), held)
        weights, bias = fit_logistic(data.x[train], data.y[train], data.weight[train], non_negative=evidence_columns())
        logits[held] = data.x[held] @ weights + bias
    return logits


def no_match_threshold(groups: Sequence[str], probability: np.ndarray, hopeless: set[str]) -> float:
    """The best-result chance below which a need is flagged "no good match": the threshold that
    flags the most needs with nothing relevant while flagging at most MAX_WRONG_FLAGS of the
    others (a wrong flag hides real leads from a broker), on out-of-fold chances."""
    best: dict[str, float] = {}
    for group, p in zip(groups, probability, strict=True):
        best[group] = max(best.get(group, 0.0), float(p))
    matchable = sorted(best[g] for g in best if g not in hopeless)
    allowed = int(MAX_WRONG_FLAGS * len(matchable))
    # flag below the (allowed + 1)-th lowest best chance of a matchable need: at most `allowed` of them
    return matchable[allowed] if len(matchable) > allowed else 1.0


def _market_threshold(data: TrainingData, probability: np.ndarray) -> float:
    """The "no good match" threshold, chosen on the real needs (market_dev), where a need with
    nothing relevant is common; the written sets have almost none."""
    market = [i for i, n in enumerate(data.set_name) if n == "market_dev"]
    groups = [data.group[i] for i in market]
    relevant = {data.group[i] for i in market if data.y[i]}
    return no_match_threshold(groups, probability[market], set(groups) - relevant)


@dataclass(frozen=True)
class OutOfFold:
    logits: np.ndarray  # each pair's model output from a model fitted without its need
    knots: np.ndarray  # the calibration fitted on those outputs
    values: np.ndarray
    probability: np.ndarray  # each pair's calibrated out-of-fold chance
    threshold: float  # "no good match" below this best chance


def calibrated_out_of_fold(data: TrainingData) -> OutOfFold:
    logits = out_of_fold(data)
    knots, values = isotonic(logits, data.y, data.weight)
    probability = np.interp(logits, knots, values)
    return OutOfFold(logits, knots, values, probability, _market_threshold(data, probability))


def train(data_dir: Path, out: Path, extra_qrels: Path | None = None, warehouse: Warehouse | None = None) -> dict:
    """Fit, calibrate and write the model (with the brokers' decisions in `warehouse`, when it
    has any); returns its figures."""
    started = time.perf_counter()
    sets = shared_sets(data_dir, extra_qrels)
    brokers = broker_set(warehouse) if warehouse is not None else None
    data = collect([*sets, brokers] if brokers else sets)
    oof = calibrated_out_of_fold(data)
    weights, bias = fit_logistic(data.x, data.y, data.weight, non_negative=evidence_columns())
    model = Model(
        weights=weights,
        bias=bias,
        mean=np.average(data.x, axis=0, weights=data.weight),
        calibration_x=oof.knots,
        calibration_y=oof.values,
        no_match_below=oof.threshold,
        meta={
            "trained_on": sorted(set(data.set_name)),
            "pairs": int(len(data.y)),
            "relevant_pairs": int(data.y.sum()),
            "needs": len(set(data.group)),
            "folds": FOLDS,
            "features": dict(zip(FEATURES, [round(float(w), 4) for w in weights], strict=True)),
            # what a score band means, out of fold: the card states it beside the score
            "bands": measured_bands(100 * oof.probability, data.y, data.weight, data.set_name),
        },
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model.to_json() + "\n", encoding="utf-8")
    return {"model": str(out), "seconds": round(time.perf_counter() - started, 1), **model.meta}


@dataclass(frozen=True)
class FoldResults:
    """Out-of-fold results of one labelled set: each need's candidates ranked and scored by a
    model that never saw the need, and the needs flagged "no good match"."""

    ranking: dict[str, list[str]]
    scores: dict[str, list[float]]
    flagged: set[str]


def cross_validated(data_dir: Path, top_k: int = 50) -> dict[str, FoldResults]:
    """What `jiebang eval` reports for the engine on the sets it is fitted on: every figure out
    of fold (the calibration and the threshold are fitted on out-of-fold outputs too)."""
    data = collect(shared_sets(data_dir))
    oof = calibrated_out_of_fold(data)
    per_need: dict[str, dict[str, list[tuple[float, float, str]]]] = {}
    for group, name, listing, logit, p in zip(
        data.group, data.set_name, data.listing, oof.logits, oof.probability, strict=True
    ):
        per_need.setdefault(name, {}).setdefault(group.split("/", 1)[1], []).append((float(logit), float(p), listing))
    results = {}
    for name, needs in per_need.items():
        ranking, scores, flagged = {}, {}, set()
        for need, found in needs.items():
            found.sort(key=lambda row: (-row[0], row[2]))  # by the model's output, as the engine ranks
            ranking[need] = [listing for _, _, listing in found[:top_k]]
            scores[need] = [round(100 * p, 2) for _, p, _ in found[:top_k]]
            if not found or max(p for _, p, _ in found) < oof.threshold:
                flagged.add(need)
        results[name] = FoldResults(ranking, scores, flagged)
    return results
