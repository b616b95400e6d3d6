"""How stored values read to people (jiebang.display, issue 16 items 4 and 5): Beijing time, human
numbers, Chinese names for sources, roles, run outcomes and states, and audit lines as sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiebang import display
from warehouse.domain import ACHIEVEMENT, LISTING_NUMBER_SQL, PATENT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("stored", "kwargs", "shown"),
    [
        (datetime(2026, 12, 2, 9, 5), {}, "2026-12-02 17:05 北京时间"),  # naive = UTC, as stored
        (datetime(2026, 12, 2, 16, 30), {}, "2026-12-03 00:30 北京时间"),  # past midnight in Beijing
        (datetime(2026, 12, 2, 9, 5, 7, tzinfo=UTC), {"seconds": True}, "2026-12-02 17:05:07 北京时间"),
        (datetime(2026, 12, 2, 9, 5, tzinfo=timezone(timedelta(hours=-5))), {}, "2026-12-02 22:05 北京时间"),
        (datetime(2026, 7, 1, 0, 0), {"suffix": False}, "2026-07-01 08:00"),  # no summer time in China
        (date(2026, 12, 2), {}, "2026-12-02"),  # a date has no zone
        (None, {}, "—"),
    ],
)
def test_beijing_time(stored, kwargs, shown):
    assert display.beijing_time(stored, **kwargs) == shown


@pytest.mark.parametrize(
    ("now", "today"),
    [
        (datetime(2026, 12, 2, 15, 59, tzinfo=UTC), date(2026, 12, 2)),
        (datetime(2026, 12, 2, 16, 0, tzinfo=UTC), date(2026, 12, 3)),  # 00:00 in Beijing
        (datetime(2026, 12, 31, 17, 0), date(2027, 1, 1)),
    ],
)
def test_beijing_today(now, today):
    assert display.beijing_today(now) == today


@pytest.mark.parametrize(
    ("row", "number"),
    [
        ({"publication_number": "CN114000001A", "listing_id": "google_patents:CN114000001A", "kind": "patent"}, None),
        ({"publication_number": "  ", "listing_id": "zju:/zju/kjcg/detail/1004.html", "kind": "achievement"}, "CG"),
        ({"publication_number": None, "listing_id": "zju:/zju/kjcg/detail/1004.html", "kind": "achievement"}, "CG"),
        ({"publication_number": None, "listing_id": "cnipr:/x/1", "kind": "patent"}, "ZL"),
    ],
)
def test_listing_number_is_the_publication_number_or_a_short_stable_one(row, number):
    shown = display.listing_number(row)
    if number is None:
        assert shown == "CN114000001A"
    else:
        assert shown.startswith(number) and len(shown) == 10 and shown[2:].isalnum() and shown[2:].isupper()
        assert ":" not in shown and "/" not in shown
        assert display.listing_number(dict(row)) == shown  # the same listing, the same number


def test_two_listings_get_different_numbers():
    numbers = {display.listing_number({"listing_id": f"zju:/zju/kjcg/detail/{i}.html"}) for i in range(1000)}
    assert len(numbers) == 1000


@pytest.fixture(scope="module")
def duckdb_memory():
    """In memory: only DuckDB's own sha256, trim and upper are under test."""
    with duckdb.connect() as con:
        yield con


@settings(max_examples=200, deadline=None)
@given(
    listing_id=st.text(min_size=1, max_size=40),
    kind=st.sampled_from([PATENT, ACHIEVEMENT]),
    publication_number=st.none() | st.from_regex(r"\A *(CN[0-9]{6,9}[ABU])? *\Z"),
)
def test_the_sql_listing_number_is_the_one_people_are_shown(duckdb_memory, listing_id, kind, publication_number):
    """entity_store.listings_by_number finds a listing by the number its card shows: by SQL."""
    row = {"listing_id": listing_id, "kind": kind, "publication_number": publication_number}
    [(in_sql,)] = duckdb_memory.execute(
        f"SELECT {LISTING_NUMBER_SQL} FROM (SELECT $listing_id AS listing_id, $kind AS kind,"
        " $publication_number::VARCHAR AS publication_number)",
        {**row, "achievement": ACHIEVEMENT},
    ).fetchall()
    assert in_sql == display.listing_number(row)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("zju", "浙江大学"),
        ("tsinghua", "清华大学"),
        ("google_patents", "Google Patents（谷歌专利）"),
        ("cnipa_xml", "国家知识产权局（导入）"),
        ("jiashan_market", "嘉善县科技大市场"),
        ("firm", "企业发布"),
        ("my_own_list", "my_own_list"),  # named by whoever configured it: shown as they named it
        (None, "—"),
    ],
)
def test_source_name(key, name):
    assert display.source_name(key) == name


