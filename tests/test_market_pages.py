"""The market's pages under AppTest on the known warehouse (tests/workspace_data.py): a challenge's
and a listing's detail page opened by their links, the board's sort and filters, the 成果库."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from jiebang.accounts import User
from jiebang.market import challenge_ref
from jiebang.settings import Settings
from matching.ranker import score_band
from tests.conftest import ROOT
from tests.workspace_data import BROKER, FIRM, FIRM_USER, register, seed

pytestmark = pytest.mark.integration

PAGES = ROOT / "ui" / "pages"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def wh(tmp_path):
    return seed(tmp_path / "pages.duckdb")


def _open(name: str, warehouse, user: User | None, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    if user is not None:
        at.session_state["user"] = register(warehouse, user)[0]
    for key, value in (params or {}).items():
        at.query_params[key] = value
    return at.run()


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption])


def test_the_public_opens_a_challenge_by_its_link_anonymised_and_applies(wh):
    ref = challenge_ref("firm:anon")
    at = _open("challenge.py", wh, None, {"id": ref})
    assert not at.exception and not at.error
    assert [s.value for s in at.subheader] == ["氢燃料电池双极板腐蚀"]
    shown = _markdown(at) + " ".join(c.value for c in at.code)
    assert "发榜单位：匿名企业" in shown and "榜额：80 万元" in shown
    assert FIRM not in shown and "氢途" not in shown and "firm:anon" not in shown
    assert at.code[0].value == f"challenge?id={ref}"  # the link to share (absolute in a browser)
    assert "状态：" not in shown  # the board's view, not a broker's
    at.text_input(key=f"detail_team|{ref}").input("浙江大学材料学院")
    at.text_area(key=f"detail_proposal|{ref}").input("我们有成熟的防腐涂层工艺，已完成中试，可三个月内导入。")
    at.text_input(key=f"detail_contact|{ref}").input("0573-84000000")
    at.button[0].click().run()
    assert "揭榜申请已提交" in at.success[0].value
    stored = wh.query("SELECT challenge_id, team FROM applications")
    assert stored == [{"challenge_id": "firm:anon", "team": "浙江大学材料学院"}]


@pytest.mark.parametrize(
    "params", [{}, {"id": "0123456789abcdef"}, {"id": HOSTILE}], ids=["none", "unknown", "hostile"]
)
def test_an_unknown_challenge_link_says_so_in_chinese(wh, params):
    at = _open("challenge.py", wh, None, params)
    assert not at.exception
    assert "未找到该需求" in at.error[0].value
    assert not at.subheader and "board" in _markdown(at)  # the way back to the board


def test_a_draft_link_is_not_found_for_the_public_but_shown_to_its_firm_and_brokers(wh):
    ref = challenge_ref("firm:draft")
    assert "未找到该需求" in _open("challenge.py", wh, None, {"id": ref}).error[0].value
    own = _open("challenge.py", wh, FIRM_USER, {"id": ref})
    assert [s.value for s in own.subheader] == ["草稿需求不公开"]
    assert "状态：草稿" in _markdown(own) and "firm_challenges?challenge=firm%3Adraft" in _markdown(own)


def test_a_broker_sees_the_firm_status_and_best_matches_with_their_links(wh):
    at = _open("challenge.py", wh, BROKER, {"id": challenge_ref("firm:anon")})
    assert not at.exception
    shown = _markdown(at)
    assert f"发榜单位：{FIRM}" in shown and "状态：已发布" in shown and "保密：匿名" in shown
    assert [s.value for s in at.subheader] == ["氢燃料电池双极板腐蚀", "最佳匹配"]
    assert "listing?id=CN2" in shown and "listing?id=CN3" in shown and "匹配分 75" in shown
    assert not at.text_input  # no 揭榜 form for a broker


def test_a_listing_page_by_its_link(wh):
    guest = _open("listing.py", wh, None, {"id": "zju:/a1"})
    assert "请先登录" in guest.error[0].value and not guest.subheader
    at = _open("listing.py", wh, FIRM_USER, {"id": "zju:/a1"})
    assert not at.exception and [s.value for s in at.subheader] == ["高耐热陶瓷涂覆隔膜"]
    assert "成熟度：中试" in _markdown(at) and "来源：浙江大学" in _markdown(at)
    assert at.code[0].value == "listing?id=zju%3A%2Fa1"
    assert "请联系您的技术经纪人" in at.info[0].value
    broker_at = _open("listing.py", wh, BROKER, {"id": "zju:/a1"})
    assert f"challenge?id={challenge_ref('mkt:/1')}" in _markdown(broker_at)
    assert broker_at.subheader[1].value == "被推荐给的需求（2）"
    missing = _open("listing.py", wh, BROKER, {"id": "CN404"})
    assert "未找到该成果" in missing.error[0].value and not missing.exception


def test_the_board_sorts_filters_and_links_each_card_to_its_detail(wh):
    at = _open("board.py", wh, None)
    assert "氢燃料电池双极板腐蚀" in [s.value for s in at.subheader]
    refs = {challenge_ref(c) for c in ("mkt:/1", "firm:anon", "mkt:/2")}
    assert {r for r in refs if f"challenge?id={r}" in _markdown(at)} == refs
    at.selectbox(key="board_order").select("budget_desc")
    at.button[0].click().run()  # 搜索
    assert [s.value for s in at.subheader] == ["锂电池隔膜耐热不足", "氢燃料电池双极板腐蚀", "体外诊断试剂稳定性差"]
    assert at.selectbox(key="board_region").options == ["全部", "上海市", "江苏省", "浙江省"]
    at.selectbox(key="board_region").select("上海市")
    at.button[0].click().run()
    assert [s.value for s in at.subheader] == ["氢燃料电池双极板腐蚀"]
    at.selectbox(key="board_region").select("全部")
    at.number_input(key="board_budget_min").set_value(90.0)
    at.button[0].click().run()
    assert [s.value for s in at.subheader] == ["锂电池隔膜耐热不足"]
    at.number_input(key="board_budget_max").set_value(10.0)
    at.button[0].click().run()
    assert "高于最高榜额" in at.error[0].value and not at.exception


def test_the_supply_page_searches_filters_and_links_results(wh):
    guest = _open("supply.py", wh, None)
    assert "请先登录" in guest.error[0].value
    at = _open("supply.py", wh, FIRM_USER)
    assert not at.exception
    assert "共 5 项成果" in _markdown(at)
    at.text_input(key="supply_keyword").input("隔膜 陶瓷")
    at.button[0].click().run()
    assert [m.value for m in at.markdown if m.value.startswith("**")] == ["**高耐热陶瓷涂覆隔膜**"]
    assert "共 1 项成果" in _markdown(at) and "listing?id=zju%3A%2Fa1" in _markdown(at)
    at.text_input(key="supply_keyword").input("")
    at.selectbox(key="supply_source").select("google_patents")
    at.button[0].click().run()
    assert sorted(m.value for m in at.markdown if m.value.startswith("**")) == [
        "**一种耐热锂电池隔膜**",
        "**氢燃料电池金属双极板**",
    ]
    at.selectbox(key="supply_source").select("全部")
    at.text_input(key="supply_keyword").input("不存在的词")
    at.button[0].click().run()
    assert "没有符合条件的成果" in at.info[0].value


def test_the_broker_and_firm_pages_link_to_the_detail_pages(wh):
    wh.execute("INSERT INTO match_shares VALUES ('firm:anon', 'CN2', 'wang', TIMESTAMP '2026-11-27 10:00:00')")
    firm_at = _open("firm_challenges.py", wh, FIRM_USER, {"challenge": "firm:anon"})
    shown = _markdown(firm_at)
    assert f"challenge?id={challenge_ref('firm:anon')}" in shown and "listing?id=CN2" in shown
    broker_at = _open("broker.py", wh, BROKER)
    assert not broker_at.exception
    shown = _markdown(broker_at)
    assert "challenge?id=" in shown and "listing?id=" in shown


# --- notifications, 我的揭榜, the firm's shared match -------------------------------------------

SOLVER = User("team1", "浙大材料团队", "solver")
FORM = {
    "team": "浙江大学材料学院",
    "proposal": "我们有成熟的防腐涂层工艺，已完成中试，可三个月内导入。",
    "contact": "0573-84000000",
}


def test_the_notifications_page_lists_links_and_marks_read(wh):
    from jiebang import notifications, solver
    from tests.workspace_data import TODAY

    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY)
    solver.apply(wh, challenge_ref("mkt:/1"), FORM, client_key="k1", today=TODAY)
    at = _open("notifications.py", wh, BROKER)
    assert not at.exception
    assert "未读 2 条" in _markdown(at)
    titles = [m.value for m in at.markdown if "收到新的揭榜申请" in m.value]
    assert titles == [
        "🔵 **「锂电池隔膜耐热不足」收到新的揭榜申请**",
        "🔵 **「氢燃料电池双极板腐蚀」收到新的揭榜申请**",
    ]
    assert f"challenge?id={challenge_ref('firm:anon')}" in _markdown(at)
    first = notifications.mine(wh, BROKER)[0]["notification_id"]
    at.button(key=f"notice_read|{first}").click().run()
    assert "未读 1 条" in _markdown(at) and notifications.unread_count(wh, BROKER) == 1
    at.button(key="notices_read_all").click().run()
    assert "未读 0 条" in _markdown(at) and notifications.unread_count(wh, FIRM_USER) == 1  # the firm's own stays
    assert "请先登录" in _open("notifications.py", wh, None).error[0].value


def test_a_solver_follows_its_applications_on_my_applications(wh):
    from jiebang import firm

    register(wh, SOLVER)
    at = _open("challenge.py", wh, SOLVER, {"id": challenge_ref("firm:anon")})
    ref = challenge_ref("firm:anon")
    at.text_input(key=f"detail_team|{ref}").input(FORM["team"])
    at.text_area(key=f"detail_proposal|{ref}").input(FORM["proposal"])
    at.text_input(key=f"detail_contact|{ref}").input(FORM["contact"])
    at.button[0].click().run()
    assert "揭榜申请已提交" in at.success[0].value
    mine = _open("my_applications.py", wh, SOLVER)
    assert not mine.exception
    assert [m.value for m in mine.markdown if m.value.startswith("**")] == ["**氢燃料电池双极板腐蚀**"]
    assert "状态：征集中：申请已送达，技术经纪人将与您联系" in _markdown(mine)
    firm.set_status(wh, BROKER, "firm:anon", "已揭榜")
    mine = _open("my_applications.py", wh, SOLVER)
    assert "状态：已揭榜：该需求已确定揭榜方，经纪人正在对接" in _markdown(mine)
    notices = _open("notifications.py", wh, SOLVER)
    assert "**「氢燃料电池双极板腐蚀」状态：已发布 → 已揭榜**" in _markdown(notices)
    assert "无权" in _open("my_applications.py", wh, FIRM_USER).error[0].value


@pytest.mark.parametrize("page, prefix", [("board.py", "apply"), ("challenge.py", "detail")])
def test_a_signed_in_solvers_form_starts_with_its_team_and_contact(wh, page, prefix):
    from jiebang import accounts

    register(wh, SOLVER)
    accounts.set_my_contact(wh, SOLVER, "0571-87950000")
    ref = challenge_ref("firm:anon")
    params = {"id": ref} if page == "challenge.py" else None
    at = _open(page, wh, SOLVER, params)
    assert not at.exception
    assert at.text_input(key=f"{prefix}_team|{ref}").value == "浙大材料团队"
    assert at.text_input(key=f"{prefix}_contact|{ref}").value == "0571-87950000"
    # The solver changes the team, keeps the contact, and sends: what the form then held is stored.
    at.text_input(key=f"{prefix}_team|{ref}").input("浙大材料学院二组")
    at.text_area(key=f"{prefix}_proposal|{ref}").input(FORM["proposal"])
    submit = f"apply_submit|{ref}" if page == "board.py" else "FormSubmitter:detail_apply-提交揭榜申请"
    at.button(key=submit).click().run()
    assert "揭榜申请已提交" in at.success[0].value
    stored = wh.query("SELECT team, contact, applicant FROM applications")
    assert stored == [{"team": "浙大材料学院二组", "contact": "0571-87950000", "applicant": "team1"}]
    from jiebang import solver

    assert solver.form_start(wh, FIRM_USER) == solver.form_start(wh, None) == {}  # only a solver's account
    blank = _open(page, wh, None, params)  # the public form starts blank
    assert blank.text_input(key=f"{prefix}_team|{ref}").value == ""
    assert blank.text_input(key=f"{prefix}_contact|{ref}").value == ""


def test_the_firm_sees_why_a_match_was_recommended_and_who_its_broker_is(wh):
    from jiebang import accounts, broker

    wh.execute(
        "UPDATE matches SET matched_terms = ? WHERE challenge_id = 'firm:anon' AND listing_id = 'CN2'",
        ['[{"term": "双极板", "key_concept": true}, {"term": "防腐", "key_concept": false}]'],
    )
    accounts.set_my_contact(wh, BROKER, "13800000000")
    broker.share_match(wh, BROKER, "firm:anon", "CN2")
    at = _open("firm_challenges.py", wh, FIRM_USER, {"challenge": "firm:anon"})
    assert not at.exception
    shown = _markdown(at)
    assert "推荐理由：满足需求关键概念：双极板；其他命中词：防腐" in shown
    assert "推荐经纪人：王经纪（联系方式：13800000000）" in shown
    assert score_band(75) in shown  # the band with its measured meaning


def test_a_broker_sets_the_contact_firms_see_on_the_account_page(wh):
    from jiebang import accounts

    at = _open("account.py", wh, BROKER)
    at.text_input(key="my_contact_text").input("wang@market.example")
    at.button[1].click().run()  # 保存联系方式 (after 退出登录)
    assert "联系方式已保存" in at.success[0].value
    assert accounts.my_contact(wh, BROKER) == "wang@market.example"
    assert not [t for t in _open("account.py", wh, FIRM_USER).text_input if t.key == "my_contact_text"]
