"""`jiebang match-file` and `jiebang eval`: the engine over files, measured against baselines.

`run_eval` runs every system of a registry on every labelled set and measures the rankings; a
system is a function (set name, listings, challenges) → SystemResult, so a fitted engine can
answer each set out of fold.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jiebang.errors import InvalidValue, JiebangError
from jiebang.files import read_challenges, read_judgments, read_qrels, read_supply, write_output
from matching.baselines import Ranked, bigram_bm25, word_bm25
from matching.engine import Challenge, Listing, Match, build_index, match_challenges
from matching.evaluation import Scores, evaluate, flag_counts, score_auc, unjudged_at

TOP_K = 50  # results per challenge a system returns (Recall@50)


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
        "concepts": [],
    }


def match_file(supply: Path, challenges_path: Path, top_k: int, out: Path, today: date | None = None) -> int:
    """Match every challenge in the file against the supply file; write one JSON line per result."""
    if top_k < 1:
        raise InvalidValue(f"--top {top_k}: 每个需求至少要 1 条结果 (results per challenge must be at least 1)")
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
    write_output(out, "\n".join(lines) + "\n")
    return len(lines)


class MissingEvalData(JiebangError):
    """The labelled sets are not where `jiebang eval` was told to find them."""


@dataclass(frozen=True)
class SystemResult:
    ranking: dict[str, list[str]]  # challenge_id → listing ids, best first (top 50)
    scores: dict[str, list[float]] | None  # same shape: the system's score per ranked listing (None: no score)
    flagged: set[str] | None  # challenges flagged "no good match" (None: system has no flag)


System = Callable[[str, list[Listing], list[Challenge]], SystemResult]  # (set name, listings, challenges)


def engine_system(set_name: str, listings: list[Listing], challenges: list[Challenge]) -> SystemResult:
    """The engine as it ships: index the set's corpus, rank the top 50 of every challenge."""
    matches = match_challenges(build_index(listings), challenges, top_k=TOP_K)
    ranking: dict[str, list[str]] = {c.challenge_id: [] for c in challenges}
    scores: dict[str, list[float]] = {c.challenge_id: [] for c in challenges}
    flagged = {c.challenge_id for c in challenges}  # a challenge without any result has no good match
    for match in matches:
        ranking[match.challenge_id].append(match.listing_id)
        scores[match.challenge_id].append(match.score)
        if not match.no_good_match:
            flagged.discard(match.challenge_id)
    return SystemResult(ranking, scores, flagged)


def out_of_fold_engine(data_dir: Path) -> System:
    """The engine as `jiebang eval` must judge it on the sets its model is fitted on: out of fold
    (jiebang.training.cross_validated, computed once); any other set gets the shipped model."""
    from jiebang.training import DEFAULT_SETS, FoldResults, cross_validated

    fitted = {name for name, _, _ in DEFAULT_SETS}
    cache: dict[str, FoldResults] = {}

    def system(set_name: str, listings: list[Listing], challenges: list[Challenge]) -> SystemResult:
        if set_name not in fitted:
            return engine_system(set_name, listings, challenges)
        if not cache:
            cache.update(cross_validated(data_dir, top_k=TOP_K))
        found = cache[set_name]
        ids = [c.challenge_id for c in challenges]
        return SystemResult(
            {i: found.ranking.get(i, []) for i in ids},
            {i: found.scores.get(i, []) for i in ids},
            {i for i in ids if i in found.flagged or i not in found.ranking},
        )

    return system


def _baseline(ranked: Ranked) -> SystemResult:
    ranking, scores = ranked
    return SystemResult(ranking, scores, None)


def bigram_bm25_system(set_name: str, listings: list[Listing], challenges: list[Challenge]) -> SystemResult:
    return _baseline(bigram_bm25(listings, challenges, k=TOP_K))


def word_bm25_system(set_name: str, listings: list[Listing], challenges: list[Challenge]) -> SystemResult:
    return _baseline(word_bm25(listings, challenges, k=TOP_K))


SYSTEMS: dict[str, System] = {
    "engine": engine_system,
    "bigram BM25": bigram_bm25_system,
    "word BM25": word_bm25_system,
}


