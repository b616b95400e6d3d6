"""Issue 16 items 4 and 5 on real warehouses: the 需求编号 (migration 0011 and new challenges), the
derived 已截止 state in the services, and pages that show no internal id, raw source key, English
status or UTC time."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from jiebang import broker, firm, solver
from jiebang.accounts import User
from jiebang.display import beijing_today
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.workspace_data import ADMIN, BROKER, FIRM, FIRM_USER, TODAY, register, seed
from warehouse import store
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate

pytestmark = pytest.mark.integration

NUMBER = re.compile(r"^XQ\d{4}-\d{4}$")


# --- 0011: the 需求编号 -------------------------------------------------------------------------------

# (id, first_seen in UTC): numbered by the year in Beijing, in first_seen order within it.
EXISTING = [
    ("mkt:/b", datetime(2025, 3, 1, 2)),
    ("firm:aaa", datetime(2025, 12, 31, 15, 59)),  # 23:59 in Beijing: still 2025
    ("mkt:/a", datetime(2025, 12, 31, 16, 0)),  # 00:00 on 1 January in Beijing: 2026
    ("firm:bbb", datetime(2026, 5, 1)),
    ("firm:ccc", datetime(2025, 3, 1, 2)),  # same time as mkt:/b: the id breaks the tie
]


def _v9_with_challenges(path) -> Warehouse:
    wh = Warehouse(path)
    migrate(wh, up_to=9)
    for challenge_id, first_seen in EXISTING:
        wh.execute(
            "INSERT INTO challenges (challenge_id, title, description, source, content_hash, first_seen, last_seen,"
            " last_changed) VALUES (?, '标题', '描述', 'jiashan_market', 'h', ?, ?, ?)",
            [challenge_id, first_seen, first_seen, first_seen],
        )
    return wh


def _numbers(wh: Warehouse) -> dict[str, str]:
    return {r["challenge_id"]: r["number"] for r in wh.query("SELECT challenge_id, number FROM challenges")}


def test_0011_numbers_existing_challenges_by_beijing_year_in_posting_order(tmp_path):
    path = tmp_path / "old.duckdb"
    _v9_with_challenges(path)
    wh = Warehouse(path)  # a fresh handle on the same file, as a new release opens it
    assert 11 in migrate(wh)
    assert _numbers(wh) == {
        "firm:ccc": "XQ2025-0001",  # before mkt:/b, seen at the same moment
        "mkt:/b": "XQ2025-0002",
        "firm:aaa": "XQ2025-0003",
        "mkt:/a": "XQ2026-0001",
        "firm:bbb": "XQ2026-0002",
    }
    assert migrate(wh) == []  # once
    with pytest.raises(duckdb.ConstraintException):  # never two challenges with one number
        wh.execute("UPDATE challenges SET number = 'XQ2025-0001' WHERE challenge_id = 'firm:bbb'")


def test_new_challenges_get_the_next_number_of_their_year_and_keep_it(tmp_path):
    wh = _v9_with_challenges(tmp_path / "w.duckdb")
    migrate(wh)
    year = beijing_today().year
    before = {n for n in _numbers(wh).values() if n.startswith(f"XQ{year}-")}
    top = max((int(n[7:]) for n in before), default=0)

    store.upsert_challenges(
        wh,
        [
            {"challenge_id": "mkt:/new1", "title": "新需求一", "description": "描述", "source": "jiashan_market"},
            {"challenge_id": "mkt:/new2", "title": "新需求二", "description": "描述", "source": "jiashan_market"},
        ],
    )
    register(wh, FIRM_USER)
    posted = firm.post_challenge(
        wh,
        FIRM_USER,
        {
            "title": "注塑件外观缺陷视觉检测",
            "description": "注塑外壳存在缩痕、飞边和划伤，人工目检漏检率高，希望引入机器视觉在线检测。",
            "field": "新一代信息技术",
            "deadline": beijing_today() + timedelta(days=60),
            "cooperation": "合作开发",
        },
        today=beijing_today(),
    )
    numbers = _numbers(wh)
    assert posted.challenge["number"] == numbers[posted.challenge_id]
    assert [numbers["mkt:/new1"], numbers["mkt:/new2"], numbers[posted.challenge_id]] == [
        f"XQ{year}-{top + i:04d}" for i in (1, 2, 3)
    ]
    assert all(NUMBER.match(n) for n in numbers.values())
    assert len(set(numbers.values())) == len(numbers)

    # A crawl seeing the need again, a changed need, and an edit keep the number.
    store.upsert_challenges(
        wh,
        [{"challenge_id": "mkt:/new1", "title": "新需求一（修订）", "description": "描述", "source": "jiashan_market"}],
    )
    firm.update_challenge(
        wh, FIRM_USER, posted.challenge_id, {"title": "注塑件外观缺陷在线视觉检测"}, today=beijing_today()
    )
    assert _numbers(wh) == numbers


# --- 已截止: derived from the deadline, shown, and counted ---------------------------------------------


@pytest.fixture
def seeded(tmp_path):
    wh = seed(tmp_path / "workspace.duckdb")
    # The firm's anonymous challenge is published and its deadline has passed (mkt:/old is a market one).
    wh.execute(
        "UPDATE challenges SET status = '已发布', deadline = ? WHERE challenge_id = 'firm:anon'", [date(2026, 11, 1)]
    )
    return wh


def test_expired_challenges_leave_the_board_and_the_board_says_how_many(seeded):
    page = solver.board(seeded, today=TODAY)
    assert {r["title"] for r in page.rows} == {"锂电池隔膜耐热不足", "体外诊断试剂稳定性差"}
    assert solver.closed_count(seeded, today=TODAY) == 2  # mkt:/old and the firm's
    assert solver.closed_count(seeded, today=date(2026, 10, 1)) == 1  # before the firm's deadline


def test_brokers_see_the_published_count_and_how_many_of_them_expired(seeded):
    counts = firm.status_counts(seeded, BROKER, today=TODAY)
    assert (counts["已发布"], counts["已截止"]) == (4, 2)
    assert firm.status_counts(seeded, ADMIN, today=date(2026, 10, 1))["已截止"] == 1


def test_the_firm_sees_its_challenge_as_expired(seeded):
    states = {r["challenge_id"]: r["state"] for r in firm.my_challenges(seeded, FIRM_USER, today=TODAY)}
    assert states == {"firm:anon": "已截止", "firm:draft": "草稿"}
    assert firm.my_challenge(seeded, FIRM_USER, "firm:anon", today=date(2026, 10, 31))["state"] == "已发布"
    assert firm.my_challenge(seeded, FIRM_USER, "firm:anon", today=date(2026, 11, 1))["state"] == "已发布"  # last day
    assert firm.my_challenge(seeded, FIRM_USER, "firm:anon", today=date(2026, 11, 2))["state"] == "已截止"


# --- the pages ----------------------------------------------------------------------------------------

PAGES = ROOT / "ui" / "pages"
INTERNAL_IDS = re.compile(r"(?:firm|mkt|zju|thu|jiashan_market|google_patents|cnipr|tsinghua):[/\w]")
SOURCE_KEYS = re.compile(r"\b(?:jiashan_market|google_patents|cnipr|tsinghua|zju)\b")
ENGLISH_STATES = re.compile(
    r"\b(?:completed|partial|failed|running|interrupted|Active|Pending|broker|admin|shortlist|reject|solver)\b"
)
URL = re.compile(r"https?://\S+|(?<=\])\([^)\s]*\)")  # an address, or a Markdown link's target: not read


def _texts(at: AppTest) -> list[str]:
    """Everything a person reads on the page: text elements, labels, options, placeholders, tables."""
    texts = [
        e.value
        for kind in ("markdown", "caption", "title", "header", "subheader", "error", "success", "info", "warning")
        for e in getattr(at, kind)
    ]
    texts += [e.label for e in at.expander]
    texts += [f"{m.label} {m.value}" for m in at.metric]
    for box in [*at.selectbox, *at.radio, *at.multiselect]:
        texts += [box.label, *map(str, box.options)]
    for field in [*at.text_input, *at.text_area]:
        texts += [field.label, field.proto.placeholder]
    for frame in at.dataframe:
        table = frame.value
        texts += [str(c) for c in table.columns]
        texts += [str(v) for v in table.to_numpy().ravel()]
    return [URL.sub("", t) for t in texts if t]


def _page(name: str, wh: Warehouse, user: User | None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=wh.path)
    if user is not None:
        at.session_state["user"] = user
    return at.run()


@pytest.fixture
def worked_on(seeded):
    """The seeded warehouse after a day's work: decisions, a share, an application, a run."""
    broker.decide(seeded, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(seeded, BROKER, "mkt:/1", "zju:/a1", "reject", reason="技术不对口")
    broker.share_match(seeded, BROKER, "firm:anon", "CN2")
    ref = solver.board(seeded).rows[0]["ref"]
    solver.apply(
        seeded,
        ref,
        {
            "team": "浙大材料学院",
            "proposal": "我们有耐热陶瓷涂覆隔膜的中试线，可在三个月内提供样品。",
            "contact": "13800000000",
        },
        client_key="test-client",
    )
    run_id = store.start_run(seeded, "nightly-refresh")
    store.finish_run(
        seeded,
        run_id,
        {"sources": {"zju": {"error": "CrawlFailed: down"}, "google_patents": {"loaded": 3, "pages_fetched": 2}}},
        error="zju: CrawlFailed: down",
        status="partial",
    )
    return seeded


@pytest.mark.parametrize(
    ("page", "user"),
    [
        ("broker.py", BROKER),
        ("runs.py", BROKER),
        ("curation.py", BROKER),
        ("dashboard.py", BROKER),
        ("audit.py", ADMIN),
        ("users.py", ADMIN),
        ("firm_challenges.py", FIRM_USER),
        ("board.py", None),
    ],
)
def test_pages_show_no_internal_id_source_key_english_status_or_utc(worked_on, page, user):
    at = _page(page, worked_on, user)
    assert not at.exception
    texts = _texts(at)
    assert texts
    shown = "\n".join(texts)
    assert INTERNAL_IDS.findall(shown) == []
    assert SOURCE_KEYS.findall(shown) == []
    assert ENGLISH_STATES.findall(shown) == []
    assert "UTC" not in shown
    assert not re.search(r"\{|\"\w+\":", shown)  # no JSON


def test_broker_page_shows_numbers_source_names_and_beijing_times(worked_on):
    at = _page("broker.py", worked_on, BROKER)
    numbers = _numbers(worked_on)
    options = at.selectbox(key="broker_challenge_pick").options
    assert all(any(o.startswith(numbers[c] + "  ") for o in options) for c in ("mkt:/1", "mkt:/2"))
    expired = next(o for o in options if o.startswith(numbers["mkt:/old"]))
    assert "已截止（2020-01-01）" in expired and "最高分" not in expired
    applied, challenge_id = worked_on.query("SELECT submitted_at, challenge_id FROM applications")[0].values()
    at.selectbox(key="broker_challenge_pick").set_value(challenge_id).run()
    shown = "\n".join(_texts(at))
    assert f"需求编号：{numbers[challenge_id]}" in shown
    assert "来源：Google Patents（谷歌专利）" in shown
    assert f"{applied + timedelta(hours=8):%Y-%m-%d %H:%M} 北京时间" in shown


def test_the_firm_is_told_its_challenge_has_expired(worked_on):
    at = _page("firm_challenges.py", worked_on, FIRM_USER)
    number = _numbers(worked_on)["firm:anon"]
    assert at.selectbox(key="firm_challenge").value == "firm:anon"  # the newest: opened first
    labels = at.selectbox(key="firm_challenge").options
    assert f"{number}  氢燃料电池双极板腐蚀  ·  已截止  ·  推荐 1" in labels
    assert any("已截止" in w.value and "不再显示在公开榜单上" in w.value for w in at.warning)


def test_the_board_says_how_many_challenges_closed(worked_on):
    at = _page("board.py", worked_on, None)
    assert any("另有 2 个需求已截止" in c.value for c in at.caption)


def test_audit_page_reads_as_sentences(worked_on):
    at = _page("audit.py", worked_on, ADMIN)
    table = at.dataframe[0].value
    numbers = _numbers(worked_on)
    sentences = list(table["事项"])
    assert (
        f"技术经纪人 王经纪 将 成果 CN1《一种耐热锂电池隔膜》 标为入围"
        f"（需求 {numbers['mkt:/1']}《锂电池隔膜耐热不足》）" in sentences
    )
    assert any(s.startswith("揭榜方 浙大材料学院 揭榜 需求 XQ") for s in sentences)
    assert any(
        s.startswith(f"技术经纪人 王经纪 将 成果 CN2《双极板防腐涂层》 推荐给企业（需求 {numbers['firm:anon']}")
        for s in sentences
    )
    assert "https://patents.example/CN1" in set(table["成果链接"])


def test_runs_page_names_the_outcome_and_sources_in_chinese(worked_on):
    at = _page("runs.py", worked_on, BROKER)
    assert at.subheader[0].value == "最近一次运行：部分完成"
    rows = {r["来源"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert rows["浙江大学"]["错误"] == "CrawlFailed: down"
    assert "Google Patents（谷歌专利）" in rows


def test_a_firms_own_page_never_shows_another_firms_number(worked_on):
    # The numbers are public words; the firm's selector lists only its own challenges' numbers.
    at = _page("firm_challenges.py", worked_on, FIRM_USER)
    numbers = _numbers(worked_on)
    mine = {numbers["firm:anon"], numbers["firm:draft"]}
    shown = {o.split("  ")[0] for o in at.selectbox(key="firm_challenge").options}
    assert shown == mine
    assert FIRM in {u.firm for u in [FIRM_USER]}
