"""The `jiebang` command: help everywhere, one-line errors, accounts."""

import json

import pytest
from typer.testing import CliRunner

from jiebang.accounts import authenticate
from jiebang.cli import app
from warehouse.gateway import Warehouse

runner = CliRunner()
COMMANDS = [
    ["demo"],
    ["refresh"],
    ["ui"],
    ["match-file"],
    ["eval"],
    ["bench"],
    ["labels"],
    ["user"],
    ["user", "add"],
    ["user", "disable"],
    ["user", "enable"],
    ["user", "role"],
    ["user", "passwd"],
    ["import"],
    ["parse"],
    ["serve"],
    ["dedup"],
]


@pytest.mark.unit
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    if command != ["user"]:
        assert "Example" in result.output


@pytest.mark.integration
def test_user_add_stores_a_hashed_password(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = runner.invoke(
        app, ["user", "add", "wang", "--role", "broker", "--display-name", "王经纪"], input="s3cret-pass\ns3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    wh = Warehouse(tmp_path / "w.duckdb")
    stored = wh.query("SELECT password_hash FROM users WHERE username = 'wang'")[0]["password_hash"]
    assert stored.startswith("$argon2") and "s3cret-pass" not in stored
    user = authenticate(wh, "wang", "s3cret-pass")
    assert (user.username, user.display_name, user.role) == ("wang", "王经纪", "broker")
    assert authenticate(wh, "wang", "wrong-pass") is None


@pytest.mark.integration
@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "firm"], "firm: a firm user needs --firm"),
        (["--role", "king"], "role: 'king' is not one of admin, broker, firm"),
    ],
)
def test_user_add_errors_are_one_actionable_line(tmp_path, monkeypatch, args, message):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = runner.invoke(app, ["user", "add", "li", *args, "--password", "long-enough"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_a_bad_setting_is_reported_without_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_UI_PORT", "not-a-port")
    result = runner.invoke(app, ["user", "add", "li", "--role", "broker", "--password", "long-enough"])
    assert result.exit_code == 1
    assert "ui_port='not-a-port' is not a valid int" in result.output


@pytest.mark.integration
def test_broker_decisions_export_as_graded_judgments(tmp_path, monkeypatch):
    from jiebang.files import read_qrels
    from jiebang.pipeline import open_warehouse
    from warehouse import store

    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    wh = open_warehouse(tmp_path / "w.duckdb", 10)
    store.record_review(wh, challenge_id="C1", listing_id="L1", decision="shortlist", reviewer="wang")
    store.record_review(wh, challenge_id="C1", listing_id="L1", decision="contacted", reviewer="wang")
    store.record_review(wh, challenge_id="C1", listing_id="L2", decision="reject", reviewer="wang", reason="技术不对口")
    store.record_review(wh, challenge_id="C2", listing_id="L1", decision="shortlist", reviewer="li")
    result = runner.invoke(app, ["labels", "--out", str(tmp_path / "q.tsv")])
    assert result.exit_code == 0, result.output
    assert read_qrels(tmp_path / "q.tsv") == {"C1": {"L1": 2, "L2": 0}, "C2": {"L1": 1}}


@pytest.mark.integration
def test_demo_on_a_busy_port_says_which_port_and_what_to_do(tmp_path, monkeypatch):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
        monkeypatch.setenv("JIEBANG_REPLAY_PORT", str(port))
        result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1
    assert f"127.0.0.1:{port}" in result.output and "JIEBANG_REPLAY_PORT" in result.output
    assert "Traceback" not in result.output


@pytest.mark.integration
def test_import_loads_a_table_and_quarantines_what_is_wrong(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    csv = tmp_path / "成果.csv"
    csv.write_text(
        "名称,单位,简介,价格\n石墨烯导热膜,浙江大学,氧化石墨烯涂布后高温石墨化,80万元\n,复旦大学,没有名称的一行,面议\n",
        encoding="gbk",
    )
    result = runner.invoke(
        app,
        [
            "import",
            "table",
            str(csv),
            "--kind",
            "achievement",
            "--source",
            "zju_list",
            "--map",
            "名称=title",
            "--map",
            "简介=abstract",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "隔离 quarantined 1 条" in result.output
    wh = Warehouse(tmp_path / "w.duckdb")
    row = wh.query("SELECT title, abstract, price_wan, sources FROM listings")
    assert row == [
        {"title": "石墨烯导热膜", "abstract": "氧化石墨烯涂布后高温石墨化", "price_wan": 80.0, "sources": ["zju_list"]}
    ]
    assert wh.query("SELECT field FROM quarantine") == [{"field": "title"}]
    run = wh.query("SELECT flow, status FROM runs")[0]
    assert (run["flow"], run["status"]) == ("import-table", "completed")


@pytest.mark.integration
def test_import_of_an_unknown_format_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = runner.invoke(app, ["import", "pdf", str(tmp_path / "x.pdf")])
    assert result.exit_code == 1
    assert "unknown import format 'pdf'; known formats: google_patents_csv" in result.output


@pytest.mark.unit
def test_parse_prints_the_items_of_a_saved_page(tmp_path):
    page = tmp_path / "detail.html"
    page.write_bytes(
        '<html><head><meta charset="gbk"></head><body><h1 class="cg-title">储氢合金</h1>'
        '<td class="unit">上海大学</td><div class="cg-summary"><p>镁基储氢合金</p></div>'
        "</body></html>".encode("gbk")
    )
    result = runner.invoke(
        app,
        [
            "parse",
            "achievements",
            str(page),
            "--url",
            "http://x.test/shu/kjcg/detail/1.html",
            "--callback",
            "parse_detail",
        ],
    )
    assert result.exit_code == 0, result.output
    item = json.loads(result.output.splitlines()[0])
    assert (item["title"], item["applicants"], item["abstract"]) == ("储氢合金", ["上海大学"], "镁基储氢合金")


@pytest.mark.integration
def test_an_oidc_identity_signs_in_only_with_a_local_account(tmp_path):
    from jiebang.accounts import add_user, user_for_identity
    from jiebang.pipeline import open_warehouse

    wh = open_warehouse(tmp_path / "w.duckdb", 10)
    add_user(wh, "li@jiashan.gov.cn", "unused-password", "broker", display_name="李经纪")
    assert user_for_identity(wh, "li@jiashan.gov.cn") == authenticate(wh, "li@jiashan.gov.cn", "unused-password")
    assert user_for_identity(wh, "li@jiashan.gov.cn").role == "broker"
    assert user_for_identity(wh, "someone@else.com") is None and user_for_identity(wh, "") is None


@pytest.mark.integration
@pytest.mark.parametrize(
    "header",
    ["[/bold]", "[link=http://x]a[/link]", "[x](http://evil/a) ![](http://remote/img.png)", "[bold red]红[/]"],
    ids=["closing-tag", "link-tag", "markdown", "style"],
)
def test_outside_text_in_an_error_is_printed_literally_on_one_line(tmp_path, monkeypatch, header):
    # A CSV header is text from outside: Rich must print it as it is, never read it as markup
    # (issue 14: a header `[/bold]` made the error handler itself crash with a MarkupError).
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    csv = tmp_path / "needs[1].csv"
    csv.write_text(f"{header},b\n1,2\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "table", str(csv), "--kind", "need"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("错误 needs[1].csv has no title column")
    assert f"its columns are {header}, b;" in lines[0]


@pytest.mark.integration
def test_user_add_keeps_a_firms_english_name_only_when_one_is_entered(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    firm = ["--role", "firm", "--firm", "嘉善氢途科技有限公司", "--password", "long-enough"]
    assert runner.invoke(app, ["user", "add", "hq", *firm]).exit_code == 0
    wh = Warehouse(tmp_path / "w.duckdb")
    assert wh.query("SELECT * FROM firm_profiles") == []  # nothing entered, nothing stored

    result = runner.invoke(app, ["user", "add", "hq", *firm, "--firm-en", " Hydroway Technology Co., Ltd. "])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["user", "add", "hq2", *firm]).exit_code == 0  # another user, no English name
    assert wh.query("SELECT firm, english_name FROM firm_profiles") == [
        {"firm": "嘉善氢途科技有限公司", "english_name": "Hydroway Technology Co., Ltd."}
    ]

    result = runner.invoke(
        app, ["user", "add", "li", "--role", "broker", "--firm-en", "Acme", "--password", "long-enough"]
    )
    assert result.exit_code == 1 and "firm-en: only a firm user's firm has an English name" in result.output
