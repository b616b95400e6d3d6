"""`jiebang match-file` and `jiebang eval` on files, including the real labelled dev set."""

import json

import pytest
from typer.testing import CliRunner

from jiebang.cli import app
from jiebang.evaluate import run_eval
from tests.conftest import SHARED

pytestmark = pytest.mark.unit

runner = CliRunner()
EVAL = SHARED / "data" / "eval"


def _write_jsonl(path, records):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")


def test_match_file_writes_one_line_per_result(tmp_path):
    _write_jsonl(
        tmp_path / "supply.jsonl",
        [
            {
                "id": "S1",
                "kind": "patent",
                "title": "燃料电池金属双极板涂层",
                "abstract": "碳基涂层，耐腐蚀，接触电阻低",
            },
            {"id": "S2", "kind": "achievement", "title": "谐波减速器柔轮齿形设计", "abstract": "双圆弧齿形，寿命提升"},
        ],
    )
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
    assert set(lines[0]) == {"challenge_id", "listing_id", "rank", "score", "parts", "matched_terms", "no_good_match"}
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
        }
    ]


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


def test_engine_beats_the_baselines_on_the_labelled_dev_set():
    report = run_eval(
        EVAL / "corpus_cn.jsonl", EVAL / "dev_challenges" / "challenges.jsonl", EVAL / "dev_challenges" / "qrels.tsv"
    )
    engine, bigram = report.scores["engine"], report.scores["bigram BM25"]
    assert engine.ndcg10 > bigram.ndcg10 and engine.mrr > bigram.mrr and engine.recall50 > bigram.recall50
    assert engine.ndcg10 >= 0.80
    assert report.flagged_no_match == ["H022", "H030"] and report.missed_no_match == []
    assert len(report.wrongly_flagged) <= report.matchable / 10


def test_eval_prints_every_system(tmp_path):
    (tmp_path / "s.jsonl").write_text(
        '{"id": "S1", "title": "燃料电池双极板"}\n{"id": "S2", "title": "拉链"}\n', encoding="utf-8"
    )
    (tmp_path / "c.jsonl").write_text('{"id": "C1", "title": "双极板腐蚀"}\n', encoding="utf-8")
    (tmp_path / "q.tsv").write_text("C1\tS1\t2\n", encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "eval",
            "--supply",
            str(tmp_path / "s.jsonl"),
            "--challenges",
            str(tmp_path / "c.jsonl"),
            "--qrels",
            str(tmp_path / "q.tsv"),
        ],
    )
    assert result.exit_code == 0, result.output
    for name in ("engine", "bigram BM25", "plain rapidfuzz", "nDCG@10", "Recall@50"):
        assert name in result.output
