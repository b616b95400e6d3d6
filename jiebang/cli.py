"""The `jiebang` command: a few lines of argument handling around one library call each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from jiebang.errors import KNOWN_ERRORS, JiebangError, known_errors, one_line
from jiebang.run_report import failed_sources
from jiebang.settings import Settings

app = typer.Typer(help="揭榜 Jiebang：技术供需匹配 (crawl → DuckDB → match → Streamlit).", no_args_is_help=True)
user_app = typer.Typer(help="本地账户 (local accounts).", no_args_is_help=True)
app.add_typer(user_app, name="user")
console = Console(soft_wrap=True)  # an error stays one line, whatever the terminal width

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file (else JIEBANG_CONFIG).")]

# Telemetry off and no calls beyond 127.0.0.1, for every command (set before Prefect loads).
_QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_HEADLESS": "true",
}


def _settings(config: Path | None) -> Settings:
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if config is not None:
        os.environ["JIEBANG_CONFIG"] = str(config)  # so the flow and the UI resolve the same settings
    return Settings.load(os.environ)


def _one_line_errors(command):
    """Known errors (the application's and the libraries' own, KNOWN_ERRORS, and what
    `known_errors` maps: a file the system refused) become one actionable line and exit code 1;
    unknown ones propagate."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return known_errors(command, *args, **kwargs)
        except KNOWN_ERRORS as exc:
            # The message may quote outside text (a CSV header, a page, a path): never read it as markup.
            console.print(f"[bold red]错误[/] {escape(one_line(str(exc)))}")
            raise typer.Exit(1) from None

    return wrapper


def _run_refresh() -> dict:
    from flows.nightly import nightly_refresh  # Prefect loads only when a flow runs

    with _prefect_api():
        result = nightly_refresh(config_file=os.environ.get("JIEBANG_CONFIG"))
    if result.get("error"):  # matching could not run (no verified index): the run failed, nothing replaced
        raise JiebangError(f"运行 {result['run_id']} 失败 (run failed): {result['error']}")
    return result


@contextmanager
def _prefect_api() -> Iterator[None]:
    """The Prefect API a flow run here reports to: the configured one (PREFECT_API_URL, e.g.
    `jiebang serve`'s), else a temporary server started here. Prefect would start one by itself,
    but that one outlives a killed command (kill -9 left it running, port and all); this one has
    a parent-death guard (jiebang.prefect_server). It stops at exit, after Prefect's own exit
    hooks have sent the run's last logs and events to it."""
    import atexit

    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    from jiebang.prefect_server import LocalPrefectServer

    if PREFECT_API_URL.value():
        yield
        return
    timeout = float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    server = LocalPrefectServer(port=0, ephemeral=True, startup_timeout=timeout).start()
    atexit.register(server.close)
    os.environ["PREFECT_API_URL"] = server.api_url  # for task-runner processes started later
    with temporary_settings({PREFECT_API_URL: server.api_url}):
        yield


# The app's font stack (scripts/system-deps.sh installs both CJK fonts; sans-serif is Streamlit's own)
UI_FONTS = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'


def _start_ui(settings: Settings) -> subprocess.Popen:
    app_path = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app_path),
            "--server.address",
            settings.ui_host,
            "--server.port",
            str(settings.ui_port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
            # Noto Sans CJK SC draws every character of a Chinese technical text; with the default
            # stack Chromium left ℃ after a digit blank (WenQuanYi): issue 16
            "--theme.font",
            UI_FONTS,
            "--theme.headingFont",
            UI_FONTS,
        ]
    )


def _serve_until_stopped(process: subprocess.Popen) -> int:
    """Wait for the UI server; Ctrl-C or SIGTERM (a service manager, a test) stops it too,
    instead of leaving Streamlit running without its parent."""

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait(timeout=10)


@app.command()
@_one_line_errors
def refresh(config: ConfigOption = None) -> None:
    """Run the nightly refresh once now: crawl every source, load, match.

    Example: jiebang refresh --config jiebang.toml
    """
    from jiebang.run_lock import refresh_lock

    settings = _settings(config)
    # The lock first: a second refresh is refused at once, before it starts a Prefect server.
    with refresh_lock(settings.warehouse_path, hand_over=True):
        result = _run_refresh()
    console.print(f"运行 {result['run_id']} {result['status']}: {result['matching']}", markup=False)
    for name, error in failed_sources(result).items():
        console.print(
            f"[bold yellow]来源失败 (source or import failed, retried next run)[/] {escape(f'{name}: {error}')}"
        )