@dataclass(frozen=True)
class EvalSet:
    name: str
    supply: Path
    challenges: Path
    qrels: Path  # graded relevant pairs (grade ≥ 1; unlisted = 0)
    judgments: Path | None = None  # every judged pair, 0s included (None: the qrels are complete)
    extra_judgments: Path | None = None  # our own judgments of pairs `judgments` leaves unjudged


def standard_sets(data_dir: Path, extra_judgments: Path | None = None) -> list[EvalSet]:
    """The three labelled sets of ../shared/data/eval (see its README)."""
    data_dir = Path(data_dir)
    sets = [
        EvalSet(
            "dev_challenges",
            data_dir / "corpus_cn.jsonl",
            data_dir / "dev_challenges" / "challenges.jsonl",
            data_dir / "dev_challenges" / "qrels.tsv",
            data_dir / "dev_challenges" / "judgments.jsonl",
        ),
        EvalSet(
            "kp_known_item",
            data_dir / "corpus_cn.jsonl",
            data_dir / "kp_known_item" / "challenges.jsonl",
            data_dir / "kp_known_item" / "qrels.tsv",
        ),
        EvalSet(
            "market_dev",
            data_dir / "corpus_market.jsonl",
            data_dir / "market_dev" / "challenges.jsonl",
            data_dir / "market_dev" / "qrels.tsv",
            data_dir / "market_dev" / "judgments.tsv",
            extra_judgments,
        ),
    ]
    if not data_dir.is_dir():
        raise MissingEvalData(f"{data_dir}: no such directory (the labelled sets; see --data-dir)")
    files = [p for s in sets for p in (s.supply, s.challenges, s.qrels, s.judgments) if p is not None]
    missing = sorted({str(p.relative_to(data_dir)) for p in files if not p.is_file()})
    if missing:
        raise MissingEvalData(f"{data_dir}: missing {', '.join(missing)}")
    return sets


@dataclass(frozen=True)
class EvalRow:
    """One system on one set."""

    set_name: str
    system: str
    scores: Scores  # averaged over the challenges with at least one relevant item
    challenges: int
    unjudged10: int | None  # top-10 results nobody judged (None: the qrels are complete)
    top10: int  # top-10 results returned, over all challenges
    auc: float | None  # the system's score, relevant vs judged non-relevant in its top 10 (None: no score)
    hopeless: int  # challenges with nothing relevant
    hopeless_flagged: list[str] | None  # … flagged "no good match" (None: the system has no flag)
    others: int
    others_flagged: list[str] | None  # challenges with something relevant, flagged wrongly
    seconds: float | None
    official: bool = True  # False: qrels extended by our own judgments

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "set": self.set_name,
            "system": self.system,
            "official": self.official,
            "challenges": self.challenges,
            "evaluated": self.scores.evaluated,
            **{name: rounded(value) for name, value in self.scores.row().items()},
            "unjudged@10": self.unjudged10,
            "top10_results": self.top10,
            "AUC": rounded(self.auc),
            "hopeless": self.hopeless,
            "hopeless_flagged": None if self.hopeless_flagged is None else len(self.hopeless_flagged),
            "others": self.others,
            "others_flagged": None if self.others_flagged is None else len(self.others_flagged),
            "hopeless_flagged_ids": self.hopeless_flagged,
            "others_flagged_ids": self.others_flagged,
            "seconds": rounded(self.seconds),
        }

    def cells(self) -> list[str]:
        """The row as `jiebang eval` prints it ("—": not applicable)."""

        def number(value: float | None) -> str:
            return "—" if value is None else f"{value:.3f}"

        def flags(found: list[str] | None, of: int) -> str:
            return "—" if found is None else f"{len(found)} of {of}"

        return [
            self.set_name if self.official else f"{self.set_name} + own (unofficial)",
            self.system,
            *(number(v) for v in self.scores.row().values()),
            "—" if self.unjudged10 is None else f"{self.unjudged10}/{self.top10}",
            number(self.auc),
            flags(self.hopeless_flagged, self.hopeless),
            flags(self.others_flagged, self.others),
            "—" if self.seconds is None else f"{self.seconds:.1f}",
        ]


COLUMNS = (
    "set",
    "system",
    "nDCG@10",
    "P@5",
    "MRR",
    "Recall@50",
    "unjudged@10",
    "AUC",
    "hopeless flagged",
    "others flagged",
    "seconds",
)


