"""Failure and rerun semantics of the nightly refresh: one refresh at a time, kill -9 at any
point leaves a consistent warehouse that a rerun completes, the run report, the digest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jiebang import digest, run_report
from jiebang.display import beijing_today
from jiebang.errors import ConfigError, RefreshRunning
from jiebang.pipeline import open_warehouse
from jiebang.run_lock import lock_path, refresh_lock
from jiebang.settings import Settings
from tests.conftest import ROOT
from tests.processes import query_or_none, wait_for
from warehouse import queries, store
from warehouse.gateway import Warehouse

# --- the run report (pure) -------------------------------------------------------------------

SOURCE_OK = {
    "pages_fetched": 12,
    "loaded": 10,
    "quarantined": 1,
    "blocked": 0,
    "skipped_unchanged": 3,
    "duration_seconds": 2.345,
}
MATCHING = {"challenges": 5, "listings": 40, "matches": 50, "new": 20, "updated": 30, "no_good_match": ["m:/1"]}


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, status, stats, expected",
    [
        (
            "a source row with its figures",
            "completed",
            {"sources": {"zju": SOURCE_OK}, "matching": MATCHING},
            ["| zju | 12 | 10 | 1 | 0 | 3 | 2.3 | |", "完成 (completed)"],
        ),
        (
            "matching: new and updated, the weak ones named",
            "completed",
            {"sources": {}, "matching": MATCHING},
            ["(新 new 20, 更新 updated 30)", "无合适匹配 no good match: 1 (m:/1)", "- 无 (none)"],
        ),
        (
            "a failed source is named with its error",
            "partial",
            {
                "sources": {"zju": {"error": "CrawlFailed: connection refused"}, "fudan": SOURCE_OK},
                "matching": MATCHING,
            },
            [
                "| zju | – | – | – | – | – | – | ❌ CrawlFailed: connection refused |",
                "- **zju**: CrawlFailed: connection refused",
                "部分完成 (partial",
                "| **合计 total** | 12 | 10 | 1 | 0 | 3 |",
            ],
        ),
        ("matching did not run", "failed", {"sources": {}}, ["未运行 (matching did not run)"]),
        (
            "how matching was sharded",
            "completed",
            {"sources": {}, "matching": MATCHING, "sharding": {"task_runner": "dask", "batches": 3, "partitions": 2}},
            ["- 分片 sharding: 3 batches × 2 listing partitions on dask"],
        ),
        (
            "a pipe in an error does not break the table",
            "partial",
            {"sources": {"a": {"error": "x|y"}}},
            ["❌ x\\|y |"],
        ),
    ],
)
def test_report_markdown(description, status, stats, expected):
    markdown = run_report.report_markdown("run-1", status, stats)
    assert markdown.startswith("# 夜间刷新 run run-1")
    for fragment in expected:
        assert fragment in markdown, description


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, sources, expected",
    [
        ("all loaded", {"a": SOURCE_OK}, "completed"),
        ("one failed", {"a": SOURCE_OK, "b": {"error": "down"}}, "partial"),
        ("no sources", {}, "completed"),
    ],
)
def test_run_status(description, sources, expected):
    assert run_report.run_status({"sources": sources}) == expected, description


# --- runs: partial, interrupted ----------------------------------------------------------------


@pytest.mark.integration
def test_runs_record_partial_and_stale_running_runs_become_interrupted(warehouse):
    done = store.start_run(warehouse, "nightly-refresh", pid=os.getpid())
    store.finish_run(warehouse, done, {"sources": {}}, error="zju: down", status="partial")
    stale = store.start_run(warehouse, "nightly-refresh", pid=999999)
    other_flow = store.start_run(warehouse, "rebuild-index")

    assert store.mark_interrupted(warehouse, "nightly-refresh") == [stale]

    status = {r["run_id"]: r for r in warehouse.query("SELECT * FROM runs")}
    assert status[done]["status"] == "partial" and status[done]["error"] == "zju: down"
    assert status[stale]["status"] == "interrupted" and status[stale]["finished_at"] is not None
    assert status[other_flow]["status"] == "running"
    with pytest.raises(ValueError, match="unknown run status"):
        store.finish_run(warehouse, done, {}, status="fine")


# --- one refresh at a time --------------------------------------------------------------------

_HOLD_LOCK = """
import sys
from pathlib import Path
from jiebang.run_lock import refresh_lock
with refresh_lock(Path(sys.argv[1])) as lock:
    lock.note_run("holder-run-1")
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.mark.system
def test_a_second_refresh_is_refused_while_one_holds_the_lock(prefect_harness, flow_env):  # noqa: F811
    from flows.nightly import nightly_refresh

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(flow_env.warehouse_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RefreshRunning) as refused:
            nightly_refresh(today=date(2026, 11, 26))
        message = str(refused.value)
        assert "\n" not in message
        assert str(flow_env.warehouse_path) in message
        assert f"pid {holder.pid}" in message and "run holder-run-1" in message and "since 20" in message
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert lock_path(flow_env.warehouse_path) == flow_env.warehouse_path.with_name("jiebang.duckdb.refresh.lock")

    result = nightly_refresh(today=date(2026, 11, 26))  # released: the refresh runs
    assert result["status"] == "completed"


