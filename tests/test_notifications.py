"""In-app notifications written where the events happen (an application, a share, a status
change, a nightly's new matches), solver accounts following their applications, and migration
0012, on real DuckDB files."""

from __future__ import annotations

import pytest

from jiebang import broker, digest, firm, notifications, solver
from jiebang.accounts import User, add_user, authenticate
from jiebang.errors import AccessDenied
from jiebang.market import challenge_ref
from jiebang.pipeline import open_warehouse
from jiebang.settings import Settings
from tests.workspace_data import ADMIN, BROKER, FIRM_USER, TODAY, register, seed
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate

pytestmark = pytest.mark.integration

SOLVER = User("team1", "浙大材料团队", "solver")
FORM = {
    "team": "浙江大学材料学院",
    "proposal": "我们有成熟的防腐涂层工艺，已完成中试，可三个月内导入。",
    "contact": "0573-84000000",
}


@pytest.fixture
def wh(tmp_path):
    warehouse = seed(tmp_path / "notices.duckdb")
    register(warehouse, SOLVER)
    return warehouse


def _titles(wh, user):
    return [(n["kind"], n["title"]) for n in notifications.mine(wh, user)]


def test_migration_0012_keeps_every_account_and_admits_solvers(tmp_path):
    wh = Warehouse(tmp_path / "old.duckdb")
    migrate(wh, up_to=9)
    add_user(wh, "hq", "firm-pass-1", "firm", display_name="氢途", firm="嘉善氢途科技有限公司")
    with pytest.raises(Exception, match="CHECK"):
        wh.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)"
            " VALUES ('s', 's', 'solver', 'x', now())"
        )
    assert 12 in migrate(wh)
    assert [(r["username"], r["role"], r["firm"], r["contact"]) for r in wh.query("SELECT * FROM users")] == [
        ("hq", "firm", "嘉善氢途科技有限公司", None)
    ]
    assert authenticate(wh, "hq", "firm-pass-1").firm == "嘉善氢途科技有限公司"  # the hash came along
    add_user(wh, "team1", "solver-pass-1", "solver", display_name="浙大团队")
    assert authenticate(wh, "team1", "solver-pass-1").role == "solver"
    with pytest.raises(Exception, match="CHECK"):
        wh.execute(
            "INSERT INTO users (username, display_name, role, password_hash, created_at)"
            " VALUES ('x', 'x', 'nobody', 'x', now())"
        )
    assert migrate(wh) == []  # run again: nothing to do


def test_an_application_notifies_the_brokers_and_the_firm(wh):
    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY)
    expected = [("application", "「氢燃料电池双极板腐蚀」收到新的揭榜申请")]
    assert _titles(wh, BROKER) == expected  # nobody followed it yet: every broker
    assert _titles(wh, FIRM_USER) == expected
    assert _titles(wh, ADMIN) == []
    notice = notifications.mine(wh, FIRM_USER)[0]
    assert notice["link"] == f"challenge?id={challenge_ref('firm:anon')}" and "浙江大学材料学院" in notice["body"]
    assert notifications.unread_count(wh, FIRM_USER) == 1


def test_a_share_notifies_the_firm_with_the_broker_and_a_status_change_the_firm_and_solver(wh):
    assert broker.share_match(wh, BROKER, "firm:anon", "CN2")
    assert not broker.share_match(wh, BROKER, "firm:anon", "CN2")  # shared already: no second notice
    assert _titles(wh, FIRM_USER) == [("shared", "技术经纪人王经纪为「氢燃料电池双极板腐蚀」推荐了成果")]
    assert "双极板防腐涂层" in notifications.mine(wh, FIRM_USER)[0]["body"]

    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY, applicant=SOLVER)
    firm.set_status(wh, BROKER, "firm:anon", "已揭榜")
    status = ("status", "「氢燃料电池双极板腐蚀」状态：已发布 → 已揭榜")
    assert _titles(wh, FIRM_USER)[0] == status
    assert _titles(wh, SOLVER) == [status]
    assert notifications.mine(wh, SOLVER)[0]["link"] == "my_applications"
    # The broker who shared it now follows the challenge: the application notice went to them.
    assert [k for k, _ in _titles(wh, BROKER)] == ["application"]


def test_a_firm_submitting_its_own_draft_is_not_told_about_it(wh):
    firm.submit_for_review(wh, FIRM_USER, "firm:draft")
    assert _titles(wh, FIRM_USER) == []