@dataclass(frozen=True)
class EvalReport:
    rows: list[EvalRow] = field(default_factory=list)

    def row(self, set_name: str, system: str, official: bool = True) -> EvalRow:
        return next(r for r in self.rows if (r.set_name, r.system, r.official) == (set_name, system, official))

    def as_json(self) -> dict[str, Any]:
        return {"rows": [r.as_dict() for r in self.rows]}


@dataclass(frozen=True)
class _Labels:
    qrels: dict[str, dict[str, int]]  # challenge_id → listing_id → grade, grade ≥ 1 only matters
    judged: dict[str, set[str]] | None  # challenge_id → every judged listing (None: qrels complete)


def _labels(
    qrels: Mapping[str, Mapping[str, int]], judgments: Mapping[str, Mapping[str, int]] | None, ids: set[str]
) -> _Labels:
    """Grades merged from the qrels and the judgments (a qrels grade wins), for the set's challenges."""
    merged: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    for source in (judgments or {}, qrels):
        for cid, grades in source.items():
            if cid in ids:
                merged[cid].update(grades)
    judged = {cid: set(grades) for cid, grades in merged.items()} if judgments is not None else None
    return _Labels(merged, judged)


def _extended(labels: _Labels, extra: Mapping[str, Mapping[str, int]]) -> _Labels:
    """Add our own judgments of pairs the shared ones leave unjudged (a shared judgment wins)."""
    qrels = {cid: dict(grades) for cid, grades in labels.qrels.items()}
    judged = {cid: set(docs) for cid, docs in (labels.judged or {}).items()}
    for cid, grades in extra.items():
        if cid not in qrels:
            continue
        for doc, grade in grades.items():
            if doc not in judged.get(cid, set()) and doc not in qrels[cid]:
                qrels[cid][doc] = grade
                judged.setdefault(cid, set()).add(doc)
    return _Labels(qrels, judged)


def _measure(
    set_name: str,
    system: str,
    result: SystemResult,
    labels: _Labels,
    ids: set[str],
    seconds: float | None,
    official: bool,
) -> EvalRow:
    ranking = {cid: result.ranking.get(cid, []) for cid in ids}
    flags = flag_counts(ids, result.flagged or set(), labels.qrels)
    unjudged = (
        None
        if labels.judged is None
        else sum(unjudged_at(r, labels.judged.get(cid, set())) for cid, r in ranking.items())
    )
    return EvalRow(
        set_name=set_name,
        system=system,
        scores=evaluate(ranking, labels.qrels),
        challenges=len(ids),
        unjudged10=unjudged,
        top10=sum(min(len(r), 10) for r in ranking.values()),
        auc=None if result.scores is None else score_auc(ranking, result.scores, labels.qrels, labels.judged),
        hopeless=flags.hopeless,
        hopeless_flagged=None if result.flagged is None else flags.hopeless_flagged,
        others=flags.others,
        others_flagged=None if result.flagged is None else flags.others_flagged,
        seconds=seconds,
        official=official,
    )


def run_eval(sets: list[EvalSet], systems: Mapping[str, System] = SYSTEMS) -> EvalReport:
    """Every system on every set, each corpus read once. A set with extra judgments gets a
    second, unofficial row per system measured against the shared judgments ∪ ours."""
    corpora: dict[Path, list[Listing]] = {}
    rows: list[EvalRow] = []
    for eval_set in sets:
        if eval_set.supply not in corpora:
            corpora[eval_set.supply] = read_supply(eval_set.supply)
        listings, challenges = corpora[eval_set.supply], read_challenges(eval_set.challenges)
        ids = {c.challenge_id for c in challenges}
        judgments = read_judgments(eval_set.judgments) if eval_set.judgments else None
        labels = _labels(read_qrels(eval_set.qrels), judgments, ids)
        extra = _extended(labels, read_judgments(eval_set.extra_judgments)) if eval_set.extra_judgments else None
        unofficial = []
        for name, system in systems.items():
            started = time.perf_counter()
            result = system(eval_set.name, listings, challenges)
            seconds = time.perf_counter() - started
            rows.append(_measure(eval_set.name, name, result, labels, ids, seconds, official=True))
            if extra is not None:
                unofficial.append(_measure(eval_set.name, name, result, extra, ids, None, official=False))
        rows += unofficial
    return EvalReport(rows)
