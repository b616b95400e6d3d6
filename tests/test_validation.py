"""Validation names the field and the reason; the loader upserts the good and quarantines the rest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from crawlers.validation import InvalidItem, validate_challenge, validate_item, validate_listing
from jiebang.loading import load_items, read_feed
from warehouse import queries

_DROP = object()  # marks a key to remove from the item


def listing(**changes) -> dict:
    """A valid achievement item as the spider yields it, with `changes` applied."""
    item = {
        "record_type": "listing",
        "kind": "achievement",
        "listing_id": "zju:/zju/kjcg/detail/1000.html",
        "title": "高容量钛锰系AB2型储氢合金及固态储氢装置",
        "abstract": "固态储氢具有体积储氢密度高、工作压力低、安全性好的特点。",
        "keywords": ["储氢合金", "", "固态储氢"],
        "applicants": ["浙江大学 材料科学与工程学院"],
        "field": "新能源新材料",
        "maturity": "产业化",
        "cooperation": "技术转让",
        "price_text": "500万元",
        "price_wan": "500",
        "contact": "",
        "published_on": "2022-07-12",
        "url": "http://127.0.0.1:8765/zju/kjcg/detail/1000.html",
        "source": "zju",
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not _DROP}


def challenge(**changes) -> dict:
    """A valid challenge item as the need spider yields it, with `changes` applied."""
    item = {
        "record_type": "challenge",
        "challenge_id": "jiashan_market:/jsmarket/xq/XQ2026-001.html",
        "title": "5G小基站SAW滤波器高低温频偏大，寻求TC-SAW工艺方案",
        "description": "目前用的是自产普通SAW滤波器，-40~85℃下通带边缘漂得厉害，希望找到成熟的TC-SAW工艺。",
        "field": "新一代信息技术",
        "budget_wan": 180,
        "deadline": "2027-06-30",
        "issuer": "嘉善芯联射频科技有限公司",
        "region": "浙江省嘉兴市嘉善县",
        "cooperation": "合作开发",
        "url": "http://127.0.0.1:8765/jsmarket/xq/XQ2026-001.html",
        "source": "jiashan_market",
    }
    item.update(changes)
    return {k: v for k, v in item.items() if v is not _DROP}


@pytest.mark.unit
def test_valid_listing_is_cleaned():
    record_type, record = validate_item(listing(title="  高容量储氢合金  "))
    assert record_type == "listing"
    assert record["title"] == "高容量储氢合金"
    assert record["published_on"] == date(2022, 7, 12)
    assert record["price_wan"] == 500.0 and isinstance(record["price_wan"], float)
    assert record["keywords"] == ["储氢合金", "固态储氢"]  # empty entries dropped
    assert record["contact"] is None  # "" means unknown
    assert record["claims"] == ""  # absent text becomes the column default
    assert record["ipc"] == [] and record["inventors"] == []
    assert record["publication_number"] is None
    assert "record_type" not in record


@pytest.mark.unit
def test_valid_challenge_is_cleaned():
    record_type, record = validate_item(challenge(budget_wan="180.5"))
    assert record_type == "challenge"
    assert record["challenge_id"] == "jiashan_market:/jsmarket/xq/XQ2026-001.html"
    assert record["deadline"] == date(2027, 6, 30)
    assert record["budget_wan"] == 180.5 and isinstance(record["budget_wan"], float)
    assert record["issuer"] == "嘉善芯联射频科技有限公司"


@pytest.mark.unit
def test_negotiable_budget_is_none():
    _, record = validate_item(challenge(budget_wan=None))
    assert record["budget_wan"] is None


@pytest.mark.unit
def test_patent_with_datetime_publication_date_keeps_the_day():
    item = listing(
        kind="patent", listing_id="CN101551481", publication_number="CN101551481B", published_on="2012-11-21T00:00:00"
    )
    _, record = validate_item(item)
    assert record["published_on"] == date(2012, 11, 21)
    assert record["publication_number"] == "CN101551481B"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "item", "field", "reason"),
    [
        ("missing title", listing(title=_DROP), "title", "missing or empty"),
        ("blank title", listing(title="   "), "title", "missing or empty"),
        ("title too long", listing(title="滤" * 301), "title", "longer than 300 characters"),
        ("bad date", listing(published_on="2024-13-45"), "published_on", "is not a date"),
        ("date in words", listing(published_on="去年"), "published_on", "is not a date"),
        ("negative price", listing(price_wan=-5), "price_wan", "-5.0 is negative"),
        ("price that is not a number", listing(price_wan="面议"), "price_wan", "is not a number"),
        ("keywords as one string", listing(keywords="储氢;氢能"), "keywords", "expected a list of text"),
        ("keywords with a number", listing(keywords=["储氢", 5]), "keywords", "expected a list of text"),
        ("unknown kind", listing(kind="service"), "kind", "'service' is not one of patent, achievement"),
        (
            "patent without listing_id",
            listing(kind="patent", listing_id=None, publication_number="??"),
            "publication_number",
            "no stable id",
        ),
        ("achievement without listing_id", listing(listing_id=""), "url", "no stable id"),
        ("abstract that is not text", listing(abstract=["a"]), "abstract", "expected text, got list"),
        ("listing without url", listing(url=_DROP), "url", "missing or empty"),
        ("listing without source", listing(source=""), "source", "missing or empty"),
        ("missing challenge description", challenge(description=_DROP), "description", "missing or empty"),
        ("too short challenge description", challenge(description="太短了"), "description", "missing or empty"),
        ("challenge without title", challenge(title=None), "title", "missing or empty"),
        ("challenge with bad deadline", challenge(deadline="2027/06/31"), "deadline", "is not a date"),
        ("negative budget", challenge(budget_wan=-1), "budget_wan", "is negative"),
        # absurd values: the firm form's cap and sane years hold for crawled and imported items too
        ("榜额 above the form's cap", challenge(budget_wan=100_001), "budget_wan", "is above 100,000 万元"),
        ("榜额 in 元 read as 万元", challenge(budget_wan="5000000"), "budget_wan", "5,000,000 万元 is above"),
        ("deadline before 2000", challenge(deadline="1999-12-31"), "deadline", "not between 2000 and 2100"),
        ("deadline after 2100", challenge(deadline="2101-01-01"), "deadline", "not between 2000 and 2100"),
        ("NUL byte in a title", listing(title="储氢\x00合金"), "title", "NUL byte"),
        ("NUL byte in a list", listing(applicants=["浙江大学", "x\x00"]), "applicants", "NUL byte"),
        ("NUL byte in a description", challenge(issuer="嘉善\x00"), "issuer", "NUL byte"),
        ("a huge bad date is quoted short", listing(published_on="9" * 100_000), "published_on", "is not a date"),
        ("challenge without id", challenge(challenge_id=None), "url", "no stable id"),
        (
            "unknown record_type",
            listing(record_type="patent"),
            "record_type",
            "'patent' is neither listing nor challenge",
        ),
        ("no record_type", listing(record_type=_DROP), "record_type", "None is neither listing nor challenge"),
    ],
)
def test_invalid_item_names_field_and_reason(description, item, field, reason):
    with pytest.raises(InvalidItem) as caught:
        validate_item(item)
    assert caught.value.field == field, description
    assert reason in caught.value.reason, description
    assert str(caught.value).startswith(f"{field}: "), description
    assert len(caught.value.reason) < 200, description  # a huge value is quoted as an excerpt


@pytest.mark.unit
def test_validators_are_pure():
    item = listing()
    before = json.dumps(item, ensure_ascii=False, sort_keys=True)
    validate_listing(item)
    validate_challenge(challenge())
    assert json.dumps(item, ensure_ascii=False, sort_keys=True) == before


# --- loading a mixed batch --------------------------------------------------------------------


def _write_feed(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _quarantine_rows(warehouse) -> list[dict]:
    rows = warehouse.query(
        "SELECT run_id, source, url, record_id, field, reason, payload FROM quarantine ORDER BY quarantine_id"
    )
    for row in rows:
        row["payload"] = json.loads(row["payload"])
    return rows


@pytest.mark.integration
def test_load_items_upserts_valid_and_quarantines_invalid(warehouse, tmp_path):
    good_listing = listing()
    good_challenge = challenge()
    bad_listing = listing(
        listing_id="zju:/zju/kjcg/detail/1001.html", price_wan=-3, url="http://127.0.0.1:8765/zju/kjcg/detail/1001.html"
    )
    bad_challenge = challenge(
        challenge_id="jiashan_market:/jsmarket/xq/XQ2026-002.html",
        description=None,
        url="http://127.0.0.1:8765/jsmarket/xq/XQ2026-002.html",
    )
    feed = _write_feed(
        tmp_path / "zju.jsonl",
        [
            json.dumps(good_listing, ensure_ascii=False),
            json.dumps(bad_listing, ensure_ascii=False),
            '{"record_type": "listing", "title": "断行',  # the crawl died mid-line
            "",  # blank lines are not records
            json.dumps(good_challenge, ensure_ascii=False),
            json.dumps(bad_challenge, ensure_ascii=False),
            json.dumps(["a", "list"]),  # valid JSON, but not an object
        ],
    )
    lines = list(read_feed(feed))
    assert [n for n, _ in lines] == [1, 2, 3, 5, 6, 7]
    assert lines[2][1] == '{"record_type": "listing", "title": "断行\n'

    report = load_items(warehouse, lines, source="zju", run_id="run-1")

    assert (report.listings.inserted, report.challenges.inserted, report.quarantined) == (1, 1, 4)
    assert len(lines) == (report.listings.total + report.challenges.total + report.quarantined) == report.total
    assert report.as_dict()["total"] == 6

    stored = warehouse.query("SELECT listing_id, title, price_wan, sources FROM listings")
    assert stored == [
        {
            "listing_id": good_listing["listing_id"],
            "title": good_listing["title"],
            "price_wan": 500.0,
            "sources": ["zju"],
        }
    ]
    assert [r["challenge_id"] for r in warehouse.query("SELECT challenge_id FROM challenges")] == [
        good_challenge["challenge_id"]
    ]

    quarantined = _quarantine_rows(warehouse)
    assert [(q["source"], q["url"], q["record_id"], q["field"]) for q in quarantined] == [
        ("zju", bad_listing["url"], bad_listing["listing_id"], "price_wan"),
        ("zju", None, None, "line"),
        ("jiashan_market", bad_challenge["url"], bad_challenge["challenge_id"], "description"),
        ("zju", None, None, "line"),
    ]
    assert quarantined[0]["reason"] == "-3.0 is negative"
    assert quarantined[0]["payload"] == bad_listing  # the raw item, not the cleaned one
    assert quarantined[1]["reason"] == "line 3 is not a JSON object"
    assert quarantined[1]["payload"] == {"raw": '{"record_type": "listing", "title": "断行\n'}
    assert quarantined[2]["payload"] == bad_challenge
    assert quarantined[3]["reason"] == "line 7 is not a JSON object"
    assert quarantined[3]["payload"] == {"raw": ["a", "list"]}
    assert {q["run_id"] for q in quarantined} == {"run-1"}
    assert queries.table_counts(warehouse)["quarantine"] == 4


@pytest.mark.integration
def test_reloading_the_same_feed_accounts_for_every_line(warehouse, tmp_path):
    items = [listing(listing_id=f"zju:/zju/kjcg/detail/{n}.html", title=f"成果 {n}") for n in range(1000, 1005)]
    lines = [json.dumps(i, ensure_ascii=False) for i in items] + ["not json", json.dumps(listing(title=""))]
    feed = _write_feed(tmp_path / "feed.jsonl", lines)
    first = load_items(warehouse, read_feed(feed), source="zju", run_id=None)
    assert (first.listings.inserted, first.listings.updated, first.listings.unchanged, first.quarantined) == (
        5,
        0,
        0,
        2,
    )

    lines[0] = json.dumps(
        listing(listing_id="zju:/zju/kjcg/detail/1000.html", title="成果 1000 (修订)"), ensure_ascii=False
    )
    lines.append(json.dumps(listing(listing_id="zju:/zju/kjcg/detail/1099.html", title="新成果")))
    feed = _write_feed(tmp_path / "feed.jsonl", lines)
    second = load_items(warehouse, read_feed(feed), source="zju", run_id=None)

    assert (second.listings.inserted, second.listings.updated, second.listings.unchanged, second.quarantined) == (
        1,
        1,
        4,
        2,
    )
    assert len(lines) == (
        second.listings.inserted + second.listings.updated + second.listings.unchanged + second.quarantined
    )
    assert warehouse.query("SELECT count(*) AS n FROM listings")[0]["n"] == 6
    assert warehouse.query("SELECT count(*) AS n FROM quarantine")[0]["n"] == 4


@pytest.mark.integration
def test_accounting_holds_when_a_feed_repeats_an_id(warehouse):
    twice = [(1, listing()), (2, listing(title="同一成果，第二次出现"))]
    report = load_items(warehouse, twice, source="zju", run_id=None)
    assert report.total == 2


@pytest.mark.integration
def test_a_record_repeated_in_a_later_batch_is_written_once_and_a_reload_is_unchanged(warehouse, tmp_path, monkeypatch):
    from jiebang.loading import load_feed

    monkeypatch.setattr("jiebang.loading.BATCH_SIZE", 2)
    first, other, again = (
        listing(listing_id=i, title=t)
        for i, t in (("CN1", "旧标题的专利"), ("CN2", "另一件专利"), ("CN1", "新标题的专利"))
    )
    feed = _write_feed(tmp_path / "feed.jsonl", [json.dumps(x, ensure_ascii=False) for x in (first, other, again)])
    for expected in ((2, 0, 1), (0, 2, 1)):  # (inserted, unchanged, superseded): load, then reload
        report = load_feed(warehouse, feed, source="zju", run_id="r")
        assert (report.listings.inserted, report.listings.unchanged, report.listings.superseded) == expected
        assert report.listings.updated == 0
    assert warehouse.query("SELECT title FROM listings WHERE listing_id = 'CN1'") == [{"title": "新标题的专利"}]
