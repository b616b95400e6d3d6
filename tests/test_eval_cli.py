"""`jiebang match-file` and `jiebang eval` on files: the harness on tiny sets written here, and the
real labelled sets end to end (system lane)."""

import json

import pytest
from typer.testing import CliRunner

from jiebang import evaluate
from jiebang.cli import app
from jiebang.evaluate import SystemResult, run_eval, standard_sets
from tests.conftest import SHARED

runner = CliRunner()
EVAL = SHARED / "data" / "eval"


def _write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


CORPUS = [
    {"id": "S1", "kind": "patent", "title": "燃料电池金属双极板涂层", "abstract": "碳基涂层，耐腐蚀，接触电阻低"},
    {"id": "S2", "kind": "patent", "title": "谐波减速器柔轮齿形设计", "abstract": "双圆弧齿形，寿命提升"},
    {"id": "S3", "kind": "patent", "title": "锂离子电池硅碳负极", "abstract": "首效高，膨胀率低"},
    {"id": "S4", "kind": "patent", "title": "茶叶揉捻机", "abstract": ""},
]


@pytest.fixture
def data_dir(tmp_path):
    """The layout of ../shared/data/eval, a few lines each."""
    root = tmp_path / "eval"
    _write_jsonl(root / "corpus_cn.jsonl", CORPUS)
    _write_jsonl(
        root / "corpus_market.jsonl",
        [*CORPUS, {"id": "A1", "kind": "achievement", "title": "锂电池管理系统BMS", "abstract": "均衡充电"}],
    )
    _write_jsonl(
        root / "dev_challenges" / "challenges.jsonl",
        [
            {"id": "D1", "title": "双极板涂层耐蚀性不够", "description": "燃料电池金属双极板腐蚀，接触电阻升高"},
            {"id": "D2", "title": "区块链溯源平台", "description": "农产品溯源"},
        ],
    )
    _write(root / "dev_challenges" / "qrels.tsv", "D1\tS1\t2\n")
    _write_jsonl(
        root / "dev_challenges" / "judgments.jsonl",
        [
            {"challenge_id": "D1", "supply_id": "S1", "grade": 2, "reason": "同一对象同一问题"},
            {"challenge_id": "D1", "supply_id": "S3", "grade": 0, "reason": "电池但非双极板"},
            {"challenge_id": "D2", "supply_id": "S4", "grade": 0, "reason": "无关"},
        ],
    )
    _write_jsonl(
        root / "kp_known_item" / "challenges.jsonl",
        [{"id": "K1", "title": "谐波减速器、柔轮", "description": "寻求涉及谐波减速器、柔轮、齿形的技术方案。"}],
    )
    _write(root / "kp_known_item" / "qrels.tsv", "K1\tS2\t2\n")
    _write_jsonl(
        root / "market_dev" / "challenges.jsonl",
        [
            {"id": "N1", "title": "锂电池负极膨胀", "description": "希望降低硅碳负极膨胀率"},
            {"id": "N2", "title": "直播带货运营", "description": "需要直播运营方案"},
        ],
    )
    _write(root / "market_dev" / "qrels.tsv", "N1\tS3\t1\n")
    _write(
        root / "market_dev" / "judgments.tsv",
        "challenge_id\tlisting_id\tgrade\treason\nN1\tS3\t1\t硅碳负极\nN1\tA1\t0\t电池管理非负极\nN2\tS4\t0\t无关\n",
    )
    return root


class Fixed:
    """A system with a fixed answer per set, remembering the listings it was given."""

    def __init__(self, answers, scored=True, flags=True):
        self.answers, self.scored, self.flags, self.seen = answers, scored, flags, {}

    def __call__(self, set_name, listings, challenges):
        self.seen[set_name] = listings
        ranking = {c.challenge_id: self.answers.get(c.challenge_id, ([], []))[0] for c in challenges}
        scores = {c.challenge_id: self.answers.get(c.challenge_id, ([], []))[1] for c in challenges}
        flagged = {cid for cid, (ids, _) in self.answers.items() if not ids} if self.flags else None
        return SystemResult(ranking, scores if self.scored else None, flagged)


ANSWERS = {
    "D1": (["S3", "S1", "S2"], [9.0, 8.0, 1.0]),  # S2 is unjudged
    "D2": ([], []),  # flagged: hopeless, rightly
    "K1": (["S2", "S1"], [5.0, 4.0]),
    "N1": (["S3", "A1", "S2", "S1"], [3.0, 2.0, 1.0, 0.5]),  # S2 and S1 unjudged
    "N2": (["S4"], [7.0]),  # not flagged: missed
}