@pytest.mark.integration
def test_the_lock_is_released_when_the_block_ends_or_fails(tmp_path):
    path = tmp_path / "w.duckdb"
    with pytest.raises(KeyError):
        with refresh_lock(path):
            raise KeyError("boom")
    with refresh_lock(path) as lock:
        lock.note_run("r2")
        with pytest.raises(RefreshRunning, match="run r2"):
            with refresh_lock(path):
                pass


# --- kill -9 at several points, then rerun ------------------------------------------------------


def _running_run(path: Path, known: set[str]) -> str | None:
    rows = query_or_none(path, "SELECT run_id FROM runs WHERE status = 'running'")
    fresh = [r["run_id"] for r in rows or () if r["run_id"] not in known]
    return fresh[0] if fresh else None


@pytest.fixture
def refresh_env(prefect_harness, settings):
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "JIEBANG_WAREHOUSE_PATH": str(settings.warehouse_path),
        "JIEBANG_DATA_DIR": str(settings.data_dir),
        "JIEBANG_INDEX_DIR": str(settings.index_dir),
        "JIEBANG_SOURCE_BASE_URL": settings.sources[0].base_url,
        "JIEBANG_LOCK_TIMEOUT_SECONDS": "60",
        "PREFECT_API_URL": PREFECT_API_URL.value(),
    }
    env.pop("JIEBANG_CONFIG", None)
    return settings, env


