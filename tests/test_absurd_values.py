"""Absurd values are refused on every path in (issue 14, item 7): a crawled or imported record is
quarantined naming the field, a setting or an option is refused in one line, and a huge field is
kept in quarantine only as a bounded excerpt."""

from __future__ import annotations

import json
from datetime import date

import pytest

from jiebang import firm
from jiebang.errors import ConfigError
from jiebang.evaluate import match_file
from jiebang.files import InvalidFile, read_judgments, read_qrels
from jiebang.loading import load_file, load_items
from jiebang.settings import Settings
from tests.test_validation import challenge, listing

NEEDS_HEADER = "需求名称,需求描述,榜额,截止日期,发布单位\n"
GOOD_NEED = "注塑外壳外观缺陷视觉检测,小家电塑料外壳外观全靠人工目检，希望用视觉检测替代人工。,120,2027-06-30,嘉善甲\n"


def _quarantined(warehouse) -> list[dict]:
    rows = warehouse.query("SELECT field, reason, payload FROM quarantine ORDER BY quarantine_id")
    return [{**r, "payload": json.loads(r["payload"])} for r in rows]


@pytest.mark.unit
def test_the_firm_form_and_the_loader_share_one_cap():
    from crawlers.validation import BUDGET_MAX_WAN, DEADLINES

    assert firm.BUDGET_MAX_WAN is BUDGET_MAX_WAN
    assert DEADLINES == (date(2000, 1, 1), date(2100, 12, 31))


@pytest.mark.integration
def test_absurd_values_in_an_imported_table_are_quarantined_by_field(warehouse, tmp_path):
    path = tmp_path / "needs.csv"
    path.write_text(
        NEEDS_HEADER
        + GOOD_NEED
        + "榜额写成了元的需求标题,描述足够长的一段需求描述文字，说明现状和目标。,5000000,2027-06-30,嘉善乙\n"
        + "截止日期太早的需求标题,描述足够长的一段需求描述文字，说明现状和目标。,10,1999-12-31,嘉善丙\n"
        + "截止日期太晚的需求标题,描述足够长的一段需求描述文字，说明现状和目标。,10,2101-01-01,嘉善丁\n"
        + "标题里有空字符\x00的需求,描述足够长的一段需求描述文字，说明现状和目标。,10,2027-06-30,嘉善戊\n",
        encoding="utf-8",
    )
    report = load_file(warehouse, "table", path, kind="need", source="needs_table")
    assert (report.challenges.inserted, report.quarantined) == (1, 4)
    reasons = [(r["field"], r["reason"]) for r in _quarantined(warehouse)]
    assert [f for f, _ in reasons] == ["budget_wan", "deadline", "deadline", "title"]
    assert "5,000,000 万元 is above 100,000 万元" in reasons[0][1]
    assert "1999-12-31 is not between 2000 and 2100" in reasons[1][1]
    assert "2101-01-01 is not between 2000 and 2100" in reasons[2][1]
    assert "NUL byte" in reasons[3][1]
    assert [r["title"] for r in warehouse.query("SELECT title FROM challenges")] == ["注塑外壳外观缺陷视觉检测"]


@pytest.mark.integration
def test_absurd_values_in_crawled_items_are_quarantined_by_field(warehouse):
    items = [
        challenge(challenge_id="c:1", budget_wan=1_000_000),
        challenge(challenge_id="c:2", deadline="1970-01-01"),
        listing(listing_id="l:1", abstract="固态储氢\x00"),
        listing(listing_id="l:2"),
    ]
    report = load_items(warehouse, enumerate(items, start=1), source="crawl", run_id=None)
    assert (report.listings.inserted, report.quarantined) == (1, 3)
    assert [r["field"] for r in _quarantined(warehouse)] == ["budget_wan", "deadline", "abstract"]


@pytest.mark.unit
def test_the_firm_form_refuses_a_nul_byte():
    form = {
        "title": "注塑外壳外观缺陷AI视觉检测",
        "description": "我们做小家电塑料外壳，外观全靠人工目检，漏检率约1.5%。\x00希望用深度学习视觉检测替代人工。",
        "field": "新一代信息技术",
        "deadline": date(2027, 6, 30),
        "cooperation": "合作开发",
    }
    with pytest.raises(firm.InvalidChallenge) as refused:
        firm.validate_challenge(form, today=date(2026, 11, 26))
    assert list(refused.value.problems) == ["description"]
    assert "NUL" in refused.value.problems["description"]