@app.command()
@_one_line_errors
def ui(config: ConfigOption = None) -> None:
    """Start the Streamlit app on the configured host and port (default 127.0.0.1:8501).

    Example: jiebang ui
    """
    settings = _settings(config)
    console.print(f"界面: http://{settings.ui_host}:{settings.ui_port}")
    raise typer.Exit(_serve_until_stopped(_start_ui(settings)))


def _stop_on_signals() -> None:
    """SIGTERM (a service manager, a test) stops like Ctrl-C: a KeyboardInterrupt wherever the
    command is, which the command catches around everything it started. Only the first signal
    interrupts: a second one must not cut short the shutdown that stops the Prefect server."""

    def stop(*_):
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: None)  # not SIG_IGN: processes started later inherit that
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)


def _serve_deployments(settings: Settings, api_url: str) -> None:
    """Serve the deployments against the server at api_url until Ctrl-C or SIGTERM."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.serve import serve_deployments

    os.environ["PREFECT_API_URL"] = api_url  # for the flow-run processes the runner starts
    with temporary_settings({PREFECT_API_URL: api_url}):
        serve_deployments(settings, os.environ.get("JIEBANG_CONFIG"))


@app.command()
@_one_line_errors
def serve(
    config: ConfigOption = None,
    port: Annotated[
        int | None, typer.Option(help="Prefect server port (else JIEBANG_PREFECT_PORT, 4200; 0: any free).")
    ] = None,
) -> None:
    """The scheduler for one machine: starts a local Prefect server (API and UI, run history) on
    127.0.0.1 and serves the deployments (nightly at 02:00 Asia/Shanghai, match-challenge,
    rebuild-index) until Ctrl-C. Other shells reach it with PREFECT_API_URL=<printed URL>.

    Example: jiebang serve --port 4200
    """
    # Installed before anything starts: a SIGTERM while the server or the deployments are still
    # starting must stop them as cleanly as one while serving.
    _stop_on_signals()
    try:
        from jiebang.prefect_server import LocalPrefectServer, next_run

        settings = _settings(config)
        with LocalPrefectServer(settings.prefect_host, settings.prefect_port if port is None else port) as server:
            console.print(f"Prefect 界面 (UI): {server.ui_url}   API: {server.api_url}")
            upcoming = next_run(settings.schedule_cron, settings.schedule_timezone)
            console.print(
                f"夜间刷新 (nightly): cron '{settings.schedule_cron}' {settings.schedule_timezone}，"
                f"下次运行 next run {upcoming:%Y-%m-%d %H:%M} {settings.schedule_timezone}；"
                "按 Ctrl-C 停止 (Ctrl-C to stop)"
            )
            _serve_deployments(settings, server.api_url)
    except KeyboardInterrupt:
        pass  # the `with` block has stopped the server; Prefect's serve has stopped the deployments
    console.print("已停止 (stopped)")


@app.command()
@_one_line_errors
def demo(config: ConfigOption = None) -> None:
    """The embedded default end to end: replay site → nightly flow → DuckDB → Streamlit.

    Starts the local replay of the sources on 127.0.0.1, runs the nightly refresh once with
    Prefect, creates demo accounts with fresh passwords, then serves the UI until Ctrl-C.

    Example: jiebang demo
    """
    # The replay site is a dev tool: imported here only, so that no other command loads it.
    from devtools.replay_site import ReplaySite, SampleData
    from jiebang import accounts
    from jiebang.pipeline import open_warehouse

    settings = _settings(config)
    warehouse = open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    with ReplaySite(SampleData.load(), settings.replay_host, settings.replay_port) as site:
        console.print(f"回放站点 (replay site): {site.base_url}")
        result = _run_refresh()
        console.print(f"夜间刷新完成 (nightly refresh done): {result['matching']}", markup=False)
        logins = {}
        for name, role, label, firm in (
            ("broker", "broker", "演示经纪人", None),
            ("admin", "admin", "演示管理员", None),
            ("firm", "firm", "演示企业用户", "嘉善演示科技有限公司"),
            ("solver", "solver", "演示揭榜方", None),
        ):
            logins[name] = accounts.random_password()  # fresh each demo: no password in the repo
            accounts.add_user(warehouse, name, logins[name], role, display_name=label, firm=firm)
        process = _start_ui(settings)
        console.print(f"\n[bold green]界面已启动[/]: http://{settings.ui_host}:{settings.ui_port}")
        for name, password in logins.items():
            console.print(f"  演示账户 (demo login): {name} / {password}")
        console.print("按 Ctrl-C 停止 (Ctrl-C to stop)")
        _serve_until_stopped(process)


@app.command("import")
@_one_line_errors
def import_command(
    format: Annotated[str, typer.Argument(help="google_patents_csv | patentsview | cnipa_xml | uspto_xml | table")],
    path: Annotated[Path, typer.Argument(help="The downloaded file.")],
    source: Annotated[
        str | None, typer.Option(help="Source name recorded with each record (default: the format).")
    ] = None,
    kind: Annotated[str | None, typer.Option(help="table only: achievement | need | patent.")] = None,
    column: Annotated[list[str] | None, typer.Option("--map", help="table only: 表头=field, repeatable.")] = None,
    config: ConfigOption = None,
) -> None:
    """Load a public data dump into the warehouse (validated; bad records quarantined).

    Example: jiebang import table 成果清单.xlsx --kind achievement --source zju_list --map 成果名=title
    """
    from jiebang import pipeline

    settings = _settings(config)
    mapping = dict(_column_mapping(c) for c in column) if column else None
    warehouse = pipeline.open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    run_id, report = pipeline.import_file(warehouse, format, path, source=source, mapping=mapping, kind=kind)
    console.print(
        f"导入 {escape(path.name)}: 新增/更新/未变 {report.loaded} 条 (listings {vars(report.listings)}, "
        f"challenges {vars(report.challenges)})，隔离 quarantined {report.quarantined} 条；运行 {run_id}"
    )


def _column_mapping(text: str) -> tuple[str, str]:
    header, sep, field = text.partition("=")
    if not sep or not header.strip() or not field.strip():
        raise typer.BadParameter(f"--map {text!r}: expected 表头=field, e.g. 成果名称=title")
    return header.strip(), field.strip()


@app.command("parse")
@_one_line_errors
def parse_command(
    spider: Annotated[str, typer.Argument(help="Spider name, e.g. cnipr, epo_ops, google_patents, achievements.")],
    file: Annotated[Path, typer.Argument(help="A saved page (HTML, JSON or XML).")],
    url: Annotated[str | None, typer.Option(help="The page's original URL (ids and links derive from it).")] = None,
    callback: Annotated[str | None, typer.Option(help="Parser method (default: chosen from the page).")] = None,
) -> None:
    """Print the items (and follow-up requests) a saved page yields, one JSON line each.

    Example: jiebang parse cnipr saved/list.html --url http://search.cnipr.com/search!doOverviewSearch.action
    """
    from crawlers.parse import parse_saved

    for result in parse_saved(spider, file, url, callback):
        print(json.dumps(result, ensure_ascii=False, default=str))


@app.command("match-file")
@_one_line_errors
def match_file_command(
    supply: Annotated[Path, typer.Option(help="Supply JSON lines: id, kind, title, abstract, …")],
    challenges: Annotated[Path, typer.Option(help="Challenges JSON lines: id, title, description, …")],
    out: Annotated[Path, typer.Option(help="Results, one JSON line per (challenge, listing).")],
    top: Annotated[int, typer.Option(help="Results per challenge.")] = 20,
) -> None:
    """Match the challenges in a file against the listings in another, without a warehouse.

    Example: jiebang match-file --supply corpus.jsonl --challenges needs.jsonl --top 10 --out results.jsonl
    """
    from jiebang.evaluate import match_file

    console.print(f"{match_file(supply, challenges, top, out)} 行已写入 {out}", markup=False)


@app.command("eval")
@_one_line_errors
def eval_command(
    data_dir: Annotated[
        Path, typer.Option(help="The labelled sets (dev_challenges, kp_known_item, market_dev) and their corpora.")
    ] = Path("../shared/data/eval"),
    supply: Annotated[Path | None, typer.Option(help="One set instead: supply JSON lines.")] = None,
    challenges: Annotated[Path | None, typer.Option(help="One set instead: challenges JSON lines.")] = None,
    qrels: Annotated[
        Path | None, typer.Option(help="One set instead: qrels TSV (challenge_id, listing_id, grade).")
    ] = None,
    judgments: Annotated[
        Path | None,
        typer.Option(help="One set instead: every judged pair, 0s included (TSV with header or JSON lines)."),
    ] = None,
    extra_judgments: Annotated[
        Path | None,
        typer.Option(
            help="Our own judgments (TSV like judgments.tsv) of unjudged pairs: an extra, unofficial row per system."
        ),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the figures as JSON.")] = None,
) -> None:
    """Measure the engine and two baselines (character-bigram BM25, word BM25) on the labelled sets.

    Example: jiebang eval --data-dir ../shared/data/eval --json var/eval.json
    """
    from rich.table import Table

    from jiebang import evaluate
    from jiebang.evaluate import COLUMNS, EvalSet, run_eval, standard_sets
    from jiebang.files import write_output

    one_set = (supply, challenges, qrels)
    if any(p is not None for p in (*one_set, judgments)):
        if supply is None or challenges is None or qrels is None:
            raise JiebangError(
                "--supply, --challenges and --qrels go together (one set); or none of them (the three sets)"
            )
        sets = [
            EvalSet(challenges.parent.name or challenges.stem, supply, challenges, qrels, judgments, extra_judgments)
        ]
        systems = evaluate.SYSTEMS  # one set: the shipped model, in sample on the sets it was fitted on
    else:
        sets = standard_sets(data_dir, extra_judgments)  # extra judgments are of market_dev
        systems = {**evaluate.SYSTEMS, "engine": evaluate.out_of_fold_engine(data_dir)}
    report = run_eval(sets, systems)
    table = Table(*COLUMNS)
    for row, after in zip(report.rows, [*report.rows[1:], None], strict=True):
        table.add_row(
            *row.cells(),
            end_section=after is not None and (after.set_name, after.official) != (row.set_name, row.official),
        )
    # Never squeeze the figures into wrapped cells: the table is as wide as it needs (a narrow terminal wraps).
    Console(soft_wrap=True, width=max(console.width, 180)).print(table)
    console.print(
        "Averages over the challenges with something relevant (grade ≥ 1). unjudged@10: top-10 results nobody "
        "judged, counted as 0 (— : the qrels are complete). AUC: the system's score, relevant vs judged "
        "non-relevant among its top 10 (— : no score). hopeless flagged: challenges with nothing relevant "
        'flagged "no good match"; others flagged: the rest, flagged wrongly (— : the system has no flag).'
    )
    if any(not row.official for row in report.rows):
        console.print(
            "+ own (unofficial): measured against the shared judgments ∪ --extra-judgments (a pair the shared "
            "file judges keeps its grade); the official figures are the rows above it."
        )
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        write_output(json_out, json.dumps(report.as_json(), ensure_ascii=False, indent=1) + "\n")
        console.print(f"已写入 {json_out}", markup=False)


@app.command()
@_one_line_errors
def bench(
    n: Annotated[list[int], typer.Option("--n", help="Corpus sizes (repeat the option).")] = [100_000, 1_000_000],  # noqa: B006
    q: Annotated[int, typer.Option("--q", help="Challenges to match.")] = 1_000,
    real: Annotated[Path, typer.Option(help="The real records to recombine.")] = Path("../shared/data/real"),
    workdir: Annotated[Path, typer.Option(help="Where indexes are built.")] = Path("var/bench"),
    compare: Annotated[bool, typer.Option(help="Also time bm25s alone, Tantivy, DuckDB SQL, rapidfuzz.")] = True,
    backend: Annotated[
        str | None, typer.Option(help="Nightly bm25s backend: numba or numpy (default: match_backend).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Speed and memory of matching at N listings and Q challenges (figures, not pass/fail),
    on the production path: the nightly's matching, and what a firm waits for after posting.

    Example: jiebang bench --n 100000 --q 1000
    """
    # The benchmark is a dev tool: imported here only, so that no other command loads it.
    from devtools.bench import run_bench
    from devtools.bench_report import render

    backend = backend or _settings(config).match_backend
    for size in n:
        figures = run_bench(size, q, workdir, real, compare=compare, backend=backend)
        console.print(render(figures))
        (Path(workdir) / f"n{size}.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")