def _start_refresh(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jiebang.cli", "refresh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # the flow process and its crawler subprocesses
    process.wait(timeout=30)


def _refresh_to_completion(env: dict) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jiebang.cli", "refresh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _assert_consistent(settings: Settings, sample_data) -> str:
    wh = open_warehouse(settings.warehouse_path, 30)  # opens and migrates
    counts = queries.table_counts(wh)
    assert counts["listings"] == len(sample_data.patents) + sum(map(len, sample_data.achievements.values()))
    assert counts["challenges"] == len(sample_data.needs)
    dupes = wh.query(
        "SELECT publication_number FROM listings WHERE publication_number IS NOT NULL GROUP BY 1 HAVING count(*) > 1"
    )
    assert dupes == []
    final = queries.latest_run(wh)
    assert final["status"] == "completed"
    for challenge in queries.open_challenges(wh, beijing_today()):
        ranks = [
            r["rank"]
            for r in wh.query(
                "SELECT rank FROM matches WHERE challenge_id = ? AND run_id = ? ORDER BY rank",
                [challenge["challenge_id"], final["run_id"]],
            )
        ]
        # The demo's one technology listed by two sources is one card: a challenge that retrieved
        # both copies has one card fewer than top k (jiebang.dedup.one_per_cluster).
        assert ranks == list(range(1, len(ranks) + 1)), challenge["challenge_id"]
        assert settings.match_top_k - 1 <= len(ranks) <= settings.match_top_k, challenge["challenge_id"]
    return final["run_id"]


@pytest.mark.system
def test_a_refresh_killed_at_any_point_leaves_a_consistent_warehouse_and_a_rerun_completes(refresh_env, sample_data):
    settings, env = refresh_env
    path = settings.warehouse_path
    killed: list[str] = []

    def kill_when(condition, what: str) -> None:
        process = _start_refresh(env)
        try:
            started: list[str] = []

            def run_started() -> bool:
                started.extend(filter(None, [_running_run(path, set(killed))]))
                return bool(started)

            wait_for(run_started, f"{what}: the run to start", process=process)
            run_id = started[0]
            wait_for(lambda: condition(run_id), what, process=process)
        finally:
            _kill(process)
        killed.append(run_id)

    def crawling(run_id):
        return any((settings.data_dir / run_id).glob("*.jsonl"))

    def loading(run_id):
        rows = query_or_none(path, "SELECT count(*) AS n FROM listings")
        return bool(rows and rows[0]["n"] > 0)

    def matching(run_id):
        return (settings.index_dir / "manifest.json").exists()

    def crawled_everything(run_id):
        return len(list((settings.data_dir / run_id).glob("*.stats.json"))) == len(settings.sources)

    kill_when(crawling, "crawling")
    kill_when(loading, "loading")
    kill_when(matching, "matching")
    _refresh_to_completion(env)
    first = _assert_consistent(settings, sample_data)

    wh = Warehouse(path, 30)
    challenge_id = queries.open_challenges(wh, beijing_today())[0]["challenge_id"]
    top, second = queries.matches_for_challenge(wh, challenge_id, limit=2)
    store.record_review(
        wh, challenge_id=challenge_id, listing_id=top["listing_id"], decision="shortlist", reviewer="wang"
    )
    store.record_review(
        wh,
        challenge_id=challenge_id,
        listing_id=second["listing_id"],
        decision="reject",
        reviewer="wang",
        reason="技术不对口",
    )
    reviews = wh.query("SELECT * FROM reviews ORDER BY review_id")

    kill_when(crawled_everything, "loading and matching again")
    _refresh_to_completion(env)
    last = _assert_consistent(settings, sample_data)

    assert wh.query("SELECT * FROM reviews ORDER BY review_id") == reviews
    proposed = {m["listing_id"]: m for m in queries.matches_for_challenge(wh, challenge_id, limit=100)}
    assert proposed[top["listing_id"]]["decision"] == "shortlist"
    assert second["listing_id"] not in proposed
    runs = {r["run_id"]: r["status"] for r in wh.query("SELECT run_id, status FROM runs")}
    assert {runs[r] for r in killed} == {"interrupted"}
    assert runs[first] == runs[last] == "completed" and len(runs) == len(killed) + 2


# --- the digest ---------------------------------------------------------------------------------


def _row(challenge, listing, score, brokers=()):
    return {
        "challenge_id": challenge,
        "number": "XQ2026-0007",
        "challenge_title": f"需求{challenge}",
        "listing_id": listing,
        "kind": "patent",
        "publication_number": f"CN{listing}B",
        "listing_title": f"成果{listing}",
        "score": score,
        "rank": 1,
        "brokers": list(brokers),
    }


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, rows, brokers, expected",
    [
        (
            "followed challenges go to their followers only",
            [_row("c1", "L1", 80, ["wang"]), _row("c2", "L2", 70)],
            ["li", "wang"],
            {"li": ["c2"], "wang": ["c1", "c2"]},
        ),
        (
            "nobody follows, no broker accounts: one digest for all",
            [_row("c1", "L1", 80)],
            [],
            {digest.EVERYONE: ["c1"]},
        ),
        ("no new matches: no sections", [], ["wang"], {}),
    ],
)
def test_per_broker(description, rows, brokers, expected):
    got = {b: [r["challenge_id"] for r in rs] for b, rs in digest.per_broker(rows, brokers).items()}
    assert got == expected, description


@pytest.mark.unit
def test_digest_markdown_and_wecom_payload():
    text = digest.digest_markdown("r1", 60, {"wang": [_row("c1", "L1", 81.26)]})
    assert "## wang (1)" in text and "- XQ2026-0007 需求c1 ← 成果L1 (CNL1B), 分数 81.3" in text and "分数 ≥ 60" in text
    assert "没有新的高分匹配" in digest.digest_markdown("r1", 60, {})
    long = digest.wecom_payload("长" * 3000)
    assert long["msgtype"] == "markdown"
    assert len(long["markdown"]["content"].encode("utf-8")) <= digest.WECOM_MAX_BYTES
    assert long["markdown"]["content"].endswith("full digest in the file)")


@pytest.mark.unit
def test_email_message_building():
    settings = Settings(digest_smtp_host="mail.example", digest_smtp_to="a@x.cn, b@x.cn", digest_smtp_from="j@x.cn")
    message = digest.email_message(settings, "揭榜 新匹配", "正文")
    assert message["To"] == "a@x.cn, b@x.cn" and message["From"] == "j@x.cn" and message["Subject"] == "揭榜 新匹配"
    assert message.get_content().strip() == "正文"