def test_the_nightly_digest_writes_new_match_notices_for_the_following_brokers(wh, tmp_path):
    run_id = wh.query("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")[0]["run_id"]
    broker.decide(wh, BROKER, "mkt:/1", "CN1", "shortlist")  # wang follows mkt:/1 now
    register(wh, User("li", "李经纪", "broker"))
    result = digest.notify(wh, Settings(data_dir=tmp_path, digest_min_score=50), run_id)
    assert result["matches"] == 5
    wang = {t: n for t, n in ((n["title"], n) for n in notifications.mine(wh, BROKER))}
    assert sorted(wang) == [
        "「体外诊断试剂稳定性差」有 1 个新匹配",
        "「氢燃料电池双极板腐蚀」有 2 个新匹配",
        "「锂电池隔膜耐热不足」有 2 个新匹配",
    ]
    assert wang["「锂电池隔膜耐热不足」有 2 个新匹配"]["body"] == "最高匹配分 80，请在「匹配审核」中查看。"
    li = sorted(n["title"] for n in notifications.mine(wh, User("li", "李经纪", "broker")))
    assert li == ["「体外诊断试剂稳定性差」有 1 个新匹配", "「氢燃料电池双极板腐蚀」有 2 个新匹配"]  # not wang's


def test_marking_read_touches_only_ones_own(wh):
    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY)
    solver.apply(wh, challenge_ref("mkt:/1"), FORM, client_key="k1", today=TODAY)
    assert notifications.unread_count(wh, BROKER) == 2
    mine = notifications.mine(wh, BROKER)
    theirs = notifications.mine(wh, FIRM_USER)[0]
    assert notifications.mark_read(wh, BROKER, [mine[0]["notification_id"], theirs["notification_id"]]) == 1
    assert notifications.unread_count(wh, BROKER) == 1 and notifications.unread_count(wh, FIRM_USER) == 1
    assert [n["title"] for n in notifications.mine(wh, BROKER, unread_only=True)] == [mine[1]["title"]]
    assert notifications.mark_read(wh, BROKER) == 1 and notifications.unread_count(wh, BROKER) == 0
    assert notifications.unread_count(wh, None) == 0
    with pytest.raises(AccessDenied, match="请先登录"):
        notifications.mine(wh, None)


def test_a_solver_follows_its_applications_and_only_its_own(wh):
    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY, applicant=SOLVER)
    solver.apply(wh, challenge_ref("mkt:/1"), FORM, client_key="k2", today=TODAY)  # without the account
    other = {**FORM, "contact": "13800000000"}
    solver.apply(wh, challenge_ref("firm:anon"), other, client_key="k3", today=TODAY, applicant=BROKER)
    rows = solver.my_applications(wh, SOLVER, today=TODAY)
    assert [(r["title"], r["status_text"], r["ref"]) for r in rows] == [
        ("氢燃料电池双极板腐蚀", "征集中：申请已送达，技术经纪人将与您联系", challenge_ref("firm:anon"))
    ]
    assert not {"_firm", "firm", "description"} & set(rows[0])
    firm.set_status(wh, BROKER, "firm:anon", "已揭榜")
    assert solver.my_applications(wh, SOLVER, today=TODAY)[0]["status_text"].startswith("已揭榜")
    assert wh.query("SELECT applicant FROM applications ORDER BY application_id") == [
        {"applicant": "team1"},
        {"applicant": None},
        {"applicant": None},  # a broker applying is not a solver account
    ]
    with pytest.raises(AccessDenied):
        solver.my_applications(wh, FIRM_USER)


def test_an_anonymous_challenges_title_is_redacted_in_my_applications(tmp_path):
    wh = seed(tmp_path / "anon.duckdb")
    register(wh, SOLVER)
    wh.execute("UPDATE challenges SET title = '嘉善氢途双极板腐蚀' WHERE challenge_id = 'firm:anon'")
    solver.apply(wh, challenge_ref("firm:anon"), FORM, client_key="k1", today=TODAY, applicant=SOLVER)
    assert [r["title"] for r in solver.my_applications(wh, SOLVER, today=TODAY)] == ["匿名企业双极板腐蚀"]


def test_open_warehouse_migrates_to_12(tmp_path):
    wh = open_warehouse(tmp_path / "fresh.duckdb", 30)
    assert wh.query("SELECT max(version) AS v FROM schema_version")[0]["v"] >= 12
    assert wh.query("SELECT count(*) AS n FROM notifications")[0]["n"] == 0