@pytest.mark.unit
def test_run_eval_measures_every_system_on_every_set(data_dir):
    system = Fixed(ANSWERS)
    report = run_eval(standard_sets(data_dir), {"fixed": system, "unscored": Fixed(ANSWERS, False, False)})
    assert [(r.set_name, r.system) for r in report.rows] == [
        (s, n) for s in ("dev_challenges", "kp_known_item", "market_dev") for n in ("fixed", "unscored")
    ]
    assert system.seen["dev_challenges"] is system.seen["kp_known_item"]  # one corpus, read once
    assert len(system.seen["market_dev"]) == 5

    dev = report.row("dev_challenges", "fixed")
    assert (dev.scores.mrr, dev.scores.p5, dev.scores.evaluated) == (0.5, 0.2, 1)
    assert (dev.unjudged10, dev.top10) == (1, 3)
    assert dev.auc == 0.0  # the judged 0 (S3, 9.0) above the relevant one (S1, 8.0); S2 unjudged, left out
    assert (dev.hopeless_flagged, dev.hopeless, dev.others_flagged, dev.others) == (["D2"], 1, [], 1)

    kp = report.row("kp_known_item", "fixed")
    assert (kp.scores.mrr, kp.unjudged10, kp.auc) == (1.0, None, 1.0)  # complete qrels: S1 counts as non-relevant

    market = report.row("market_dev", "fixed")
    assert (market.scores.mrr, market.unjudged10, market.top10) == (1.0, 2, 5)
    assert market.auc == pytest.approx(0.5)  # S3 (3.0) vs A1 (2.0) and S4 (7.0, the hopeless need's)
    assert (market.hopeless_flagged, market.others_flagged) == ([], [])

    unscored = report.row("market_dev", "unscored")
    assert (unscored.auc, unscored.hopeless_flagged, unscored.others_flagged) == (None, None, None)
    assert unscored.cells()[-4:-1] == ["—", "—", "—"] and unscored.scores == market.scores


@pytest.mark.unit
def test_own_judgments_add_an_unofficial_row_and_never_overrule_the_shared_ones(data_dir, tmp_path):
    extra = tmp_path / "ours.tsv"
    _write(extra, "challenge_id\tlisting_id\tgrade\treason\nN1\tS1\t2\t错判示例\nN1\tA1\t2\t共享文件已判为0\n")
    report = run_eval(standard_sets(data_dir, extra), {"fixed": Fixed(ANSWERS)})
    official, ours = report.row("market_dev", "fixed"), report.row("market_dev", "fixed", official=False)
    assert [r.official for r in report.rows] == [True, True, True, False]
    assert (official.scores.p5, official.unjudged10, official.auc) == (0.2, 2, 0.5)
    assert ours.scores.p5 == 0.4  # S1 now relevant; A1 stays 0: the shared judgment wins
    assert ours.unjudged10 == 1 and ours.scores.recall50 == 1.0  # S1 now judged, S2 still unjudged
    assert ours.auc == pytest.approx(0.25)  # S3 3.0 and S1 0.5 vs A1 2.0 and S4 7.0: 1 of 4 pairs
    assert "unofficial" in ours.cells()[0] and ours.seconds is None