@pytest.mark.unit
def test_smtp_password_only_from_the_environment(tmp_path):
    config = tmp_path / "j.toml"
    config.write_text('digest_smtp_password = "s3cret"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="only in the environment"):
        Settings.load({}, config)
    settings = Settings.load({"JIEBANG_DIGEST_SMTP_PASSWORD": "s3cret", "JIEBANG_DIGEST_MIN_SCORE": "75"})
    assert settings.digest_smtp_password == "s3cret" and settings.digest_min_score == 75.0
    assert "s3cret" not in repr(settings)


class _Recorder(BaseHTTPRequestHandler):
    posts: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"errcode":0,"errmsg":"ok"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Recorder.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=test", _Recorder.posts
    server.shutdown()
    server.server_close()


def _fixture_run(wh: Warehouse) -> str:
    return wh.query("SELECT run_id FROM runs WHERE flow = 'fixture'")[0]["run_id"]


@pytest.mark.integration
def test_notify_writes_the_digest_and_posts_it_to_the_webhook(loaded_warehouse, tmp_path, webhook):
    url, posts = webhook
    run_id = _fixture_run(loaded_warehouse)
    settings = Settings(data_dir=tmp_path / "runs", digest_min_score=50, digest_webhook_url=url)

    result = digest.notify(loaded_warehouse, settings, run_id)

    expected = queries.new_matches_above(loaded_warehouse, run_id, 50)
    assert result["matches"] == len(expected) > 0 and all(r["score"] >= 50 for r in expected)
    assert result["sent"] == ["webhook"] and result["errors"] == {}
    text = Path(result["file"]).read_text(encoding="utf-8")
    assert Path(result["file"]).name == f"digest-{run_id}.md" and expected[0]["listing_title"] in text
    assert len(posts) == 1
    path, content_type, payload = posts[0]
    assert path == "/cgi-bin/webhook/send?key=test" and content_type.startswith("application/json")
    assert payload["msgtype"] == "markdown" and payload["markdown"]["content"].startswith("# 新匹配摘要")


@pytest.mark.integration
def test_notify_without_configuration_sends_nothing_and_a_dead_webhook_is_reported(loaded_warehouse, tmp_path):
    run_id = _fixture_run(loaded_warehouse)
    quiet = digest.notify(loaded_warehouse, Settings(data_dir=tmp_path), run_id)
    assert quiet["sent"] == [] and quiet["errors"] == {} and Path(quiet["file"]).exists()
    high = digest.notify(loaded_warehouse, Settings(data_dir=tmp_path, digest_min_score=101), run_id)
    assert high["matches"] == 0 and "没有新的高分匹配" in Path(high["file"]).read_text(encoding="utf-8")
    dead = digest.notify(
        loaded_warehouse,
        Settings(data_dir=tmp_path, digest_webhook_url="http://127.0.0.1:9/x", digest_min_score=0),
        run_id,
    )
    assert dead["sent"] == [] and "webhook" in dead["errors"]


@pytest.mark.system
def test_jiebang_refresh_names_a_failed_import_in_one_line_and_exits_0(refresh_env, tmp_path):
    settings, env = refresh_env
    config = tmp_path / "jiebang.toml"
    config.write_text('[[imports]]\nformat = "table"\npath = "gone.csv"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "jiebang.cli", "refresh"],
        cwd=ROOT,
        text=True,
        timeout=600,
        env={**env, "JIEBANG_CONFIG": str(config)},
        capture_output=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    failed = [line for line in done.stdout.splitlines() if "retried next run" in line]
    assert len(failed) == 1 and f"table:{tmp_path / 'gone.csv'}" in failed[0] and "ImportRefused" in failed[0]
    assert queries.latest_run(Warehouse(settings.warehouse_path))["status"] == "partial"


@pytest.mark.unit
def test_a_crawled_title_in_the_digest_is_never_markup():
    # The digest is a WeCom markdown message: a title must not become a link, an image or a heading.
    row = {
        **_row("c1", "L1", 81.0),
        "challenge_title": "需求[点我](http://evil.example/a)\n# 标题",
        "listing_title": "成果![](http://remote.example/img.png)<font color=red>*x*</font>",
    }
    text = digest.digest_markdown("r1", 60, {"wang": [row]})
    line = next(t for t in text.splitlines() if t.startswith("- "))
    assert line == (
        "- XQ2026-0007 需求［点我］(http://evil.example/a) # 标题 ← 成果!［］(http://remote.example/img.png)"
        "＜font color=red＞＊x＊＜/font＞ (CNL1B), 分数 81.0"
    )
    assert not any(t.startswith("# 标题") for t in text.splitlines())