def test_every_configured_source_and_import_format_has_a_chinese_name():
    from crawlers.importers import FORMATS
    from jiebang.settings import default_sources

    keys = [s.name for s in default_sources("http://127.0.0.1:1")] + list(FORMATS)
    keys += ["google_patents_cn", "cnipr", "nstrs", "epo_ops", "uspto_odp"]  # config/live_sources.toml, spiders
    assert [k for k in keys if display.source_name(k) == k] == []


def test_sources_text_names_each_source_once():
    assert display.sources_text(["zju", "google_patents", "zju"]) == "浙江大学、Google Patents（谷歌专利）"


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("completed", "已完成"),
        ("partial", "部分完成"),
        ("failed", "失败"),
        ("running", "运行中"),
        ("interrupted", "已中断"),
    ],
)
def test_run_status_label(status, label):
    assert display.run_status_label(status) == label


@pytest.mark.parametrize(
    ("role", "label"),
    [("admin", "管理员"), ("broker", "技术经纪人"), ("firm", "企业用户"), ("solver", "揭榜方"), ("system", "系统")],
)
def test_role_label(role, label):
    assert display.role_label(role) == label


TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("status", "deadline", "state"),
    [
        ("已发布", date(2026, 12, 1), "已截止"),
        ("已发布", TODAY, "已发布"),  # open through its last day
        ("已发布", None, "已发布"),  # 长期有效
        ("已揭榜", date(2020, 1, 1), "已揭榜"),  # only an open challenge expires
        ("待审核", date(2020, 1, 1), "待审核"),
        ("已关闭", date(2020, 1, 1), "已关闭"),
    ],
)
def test_state_is_expired_only_for_a_published_challenge_past_its_deadline(status, deadline, state):
    assert display.state_label({"status": status, "deadline": deadline}, TODAY) == state


@pytest.mark.parametrize(
    ("row", "label"),
    [
        (
            {"number": "XQ2026-0003", "title": "隔膜", "status": "已发布", "deadline": date(2027, 1, 1)}
            | {"n_unreviewed": 4, "best_score": 71.6},
            "XQ2026-0003  隔膜  ·  待审 4  ·  最高分 72",
        ),
        (
            {"number": "XQ2026-0004", "title": "废水", "status": "已发布", "deadline": date(2026, 11, 30)}
            | {"n_unreviewed": 0, "best_score": None},
            "XQ2026-0004  废水  ·  已截止（2026-11-30）",
        ),
        (
            {"number": "XQ2026-0005", "title": "涂层", "status": "已发布", "deadline": date(2026, 11, 30)}
            | {"n_unreviewed": 2, "best_score": 50.0},
            "XQ2026-0005  涂层  ·  已截止（2026-11-30）  ·  待审 2",
        ),
    ],
)
def test_queue_label(row, label):
    assert display.queue_label(row, TODAY) == label


MATCH = {
    "challenge_number": "XQ2026-0003",
    "challenge_title": "锂电池隔膜耐热不足",
    "listing_title": "一种耐热锂电池隔膜",
    "listing_number": "CN1",
    "listing_id": "CN1",
    "kind": "patent",
    "entity_type": "match",
    "entity_id": "mkt:/1|CN1",
}