@app.command()
@_one_line_errors
def labels(
    out: Annotated[Path, typer.Option(help="Qrels TSV to write: challenge_id, listing_id, grade.")],
    config: ConfigOption = None,
) -> None:
    """Export brokers' decisions as graded judgments (rejected 0, shortlisted 1, contacted or
    further 2), ready for `jiebang eval --qrels`.

    Example: jiebang labels --out var/broker_qrels.tsv
    """
    from jiebang.files import write_output
    from jiebang.pipeline import open_warehouse
    from warehouse.queries import labelled_pairs

    settings = _settings(config)
    rows = labelled_pairs(open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds))
    write_output(out, "".join(f"{r['challenge_id']}\t{r['listing_id']}\t{r['grade']}\n" for r in rows))
    console.print(f"{len(rows)} 条标注已写入 {out}", markup=False)


@app.command()
@_one_line_errors
def train(
    data_dir: Annotated[Path, typer.Option(help="The labelled sets (eval README).")] = Path("../shared/data/eval"),
    out: Annotated[Path, typer.Option(help="The model file to write.")] = Path("matching/models/ranker-v1.json"),
    extra_qrels: Annotated[
        Path | None, typer.Option(help="Our own market_dev judgments (TSV) added to the shared ones.")
    ] = None,
    broker_decisions: Annotated[
        bool, typer.Option(help="Also learn from the brokers' decisions in the configured warehouse.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Refit the ranking model on the labelled sets (cross-validated by need) and write it.

    Example: jiebang train --data-dir ../shared/data/eval --broker-decisions
    """
    from jiebang.pipeline import open_warehouse
    from jiebang.training import train as fit

    if not (data_dir / "market_dev" / "qrels.tsv").exists():
        raise JiebangError(f"{data_dir}: 没有找到评测数据 (no labelled sets there: market_dev/qrels.tsv missing)")
    warehouse = None
    if broker_decisions:
        settings = _settings(config)
        warehouse = open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    figures = fit(data_dir, out, extra_qrels, warehouse)
    console.print(json.dumps(figures, ensure_ascii=False, indent=1), markup=False)


@app.command("train-industry")
@_one_line_errors
def train_industry(
    data: Annotated[Path, typer.Option(help="Labelled achievements (JSON lines with field 类别-子类).")] = Path(
        "../shared/data/real/zj_market/achievements.jsonl"
    ),
    out: Annotated[Path, typer.Option(help="The model file to write.")] = Path("matching/models/industry-v1.json"),
    cv: Annotated[bool, typer.Option(help="Also print the 5-fold cross-validated accuracy.")] = False,
) -> None:
    """Refit the industry classifier (matching.industry) on the market's achievements and write it.

    Example: jiebang train-industry --cv
    """
    from matching import industry

    if not data.exists():
        raise JiebangError(f"{data}: 没有找到成果数据 (no labelled achievements there)")
    records = industry.read_records(data.read_text(encoding="utf-8").splitlines())
    model = industry.train(records)
    out.write_text(industry.dumps(model), encoding="utf-8")
    console.print(f"{len(model['rows'])} 个特征词, {model['trained_on']['records']} 条成果 → {out}", markup=False)
    if cv:
        console.print(json.dumps(industry.cross_validate(records), ensure_ascii=False, indent=1), markup=False)


@app.command()
@_one_line_errors
def reindex(config: ConfigOption = None) -> None:
    """Rebuild the matching index from the warehouse's active listings (the nightly run rebuilds
    a corrupt index itself; run this when it says it could not, after fixing the cause).

    Example: jiebang reindex
    """
    from jiebang.pipeline import open_warehouse, rebuild_index

    settings = _settings(config)
    warehouse = open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)
    index = rebuild_index(warehouse, settings.index_dir, segment_size=settings.index_segment_size)
    console.print(f"匹配索引已重建 (index rebuilt): {len(index)} 条成果 → {settings.index_dir}", markup=False)


@app.command()
@_one_line_errors
def dedup(
    config: ConfigOption = None,
    full: Annotated[bool, typer.Option(help="重新训练模型并重新关联全部成果 (retrain and relink all)")] = False,
) -> None:
    """Link listings of one technology into clusters (one card per technology): new and changed
    listings since the last run, or all with --full. The nightly refresh runs it too.

    Example: jiebang dedup --full
    """
    from jiebang import dedup as dedup_
    from jiebang.pipeline import open_warehouse

    settings = _settings(config)
    stats = dedup_.run(open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds), full=full)
    console.print(json.dumps(stats, ensure_ascii=False), markup=False)


@user_app.command("add")
@_one_line_errors
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | broker | firm | solver")],
    firm: Annotated[str | None, typer.Option(help="The firm a firm user belongs to.")] = None,
    firm_en: Annotated[
        str | None,
        typer.Option("--firm-en", help="The firm's English name, optional (hidden too on anonymous challenges)."),
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 8 characters, not a common password, not the username (prompted when omitted).",
        ),
    ] = "",
    config: ConfigOption = None,
) -> None:
    """Create or update a local account (argon2-hashed password). Updating one sets a new
    password, which signs its open sessions out.

    Example: jiebang user add wang --role broker --display-name 王经纪
    Example: jiebang user add hq --role firm --firm 嘉善氢途科技有限公司 --firm-en "Hydroway Technology Co., Ltd."
    """
    from jiebang.accounts import add_user
    from jiebang.pipeline import open_warehouse

    settings = _settings(config)
    user = add_user(
        open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds),
        username,
        password,
        role,
        display_name=display_name,
        firm=firm,
        firm_english=firm_en,
        actor="cli",
    )
    console.print(f"账户已保存: {user.username} ({user.role})", markup=False)


def _account_warehouse(config: Path | None):
    from jiebang.pipeline import open_warehouse

    settings = _settings(config)
    return open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)


@user_app.command("disable")
@_one_line_errors
def user_disable(username: str, config: ConfigOption = None) -> None:
    """Disable an account: it cannot sign in, and its open sessions end at their next click.

    Example: jiebang user disable wang
    """
    _set_disabled(username, True, config)


@user_app.command("enable")
@_one_line_errors
def user_enable(username: str, config: ConfigOption = None) -> None:
    """Enable a disabled account again (it signs in anew; old sessions stay ended).

    Example: jiebang user enable wang
    """
    _set_disabled(username, False, config)


def _set_disabled(username: str, disabled: bool, config: Path | None) -> None:
    from jiebang.accounts import set_disabled

    user = set_disabled(_account_warehouse(config), username, disabled)
    console.print(f"账户已{'停用' if disabled else '启用'}: {user.username}", markup=False)


@user_app.command("role")
@_one_line_errors
def user_role(
    username: str,
    role: Annotated[str, typer.Option(help="admin | broker | firm | solver")],
    firm: Annotated[str | None, typer.Option(help="The firm a firm user belongs to.")] = None,
    config: ConfigOption = None,
) -> None:
    """Give an account another role; its open sessions follow at their next click.

    Example: jiebang user role wang --role firm --firm 嘉善某科技有限公司
    """
    from jiebang.accounts import set_role

    user = set_role(_account_warehouse(config), username, role, firm=firm)
    console.print(f"角色已变更: {user.username} ({user.role})", markup=False)


@user_app.command("passwd")
@_one_line_errors
def user_passwd(
    username: str,
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="The new password (prompted)."),
    ] = "",
    config: ConfigOption = None,
) -> None:
    """Reset an account's password (the password policy applies); its open sessions end.

    Example: jiebang user passwd wang
    """
    from jiebang.accounts import reset_password

    user = reset_password(_account_warehouse(config), username, password)
    console.print(f"密码已重置: {user.username}", markup=False)


if __name__ == "__main__":
    app()
