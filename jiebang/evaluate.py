"""`jiebang match-file` and `jiebang eval`: the engine over files, measured against baselines."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jiebang.files import read_challenges, read_qrels, read_supply
from matching.baselines import bigram_bm25, plain_rapidfuzz
from matching.engine import Challenge, Match, build_index, match_challenges
from matching.evaluation import Scores, evaluate


def _no_result(challenge: Challenge) -> dict:
    # A challenge without any candidate still gets a line, so its flag is visible.
    return {
        "challenge_id": challenge.challenge_id,
        "listing_id": None,
        "rank": None,
        "score": 0.0,
        "parts": {},
        "matched_terms": [],
        "no_good_match": True,
    }


def match_file(supply: Path, challenges_path: Path, top_k: int, out: Path, today: date | None = None) -> int:
    """Match every challenge in the file against the supply file; write one JSON line per result."""
    listings, challenges = read_supply(supply), read_challenges(challenges_path)
    matches = match_challenges(build_index(listings), challenges, top_k=top_k, today=today)
    by_challenge: dict[str, list[Match]] = {}
    for match in matches:
        by_challenge.setdefault(match.challenge_id, []).append(match)
    lines = []
    for challenge in challenges:
        found = by_challenge.get(challenge.challenge_id)
        records = [m.as_record() for m in found] if found else [_no_result(challenge)]
        lines += [json.dumps(r, ensure_ascii=False) for r in records]
    Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


@dataclass(frozen=True)
class EvalReport:
    scores: dict[str, Scores]  # system name → metrics
    seconds: dict[str, float]
    flagged_no_match: list[str]  # challenges without relevant items that were flagged
    missed_no_match: list[str]  # … that were not flagged
    wrongly_flagged: list[str]  # matchable challenges flagged "no good match"
    matchable: int


def run_eval(supply: Path, challenges_path: Path, qrels_path: Path, today: date | None = None) -> EvalReport:
    listings, challenges, qrels = read_supply(supply), read_challenges(challenges_path), read_qrels(qrels_path)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    index = build_index(listings)
    matches = match_challenges(index, challenges, top_k=50, today=today)
    seconds["engine"] = time.perf_counter() - started
    ranking: dict[str, list[str]] = {}
    flagged = {c.challenge_id for c in challenges}
    for match in matches:
        ranking.setdefault(match.challenge_id, []).append(match.listing_id)
        if not match.no_good_match:
            flagged.discard(match.challenge_id)
    scores = {"engine": evaluate(ranking, qrels)}
    for name, baseline in (("bigram BM25", bigram_bm25), ("plain rapidfuzz", plain_rapidfuzz)):
        started = time.perf_counter()
        scores[name] = evaluate(baseline(listings, challenges), qrels)
        seconds[name] = time.perf_counter() - started
    matchable = {cid for cid, grades in qrels.items() if any(g >= 1 for g in grades.values())}
    no_match = sorted(c.challenge_id for c in challenges if c.challenge_id not in matchable)
    return EvalReport(
        scores=scores,
        seconds=seconds,
        flagged_no_match=[c for c in no_match if c in flagged],
        missed_no_match=[c for c in no_match if c not in flagged],
        wrongly_flagged=sorted(flagged & matchable),
        matchable=len(matchable & {c.challenge_id for c in challenges}),
    )