@pytest.mark.unit
def test_eval_prints_the_three_sets_side_by_side_and_writes_json(data_dir, tmp_path):
    out = tmp_path / "out" / "eval.json"
    result = runner.invoke(app, ["eval", "--data-dir", str(data_dir), "--json", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("dev_challenges", "kp_known_item", "market_dev", "engine", "bigram BM25", "word BM25"):
        assert name in result.output
    for column in ("nDCG@10", "P@5", "MRR", "Recall@50", "unjudged@10", "AUC", "hopeless", "others", "seconds"):
        assert column in result.output
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"]
    assert len(rows) == 9 and {r["set"] for r in rows} == {"dev_challenges", "kp_known_item", "market_dev"}
    kp_bigram = next(r for r in rows if (r["set"], r["system"]) == ("kp_known_item", "bigram BM25"))
    assert kp_bigram["MRR"] == 1.0 and kp_bigram["unjudged@10"] is None and kp_bigram["hopeless_flagged"] is None
    engine = next(r for r in rows if (r["set"], r["system"]) == ("market_dev", "engine"))
    assert (engine["hopeless"], engine["others"]) == (1, 1) and engine["hopeless_flagged"] is not None


@pytest.mark.unit
def test_eval_on_one_set_with_its_judgments(data_dir, monkeypatch):
    monkeypatch.setattr(evaluate, "SYSTEMS", {"fixed": Fixed(ANSWERS)})
    market = data_dir / "market_dev"
    args = ["--supply", str(data_dir / "corpus_market.jsonl"), "--challenges", str(market / "challenges.jsonl")]
    result = runner.invoke(
        app, ["eval", *args, "--qrels", str(market / "qrels.tsv"), "--judgments", str(market / "judgments.tsv")]
    )
    assert result.exit_code == 0, result.output
    assert "market_dev" in result.output and "2/5" in result.output and "0 of 1" in result.output
    result = runner.invoke(app, ["eval", *args])
    assert result.exit_code == 1 and "--qrels" in result.output


@pytest.mark.unit
def test_eval_names_the_missing_data(tmp_path, data_dir):
    result = runner.invoke(app, ["eval", "--data-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "nowhere" in result.output and len(result.output.strip().splitlines()) == 1
    (data_dir / "market_dev" / "judgments.tsv").unlink()
    result = runner.invoke(app, ["eval", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and "market_dev/judgments.tsv" in result.output


@pytest.mark.unit
def test_match_file_writes_one_line_per_result(tmp_path):
    _write_jsonl(tmp_path / "supply.jsonl", CORPUS[:2])
    _write_jsonl(
        tmp_path / "challenges.jsonl",
        [
            {"id": "C1", "title": "双极板涂层耐蚀性不够", "description": "燃料电池金属双极板腐蚀，接触电阻升高"},
            {"id": "C2", "title": "茶园嫩芽采摘", "description": "名优茶采摘"},
        ],
    )
    result = runner.invoke(
        app,
        [
            "match-file",
            "--supply",
            str(tmp_path / "supply.jsonl"),
            "--challenges",
            str(tmp_path / "challenges.jsonl"),
            "--top",
            "5",
            "--out",
            str(tmp_path / "r.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()]
    assert set(lines[0]) == {
        "challenge_id", "listing_id", "rank", "score", "parts", "matched_terms", "no_good_match", "concepts",
    }  # fmt: skip
    first = [line for line in lines if line["challenge_id"] == "C1"]
    assert first[0]["listing_id"] == "S1" and first[0]["rank"] == 1
    assert abs(sum(first[0]["parts"].values()) - first[0]["score"]) < 0.01
    unmatched = [line for line in lines if line["challenge_id"] == "C2"]
    assert unmatched == [
        {
            "challenge_id": "C2",
            "listing_id": None,
            "rank": None,
            "score": 0.0,
            "parts": {},
            "matched_terms": [],
            "no_good_match": True,
            "concepts": [],
        }
    ]


@pytest.mark.unit
def test_a_broken_input_line_is_named(tmp_path):
    (tmp_path / "supply.jsonl").write_text('{"id": "S1", "title": "x"}\n{"id": "S2"\n', encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"id": "C1", "title": "y"}\n', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "match-file",
            "--supply",
            str(tmp_path / "supply.jsonl"),
            "--challenges",
            str(tmp_path / "c.jsonl"),
            "--out",
            str(tmp_path / "r.jsonl"),
        ],
    )
    assert result.exit_code == 1
    assert "supply.jsonl:2: not valid JSON" in result.output


@pytest.mark.system
def test_real_market_needs_end_to_end():
    """The real market_dev set (~20 s): character-bigram BM25 reproduces the eval README's figures
    (0.436 / 0.229 / 0.378; its top 10 was pooled and judged), every system gets unjudged@10 and
    AUC, and the engine its flags."""
    report = run_eval([s for s in standard_sets(EVAL) if s.name == "market_dev"])
    bigram = report.row("market_dev", "bigram BM25")
    assert bigram.scores.ndcg10 == pytest.approx(0.436, abs=0.01) and bigram.scores.p5 == pytest.approx(0.229, abs=0.01)
    assert bigram.scores.mrr == pytest.approx(0.378, abs=0.01)
    assert bigram.unjudged10 is not None and bigram.unjudged10 <= 4 and bigram.top10 == 400
    assert all(r.unjudged10 is not None and r.auc is not None for r in report.rows)
    engine = report.row("market_dev", "engine")
    assert (engine.hopeless, engine.others, engine.challenges) == (12, 28, 40)
    assert engine.hopeless_flagged is not None and engine.others_flagged is not None


@pytest.mark.system
def test_engine_beats_the_baselines_on_the_labelled_dev_set():
    from jiebang.evaluate import SYSTEMS, out_of_fold_engine

    systems = {**SYSTEMS, "engine": out_of_fold_engine(EVAL)}  # as `jiebang eval` judges it: out of fold
    report = run_eval([s for s in standard_sets(EVAL) if s.name == "dev_challenges"], systems)
    engine, bigram = report.row("dev_challenges", "engine"), report.row("dev_challenges", "bigram BM25")
    # never below bigram BM25 (issue 13); the 0.80 nDCG@10 is not reached yet (README)
    assert engine.scores.ndcg10 > bigram.scores.ndcg10 and engine.scores.mrr > bigram.scores.mrr
    assert engine.scores.ndcg10 >= 0.70
    assert engine.hopeless_flagged == ["H022", "H030"]
    assert engine.others_flagged is not None and len(engine.others_flagged) <= engine.others / 10