@pytest.mark.parametrize(
    ("line", "sentence"),
    [
        (
            {**MATCH, "actor": "zhangsan", "actor_name": "张三", "role": "broker", "action": "decide"}
            | {"after": {"decision": "shortlist"}},
            "技术经纪人 张三 将 成果 CN1《一种耐热锂电池隔膜》 标为入围（需求 XQ2026-0003《锂电池隔膜耐热不足》）",
        ),
        (
            {**MATCH, "actor": "wang", "actor_name": "王经纪", "role": "broker", "action": "decide"}
            | {"after": {"decision": "reject", "reason": "技术不对口"}},
            "技术经纪人 王经纪 将 成果 CN1《一种耐热锂电池隔膜》 标为排除"
            "（需求 XQ2026-0003《锂电池隔膜耐热不足》，原因：技术不对口）",
        ),
        (  # 撤销 of a reject with nothing before it: the pair is 待审 again
            {**MATCH, "actor": "wang", "actor_name": "王经纪", "role": "broker", "action": "decide"}
            | {"after": {"decision": "reopen"}},
            "技术经纪人 王经纪 将 成果 CN1《一种耐热锂电池隔膜》 标为待审（已撤销）"
            "（需求 XQ2026-0003《锂电池隔膜耐热不足》）",
        ),
        (
            {**MATCH, "actor": "wang", "actor_name": "王经纪", "role": "broker", "action": "share"},
            "技术经纪人 王经纪 将 成果 CN1《一种耐热锂电池隔膜》 推荐给企业（需求 XQ2026-0003《锂电池隔膜耐热不足》）",
        ),
        (
            {
                **MATCH,
                "actor": "hq",
                "actor_name": "氢途",
                "role": "firm",
                "action": "post",
                "entity_type": "challenge",
            },
            "企业用户 氢途 发布了 需求 XQ2026-0003《锂电池隔膜耐热不足》",
        ),
        (
            {**MATCH, "actor": "wang", "actor_name": "王经纪", "role": "broker", "action": "status"}
            | {"entity_type": "challenge", "before": {"status": "待审核"}, "after": {"status": "已发布"}},
            "技术经纪人 王经纪 将 需求 XQ2026-0003《锂电池隔膜耐热不足》 由待审核改为已发布",
        ),
        (
            {**MATCH, "actor": "solver:ab12", "role": "solver", "action": "apply", "entity_type": "application"}
            | {"entity_id": "7", "after": {"challenge_id": "mkt:/1", "team": "浙大材料学院"}},
            "揭榜方 浙大材料学院 揭榜 需求 XQ2026-0003《锂电池隔膜耐热不足》（申请编号 7）",
        ),
        (
            {"actor": "root", "actor_name": "管理员", "role": "admin", "action": "account_role"}
            | {"entity_type": "user", "entity_id": "hq", "after": {"role": "firm", "firm": "氢途"}},
            "管理员 管理员 将账户 hq 的角色改为企业用户，企业：氢途",
        ),
        (
            {"actor": "zju-coatings", "role": "solver", "action": "account_signup", "entity_type": "user"}
            | {"entity_id": "zju-coatings", "after": {"role": "solver", "client": "ip:fec52565aa0cf18f"}},
            "zju-coatings 注册了揭榜方账户（自行注册）",
        ),
        (
            {"actor": "system", "role": "system", "action": "login_locked", "entity_type": "user", "entity_id": "hq"}
            | {"after": {"failures": 5, "locked_until": "2026-12-02 09:20:00"}},
            "账户 hq 因连续 5 次登录失败被暂时锁定，至 2026-12-02 17:20 北京时间",
        ),
        (
            {"actor": "wang", "role": "broker", "action": "decide", "entity_type": "match", "entity_id": "gone|x"}
            | {"after": {"decision": "intent"}},
            "技术经纪人 wang 将 一条已不存在的成果 标为意向（一个已不存在的需求）",
        ),
    ],
)
def test_audit_sentence(line, sentence):
    assert display.audit_sentence(line) == sentence


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ({"decision": "shortlist", "note": "先联系"}, "决定：入围；备注：先联系"),
        ({"challenge_id": "mkt:/1", "team": "浙大"}, "团队：浙大"),  # the internal id is left out
        ({"role": "broker", "firm": None, "password": "set"}, "角色：技术经纪人；企业：—；密码：已设置"),
        (
            {"shared_by": "wang", "shared_at": "2026-12-02 09:05:00"},
            "分享人：wang；分享时间：2026-12-02 17:05 北京时间",
        ),
        ({"anonymous": True}, "保密方式：是"),
        (None, ""),
    ],
)
def test_audit_changes_read_as_fields_not_json(values, text):
    assert display.audit_changes(values) == text


@pytest.mark.parametrize(
    ("actor", "option"),
    [
        ("wang", "wang"),
        ("solver:0123456789abcdef", "揭榜方（访客 abcdef）"),
        ("system", "系统"),
        ("cli", "命令行 (CLI)"),
    ],
)
def test_actor_option(actor, option):
    assert display.actor_option(actor) == option


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Active", "有效"),
        ("Pending", "审中"),
        ("Withdrawn", "撤回"),
        ("Expired - Fee Related", "失效（未缴年费）"),
        ("Expired - Lifetime", "失效（期限届满）"),
        ("Expired - Something New", "失效（Expired - Something New）"),  # the detail kept as written
        ("Not-in-force", "失效"),
        ("有权", "有权"),  # already Chinese (CNIPR)
        ("", None),
        (None, None),
    ],
)
def test_legal_status_in_chinese(value, shown):
    assert display.legal_status(value) == shown