@pytest.mark.integration
def test_a_huge_field_is_quarantined_as_a_bounded_excerpt(warehouse, tmp_path):
    """A 200,000-character title (under the record cap, over the title limit) is quarantined;
    the row keeps the first 500 characters and the length, not the 200,000."""
    huge = "钛" * 200_000
    path = tmp_path / "needs.csv"
    path.write_text(
        NEEDS_HEADER + f"{huge},描述足够长的一段需求描述文字，说明现状和目标。,10,2027-06-30,嘉善\n", "utf-8"
    )
    assert load_file(warehouse, "table", path, kind="need").quarantined == 1
    (row,) = _quarantined(warehouse)
    assert (row["field"], row["reason"]) == ("title", "longer than 300 characters")
    assert row["payload"]["title"] == "钛" * 500 + "…(200000 chars)"
    stored = warehouse.query("SELECT length(payload) AS n FROM quarantine")[0]["n"]
    assert stored < 2_000


@pytest.mark.integration
def test_a_50_mb_cell_is_quarantined_and_what_is_stored_is_bounded(warehouse, tmp_path):
    path = tmp_path / "needs.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(NEEDS_HEADER + GOOD_NEED)
        out.write('"' + "x" * 50_000_000 + '",描述,10,2027-06-30,嘉善\n')
    report = load_file(warehouse, "table", path, kind="need")
    assert (report.challenges.inserted, report.quarantined) == (1, 1)
    row = warehouse.query("SELECT field, reason, length(payload) AS n FROM quarantine")[0]
    assert (row["field"], row["reason"]) == (
        "raw",
        "CSV row could not be parsed: field larger than field limit (1000000)",
    )
    assert row["n"] < 2_000


@pytest.mark.unit
@pytest.mark.parametrize(
    "env, says",
    [
        ({"JIEBANG_MATCH_TOP_K": "-3"}, "match_top_k='-3' is not a valid whole number of at least 1"),
        ({"JIEBANG_MATCH_TOP_K": "0"}, "match_top_k='0' is not a valid whole number of at least 1"),
        ({"JIEBANG_LOCK_TIMEOUT_SECONDS": "-1"}, "lock_timeout_seconds='-1' is not a valid number of at least 0"),
        ({"JIEBANG_LOCK_TIMEOUT_SECONDS": "nan"}, "lock_timeout_seconds='nan' is not a valid number of at least 0"),
        ({"JIEBANG_CRAWL_DELAY_SECONDS": "-0.5"}, "crawl_delay_seconds='-0.5' is not a valid number of at least 0"),
    ],
)
def test_negative_counts_and_timeouts_are_refused(env, says):
    with pytest.raises(ConfigError) as refused:
        Settings.load(env)
    assert says in str(refused.value)


@pytest.mark.unit
def test_a_lock_timeout_of_zero_is_allowed():
    assert Settings.load({"JIEBANG_LOCK_TIMEOUT_SECONDS": "0"}).lock_timeout_seconds == 0.0


@pytest.mark.unit
@pytest.mark.parametrize("top", [0, -5])
def test_match_file_refuses_fewer_than_one_result_per_challenge(tmp_path, top):
    from jiebang.errors import InvalidValue

    (tmp_path / "s.jsonl").write_text('{"id": "S1", "title": "钛合金焊接"}\n', encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"id": "C1", "title": "钛合金"}\n', encoding="utf-8")
    with pytest.raises(InvalidValue, match=rf"--top {top}: "):
        match_file(tmp_path / "s.jsonl", tmp_path / "c.jsonl", top, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.unit
@pytest.mark.parametrize(
    "name, text, line",
    [
        ("qrels.tsv", "C1\tS1\t2\nC1\tS2\t7\n", 2),
        ("qrels.tsv", "C1\tS1\t-1\n", 1),
        ("judgments.tsv", "challenge_id\tlisting_id\tgrade\treason\nC1\tS1\t4\twhy\n", 2),
        ("judgments.jsonl", '{"challenge_id": "C1", "listing_id": "S1", "grade": 9}\n', 1),
    ],
)
def test_grades_outside_0_to_3_are_refused_naming_the_line(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    read = read_qrels if name == "qrels.tsv" else read_judgments
    with pytest.raises(InvalidFile) as refused:
        read(path)
    assert str(refused.value).startswith(f"{path}:{line}: grade ")
    assert "0–3" in str(refused.value)


@pytest.mark.unit
def test_grades_0_to_3_are_read():
    from tests.conftest import SHARED

    qrels = read_qrels(SHARED / "data" / "eval" / "market_dev" / "qrels.tsv")
    assert {g for grades in qrels.values() for g in grades.values()} <= {0, 1, 2, 3}
    assert sum(len(g) for g in qrels.values()) > 50
