"""Issue 14 items 3, 9, 10: sign-in throttling, the password policy, disabled accounts, role and
credential changes reaching live sessions, the 揭榜 limit per client and challenge, and the
secrets file kept out of git. Real DuckDB files, Streamlit AppTest, the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from jiebang import accounts, broker, solver
from jiebang.accounts import (
    InvalidAccount,
    LoginRefused,
    LoginThrottled,
    User,
    add_user,
    password_problem,
    sign_in,
)
from jiebang.cli import app
from jiebang.errors import AccessDenied
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.workspace_data import register
from warehouse.gateway import Warehouse

PAGES = ROOT / "ui" / "pages"
NOW = datetime(2026, 11, 26, 10, 0)
PASSWORD = "青山-ridge-47"
runner = CliRunner()


def _audit(wh: Warehouse, *actions: str) -> list[dict]:
    marks = ", ".join("?" for _ in actions)
    return wh.query(
        f"SELECT actor, role, action, entity_id, after FROM audit_log WHERE action IN ({marks}) ORDER BY audit_id",
        list(actions),
    )


# --- the password policy ----------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "password, username, reason",
    [
        ("short7!", "zhao", "至少 8 位"),
        ("password", "zhao", "常见密码"),
        ("Password123!", "zhao", "常见密码"),  # a common word with digits and a symbol appended
        ("qwertyuiop", "zhao", "常见密码"),
        ("woaini1314", "zhao", "常见密码"),
        ("12345678", "zhao", "常见密码"),
        ("zzzzzzzzzz", "zhao", "同一个字符"),
        ("3456789012", "zhao", "连续"),
        ("hijklmnop", "zhao", "连续"),
        ("zhao.wang", "zhao.wang", "用户名"),
        ("Zhao.Wang2026", "zhao.wang", "用户名"),
    ],
)
def test_common_and_trivial_passwords_are_refused_with_the_reason(password, username, reason):
    assert reason in (password_problem(password, username) or "")


@pytest.mark.unit
@pytest.mark.parametrize("password", ["correct horse", "browser-pass", "青山-ridge-47", "firm-pass-1", "long-enough"])
def test_ordinary_passwords_pass(password):
    assert password_problem(password, "zhao") is None


@pytest.mark.unit
def test_the_common_list_ships_with_the_package_and_demo_passwords_pass():
    common = accounts.common_passwords()
    assert len(common) >= 300 and {"123456", "password", "qwerty", "woaini", "admin123"} <= common
    assert all(password_problem(accounts.random_password(), name) is None for name in ("broker", "admin", "firm") * 50)


@pytest.mark.integration
def test_a_weak_password_is_refused_wherever_a_password_is_set(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = runner.invoke(app, ["user", "add", "li", "--role", "broker", "--password", "Password1"])
    assert result.exit_code == 1 and "常见密码" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert runner.invoke(app, ["user", "add", "li", "--role", "broker", "--password", PASSWORD]).exit_code == 0

    result = runner.invoke(app, ["user", "passwd", "li", "--password", "li"])
    assert result.exit_code == 1 and "至少 8 位" in result.output
    wh = Warehouse(tmp_path / "w.duckdb")
    with pytest.raises(InvalidAccount, match="常见密码"):
        accounts.change_password(wh, sign_in(wh, "li", PASSWORD), PASSWORD, "iloveyou")
    assert sign_in(wh, "li", PASSWORD).username == "li"


# --- throttled sign-in --------------------------------------------------------------------------


@pytest.mark.integration
def test_five_failures_lock_the_account_even_for_the_right_password(warehouse):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    for n in range(accounts.ACCOUNT_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            sign_in(warehouse, "zhao", f"wrong-{n}", client_key="c1", now=NOW + timedelta(seconds=n))
    assert "后再试" in str(refused.value)  # the fifth failure already says the account is locked

    with pytest.raises(LoginThrottled, match="登录失败次数过多") as locked:
        sign_in(warehouse, "zhao", PASSWORD, client_key="c2", now=NOW + timedelta(seconds=30))
    assert locked.value.retry_at == NOW + timedelta(seconds=4) + accounts.LOCK_BASE
    assert "18:01" in str(locked.value)  # 10:01 UTC, said in Beijing time

    failed = _audit(warehouse, "login_failed")
    assert [json.loads(r["after"])["reason"] for r in failed] == ["wrong_password"] * 5 + ["locked"]
    assert {(r["actor"], r["entity_id"]) for r in failed} == {("zhao", "zhao")}
    [lock] = _audit(warehouse, "login_locked")
    assert json.loads(lock["after"])["failures"] == 5 and json.loads(lock["after"])["scope"] == "account"

    # The lock grows: after it ends, one more failure locks for twice as long; success clears it.
    after = NOW + timedelta(minutes=2)
    with pytest.raises(LoginThrottled):
        sign_in(warehouse, "zhao", "wrong-again", client_key="c1", now=after)
    with pytest.raises(LoginThrottled) as longer:
        sign_in(warehouse, "zhao", PASSWORD, client_key="c1", now=after + timedelta(minutes=1))
    assert longer.value.retry_at == after + 2 * accounts.LOCK_BASE
    assert sign_in(warehouse, "zhao", PASSWORD, client_key="c1", now=after + timedelta(minutes=3)).role == "broker"
    with pytest.raises(LoginRefused) as once:
        sign_in(warehouse, "zhao", "wrong", client_key="c1", now=after + timedelta(minutes=4))
    assert not isinstance(once.value, LoginThrottled) and "用户名或密码错误" in str(once.value)


@pytest.mark.integration
def test_one_client_failing_on_many_accounts_is_locked_but_not_other_clients(warehouse):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    for n in range(accounts.CLIENT_FAILURES):  # one guess each on many names: no account reaches its limit
        with pytest.raises(LoginRefused):
            sign_in(warehouse, f"guess{n}", "123456789", client_key="sprayer", now=NOW)
    with pytest.raises(LoginThrottled, match="后再试"):
        sign_in(warehouse, "zhao", PASSWORD, client_key="sprayer", now=NOW + timedelta(seconds=5))
    assert sign_in(warehouse, "zhao", PASSWORD, client_key="ip:office", now=NOW + timedelta(seconds=5)).role == "broker"
    [lock] = _audit(warehouse, "login_locked")
    assert json.loads(lock["after"])["scope"] == "client" and lock["entity_id"] == "sprayer"

    # Callers without an address share one key: they are throttled per account only, so a
    # stranger's guesses on many names lock none of them out.
    for n in range(accounts.CLIENT_FAILURES + 1):
        with pytest.raises(LoginRefused):
            sign_in(warehouse, f"other{n}", "123456789", now=NOW)
    assert sign_in(warehouse, "zhao", PASSWORD, now=NOW + timedelta(seconds=5)).username == "zhao"


@pytest.mark.unit
def test_client_keys_are_hashed_and_unknown_clients_share_one_key():
    key = accounts.client_key("203.0.113.7")
    assert key.startswith("ip:") and "203.0.113.7" not in key and key == accounts.client_key(" 203.0.113.7 ")
    assert key != accounts.client_key("203.0.113.8")
    assert accounts.client_key(None) == accounts.client_key("") == accounts.UNKNOWN_CLIENT


def _app(wh: Warehouse) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=wh.path)
    return at.run()


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    return at.button[0].click().run()


@pytest.mark.integration
def test_the_login_page_refuses_the_sixth_attempt_and_says_when(warehouse):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    at = _app(warehouse)
    for n in range(5):
        _login(at, "zhao", f"wrong-{n}")
        assert "user" not in at.session_state
    _login(at, "zhao", PASSWORD)
    assert not at.exception and "user" not in at.session_state
    assert "登录失败次数过多" in at.error[0].value and "后再试" in at.error[0].value
    assert len(_audit(warehouse, "login_failed")) == 6 and len(_audit(warehouse, "login_locked")) == 1


# --- accounts disabled, demoted or reset while signed in ------------------------------------------


@pytest.mark.integration
def test_a_demoted_broker_loses_the_broker_page_and_the_export_at_once(warehouse, monkeypatch):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    at = _login(_app(warehouse), "zhao", PASSWORD)
    stale = at.session_state["user"]
    at.switch_page("pages/broker.py").run()
    assert not at.exception and at.title[0].value == "匹配审核"
    assert broker.export_pipeline(warehouse, stale, "csv")  # allowed while a broker

    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(warehouse.path))
    result = runner.invoke(app, ["user", "role", "zhao", "--role", "firm", "--firm", "嘉善某科技有限公司"])
    assert result.exit_code == 0, result.output

    # The download button's callback holds the User of the page that drew it: the service
    # re-reads the account and refuses.
    with pytest.raises(AccessDenied, match="无权"):
        broker.export_pipeline(warehouse, stale, "csv")
    at.run()  # the next rerun of the session opened before the change: the page is refused
    assert not at.exception and "企业用户无权执行此操作" in at.error[0].value
    assert not at.get("download_button") and not at.selectbox and not at.button
    assert at.session_state["user"].role == "firm"
    [line] = _audit(warehouse, "account_role")
    assert (line["actor"], line["entity_id"], json.loads(line["after"])["role"]) == ("cli", "zhao", "firm")


@pytest.mark.integration
@pytest.mark.parametrize(
    "command, message",
    [
        (["user", "disable", "zhao"], "已停用"),
        (["user", "passwd", "zhao", "--password", "另一个-ridge-58"], "密码已重置"),
    ],
    ids=["disabled", "password-reset"],
)
def test_a_disable_or_password_reset_ends_the_live_session(warehouse, monkeypatch, command, message):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    at = _login(_app(warehouse), "zhao", PASSWORD)
    stale = at.session_state["user"]
    at.switch_page("pages/broker.py").run()
    assert at.title[0].value == "匹配审核"

    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(warehouse.path))
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    at.run()
    assert not at.exception and "user" not in at.session_state
    assert message in at.warning[0].value and "请先登录" in at.error[0].value
    assert not at.get("download_button") and not at.selectbox
    with pytest.raises(AccessDenied, match=message):
        broker.run_overview(warehouse, stale)
    with pytest.raises(LoginRefused):
        sign_in(warehouse, "zhao", PASSWORD)


@pytest.mark.integration
def test_a_disabled_account_cannot_sign_in_and_is_enabled_again(warehouse, monkeypatch):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(warehouse.path))
    assert runner.invoke(app, ["user", "disable", "zhao"]).exit_code == 0
    at = _login(_app(warehouse), "zhao", PASSWORD)
    assert "user" not in at.session_state and "已停用" in at.error[0].value
    with pytest.raises(LoginRefused, match="用户名或密码错误"):  # a wrong password says nothing more
        sign_in(warehouse, "zhao", "not-the-password")

    assert runner.invoke(app, ["user", "enable", "zhao"]).exit_code == 0
    assert sign_in(warehouse, "zhao", PASSWORD).username == "zhao"
    assert [r["action"] for r in _audit(warehouse, "account_disable", "account_enable")] == [
        "account_disable",
        "account_enable",
    ]
    result = runner.invoke(app, ["user", "disable", "nobody"])
    assert result.exit_code == 1 and "nobody" in result.output and "Traceback" not in result.output


@pytest.mark.integration
def test_an_admin_disables_and_demotes_accounts_on_the_users_page(warehouse):
    root = register(warehouse, User("root", "管理员", "admin"))[0]
    add_user(warehouse, "zhao", PASSWORD, "broker", display_name="赵经纪")
    zhao = sign_in(warehouse, "zhao", PASSWORD)
    at = AppTest.from_file(str(PAGES / "users.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    at.session_state["user"] = root
    at.run()
    assert not at.exception and at.title[0].value == "用户管理"
    assert list(at.dataframe[0].value["用户名"]) == ["root", "zhao"]
    accounts.sign_up_solver(warehouse, SIGN_UP, client_key=CLIENT)  # self-made: the admin sees how to reach it
    at.run()
    table = at.dataframe[0].value.set_index("用户名")
    assert (table.loc["zju-coatings", "角色"], table.loc["zju-coatings", "联系方式"]) == ("揭榜方", "0571-87950000")

    at.selectbox(key="users_pick").select("zhao").run()
    at.button(key="users_disable").click().run()
    assert not at.exception and "已停用 zhao" in at.success[0].value
    assert warehouse.query("SELECT disabled FROM users WHERE username = 'zhao'") == [{"disabled": True}]
    with pytest.raises(AccessDenied, match="已停用"):
        broker.run_overview(warehouse, zhao)

    at.button(key="users_enable").click().run()
    at.selectbox(key="users_role|zhao").select("firm")
    at.text_input(key="users_firm|zhao").input("嘉善某科技有限公司")
    at.button(key="users_save_role").click().run()
    assert not at.exception
    assert warehouse.query("SELECT role, firm, disabled FROM users WHERE username = 'zhao'") == [
        {"role": "firm", "firm": "嘉善某科技有限公司", "disabled": False}
    ]
    [line] = _audit(warehouse, "account_disable")
    assert (line["actor"], line["role"], line["entity_id"]) == ("root", "admin", "zhao")

    at.button(key="users_reset").click().run()
    assert "新密码只显示这一次" in at.success[0].value
    new_password = at.code[0].value
    assert password_problem(new_password, "zhao") is None and sign_in(warehouse, "zhao", new_password).role == "firm"
    with pytest.raises(LoginRefused):
        sign_in(warehouse, "zhao", PASSWORD)

    at.selectbox(key="users_pick").select("root").run()
    at.button(key="users_disable").click().run()
    assert "不能停用自己的账户" in at.error[0].value

    at.session_state["user"] = zhao  # a non-admin sees nothing of it
    at.run()
    assert at.error and not at.dataframe


@pytest.mark.integration
def test_changing_ones_password_keeps_this_session_and_ends_the_others(warehouse):
    add_user(warehouse, "zhao", PASSWORD, "broker")
    other_tab = sign_in(warehouse, "zhao", PASSWORD)
    at = AppTest.from_file(str(PAGES / "account.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path)
    at.session_state["user"] = sign_in(warehouse, "zhao", PASSWORD)
    at.run()
    at.text_input(key="pw_current").input(PASSWORD)
    at.text_input(key="pw_new").input("qwerty123")
    at.text_input(key="pw_repeat").input("qwerty123")
    at.button(key="FormSubmitter:change_password-修改密码").click().run()
    assert "常见密码" in at.error[0].value

    at.text_input(key="pw_current").input(PASSWORD)
    at.text_input(key="pw_new").input("另一个-ridge-58")
    at.text_input(key="pw_repeat").input("另一个-ridge-58")
    at.button(key="FormSubmitter:change_password-修改密码").click().run()
    assert not at.exception and "密码已修改" in at.success[0].value
    at.run()
    assert at.session_state["user"].username == "zhao"  # this session goes on
    with pytest.raises(AccessDenied, match="密码已重置"):
        broker.run_overview(warehouse, other_tab)
    assert sign_in(warehouse, "zhao", "另一个-ridge-58").username == "zhao"


# --- the 揭榜 limit per client and challenge -------------------------------------------------------


def _apply_on_board(at: AppTest, ref: str, n: int) -> None:
    at.text_input(key=f"apply_team|{ref}").input("浙江大学材料学院")
    at.text_area(key=f"apply_proposal|{ref}").input(
        f"我们有成熟的工艺方案，已完成中试，可在三个月内导入（第 {n} 版）。"
    )
    at.text_input(key=f"apply_contact|{ref}").input("0573-84000000")
    at.button(key=f"apply_submit|{ref}").click().run()


@pytest.mark.integration
def test_the_application_limit_holds_across_sessions_of_one_client_per_challenge(tmp_path):
    from tests.workspace_data import seed

    wh = seed(tmp_path / "workspace.duckdb")

    def session() -> AppTest:  # a new browser session: fresh session state, same client
        at = AppTest.from_file(str(PAGES / "board.py"), default_timeout=60)
        at.session_state["settings"] = Settings(warehouse_path=wh.path)
        return at.run()

    first = session()
    refs = [k.split("|")[1] for k in (b.key for b in first.button) if k and k.startswith("apply_submit|")]
    for n in range(solver.RATE_LIMIT):
        _apply_on_board(first, refs[0], n)
        assert "揭榜申请已提交" in first.success[0].value

    second = session()
    _apply_on_board(second, refs[0], 10)
    assert "提交过于频繁" in second.error[0].value
    _apply_on_board(second, refs[1], 11)  # another challenge: its own limit
    assert "揭榜申请已提交" in second.success[0].value
    rows = wh.query("SELECT challenge_id, client_key FROM applications ORDER BY application_id")
    assert len(rows) == 4 and {r["client_key"] for r in rows} == {accounts.UNKNOWN_CLIENT}
    assert len({r["challenge_id"] for r in rows}) == 2


# --- a solver signs up ------------------------------------------------------------------------------

SIGN_UP = {
    "username": "zju-coatings",
    "display_name": "浙江大学化工学院涂料课题组",
    "contact": "0571-87950000",
    "password": PASSWORD,
    "password_again": PASSWORD,
}
CLIENT = accounts.client_key("203.0.113.7")


@pytest.mark.integration
@pytest.mark.parametrize(
    "changes, problems",
    [
        ({"username": ""}, {"username": "必填"}),
        ({"username": "zj"}, {"username": accounts.USERNAME_HELP}),
        ({"username": "张三"}, {"username": accounts.USERNAME_HELP}),
        ({"username": "-admin"}, {"username": accounts.USERNAME_HELP}),
        ({"username": "boss@firm.cn"}, {"username": accounts.USERNAME_HELP}),  # single sign-on's e-mail names
        ({"display_name": " "}, {"display_name": "必填（学校、院所或团队名称）"}),
        (
            {"contact": "微信同号"},
            {"contact": "请填写有效的手机号（如 13800000000）、座机（如 0573-84000000）或电子邮箱"},
        ),
        (
            {"password": "12345678", "password_again": "12345678"},
            {"password": "这是常见密码，很容易被猜中，请换一个 (a common password)"},
        ),
        ({"password_again": PASSWORD + "x"}, {"password_again": "两次输入的密码不一致"}),
        ({"username": "", "contact": ""}, {"username": "必填", "contact": "必填（手机、座机或电子邮箱）"}),
    ],
)
def test_a_sign_up_names_every_problem_of_the_form_and_makes_nothing(warehouse, changes, problems):
    with pytest.raises(accounts.InvalidSignUp) as refused:
        accounts.sign_up_solver(warehouse, {**SIGN_UP, **changes}, client_key=CLIENT)
    assert refused.value.problems == problems
    assert warehouse.query("SELECT count(*) AS n FROM users") == [{"n": 0}]


@pytest.mark.integration
def test_a_solver_signs_up_as_a_solver_whatever_the_form_says_and_signs_in(warehouse):
    user = accounts.sign_up_solver(warehouse, {**SIGN_UP, "role": "admin", "firm": "嘉善某企业"}, client_key=CLIENT)
    assert (user.username, user.role, user.display_name) == ("zju-coatings", "solver", "浙江大学化工学院涂料课题组")
    [row] = warehouse.query("SELECT role, firm, contact, password_hash FROM users")
    assert (row["role"], row["firm"], row["contact"]) == ("solver", None, "0571-87950000")
    assert PASSWORD not in row["password_hash"]
    assert sign_in(warehouse, "zju-coatings", PASSWORD).role == "solver"
    [line] = _audit(warehouse, "account_signup")
    assert (line["actor"], line["role"], line["entity_id"]) == ("zju-coatings", "solver", "zju-coatings")
    assert json.loads(line["after"]) == {"role": "solver", "client": CLIENT}  # the hashed key, never the address


@pytest.mark.integration
def test_a_sign_up_never_replaces_an_account_in_any_letter_case(warehouse):
    add_user(warehouse, "Wang", PASSWORD, "broker")
    for name in ("Wang", "wang", "WANG"):
        with pytest.raises(accounts.InvalidSignUp) as refused:
            accounts.sign_up_solver(
                warehouse,
                {**SIGN_UP, "username": name, "password": "another-pass-9", "password_again": "another-pass-9"},
                client_key=CLIENT,
            )
        assert refused.value.problems == {"username": "已被使用，请换一个"}
    assert sign_in(warehouse, "Wang", PASSWORD).role == "broker"  # its password and role unchanged


@pytest.mark.integration
def test_sign_ups_are_limited_per_client_and_per_market_a_day(warehouse, monkeypatch):
    def sign_up(n: int, client: str, now: datetime):
        return accounts.sign_up_solver(warehouse, {**SIGN_UP, "username": f"team{n}"}, client_key=client, now=now)

    for n in range(accounts.SIGN_UP_PER_CLIENT):
        sign_up(n, CLIENT, NOW + timedelta(minutes=n))
    with pytest.raises(accounts.SignUpLimited, match="同一网络每 1 天最多注册 3 个账户"):
        sign_up(9, CLIENT, NOW + timedelta(hours=1))
    sign_up(10, accounts.client_key("198.51.100.1"), NOW + timedelta(hours=1))  # another client
    sign_up(11, CLIENT, NOW + accounts.SIGN_UP_WINDOW + timedelta(minutes=1))  # the first has left the window
    # Callers the server cannot tell apart are not one client, but count towards the market's limit.
    monkeypatch.setattr(accounts, "SIGN_UP_PER_MARKET", 4)  # team11 and the three below, within a day
    later = NOW + accounts.SIGN_UP_WINDOW + timedelta(hours=2)
    for n in (20, 21, 22):
        sign_up(n, accounts.UNKNOWN_CLIENT, later)
    with pytest.raises(accounts.SignUpLimited, match="今日注册人数已达上限"):
        sign_up(23, accounts.UNKNOWN_CLIENT, later)
    assert warehouse.query("SELECT count(*) AS n FROM users") == [{"n": 8}]


def _sign_up_on_page(at: AppTest, form: dict) -> AppTest:
    for name, value in form.items():
        at.text_input(key=f"signup_{name}").input(value)
    return at.button(key="FormSubmitter:sign_up-注册并登录").click().run()


@pytest.mark.integration
def test_a_solver_signs_up_on_the_sign_in_page_and_lands_on_the_board(warehouse):
    at = _app(warehouse)
    _sign_up_on_page(at, {**SIGN_UP, "contact": "微信同号", "password_again": "nope"})
    assert not at.exception and "user" not in at.session_state
    assert [e.value for e in at.error] == [
        "联系方式：请填写有效的手机号（如 13800000000）、座机（如 0573\\-84000000）或电子邮箱",
        "再次输入密码：两次输入的密码不一致",
    ]
    assert at.text_input(key="signup_username").value == "zju-coatings"  # kept as typed for correcting
    _sign_up_on_page(at, {"contact": SIGN_UP["contact"], "password_again": PASSWORD})
    assert not at.exception and not at.error
    assert at.session_state["user"].role == "solver"
    at.switch_page("pages/my_applications.py").run()  # a solver's own page: signed in
    assert not at.exception and at.title[0].value == "我的揭榜" and not at.error
    assert warehouse.query("SELECT username, role FROM users") == [{"username": "zju-coatings", "role": "solver"}]


@pytest.mark.integration
def test_with_sign_up_turned_off_the_sign_in_page_offers_none(warehouse):
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=60)
    at.session_state["settings"] = Settings(warehouse_path=warehouse.path, solver_sign_up=False)
    at.run()
    assert not at.exception and [b.label for b in at.button] == ["登录"]
    assert not [e for e in at.expander if "注册" in e.label]


# --- the secrets file -----------------------------------------------------------------------------


@pytest.mark.unit
def test_the_streamlit_secrets_file_is_ignored_by_git(tmp_path):
    # In a repository of its own holding only the project's .gitignore: git's own matching,
    # whether or not the tests run in a checkout.
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    checked = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", ".streamlit/secrets.toml"], cwd=tmp_path, check=False
    )
    assert checked.returncode == 0, ".streamlit/secrets.toml is not in .gitignore"
