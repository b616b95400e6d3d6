"""Streamlit pages under AppTest, against a warehouse filled by the real crawl and matching."""

from __future__ import annotations

import re
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from jiebang import broker
from jiebang.accounts import User, add_user
from jiebang.display import beijing_today, queue_label
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.workspace_data import register
from warehouse import queries, store

pytestmark = pytest.mark.integration

PAGES = ROOT / "ui" / "pages"
BROKER = User("wang", "王经纪", "broker")


@pytest.fixture
def loaded_warehouse(loaded_warehouse):
    register(loaded_warehouse, BROKER)  # the services re-read the account behind each User
    return loaded_warehouse


def _page(name: str, warehouse, user: User | None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    if user is not None:
        at.session_state["user"] = register(warehouse, user)[0]  # pages re-read the account
    return at.run()


def _first_challenge(warehouse) -> dict:
    return queries.challenge_match_counts(warehouse)[0]


def test_broker_page_lists_challenges_and_ranked_matches(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    assert not at.exception
    queue = broker.review_queue_page(loaded_warehouse, BROKER)  # the first page of the queue
    assert queue.total == queries.table_counts(loaded_warehouse)["challenges"] > len(queue.rows)
    assert at.selectbox(key="broker_challenge_pick").options == [
        queue_label(row, beijing_today()) for row in queue.rows
    ]
    assert all(o.startswith("XQ") for o in at.selectbox(key="broker_challenge_pick").options)
    best = queries.matches_for_challenge(loaded_warehouse, queue.rows[0]["challenge_id"], limit=10)
    shown = " ".join(m.value for m in at.markdown)
    for match in best[:3]:
        assert match["url"] in shown  # source link
    assert [m.value for m in at.metric][:3] == [f"{m['score']:.0f}" for m in best[:3]]


def test_shortlist_and_reject_are_recorded_and_rejected_is_hidden(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    challenge_id = _first_challenge(loaded_warehouse)["challenge_id"]
    top, second = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=2)

    at.button(key=f"shortlist|{challenge_id}|{top['listing_id']}").click().run()
    at.selectbox(key=f"reason|{challenge_id}|{second['listing_id']}").select("技术不对口").run()
    at.button(key=f"reject|{challenge_id}|{second['listing_id']}").click().run()

    reviews = queries.reviews_for(loaded_warehouse, challenge_id)
    assert [(r["listing_id"], r["decision"], r["reason"], r["reviewer"]) for r in reviews] == [
        (top["listing_id"], "shortlist", None, "wang"),
        (second["listing_id"], "reject", "技术不对口", "wang"),
    ]
    remaining = [b.key for b in at.button if b.key and b.key.startswith("reject|")]
    assert f"reject|{challenge_id}|{second['listing_id']}" not in remaining


def test_reject_button_is_disabled_until_a_reason_is_chosen(loaded_warehouse):
    at = _page("broker.py", loaded_warehouse, BROKER)
    challenge_id = _first_challenge(loaded_warehouse)["challenge_id"]
    top = queries.matches_for_challenge(loaded_warehouse, challenge_id, limit=1)[0]
    assert at.button(key=f"reject|{challenge_id}|{top['listing_id']}").disabled


@pytest.mark.parametrize("user", [None, User("acme", "某企业", "firm", firm="某企业")], ids=["anonymous", "firm"])
def test_broker_page_refuses_other_roles(loaded_warehouse, user):
    at = _page("broker.py", loaded_warehouse, user)
    assert not at.exception
    assert at.error and ("请先登录" in at.error[0].value or "无权" in at.error[0].value)
    assert not at.metric and not at.button  # no match data reached the page


def test_runs_page_shows_counts_and_latest_run(loaded_warehouse):
    at = _page("runs.py", loaded_warehouse, BROKER)
    counts = queries.table_counts(loaded_warehouse)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["供给 (专利/成果)"] == str(counts["listings"])
    assert metrics["需求"] == str(counts["challenges"])


def test_runs_page_shows_a_failed_source_and_an_import_beside_the_loaded_ones(loaded_warehouse):
    from warehouse import store

    loaded = {
        "pages_fetched": 9,
        "loaded": 3,
        "quarantined": 1,
        "blocked": 2,
        "listings": {"inserted": 2, "updated": 1, "unchanged": 4},
        "challenges": {},
    }
    stats = {
        "sources": {"zju": {"error": "CrawlFailed: connection refused"}, "fudan": loaded},
        "imports": {"table:/data/needs.csv": {**loaded, "file": "/data/needs.csv", "skipped_file": False}},
    }
    run_id = store.start_run(loaded_warehouse, "nightly-refresh")
    store.finish_run(loaded_warehouse, run_id, stats, error="zju: CrawlFailed", status="partial")
    at = _page("runs.py", loaded_warehouse, BROKER)
    assert not at.exception
    rows = {r["来源"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert rows["浙江大学"]["错误"] == "CrawlFailed: connection refused"
    assert (rows["复旦大学"]["新增"], rows["复旦大学"]["更新"], rows["复旦大学"]["受阻"]) == (2, 1, 2)
    assert rows["导入文件 /data/needs.csv（表格导入）"]["未变"] == 4


MARKDOWN_ERROR = "h.csv: its columns are [x](http://evil.example/a), ![](http://remote.example/img.png), <b>b</b>"


def test_runs_page_shows_the_run_error_as_plain_text(loaded_warehouse):
    # The error quotes a CSV header: shown literally, never as a link or a remote image (issue 14).
    run_id = store.start_run(loaded_warehouse, "import-table")
    store.finish_run(loaded_warehouse, run_id, {}, error=MARKDOWN_ERROR, status="failed")
    at = _page("runs.py", loaded_warehouse, BROKER)
    assert not at.exception
    assert [c.value for c in at.code] == [MARKDOWN_ERROR]  # literal, in a plain-text element
    for text, _ in _markdown_texts(at):
        assert "http://" not in text and "![" not in text, text
    assert "运行出错" in at.error[0].value


def test_login_through_the_app_router(loaded_warehouse):
    add_user(loaded_warehouse, "zhao", "correct horse", "broker", display_name="赵经纪")
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=loaded_warehouse.path)
    at.run()
    at.text_input[0].input("zhao")
    at.text_input[1].input("wrong password")
    at.button[0].click().run()
    assert "user" not in at.session_state and "用户名或密码错误" in at.error[0].value

    at.text_input[1].input("correct horse")
    at.button[0].click().run()
    assert at.session_state["user"].username == "zhao"
    # AppTest keeps running the page it ran last; a browser goes to the default page. Either way
    # the router now offers the broker's pages:
    at.switch_page("pages/broker.py").run()
    assert not at.exception
    assert at.title[0].value == "匹配审核"


# --- the workspace pages: broker actions, board, dashboard, audit -------------------------------


def _seeded(tmp_path):
    from tests.workspace_data import seed

    return seed(tmp_path / "workspace.duckdb")


def _open(name: str, warehouse, user: User | None, **state) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    if user is not None:
        at.session_state["user"] = register(warehouse, user)[0]  # pages re-read the account
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def _texts(at: AppTest) -> list[tuple[str, bool]]:
    """Every piece of text the page sends to the browser, with whether it may contain HTML."""
    from google.protobuf import text_format

    found = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.append((text_format.MessageToString(proto, as_utf8=True), bool(getattr(proto, "allow_html", False))))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


OUR_TAGS = re.compile(r'<div class="jb-text">|</div>|</?b>|</?mark>|<br>')


def _markdown_texts(at: AppTest) -> list[tuple[str, bool]]:
    """The text of every element Streamlit renders as Markdown, with whether HTML is allowed in it."""
    elements = [
        *at.markdown,
        *at.caption,
        *at.title,
        *at.header,
        *at.subheader,
        *at.error,
        *at.success,
        *at.info,
        *at.warning,
    ]
    return [(e.value, bool(getattr(e.proto, "allow_html", False))) for e in elements] + [
        (e.label, False) for e in at.expander
    ]


def _assert_inert(at: AppTest) -> None:
    """Hostile text is on the page, but only as text: with HTML allowed, no tag but the
    highlighter's own (every other bracket is a character reference); without, every bracket is
    escaped; no javascript: link anywhere."""
    texts = _markdown_texts(at)
    assert any("alert" in text for text, _ in texts)
    for text, html in texts:
        if html:
            assert not re.search(r"[<>]", OUR_TAGS.sub("", text)), text
        else:
            assert not re.search(r"(?<!\\)[<>]", text), text
        assert "javascript:" not in text


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def test_hostile_text_renders_only_as_escaped_text_on_the_broker_page_and_the_board(tmp_path):
    from jiebang import solver
    from tests.workspace_data import TODAY

    wh = _seeded(tmp_path)
    store.upsert_challenges(
        wh,
        [
            {
                "challenge_id": "evil:/1",
                "title": "AAA锂电池 " + HOSTILE,
                "description": "描述 " + HOSTILE + " [x](javascript:alert(3)) 锂电池",
                "source": "evil",
                "url": "javascript:alert(3)",
                "issuer": HOSTILE,
                "region": HOSTILE,
            }
        ],
    )
    store.upsert_listings(
        wh,
        [
            {
                "listing_id": "evil-listing",
                "kind": "patent",
                "title": "锂电池" + HOSTILE,
                "abstract": HOSTILE + "锂电池 **b** `c`",
                "claims": "",
                "applicants": [HOSTILE],
                "url": "javascript:alert(4)",
                "source": "evil",
                "contact": HOSTILE,
                "maturity": HOSTILE,
                "price_text": HOSTILE,
            }
        ],
    )
    title_len = len("AAA锂电池 " + HOSTILE)
    store.replace_matches(
        wh,
        "xss",
        ["evil:/1"],
        [
            {
                "challenge_id": "evil:/1",
                "listing_id": "evil-listing",
                "rank": 1,
                "score": 50.0,
                "parts": {"coverage": 50.0},
                "matched_terms": [
                    {
                        "term": "锂电池",
                        "listing_term": "锂电池",
                        "weight": 1.0,
                        "challenge_spans": [[3, 6], [6, 20], [title_len + 1, title_len + 12]],
                        "listing_spans": [[0, 3], [3, 30], [len("锂电池" + HOSTILE) + 1, len("锂电池" + HOSTILE) + 9]],
                    }
                ],
            }
        ],
    )
    broker.decide(wh, BROKER, "evil:/1", "evil-listing", "shortlist", note=HOSTILE)
    ref = next(r["ref"] for r in solver.board(wh, today=TODAY).rows if r["title"].startswith("AAA"))
    solver.apply(
        wh,
        ref,
        {"team": HOSTILE, "proposal": HOSTILE + "我们的方案足够长足够长足够长", "contact": "13800000000"},
        client_key="xss",
        today=TODAY,
    )

    at = _open("broker.py", wh, BROKER, broker_challenge="evil:/1")
    assert not at.exception
    assert any("<mark>" in m.value for m in at.markdown if m.proto.allow_html)  # highlighted, escaped
    _assert_inert(at)
    at = _open("board.py", wh, None, board_search="AAA")
    assert not at.exception and at.subheader[0].value.startswith("AAA")
    _assert_inert(at)


def test_a_deal_through_the_follow_up_form_is_validated_and_stored(tmp_path):
    wh = _seeded(tmp_path)
    key = "mkt:/1|CN1"
    at = _open("broker.py", wh, BROKER, broker_challenge="mkt:/1", **{f"follow_up|{key}": True})  # the form open
    at.radio(key=f"decision|{key}").set_value("signed")
    at.button(key=f"submit|{key}").click().run()  # no amount, no date
    assert "签约金额：必填" in " ".join(e.value for e in at.error)
    assert queries.reviews_for(wh, "mkt:/1") == []

    at.radio(key=f"decision|{key}").set_value("signed")
    at.number_input(key=f"amount|{key}").set_value(120.0)
    at.date_input(key=f"deal_date|{key}").set_value(date(2026, 11, 20))
    at.text_input(key=f"note|{key}").input("合同已登记")
    at.button(key=f"submit|{key}").click().run()
    assert not at.exception
    assert [
        (r["decision"], r["deal_amount_wan"], r["deal_date"], r["note"]) for r in queries.reviews_for(wh, "mkt:/1")
    ] == [("signed", 120.0, date(2026, 11, 20), "合同已登记")]
    assert any("签约 120 万元" in c.value for c in at.caption)


def test_bulk_reject_and_share_through_the_page(tmp_path):
    wh = _seeded(tmp_path)
    at = _open("broker.py", wh, BROKER, broker_challenge="firm:anon")
    at.checkbox(key="select|firm:anon|CN3").check()
    at.checkbox(key="select|firm:anon|zju:/a1").check()
    at.selectbox(key="bulk_decision").select("reject")
    at.selectbox(key="bulk_reason").select("成熟度不足")
    at.button(key="bulk_submit").click().run()
    assert not at.exception
    assert sorted((r["listing_id"], r["decision"], r["reason"]) for r in queries.reviews_for(wh, "firm:anon")) == [
        ("CN3", "reject", "成熟度不足"),
        ("zju:/a1", "reject", "成熟度不足"),
    ]
    assert [c.key for c in at.checkbox] == ["select|firm:anon|CN2"]  # rejected ones left the page

    at.button(key="share|firm:anon|CN2").click().run()
    assert wh.query("SELECT challenge_id, listing_id, shared_by FROM match_shares") == [
        {"challenge_id": "firm:anon", "listing_id": "CN2", "shared_by": "wang"}
    ]
    assert at.button(key="share|firm:anon|CN2").disabled


def test_broker_page_filters_and_applications(tmp_path):
    from jiebang import solver
    from tests.workspace_data import TODAY

    wh = _seeded(tmp_path)
    ref = next(r["ref"] for r in solver.board(wh, today=TODAY).rows if r["title"] == "氢燃料电池双极板腐蚀")
    solver.apply(
        wh,
        ref,
        {"team": "浙大材料学院", "proposal": "防腐涂层工艺已中试，耐腐蚀超过五千小时。", "contact": "13800000000"},
        client_key="s",
        today=TODAY,
    )
    at = _open("broker.py", wh, BROKER)
    at.selectbox(key="f_field").select("生命健康")
    at.button(key="FormSubmitter:filters-应用筛选").click().run()
    assert [o.split("  ·  ")[0].split("  ", 1)[1] for o in at.selectbox(key="broker_challenge_pick").options] == [
        "体外诊断试剂稳定性差",
        "已过期的需求",
    ]

    at.selectbox(key="f_field").select("全部")
    at.button(key="FormSubmitter:filters-应用筛选").click().run()
    at.selectbox(key="broker_challenge_pick").set_value("firm:anon").run()
    assert "揭榜申请（1）" in [s.value for s in at.subheader]
    assert "**浙大材料学院**" in [m.value for m in at.markdown]
    assert {b.label for b in at.get("download_button")} == {
        "本需求清单（XLSX）",
        "本需求清单（CSV）",
        "全部对接进展（XLSX）",
        "全部对接进展（CSV）",
    }


def test_board_page_hides_the_anonymous_firm_and_takes_applications(tmp_path):
    from tests.workspace_data import FIRM

    wh = _seeded(tmp_path)
    at = _open("board.py", wh, None)
    assert not at.exception
    assert sorted(s.value for s in at.subheader) == [
        "体外诊断试剂稳定性差",
        "氢燃料电池双极板腐蚀",
        "锂电池隔膜耐热不足",
    ]
    everything = " ".join(t for t, _ in _texts(at)) + repr(at.session_state)
    assert FIRM not in everything and "氢途" not in everything and "firm:anon" not in everything
    assert "匿名企业" in everything

    ref = next(k.split("|")[1] for k in (b.key for b in at.button) if k and k.startswith("apply_submit|"))
    at.text_input(key=f"apply_team|{ref}").input("张")
    at.button(key=f"apply_submit|{ref}").click().run()
    assert "团队/单位：至少 2 个字" in at.error[0].value and "方案简述：必填" in at.error[0].value
    proposal = "我们有成熟的工艺方案，已完成中试，可在三个月内导入。"
    at.text_input(key=f"apply_team|{ref}").input("浙江大学材料学院")
    at.text_area(key=f"apply_proposal|{ref}").input(proposal)
    at.text_input(key=f"apply_contact|{ref}").input("0573-84000000")
    at.button(key=f"apply_submit|{ref}").click().run()
    assert "揭榜申请已提交" in at.success[0].value
    assert [at.text_input(key=f"apply_team|{ref}").value, at.text_area(key=f"apply_proposal|{ref}").value] == ["", ""]
    at.text_input(key=f"apply_team|{ref}").input("浙江大学材料学院")  # the same application typed again
    at.text_area(key=f"apply_proposal|{ref}").input(proposal)
    at.text_input(key=f"apply_contact|{ref}").input("0573-84000000")
    at.button(key=f"apply_submit|{ref}").click().run()
    assert "已经提交过" in at.error[0].value
    for n in range(3):  # changed proposals are new applications, up to the session's limit
        at.text_input(key=f"apply_team|{ref}").input("浙江大学材料学院")
        at.text_area(key=f"apply_proposal|{ref}").input(f"{proposal}（第 {n + 2} 版）")
        at.text_input(key=f"apply_contact|{ref}").input("0573-84000000")
        at.button(key=f"apply_submit|{ref}").click().run()
        if n < 2:
            assert "揭榜申请已提交" in at.success[0].value
    assert "提交过于频繁" in at.error[0].value
    assert wh.query("SELECT count(*) AS n FROM applications")[0]["n"] == 3


def test_dashboard_page_shows_the_funnel_and_charts(tmp_path):
    from jiebang import dashboard
    from tests.workspace_data import TODAY

    wh = _seeded(tmp_path)
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.decide(
        wh, BROKER, "mkt:/2", "thu:/a2", "signed", deal_amount_wan=60, deal_date=date(2026, 4, 2), today=TODAY
    )
    at = _open("dashboard.py", wh, BROKER)
    assert not at.exception
    assert (
        [(m.label, m.value) for m in at.metric][:5]
        == [(s["label"], f"{s['pairs']:,}") for s in dashboard.funnel(wh, BROKER)]
        == [("候选", "8"), ("入围", "2"), ("已联系", "1"), ("意向", "1"), ("签约", "1")]
    )
    assert len(at.get("vega_lite_chart")) == 3
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["累计技术交易额"] == "60.0 万元"
    assert (metrics["已发布（征集中）"], metrics["已截止"]) == ("3", "1")  # mkt:/old is past its deadline
    assert "已完成" in at.success[0].value and "北京时间" in at.success[0].value


@pytest.mark.parametrize("page", ["dashboard.py", "audit.py"])
def test_dashboard_and_audit_pages_refuse_firms(tmp_path, page):
    at = _open(page, _seeded(tmp_path), User("hq", "氢途", "firm", firm="嘉善氢途科技有限公司"))
    assert not at.exception and "无权" in at.error[0].value
    assert not at.metric and not at.dataframe and not at.get("vega_lite_chart")


def test_audit_page_for_admins_only(tmp_path):
    wh = _seeded(tmp_path)
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")
    broker.share_match(wh, BROKER, "firm:anon", "CN2")
    at = _open("audit.py", wh, BROKER)
    assert "无权" in at.error[0].value and not at.dataframe

    at = _open("audit.py", wh, User("root", "管理员", "admin"))
    table = at.dataframe[0].value
    assert list(table["操作"]) == ["分享匹配", "审核决定"]
    assert all(s.startswith("技术经纪人 王经纪 将 成果 CN") for s in table["事项"])
    assert table["之后"].iloc[1] == "决定：入围"
    at.selectbox(key="audit_action").select("share")
    at.button(key="FormSubmitter:audit_filters-筛选").click().run()
    number = wh.query("SELECT number FROM challenges WHERE challenge_id = 'firm:anon'")[0]["number"]
    assert list(at.dataframe[0].value["事项"]) == [
        f"技术经纪人 王经纪 将 成果 CN2《双极板防腐涂层》 推荐给企业（需求 {number}《氢燃料电池双极板腐蚀》）"
    ]


def test_the_router_offers_the_board_to_everyone_and_the_audit_log_to_admins(loaded_warehouse):
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=loaded_warehouse.path)
    at.run()
    at.switch_page("pages/board.py").run()
    assert not at.exception and at.title[0].value == "全球破题 · 揭榜挂帅"

    at.session_state["user"] = register(loaded_warehouse, User("root", "管理员", "admin"))[0]
    at.switch_page("pages/audit.py").run()
    assert not at.exception and at.title[0].value == "审计日志" and not at.error
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception and at.title[0].value == "数据看板"


def test_a_note_through_the_page_keeps_the_decision(tmp_path):
    wh = _seeded(tmp_path)
    key = "mkt:/1|zju:/a1"
    at = _open("broker.py", wh, BROKER, broker_challenge="mkt:/1", **{f"follow_up|{key}": True})  # the form open
    at.text_input(key=f"note|{key}").input("等对方报价")
    at.button(key=f"note_only|{key}").click().run()
    assert "请先对该匹配做出决定" in at.error[0].value and queries.reviews_for(wh, "mkt:/1") == []

    at.button(key=f"shortlist|{key}").click().run()
    at.text_input(key=f"note|{key}").input("等对方报价")
    at.button(key=f"note_only|{key}").click().run()
    assert [(r["decision"], r["note"]) for r in queries.reviews_for(wh, "mkt:/1")] == [
        ("shortlist", None),
        ("shortlist", "等对方报价"),
    ]
    assert "备注已保存" in at.success[0].value and at.text_input(key=f"note|{key}").value == ""
    assert any("等对方报价" in c.value for c in at.caption)


def test_account_page_shows_the_user_and_signs_out(loaded_warehouse):
    at = _page("account.py", loaded_warehouse, User("li", "李经理", "firm", "嘉善智造"))
    assert "用户名：li　角色：企业用户" in [m.value for m in at.markdown]
    at.button[0].click().run()
    assert "user" not in at.session_state
