"""The nightly refresh's rules without Prefect (`jiebang.nightly`): a night run in this process
over real warehouse files, real crawls of the replay site and real index folders. What ran is
read from a runner that notes each step it runs; what the night decided, from the warehouse."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from jiebang import nightly, run_report
from jiebang.errors import RefreshRunning
from jiebang.pipeline import open_warehouse
from jiebang.run_lock import refresh_lock
from jiebang.settings import ImportSettings, Settings
from tests.conftest import TODAY
from warehouse import queries, store
from warehouse.gateway import Warehouse

T = TypeVar("T")


class Noting(nightly.InProcess):
    """The in-process runner, noting (how, step name) of every step it is given."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, str]] = []

    def call(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        self.steps.append(("call", step.__name__))
        return super().call(step, *args, **kwargs)

    def submit(self, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> nightly.Done[T]:
        self.steps.append(("submit", step.__name__))
        return super().submit(step, *args, **kwargs)

    def names(self) -> list[str]:
        return [name for _, name in self.steps]


def _sources(settings: Settings, *names: str, down: str | None = None) -> Settings:
    """Only the named sources; `down` points at a port nothing listens on."""
    by_name = {s.name: s for s in settings.sources}
    chosen = [by_name[n] for n in names] + ([replace(by_name[down], base_url="http://127.0.0.1:9")] if down else [])
    return replace(settings, sources=tuple(chosen), crawl_retries=0)


def _stored(wh: Warehouse) -> list[tuple]:
    return [
        tuple(r.values())
        for r in wh.query(
            "SELECT challenge_id, listing_id, rank, round(score, 4) AS s, run_id FROM matches ORDER BY ALL"
        )
    ]


def _run_row(wh: Warehouse, run_id: str) -> dict:
    [row] = wh.query("SELECT status, error, stats FROM runs WHERE run_id = ?", [run_id])
    return row


# --- combining results (pure) ----------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, stats, status, error",
    [
        ("all loaded and matched", {"sources": {"zju": {"loaded": 3}}, "matching": {}}, "completed", None),
        (
            "a failed source and a failed import, in that order",
            {"sources": {"zju": {"error": "CrawlFailed: down"}}, "imports": {"table:/x.csv": {"error": "gone"}}},
            "partial",
            "zju: CrawlFailed: down; table:/x.csv: gone",
        ),
        (
            "no verified index: failed, whatever the sources did",
            {"sources": {"zju": {"error": "CrawlFailed: down"}}, "error": "IndexUnusable: x"},
            "failed",
            "zju: CrawlFailed: down; IndexUnusable: x",
        ),
        ("an endless error is cut", {"sources": {"a": {"error": "e" * 5000}}}, "partial", "a: " + "e" * 1997),
    ],
)
def test_a_nights_status_and_error_come_from_its_stats(description, stats, status, error):
    assert run_report.run_status(stats) == status, description
    assert run_report.run_error(stats) == error, description


@pytest.mark.unit
def test_a_night_reads_as_the_flows_result_and_reports_itself():
    night = nightly.Night("r1", "partial", {"sources": {"zju": {"error": "CrawlFailed: down"}}}, "zju: CrawlFailed")
    assert night.as_dict() == {"run_id": "r1", "status": "partial", "sources": {"zju": {"error": "CrawlFailed: down"}}}
    report = night.report()
    assert report.startswith("# 夜间刷新 run r1: 部分完成 (partial")
    assert "- **zju**: CrawlFailed: down" in report


@pytest.mark.unit
def test_the_in_process_runner_keeps_a_steps_error_for_its_result_and_resolves_outcomes():
    runner = nightly.InProcess()
    failed = runner.submit(int, "not a number")
    with pytest.raises(ValueError, match="not a number"):
        failed.result()
    two = runner.submit(int, "2")
    assert runner.submit(sum, [two, runner.submit(int, "3")]).result() == 5
    assert runner.call(pow, two, 3) == 8


# --- nights on real components ---------------------------------------------------------------------


@pytest.mark.integration
def test_a_good_night_crawls_loads_matches_in_partitions_notifies_and_completes(settings, sample_data):
    settings = replace(
        _sources(settings, "zju", "jiashan_market"), index_segment_size=10, match_partitions=2, match_batch_size=4
    )
    wh = open_warehouse(settings.warehouse_path, 30)
    stale = store.start_run(wh, nightly.FLOW_NAME, pid=999999)  # a killed night's run
    runner = Noting()

    night = nightly.refresh(settings, TODAY, runner)

    assert (night.status, night.error) == ("completed", None)
    assert night.stats["interrupted_runs"] == [stale]
    zju = night.stats["sources"]["zju"]
    assert zju["listings"]["inserted"] == zju["loaded"] == len(sample_data.achievements["zju"])
    assert night.stats["sources"]["jiashan_market"]["challenges"]["inserted"] == len(sample_data.needs)
    open_ids = [c["challenge_id"] for c in queries.open_challenges(wh, TODAY)]
    matching = night.stats["matching"]
    assert matching["challenges"] == len(open_ids) > 0 and matching["listings"] == zju["loaded"]
    assert night.stats["sharding"] == {
        "task_runner": "threads",
        "batches": -(-len(open_ids) // 4),
        "partitions": 2,
    }
    for challenge_id in open_ids:  # every open challenge ranked 1, 2, … by this run
        ranks = wh.query(
            "SELECT rank FROM matches WHERE challenge_id = ? AND run_id = ? ORDER BY rank", [challenge_id, night.run_id]
        )
        assert [r["rank"] for r in ranks] == list(range(1, len(ranks) + 1)) and 0 < len(ranks) <= settings.match_top_k
    digest_file = settings.data_dir / f"digest-{night.run_id}.md"
    assert night.stats["notify"]["file"] == str(digest_file) and digest_file.exists()

    # Crawls are handed to workers, loading and storing stay here; batches fan out per partition.
    batches = night.stats["sharding"]["batches"]
    assert runner.steps[:4] == [("submit", "crawl")] * 2 + [("call", "load")] * 2
    assert runner.steps[4:6] == [("call", "link_entities"), ("call", "prepare_matching")]
    assert night.stats["entities"]["listings"] == zju["loaded"]  # clustered before matching
    one_batch = ["plan_batch", "retrieve_partition", "retrieve_partition", "fuse"]
    one_batch += ["rescore_partition", "rescore_partition", "rank_batch"]
    assert runner.steps[6:-2] == [("submit", name) for name in one_batch * batches]
    assert runner.steps[-2:] == [("call", "store_matches"), ("call", "notify")]

    row = _run_row(wh, night.run_id)
    assert (row["status"], row["error"]) == ("completed", None)
    assert json.loads(row["stats"]) == json.loads(json.dumps(night.stats, default=str))
    assert _run_row(wh, stale)["status"] == "interrupted"
    report = night.report()
    assert f"# 夜间刷新 run {night.run_id}: 完成 (completed)" in report
    assert f"| zju | {zju['pages_fetched']} | {zju['loaded']} | 0 | 0 | 0 |" in report
    assert "- 分片 sharding: " + f"{batches} batches × 2 listing partitions on threads" in report
    assert "- 无 (none)" in report


@pytest.mark.integration
def test_the_demo_technology_listed_by_a_university_and_as_a_patent_is_one_card_after_the_first_night(
    settings, sample_data
):
    """The sample data's one cross-source copy: a 浙江大学 成果 citing its granted patent. The
    first night links the two (a certain link: the cited number) and the challenge on 谐波减速器
    shows one card listing both sources."""
    from jiebang import broker
    from jiebang.accounts import User
    from tests.workspace_data import register
    from warehouse import entity_store

    [(n, patent)] = [
        (a["n"], p["publication_number"])
        for a in sample_data.achievements["zju"]
        for p in sample_data.patents
        if p["publication_number"] in a["summary"]
    ]
    copy = f"zju:/zju/kjcg/detail/{n}.html"
    night = nightly.refresh(_sources(settings, "google_patents", "zju", "jiashan_market"), TODAY, nightly.InProcess())

    assert night.status == "completed"
    wh = open_warehouse(settings.warehouse_path, 30)
    assert entity_store.clusters(wh) == {patent[:-1]: patent[:-1], copy: patent[:-1]}  # one cluster, nothing else
    [me] = register(wh, User("wang", "王经纪", "broker"))
    [need] = wh.query("SELECT challenge_id FROM challenges WHERE title LIKE '%谐波减速器%'")
    cards = broker.match_page(wh, me, need["challenge_id"]).rows
    [card] = [c for c in cards if c["listing_id"] in {patent[:-1], copy}]
    assert {card["source"], *(m["source"] for m in card["other_sources"])} == {"google_patents", "zju"}


@pytest.mark.integration
def test_a_source_that_is_down_makes_the_night_partial_and_the_others_load_match_and_notify(settings, sample_data):
    settings = _sources(settings, "tsinghua", "jiashan_market", down="zju")
    runner = Noting()

    night = nightly.refresh(settings, TODAY, runner)

    assert night.status == "partial"
    assert night.stats["sources"]["zju"]["error"].startswith("CrawlFailed: ")
    assert night.error == "zju: " + night.stats["sources"]["zju"]["error"]
    tsinghua = night.stats["sources"]["tsinghua"]
    assert tsinghua["loaded"] == len(sample_data.achievements["tsinghua"])
    assert night.stats["matching"]["listings"] == tsinghua["loaded"] and night.stats["matching"]["matches"] > 0
    assert runner.names().count("load") == 2  # the source that failed is not loaded; the others are
    assert runner.names()[-2:] == ["store_matches", "notify"]
    wh = Warehouse(settings.warehouse_path, 30)
    row = _run_row(wh, night.run_id)
    assert row["status"] == "partial" and row["error"].startswith("zju: CrawlFailed")
    report = night.report()
    assert "部分完成 (partial" in report and "| zju | – | – | – | – | – | – | ❌ CrawlFailed" in report
    assert "- **zju**: CrawlFailed" in report


@pytest.fixture
def quiet(loaded_warehouse, tmp_path) -> Settings:
    """A loaded warehouse (with stored matches) and a night with nothing to crawl."""
    return Settings(
        warehouse_path=loaded_warehouse.path,
        data_dir=tmp_path / "runs",
        index_dir=tmp_path / "index",
        lock_timeout_seconds=30,
        sources=(),
    )


@pytest.mark.integration
def test_an_unusable_index_fails_the_night_and_replaces_no_stored_match(quiet):
    wh = Warehouse(quiet.warehouse_path, 30)
    before = _stored(wh)
    assert before
    quiet.index_dir.write_text("not an index", encoding="utf-8")  # can be neither read nor rebuilt
    runner = Noting()

    night = nightly.refresh(quiet, TODAY, runner)

    assert night.status == "failed"
    assert night.stats["error"].startswith("IndexUnusable: 匹配索引无法重建")
    assert "is a file, not an index folder" in night.error and "jiebang reindex" in night.error
    assert runner.names() == ["link_entities", "prepare_matching"]  # nothing matched, stored or sent after it
    assert "matching" not in night.stats and "notify" not in night.stats
    assert _stored(wh) == before
    assert not (quiet.data_dir / f"digest-{night.run_id}.md").exists()
    row = _run_row(wh, night.run_id)
    assert row["status"] == "failed" and row["error"] == night.error
    report = night.report()
    assert "失败 (failed)" in report and "- 未运行 (matching did not run)" in report
    assert "- **run**: IndexUnusable" in report


@pytest.mark.integration
def test_an_import_that_fails_makes_the_night_partial_and_matching_still_runs(quiet, tmp_path):
    gone = ImportSettings(format="table", path=tmp_path / "gone.csv", kind="achievement")
    night = nightly.refresh(replace(quiet, imports=(gone,)), TODAY)

    assert night.status == "partial"
    assert night.error is not None and night.error.startswith(f"table:{tmp_path / 'gone.csv'}: ImportRefused")
    assert night.stats["matching"]["challenges"] > 0 and night.stats["matching"]["matches"] > 0
    assert _run_row(Warehouse(quiet.warehouse_path, 30), night.run_id)["status"] == "partial"


@pytest.mark.integration
def test_a_night_whose_steps_break_is_recorded_failed_raised_and_releases_the_lock(quiet):
    def broken(run_id: str) -> dict:
        raise RuntimeError(f"worker lost during {run_id}")

    with pytest.raises(RuntimeError, match="worker lost") as raised:
        nightly.run_night(quiet, TODAY, broken)
    wh = Warehouse(quiet.warehouse_path, 30)
    [row] = wh.query(
        "SELECT run_id, status, error FROM runs WHERE flow = ? ORDER BY started_at DESC LIMIT 1", [nightly.FLOW_NAME]
    )
    assert row["status"] == "failed" and row["error"] == f"RuntimeError: worker lost during {row['run_id']}"
    assert str(raised.value).endswith(row["run_id"])

    with refresh_lock(quiet.warehouse_path):  # released; and while one holds it, no night starts
        with pytest.raises(RefreshRunning):
            nightly.refresh(quiet, TODAY)
    assert wh.query("SELECT count(*) AS n FROM runs WHERE flow = ?", [nightly.FLOW_NAME])[0]["n"] == 1
