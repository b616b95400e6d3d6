"""The broker workspace, the solver board, dashboards and the audit log against real DuckDB files:
a small known warehouse (tests/workspace_data.py), and the crawled-and-matched one where the
matching step itself has to keep decisions."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from jiebang import audit, broker, dashboard, solver
from jiebang.display import beijing_today, listing_number
from jiebang.errors import (
    AccessDenied,
    DuplicateApplication,
    InvalidApplication,
    InvalidDecision,
    NotOnScreen,
    RateLimited,
)
from jiebang.highlight import escape, merged, segments, split_highlight, to_html
from tests.workspace_data import ADMIN, BROKER, FIRM, FIRM_USER, TODAY, register, seed
from warehouse.gateway import Warehouse
from warehouse.workspace_queries import Filters

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def seeded_file(tmp_path_factory):
    return seed(tmp_path_factory.mktemp("workspace") / "seeded.duckdb").path


@pytest.fixture
def loaded_warehouse(loaded_warehouse):
    register(loaded_warehouse, BROKER, ADMIN, FIRM_USER)  # the services re-read each User's account
    return loaded_warehouse


@pytest.fixture
def wh(seeded_file, tmp_path):
    """A private copy of the known warehouse, free for the test to change."""
    path = tmp_path / "workspace.duckdb"
    shutil.copy(seeded_file, path)
    return Warehouse(path, 30)


def _reviews(wh) -> list[tuple]:
    return [
        tuple(r.values())
        for r in wh.query(
            "SELECT challenge_id, listing_id, decision, reason, note, reviewer, deal_amount_wan, deal_date"
            " FROM reviews ORDER BY review_id"
        )
    ]


def _audit(wh, action: str) -> list[dict]:
    return wh.query(
        "SELECT actor, role, entity_type, entity_id, before, after FROM audit_log WHERE action = ? ORDER BY audit_id",
        [action],
    )


# --- decisions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "decision, kwargs, stored",
    [
        ("shortlist", {}, (None, None, None, None)),
        ("contacted", {"note": " 已电话沟通 "}, (None, "已电话沟通", None, None)),
        ("intent", {}, (None, None, None, None)),
        ("follow_up", {"note": "三个月后回访"}, (None, "三个月后回访", None, None)),
        ("reject", {"reason": "技术不对口"}, ("技术不对口", None, None, None)),
        (
            "reject",
            {"reason": broker.reject_reason("其他", "企业已自行解决")},
            ("其他：企业已自行解决", None, None, None),
        ),
        ("signed", {"deal_amount_wan": 120, "deal_date": date(2026, 11, 20)}, (None, None, 120.0, date(2026, 11, 20))),
        ("signed", {"deal_amount_wan": "35.5", "deal_date": "2026-01-02"}, (None, None, 35.5, date(2026, 1, 2))),
    ],
    ids=[
        "shortlist",
        "contacted+note",
        "intent",
        "follow_up+note",
        "reject",
        "reject other+text",
        "signed",
        "signed from text",
    ],
)
def test_each_decision_is_stored_with_its_audit_line(wh, decision, kwargs, stored):
    review_id = broker.decide(wh, BROKER, "mkt:/1", "CN1", decision, today=TODAY, **kwargs)
    assert review_id > 0
    reason, note, amount, deal_date = stored
    assert _reviews(wh) == [("mkt:/1", "CN1", decision, reason, note, "wang", amount, deal_date)]
    line = _audit(wh, "decide")[0]
    assert (line["actor"], line["role"], line["entity_type"], line["entity_id"]) == (
        "wang",
        "broker",
        "match",
        "mkt:/1|CN1",
    )
    assert json.loads(line["after"])["decision"] == decision


def test_a_deal_signed_today_in_beijing_is_not_in_the_future(wh):
    """The broker page passes no date: after 16:00 UTC Beijing's today is the server's tomorrow."""
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "signed", deal_amount_wan=30, deal_date=beijing_today())
    assert _reviews(wh)[0][-2:] == (30.0, beijing_today())


@pytest.mark.parametrize(
    "decision, kwargs, message",
    [
        ("reject", {}, "排除原因：必填"),
        ("reject", {"reason": "  "}, "排除原因：必填"),
        ("reject", {"reason": "看着不顺眼"}, "排除原因：须为以下之一"),
        ("reject", {"reason": "其他"}, "选择“其他”时请写明原因"),
        ("shortlist", {"reason": "技术不对口"}, "只有“排除”需要原因"),
        ("signed", {"deal_date": date(2026, 11, 1)}, "签约金额：必填"),
        ("signed", {"deal_amount_wan": "一百", "deal_date": date(2026, 11, 1)}, "签约金额：请填写数字"),
        ("signed", {"deal_amount_wan": 0, "deal_date": date(2026, 11, 1)}, "签约金额：须大于 0"),
        ("signed", {"deal_amount_wan": -5, "deal_date": date(2026, 11, 1)}, "签约金额：须大于 0"),
        ("signed", {"deal_amount_wan": float("nan"), "deal_date": date(2026, 11, 1)}, "签约金额：须大于 0"),
        ("signed", {"deal_amount_wan": 2_000_000, "deal_date": date(2026, 11, 1)}, "是否把元填成了万元"),
        ("signed", {"deal_amount_wan": 10}, "签约日期：必填"),
        ("signed", {"deal_amount_wan": 10, "deal_date": "2026/11/01"}, "签约日期：格式应为 YYYY-MM-DD"),
        ("signed", {"deal_amount_wan": 10, "deal_date": date(2026, 11, 27)}, "签约日期：不能晚于今天"),
        ("signed", {"deal_amount_wan": 10, "deal_date": date(1999, 12, 31)}, "签约日期：不能早于"),
        ("signed", {}, "签约金额：必填（万元）；签约日期：必填"),
        ("intent", {"deal_amount_wan": 10}, "只有“签约”需要填写"),
        ("approve", {}, "未知的决定"),
        ("shortlist", {"note": "长" * 1001}, "备注：最多 1000 字"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_invalid_decisions_are_refused_with_the_field_and_nothing_is_stored(wh, decision, kwargs, message):
    with pytest.raises(InvalidDecision, match=message.replace("(", r"\(")):
        broker.decide(wh, BROKER, "mkt:/1", "CN1", decision, today=TODAY, **kwargs)
    assert _reviews(wh) == [] and _audit(wh, "decide") == []


def test_a_decision_on_a_pair_that_is_not_a_match_is_refused(wh):
    with pytest.raises(InvalidDecision, match="匹配不存在"):
        broker.decide(wh, BROKER, "mkt:/1", "CN3", "shortlist")  # CN3 is proposed for firm:anon only
    assert _reviews(wh) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda wh: broker.decide(
            wh,
            BROKER,
            "mkt:/1",
            "CN1",
            "signed",
            deal_amount_wan=50,
            deal_date=TODAY,
            today=TODAY,
            on_screen="firm:anon",
        ),
        lambda wh: broker.decide_many(wh, BROKER, "mkt:/1", ["CN1"], "shortlist", on_screen="firm:anon"),
        lambda wh: broker.add_note(wh, BROKER, "mkt:/1", "CN1", "已电话沟通", on_screen="firm:anon"),
        lambda wh: broker.share_match(wh, BROKER, "firm:anon", "CN2", on_screen="mkt:/1"),
    ],
    ids=["decide", "bulk", "note", "share"],
)
def test_a_decision_from_a_card_of_another_challenge_than_the_one_on_screen_is_refused(wh, call):
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist", on_screen="mkt:/1")  # the card's own challenge: kept
    with pytest.raises(NotOnScreen, match="页面已切换"):
        call(wh)
    assert _reviews(wh) == [("mkt:/1", "CN1", "shortlist", None, None, "wang", None, None)]
    assert wh.query("SELECT count(*) AS n FROM match_shares")[0]["n"] == 0


@pytest.mark.parametrize("user", [None, FIRM_USER], ids=["anonymous", "firm"])
@pytest.mark.parametrize(
    "call",
    [
        lambda wh, u: broker.review_queue_page(wh, u),
        lambda wh, u: broker.match_page(wh, u, "firm:anon"),
        lambda wh, u: broker.decide(wh, u, "firm:anon", "CN2", "shortlist"),
        lambda wh, u: broker.decide_many(wh, u, "firm:anon", ["CN2"], "shortlist"),
        lambda wh, u: broker.share_match(wh, u, "firm:anon", "CN2"),
        lambda wh, u: broker.applications(wh, u, "firm:anon"),
        lambda wh, u: broker.export_shortlist(wh, u, "firm:anon", "xlsx"),
        lambda wh, u: broker.export_pipeline(wh, u, "csv"),
        lambda wh, u: broker.filter_options(wh, u),
        lambda wh, u: dashboard.funnel(wh, u),
        lambda wh, u: dashboard.source_freshness(wh, u),
        lambda wh, u: audit.audit_entries(wh, u),
    ],
    ids=[
        "queue",
        "matches",
        "decide",
        "bulk",
        "share",
        "applications",
        "export shortlist",
        "export pipeline",
        "filter options",
        "dashboard",
        "freshness",
        "audit",
    ],
)
def test_broker_services_refuse_other_roles(wh, user, call):
    with pytest.raises(AccessDenied):
        call(wh, user)
    assert _reviews(wh) == [] and wh.query("SELECT count(*) AS n FROM match_shares")[0]["n"] == 0


# --- bulk actions and notes ---------------------------------------------------------------------


def test_bulk_decision_records_every_selected_match_in_one_go(wh):
    ids = broker.decide_many(wh, BROKER, "mkt:/1", ["CN1", "zju:/a1", "CN1"], "reject", reason="重复推荐", note="批量")
    assert len(ids) == 2  # the same match twice is decided once
    assert _reviews(wh) == [
        ("mkt:/1", "CN1", "reject", "重复推荐", "批量", "wang", None, None),
        ("mkt:/1", "zju:/a1", "reject", "重复推荐", "批量", "wang", None, None),
    ]
    assert len(_audit(wh, "decide")) == 2
    assert [m["listing_id"] for m in broker.match_page(wh, BROKER, "mkt:/1").rows] == ["CN2"]  # rejected hidden


@pytest.mark.parametrize(
    "listing_ids, decision, kwargs, message",
    [
        (["CN1", "CN3"], "shortlist", {}, "匹配不存在"),  # one bad pair: none recorded
        (["CN1", "zju:/a1"], "signed", {}, "不能批量签约"),
        (["CN1"], "reject", {}, "排除原因：必填"),
        ([], "shortlist", {}, "请先勾选匹配"),
    ],
)
def test_bulk_decision_is_all_or_nothing(wh, listing_ids, decision, kwargs, message):
    with pytest.raises(InvalidDecision, match=message):
        broker.decide_many(wh, BROKER, "mkt:/1", listing_ids, decision, **kwargs)
    assert _reviews(wh) == []


def test_a_note_keeps_the_decision_and_is_shown_on_the_card(wh):
    with pytest.raises(InvalidDecision, match="请先对该匹配做出决定"):
        broker.add_note(wh, BROKER, "mkt:/1", "CN1", "先记一笔")
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "signed", deal_amount_wan=50, deal_date=date(2026, 5, 1), today=TODAY)
    broker.add_note(wh, BROKER, "mkt:/1", "CN1", "合同已登记")
    assert _reviews(wh)[-1] == ("mkt:/1", "CN1", "signed", None, "合同已登记", "wang", 50.0, date(2026, 5, 1))
    card = broker.match_page(wh, BROKER, "mkt:/1").rows[0]
    assert (card["decision"], [n["note"] for n in card["notes"]]) == ("signed", ["合同已登记"])


# --- queue and match filters --------------------------------------------------------------------


# After the test's two decisions on mkt:/1 (CN1 80 shortlisted, zju:/a1 60 rejected, CN2 20 open):
# (challenge, matches passing the filters, unreviewed among them), most unreviewed first.
@pytest.mark.parametrize(
    "filters, expected",
    [
        (Filters(), [("firm:anon", 3, 3), ("mkt:/2", 2, 2), ("mkt:/1", 3, 1), ("mkt:/3", 0, 0), ("mkt:/old", 0, 0)]),
        (Filters(field="生命健康"), [("mkt:/2", 2, 2), ("mkt:/old", 0, 0)]),
        (Filters(region="青浦"), [("firm:anon", 3, 3)]),
        (Filters(challenge_status="待审核"), [("mkt:/3", 0, 0)]),
        (Filters(challenge_status="已截止", today=date(2026, 12, 2)), [("mkt:/old", 0, 0)]),
        (
            Filters(challenge_status="已发布", today=date(2026, 12, 2)),
            [("firm:anon", 3, 3), ("mkt:/2", 2, 2), ("mkt:/1", 3, 1)],
        ),
        (Filters(posted_from=date(2026, 1, 1), posted_to=date(2026, 1, 15)), [("mkt:/2", 2, 2)]),
        (Filters(min_score=55), [("firm:anon", 2, 2), ("mkt:/1", 2, 0)]),
        (Filters(max_score=20), [("mkt:/1", 1, 1), ("firm:anon", 1, 1), ("mkt:/2", 1, 1)]),
        (Filters(min_score=50, max_score=70), [("firm:anon", 1, 1), ("mkt:/2", 1, 1), ("mkt:/1", 1, 0)]),
        (Filters(kind="achievement"), [("mkt:/2", 1, 1), ("firm:anon", 1, 1), ("mkt:/1", 1, 0)]),
        (Filters(source="cnipr"), [("firm:anon", 1, 1), ("mkt:/1", 1, 1)]),
        (Filters(source="google_patents", field="新能源新材料"), [("firm:anon", 1, 1), ("mkt:/1", 1, 0)]),
        (Filters(decision="shortlist"), [("mkt:/1", 1, 0)]),
        (Filters(decision="reject"), [("mkt:/1", 1, 0)]),
        (Filters(decision="unreviewed"), [("firm:anon", 3, 3), ("mkt:/2", 2, 2), ("mkt:/1", 1, 1)]),
    ],
    ids=[
        "none",
        "industry",
        "region",
        "status",
        "past its deadline",
        "open and not past it",
        "date range",
        "min score",
        "max score",
        "score range",
        "kind",
        "source",
        "source+industry",
        "shortlisted",
        "rejected",
        "unreviewed",
    ],
)
def test_queue_filters_return_the_right_challenges_and_counts(wh, filters, expected):
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "reject", reason="成熟度不足")
    page = broker.review_queue_page(wh, BROKER, filters)
    assert [(r["challenge_id"], r["n_matches"], r["n_unreviewed"]) for r in page.rows] == expected
    assert page.total == len(expected)
    assert "firm:draft" not in {r["challenge_id"] for r in page.rows}  # a firm's draft is never in the queue


@pytest.mark.parametrize(
    "filters, include_rejected, expected",
    [
        (Filters(), False, ["CN1", "CN2"]),
        (Filters(), True, ["CN1", "zju:/a1", "CN2"]),
        (Filters(min_score=50), False, ["CN1"]),
        (Filters(kind="patent"), False, ["CN1", "CN2"]),
        (Filters(source="zju"), True, ["zju:/a1"]),
        (Filters(decision="reject"), False, ["zju:/a1"]),
        (Filters(decision="unreviewed"), False, ["CN2"]),
        (Filters(decision="shortlist", kind="achievement"), False, []),
    ],
)
def test_match_page_filters(wh, filters, include_rejected, expected):
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "reject", reason="成熟度不足")
    page = broker.match_page(wh, BROKER, "mkt:/1", filters, include_rejected=include_rejected)
    assert [m["listing_id"] for m in page.rows] == expected and page.total == len(expected)


def test_queue_and_matches_paginate(wh):
    pages = [broker.review_queue_page(wh, BROKER, page=n, page_size=2) for n in range(3)]
    assert [[r["challenge_id"] for r in p.rows] for p in pages] == [
        ["mkt:/1", "firm:anon"],
        ["mkt:/2", "mkt:/3"],
        ["mkt:/old"],
    ]
    assert {p.total for p in pages} == {5} and pages[0].pages == 3
    assert broker.review_queue_page(wh, BROKER, page=9, page_size=2).total == 5  # past the end: still counted
    second = broker.match_page(wh, BROKER, "mkt:/1", page=1, page_size=2)
    assert ([m["listing_id"] for m in second.rows], second.total) == (["CN2"], 3)


def test_filter_options_offer_the_values_in_the_warehouse(wh):
    options = broker.filter_options(wh, BROKER)
    assert options == {
        "field": ["新能源新材料", "时尚纺织", "生命健康"],
        "region": ["上海市青浦区", "江苏省苏州市吴江区", "浙江省嘉兴市嘉善县"],
        "status": ["已发布", "待审核"],
        "source": ["cnipr", "google_patents", "tsinghua", "zju"],
    }
    # mkt:/old (已发布, deadline 2020-01-01) is past its deadline today: 已截止 is offered too.
    assert broker.filter_options(wh, BROKER, date(2026, 12, 2))["status"] == ["已发布", "已截止", "待审核"]
    assert broker.filter_options(wh, BROKER, date(2019, 12, 31))["status"] == ["已发布", "待审核"]


def test_rejected_listings_never_return_and_shortlists_survive_a_matching_run(loaded_warehouse, tmp_path):
    """The real matching step, run again after decisions."""
    from tests.conftest import TODAY as FIXTURE_TODAY
    from tests.conftest import match_open_challenges
    from warehouse import store

    challenge_id = broker.review_queue_page(loaded_warehouse, BROKER).rows[0]["challenge_id"]
    top, second, third = broker.match_page(loaded_warehouse, BROKER, challenge_id, page_size=3).rows
    broker.decide(loaded_warehouse, BROKER, challenge_id, top["listing_id"], "shortlist")
    broker.decide_many(loaded_warehouse, BROKER, challenge_id, [second["listing_id"]], "reject", reason="重复推荐")
    broker.decide(
        loaded_warehouse,
        BROKER,
        challenge_id,
        third["listing_id"],
        "signed",
        deal_amount_wan=30,
        deal_date=FIXTURE_TODAY,
        today=FIXTURE_TODAY,
    )

    run_id = store.start_run(loaded_warehouse, "nightly-refresh")
    match_open_challenges(loaded_warehouse, run_id, tmp_path / "index")
    shown = {m["listing_id"]: m for m in broker.match_page(loaded_warehouse, BROKER, challenge_id, page_size=50).rows}
    assert shown[top["listing_id"]]["decision"] == "shortlist"
    assert shown[third["listing_id"]]["decision"] == "signed"
    assert second["listing_id"] not in shown
    rematched = loaded_warehouse.query(
        "SELECT count(*) AS n FROM matches WHERE challenge_id = ? AND listing_id = ? AND run_id = ?",
        [challenge_id, second["listing_id"], run_id],
    )
    assert rematched[0]["n"] == 0  # not proposed again by the new run


# --- sharing --------------------------------------------------------------------------------------


def test_share_match_is_stored_once_and_audited(wh):
    assert broker.share_match(wh, BROKER, "firm:anon", "CN2") is True
    assert broker.share_match(wh, BROKER, "firm:anon", "CN2") is False  # already shared: no second line
    assert [tuple(r.values()) for r in wh.query("SELECT challenge_id, listing_id, shared_by FROM match_shares")] == [
        ("firm:anon", "CN2", "wang")
    ]
    lines = _audit(wh, "share")
    assert [(r["actor"], r["entity_type"], r["entity_id"]) for r in lines] == [("wang", "match", "firm:anon|CN2")]
    assert json.loads(lines[0]["after"])["shared_by"] == "wang"
    assert broker.match_page(wh, BROKER, "firm:anon").rows[0]["shared_at"] is not None


@pytest.mark.parametrize(
    "challenge_id, listing_id, message",
    [
        ("mkt:/1", "CN1", "不是企业发布的"),
        ("firm:anon", "CN1", "匹配不存在"),
        ("nope", "CN1", "不存在"),
        ("firm:anon", "zju:/a1", "已排除的匹配不能分享"),
    ],
)
def test_share_match_refuses_what_cannot_be_shared(wh, challenge_id, listing_id, message):
    broker.decide(wh, BROKER, "firm:anon", "zju:/a1", "reject", reason="技术不对口")
    with pytest.raises(InvalidDecision, match=message):
        broker.share_match(wh, BROKER, challenge_id, listing_id)
    assert wh.query("SELECT count(*) AS n FROM match_shares")[0]["n"] == 0


# --- exports ------------------------------------------------------------------------------------


def _decide_pipeline(wh) -> None:
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist", note="首选")
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "signed", deal_amount_wan=100, deal_date=date(2026, 3, 10), today=TODAY)
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "contacted")
    broker.decide(wh, BROKER, "mkt:/1", "CN2", "reject", reason="技术不对口：只做湿法")
    broker.decide(wh, BROKER, "mkt:/2", "thu:/a2", "shortlist")


def _xlsx(data: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_shortlist_export_xlsx_and_csv(wh):
    _decide_pipeline(wh)
    table = _xlsx(broker.export_shortlist(wh, BROKER, "mkt:/1", "xlsx"))
    headers = list(broker.SHORTLIST_HEADERS.values())
    assert table[0] == headers
    rows = [dict(zip(headers, r, strict=True)) for r in table[1:]]
    assert [(r["供给编号"], r["当前状态"], r["匹配分"], r["签约金额（万元）"], r["类型"]) for r in rows] == [
        ("CN1", "签约", 80, 100, "专利"),
        (listing_number({"listing_id": "zju:/a1", "kind": "achievement"}), "已联系", 60, None, "科技成果"),
    ]  # rejected CN2 left out
    decided = wh.query("SELECT max(decided_at) AS t FROM reviews WHERE listing_id = 'CN1'")[0]["t"]
    assert abs(rows[0]["更新时间（北京时间）"] - (decided + timedelta(hours=8))) < timedelta(seconds=1)  # xlsx: ms
    assert rows[0]["签约日期"].date() == date(2026, 3, 10) and rows[0]["来源链接"] == "https://patents.example/CN1"
    lines = _csv(broker.export_shortlist(wh, BROKER, "mkt:/1", "csv"))
    assert lines[0] == headers
    assert [(r[2], r[12], r[15], r[16]) for r in lines[1:]] == [
        ("CN1", "", "100.0", "2026-03-10"),
        (listing_number({"listing_id": "zju:/a1", "kind": "achievement"}), "", "", ""),
    ]


def test_pipeline_export_has_every_decided_pair_with_reasons(wh):
    _decide_pipeline(wh)
    headers = list(broker.PIPELINE_HEADERS.values())
    for rows in (_xlsx(broker.export_pipeline(wh, BROKER, "xlsx")), _csv(broker.export_pipeline(wh, BROKER, "csv"))):
        assert rows[0] == headers
        got = [(r[0], r[4], r[8], r[9] or "") for r in rows[1:]]
        one, two = (number(wh, c) for c in ("mkt:/1", "mkt:/2"))  # 需求编号 and listing numbers, not ids
        assert got == [
            (one, "CN1", "签约", ""),
            (one, listing_number({"listing_id": "zju:/a1", "kind": "achievement"}), "已联系", ""),
            (one, "CN2", "排除", "技术不对口：只做湿法"),
            (two, listing_number({"listing_id": "thu:/a2", "kind": "achievement"}), "入围", ""),
        ]


def number(wh, challenge_id: str) -> str:
    return wh.query("SELECT number FROM challenges WHERE challenge_id = ?", [challenge_id])[0]["number"]


def test_exports_keep_hostile_text_as_text(wh):
    wh.execute(
        "UPDATE listings SET title = '=HYPERLINK(\"http://evil\")', applicants = ['+cmd|calc'] WHERE listing_id = 'CN1'"
    )
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    sheet = openpyxl.load_workbook(io.BytesIO(broker.export_shortlist(wh, BROKER, "mkt:/1", "xlsx"))).active
    assert (sheet["E2"].value, sheet["E2"].data_type) == ('=HYPERLINK("http://evil")', "s")  # a string, not a formula
    row = _csv(broker.export_shortlist(wh, BROKER, "mkt:/1", "csv"))[1]
    assert (row[4], row[5]) == ('\'=HYPERLINK("http://evil")', "'+cmd|calc")
    with pytest.raises(ValueError, match="unknown export format"):
        broker.export_shortlist(wh, BROKER, "mkt:/1", "pdf")


# --- the solver board ---------------------------------------------------------------------------


def test_board_shows_open_published_challenges_and_hides_anonymous_firms_everywhere(wh):
    page = solver.board(wh, today=TODAY)
    assert sorted(r["title"] for r in page.rows) == [
        "体外诊断试剂稳定性差",
        "氢燃料电池双极板腐蚀",
        "锂电池隔膜耐热不足",
    ]
    assert page.total == 3  # not the draft, not the one awaiting review, not the expired one
    anonymous = next(r for r in page.rows if r["title"] == "氢燃料电池双极板腐蚀")
    assert anonymous["issuer"] == solver.ANONYMOUS_FIRM and anonymous["url"] is None
    assert anonymous["description"].startswith("匿名企业现有金属双极板")
    assert "challenge_id" not in anonymous and "firm:anon" not in repr(anonymous)
    assert FIRM not in repr(page.rows) and "氢途" not in repr(page.rows)  # not in any field of any row
    public = next(r for r in page.rows if r["title"] == "锂电池隔膜耐热不足")
    assert (public["issuer"], public["url"]) == ("嘉善某电池厂", "http://market.example/xq/1")

    wh.execute("UPDATE challenges SET revealed = TRUE WHERE challenge_id = 'firm:anon'")
    revealed = next(r for r in solver.board(wh, today=TODAY).rows if r["title"] == "氢燃料电池双极板腐蚀")
    assert revealed["issuer"] == FIRM and revealed["description"].startswith(FIRM)


@pytest.mark.parametrize(
    "field, search, expected",
    [
        ("生命健康", None, ["体外诊断试剂稳定性差"]),
        (None, "隔膜", ["锂电池隔膜耐热不足"]),
        (None, "酸性环境", ["氢燃料电池双极板腐蚀"]),
        ("生命健康", "隔膜", []),
        (None, FIRM, []),  # the anonymous firm's description names it: a search must not tell
    ],
)
def test_board_filters(wh, field, search, expected):
    assert [r["title"] for r in solver.board(wh, today=TODAY, field=field, search=search).rows] == expected


ENGLISH = "Hydroway Technology (Jiashan) Co., Ltd."


def test_the_board_hides_the_anonymous_firm_in_every_spelling_of_its_names(wh):
    # Issue 14: only the exact name was cut; 氢途科技, ＨＹＤＲＯＷＡＹ, 氢 途 and the English name showed.
    from jiebang.accounts import add_user

    add_user(wh, "hq2", "long-enough-pw", "firm", firm=FIRM, firm_english=ENGLISH)
    wh.execute(
        "UPDATE challenges SET title = ?, description = ?, targets = ? WHERE challenge_id = 'firm:anon'",
        [
            "氢途科技双极板腐蚀",
            "嘉善氢途现有金属双极板（ＨＹＤＲＯＷＡＹ 产线）在酸性环境下腐蚀严重，氢 途希望寻求防腐涂层方案。",
            "达到 hydroway technology 内控标准 5000 h",
        ],
    )
    hidden = [r for r in solver.board(wh, today=TODAY).rows if r["issuer"] == solver.ANONYMOUS_FIRM]
    assert [(r["title"], r["description"], r["targets"]) for r in hidden] == [
        (
            "匿名企业双极板腐蚀",
            "匿名企业现有金属双极板（匿名企业 产线）在酸性环境下腐蚀严重，匿名企业希望寻求防腐涂层方案。",
            "达到 匿名企业 内控标准 5000 h",
        )
    ]
    for search in ("氢途", "嘉善氢途", "氢途科技", "途科", "ＨＹＤＲＯＷＡＹ", "Hydroway", "hydroway", "氢 途"):
        page = solver.board(wh, today=TODAY, search=search)
        assert (page.total, page.rows) == (0, []), search  # a search must not tell whose it is
    found = solver.board(wh, today=TODAY, search="酸性环境")
    assert (found.total, [r["title"] for r in found.rows]) == (1, ["匿名企业双极板腐蚀"])
    assert solver.board(wh, today=TODAY, search="匿名企业").total == 1

    wh.execute("UPDATE challenges SET revealed = TRUE WHERE challenge_id = 'firm:anon'")
    assert [r["title"] for r in solver.board(wh, today=TODAY, search="氢途").rows] == ["氢途科技双极板腐蚀"]


def test_the_board_pages_anonymous_and_public_challenges_together(wh):
    page = solver.board(wh, today=TODAY, page_size=1)
    titles = []
    for n in range(page.pages):
        titles += [r["title"] for r in solver.board(wh, today=TODAY, page=n, page_size=1).rows]
    assert titles == [r["title"] for r in solver.board(wh, today=TODAY).rows]
    assert len(titles) == len(set(titles)) == page.total == 3


GOOD = {
    "team": "浙江大学材料学院",
    "proposal": "我们有成熟的防腐涂层工艺，已在三家企业中试，耐腐蚀超过五千小时。",
    "contact": "13800000000",
}


@pytest.mark.parametrize(
    "form, problems",
    [
        ({**GOOD, "team": ""}, {"团队/单位": "必填"}),
        ({**GOOD, "team": "张"}, {"团队/单位": "至少 2 个字（现为 1 个）"}),
        ({**GOOD, "proposal": "能做"}, {"方案简述": "至少 20 个字（现为 2 个）"}),
        ({**GOOD, "proposal": "长" * 3001}, {"方案简述": "最多 3000 个字（现为 3001 个）"}),
        ({**GOOD, "contact": ""}, {"联系方式": "必填（手机、座机或电子邮箱）"}),
        (
            {**GOOD, "contact": "12345"},
            {"联系方式": "请填写有效的手机号（如 13800000000）、座机（如 0573-84000000）或电子邮箱"},
        ),
        (
            {"team": " ", "proposal": None, "contact": "x@y"},
            {
                "团队/单位": "必填",
                "方案简述": "必填",
                "联系方式": "请填写有效的手机号（如 13800000000）、座机（如 0573-84000000）或电子邮箱",
            },
        ),
    ],
)
def test_application_validation_names_every_problem(wh, form, problems):
    ref = solver.board(wh, today=TODAY).rows[0]["ref"]
    with pytest.raises(InvalidApplication) as refused:
        solver.apply(wh, ref, form, client_key="s1", today=TODAY)
    assert refused.value.problems == problems
    assert wh.query("SELECT count(*) AS n FROM applications")[0]["n"] == 0


@pytest.mark.parametrize("contact", ["13800000000", "+86 13800000000", "0573-84000000", "team@zju.edu.cn"])
def test_application_accepts_phone_landline_or_email(wh, contact):
    ref = solver.board(wh, today=TODAY).rows[0]["ref"]
    assert solver.apply(wh, ref, {**GOOD, "contact": contact}, client_key="s1", today=TODAY) > 0


def test_applications_are_stored_audited_rate_limited_and_shown_to_the_broker(wh):
    anonymous = next(r for r in solver.board(wh, today=TODAY).rows if r["title"] == "氢燃料电池双极板腐蚀")
    now = datetime(2026, 11, 26, 10, 0)

    def proposal(n: int) -> dict:  # distinct applications (an identical one is a duplicate, tested below)
        return {**GOOD, "proposal": f"{GOOD['proposal']}（第 {n} 版）"}

    for minute in range(solver.RATE_LIMIT):
        solver.apply(
            wh,
            anonymous["ref"],
            proposal(minute),
            client_key="session-a",
            now=now + timedelta(minutes=minute),
            today=TODAY,
        )
    with pytest.raises(RateLimited, match="每 10 分钟最多提交 3 份"):
        solver.apply(
            wh, anonymous["ref"], proposal(5), client_key="session-a", now=now + timedelta(minutes=5), today=TODAY
        )
    solver.apply(wh, anonymous["ref"], proposal(6), client_key="session-b", now=now + timedelta(minutes=5), today=TODAY)
    solver.apply(
        wh, anonymous["ref"], proposal(7), client_key="session-a", now=now + timedelta(minutes=11), today=TODAY
    )

    shown = broker.applications(wh, BROKER, "firm:anon")
    assert len(shown) == 5 and {a["team"] for a in shown} == {GOOD["team"]}
    lines = _audit(wh, "apply")
    assert len(lines) == 5 and lines[0]["actor"] == "solver:session-a" and lines[0]["role"] == "solver"
    assert json.loads(lines[0]["after"]) == {"challenge_id": "firm:anon", "team": GOOD["team"]}
    queue = {r["challenge_id"]: r["n_applications"] for r in broker.review_queue_page(wh, BROKER).rows}
    assert queue["firm:anon"] == 5


def test_an_identical_application_within_the_window_is_refused_once_stored(wh):
    """Issue 12: a second click on 提交 filed the same application twice."""
    ref = next(r["ref"] for r in solver.board(wh, today=TODAY).rows if r["title"] == "氢燃料电池双极板腐蚀")
    now = datetime(2026, 11, 26, 10, 0)
    solver.apply(wh, ref, GOOD, client_key="session-a", now=now, today=TODAY)
    for session, later, form in [
        ("session-a", timedelta(seconds=1), GOOD),  # the second click
        ("session-b", timedelta(hours=3), {**GOOD, "team": "浙大材料学院"}),  # same contact and text, another tab
        ("session-c", timedelta(hours=23), {**GOOD, "proposal": "  " + GOOD["proposal"] + " "}),  # spaces trimmed
    ]:
        with pytest.raises(DuplicateApplication, match="已经提交过"):
            solver.apply(wh, ref, form, client_key=session, now=now + later, today=TODAY)
    assert len(broker.applications(wh, BROKER, "firm:anon")) == 1
    # a changed proposal, another contact, or the same one a day later is a new application
    solver.apply(
        wh, ref, {**GOOD, "proposal": GOOD["proposal"] + "补充中试数据。"}, client_key="a", now=now, today=TODAY
    )
    solver.apply(wh, ref, {**GOOD, "contact": "13900000000"}, client_key="b", now=now, today=TODAY)
    solver.apply(wh, ref, GOOD, client_key="c", now=now + solver.DUPLICATE_WINDOW + timedelta(seconds=1), today=TODAY)
    assert len(broker.applications(wh, BROKER, "firm:anon")) == 4


@pytest.mark.parametrize("ref", ["0000000000000000", "not-a-ref"])
def test_applying_to_an_unknown_or_closed_challenge_is_refused(wh, ref):
    with pytest.raises(InvalidApplication, match="不存在或已截止"):
        solver.apply(wh, ref, GOOD, client_key="s1", today=TODAY)


def test_a_challenge_past_its_deadline_takes_no_applications(wh):
    ref = next(r["ref"] for r in solver.board(wh, today=TODAY).rows if r["title"] == "锂电池隔膜耐热不足")
    with pytest.raises(InvalidApplication, match="不存在或已截止"):
        solver.apply(wh, ref, GOOD, client_key="s1", today=date(2027, 7, 1))


# --- dashboards ---------------------------------------------------------------------------------


def _dashboard_decisions(wh) -> None:
    for decision in ("shortlist", "contacted", "intent"):
        broker.decide(wh, BROKER, "mkt:/1", "CN1", decision)
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "signed", deal_amount_wan=100, deal_date=date(2026, 3, 10), today=TODAY)
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "shortlist")
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "contacted")
    broker.decide(wh, BROKER, "firm:anon", "CN2", "shortlist")
    broker.decide(wh, BROKER, "firm:anon", "CN2", "reject", reason="价格/榜额不匹配")
    broker.decide(
        wh, BROKER, "mkt:/2", "thu:/a2", "signed", deal_amount_wan=50, deal_date=date(2026, 3, 20), today=TODAY
    )
    broker.decide(
        wh, BROKER, "mkt:/2", "thu:/a2", "signed", deal_amount_wan=60, deal_date=date(2026, 4, 2), today=TODAY
    )
    broker.decide(wh, BROKER, "mkt:/1", "CN2", "reject", reason="技术不对口")


def test_dashboard_funnel_and_conversion_rates(wh):
    _dashboard_decisions(wh)
    assert [
        (s["label"], s["pairs"], s["from_previous"], s["from_candidates"]) for s in dashboard.funnel(wh, BROKER)
    ] == [
        ("候选", 8, None, None),
        ("入围", 4, 0.5, 0.5),
        ("已联系", 3, 0.75, 0.375),
        ("意向", 2, 0.6667, 0.25),
        ("签约", 2, 1.0, 0.25),
    ]


def test_dashboard_industries_and_deal_value_by_month(wh):
    _dashboard_decisions(wh)
    assert dashboard.by_industry(wh, ADMIN) == [
        {"industry": "新能源新材料", "matches": 6, "shortlisted": 3, "deals": 1, "deal_wan": 100.0},
        {"industry": "生命健康", "matches": 2, "shortlisted": 1, "deals": 1, "deal_wan": 60.0},
    ]
    assert dashboard.deals_by_month(wh, BROKER) == [
        {"month": "2026-03", "deals": 1, "deal_wan": 100.0},
        {"month": "2026-04", "deals": 1, "deal_wan": 60.0},
    ]


def test_dashboard_source_freshness_and_last_nightly_run(wh):
    wh.execute(
        "UPDATE listings SET last_seen = TIMESTAMP '2026-11-20 00:00', active = (listing_id <> 'CN3')"
        " WHERE source = 'google_patents'"
    )
    freshness = {
        (r["source"], r["record"]): r for r in dashboard.source_freshness(wh, BROKER, now=datetime(2026, 11, 26))
    }
    patents = freshness[("google_patents", "listing")]
    assert (patents["records"], patents["active"], patents["age_days"]) == (2, 1, 6.0)
    assert freshness[("jiashan_market", "challenge")]["records"] == 4
    run = dashboard.last_nightly_run(wh, BROKER)
    assert (run["flow"], run["status"], run["sources"]) == (
        "nightly-refresh",
        "completed",
        {"zju": {"loaded": 1, "quarantined": 0, "blocked": 0}},
    )
    assert run["seconds"] >= 0


# --- the audit log ------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [None, BROKER, FIRM_USER], ids=["anonymous", "broker", "firm"])
def test_audit_log_is_for_admins_only(wh, user):
    with pytest.raises(AccessDenied):
        audit.audit_entries(wh, user)
    with pytest.raises(AccessDenied):
        audit.audit_filter_options(wh, user)


def test_audit_log_shows_who_when_what_before_after_filtered_and_paginated(wh):
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(wh, ADMIN, "mkt:/1", "CN1", "reject", reason="重复推荐")
    broker.share_match(wh, BROKER, "firm:anon", "CN2")
    everything = audit.audit_entries(wh, ADMIN)
    assert [(r["actor"], r["action"], r["entity_id"]) for r in everything.rows] == [
        ("wang", "share", "firm:anon|CN2"),
        ("root", "decide", "mkt:/1|CN1"),
        ("wang", "decide", "mkt:/1|CN1"),
    ]
    assert (everything.rows[1]["before"], everything.rows[1]["after"]) == (
        {"decision": "shortlist"},
        {"decision": "reject", "reason": "重复推荐"},
    )
    assert [r["actor"] for r in audit.audit_entries(wh, ADMIN, actor="root").rows] == ["root"]
    assert [r["action"] for r in audit.audit_entries(wh, ADMIN, action="share").rows] == ["share"]
    assert audit.audit_entries(wh, ADMIN, entity="mkt:/1").total == 2
    assert audit.audit_entries(wh, ADMIN, since=TODAY + timedelta(days=3650)).total == 0
    second = audit.audit_entries(wh, ADMIN, page=1, page_size=2)
    assert (len(second.rows), second.total, second.pages) == (1, 3, 2)
    assert audit.audit_filter_options(wh, ADMIN) == {
        "actor": ["root", "wang"],
        "action": ["decide", "share"],
        "entity_type": ["match"],
    }


# --- highlighting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spans, expected",
    [
        ([], []),
        ([[3, 5], [0, 2]], [(0, 2), (3, 5)]),
        ([[0, 3], [2, 5]], [(0, 5)]),
        ([[0, 2], [2, 4]], [(0, 4)]),
        ([[4, 4]], []),
    ],
    ids=["none", "sorted", "overlap", "touching", "empty span"],
)
def test_spans_are_merged(spans, expected):
    assert merged(spans) == expected


@pytest.mark.parametrize(
    "text, spans, offset, expected",
    [
        ("锂电池隔膜", [[0, 3]], 0, [("锂电池", True), ("隔膜", False)]),
        ("隔膜耐热", [[0, 3]], 3, [("隔膜耐热", False)]),  # span before this part
        ("隔膜耐热", [[2, 5]], 3, [("隔膜", True), ("耐热", False)]),  # span across the boundary, clipped
        ("隔膜", [[0, 9]], 0, [("隔膜", True)]),
    ],
)
def test_segments(text, spans, offset, expected):
    assert segments(text, spans, offset) == expected


def test_split_highlight_cuts_long_parts_and_keeps_positions():
    title, body = split_highlight(["锂电池", "隔膜很长很长"], [[0, 3], [4, 6]], limits=[None, 3])
    assert title == [("锂电池", True)] and body == [("隔膜", True), ("很", False), ("…", False)]


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[link](javascript:alert(1))",
        "**bold** _x_ `code`",
        "&lt;script&gt;",
        ":red[colour] $x$",
        "    indented code\n\nnew paragraph",
    ],
)
def test_highlight_html_is_only_escaped_text_and_marks(hostile):
    html = to_html(segments(hostile, [[0, 3]]), prefix="1. ", bold=True)
    inner = html.removeprefix('<div class="jb-text"><b>').removesuffix("</b></div>")
    text = inner.replace("<mark>", "").replace("</mark>", "").replace("<br>", "")
    assert "<" not in text and ">" not in text  # no tag but ours
    assert not set("[]()*_`$:\\") & set(text) and "\n" not in text  # no Markdown syntax either
    assert escape("<") == "&lt;" and escape("&lt;") == "&amp;lt;"


# --- brokers' decisions feed the ranking model ----------------------------------------------------


def test_broker_decisions_become_labelled_training_pairs(wh):
    from jiebang.training import BROKER_SET, broker_set, collect

    assert broker_set(wh) is None  # nobody decided yet: nothing to learn from
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(wh, BROKER, "mkt:/1", "zju:/a1", "reject", reason="技术不对口")
    labelled = broker_set(wh)
    assert labelled is not None and labelled.name == BROKER_SET
    assert [c.challenge_id for c in labelled.challenges] == ["mkt:/1"]
    assert labelled.qrels == {"mkt:/1": {"CN1": 1, "zju:/a1": 0}}
    data = collect([labelled])
    by_listing = dict(zip(data.listing, data.y, strict=True))
    assert by_listing["CN1"] == 1.0 and by_listing.get("zju:/a1", 0.0) == 0.0
    assert set(data.group) == {"broker/mkt:/1"}
