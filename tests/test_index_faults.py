"""Fault injection on the on-disk matching index: each corruption ends in a rebuild or in one
line saying what to run, and never in stored proposals replaced by an empty (or any wrong) result.

The matching steps of the nightly flow (prepare → batches → store) run here in-process on a
warehouse with stored matches; one real Prefect nightly run and `jiebang refresh` in a
subprocess close the loop (system lane)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from jiebang import matching_run
from jiebang.cli import app
from jiebang.errors import IndexUnusable
from matching.errors import IndexCorrupt
from matching.index import ListingIndex
from tests.conftest import ROOT, TODAY
from warehouse.gateway import Warehouse

SEGMENT = "segment-0000"


def _nightly_matching(wh: Warehouse, index_dir: Path, run_id: str) -> dict:
    """The nightly's matching steps as flows/nightly.py runs them, in this process."""
    plan = matching_run.prepare(wh, index_dir, today=TODAY, top_k=10)
    batches = matching_run.challenge_batches(plan.challenges, 50)
    matches = matching_run.merge_batches(matching_run.match_batch(plan, batch) for batch in batches)
    return matching_run.store_matches(wh, run_id, plan, matches)


def _stored(wh: Warehouse) -> list[tuple]:
    return [
        tuple(r.values())
        for r in wh.query("SELECT challenge_id, listing_id, rank, round(score, 4) AS score FROM matches ORDER BY ALL")
    ]


def _active(wh: Warehouse) -> int:
    return wh.query("SELECT count(*) AS n FROM listings WHERE active")[0]["n"]


# --- the corruptions: each changes a valid saved index in place ---------------------------------


def _manifest(index_dir: Path, **changes) -> None:
    path = index_dir / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **changes}), encoding="utf-8")


def garbage_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_bytes(b"\x00\xff{segments: lots")


def empty_manifest(index_dir: Path) -> None:
    (index_dir / "manifest.json").write_bytes(b"")


def missing_segment_file(index_dir: Path) -> None:
    (index_dir / SEGMENT / "words.data.npy").unlink()


def truncated_array_file(index_dir: Path) -> None:
    path = index_dir / SEGMENT / "records.data.npy"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def array_of_another_length(index_dir: Path) -> None:  # a valid .npy, one offset short
    path = index_dir / SEGMENT / "shown.offsets.npy"
    np.save(path, np.load(path)[:-1])


def zeroed_alive_mask(index_dir: Path) -> None:  # the case: a valid file, 0 listings live
    path = index_dir / f"{SEGMENT}.alive.npy"
    np.save(path, np.zeros_like(np.load(path)))


def one_listing_masked(index_dir: Path) -> None:  # live count ≠ active listings
    path = index_dir / f"{SEGMENT}.alive.npy"
    alive = np.load(path)
    alive[len(alive) // 2] = 0.0
    np.save(path, alive)


def watermark_in_the_future(index_dir: Path) -> None:
    _manifest(index_dir, watermark="2999-01-01T00:00:00")


def segment_of_another_format(index_dir: Path) -> None:  # bigram terms as strings, as of old
    path = index_dir / SEGMENT / "bigrams.terms.npy"
    keys = np.load(path)
    np.save(path, np.array([chr(int(k) >> 21) + chr(int(k) & 0x1FFFFF) for k in keys]))


def unreadable_segment_file(index_dir: Path) -> None:  # as root no chmod denies a read: a folder in its place
    path = index_dir / SEGMENT / "ids.json"
    path.unlink()
    path.mkdir()


def index_path_is_a_file(index_dir: Path) -> None:
    shutil.rmtree(index_dir)
    index_dir.write_text("not an index", encoding="utf-8")


REBUILT = "rebuilt"
REFUSED = "refused"
# corruption, what ends it, a word the reason names
CORRUPTIONS: list[tuple[Callable[[Path], None], str, str]] = [
    (garbage_manifest, REBUILT, "manifest.json"),
    (empty_manifest, REBUILT, "manifest.json"),
    (missing_segment_file, REBUILT, "words.data.npy"),
    (truncated_array_file, REBUILT, SEGMENT),
    (array_of_another_length, REBUILT, "shown.offsets"),
    (zeroed_alive_mask, REBUILT, "索引有 0 条在用成果"),
    (one_listing_masked, REBUILT, "index live listings ≠ active listings"),
    (watermark_in_the_future, REBUILT, "watermark in the future"),
    (segment_of_another_format, REBUILT, "bigrams.terms"),
    (unreadable_segment_file, REBUILT, "ids.json"),
    (index_path_is_a_file, REFUSED, "is a file, not an index folder"),
]


@pytest.fixture(scope="module")
def matched(loaded_warehouse_file, tmp_path_factory) -> tuple[Path, list[tuple]]:
    """A warehouse whose open challenges were matched by the nightly's steps over a saved index."""
    folder = tmp_path_factory.mktemp("matched")
    shutil.copy(loaded_warehouse_file, folder / "w.duckdb")
    wh = Warehouse(folder / "w.duckdb", 30)
    stats = _nightly_matching(wh, folder / "index", "baseline")
    assert stats["listings"] == _active(wh) > 0 and stats["matches"] > 0 and "index_rebuilt" not in stats
    return folder, _stored(wh)


def _copy(matched, tmp_path: Path) -> tuple[Warehouse, Path]:
    folder, _ = matched
    shutil.copy(folder / "w.duckdb", tmp_path / "w.duckdb")
    shutil.copytree(folder / "index", tmp_path / "index")
    return Warehouse(tmp_path / "w.duckdb", 30), tmp_path / "index"


@pytest.mark.integration
@pytest.mark.parametrize("corrupt, outcome, reason", CORRUPTIONS, ids=[c[0].__name__ for c in CORRUPTIONS])
def test_a_corrupt_index_is_rebuilt_or_refused_and_stored_matches_survive(matched, tmp_path, corrupt, outcome, reason):
    wh, index_dir = _copy(matched, tmp_path)
    _, before = matched
    corrupt(index_dir)
    if outcome == REBUILT:
        stats = _nightly_matching(wh, index_dir, "after-corruption")
        assert stats["listings"] == _active(wh)  # never "completed" against 0 (or too few) listings
        assert _stored(wh) == before
        assert reason in stats.get("index_rebuilt", "")
        assert len(ListingIndex.load(index_dir)) == _active(wh)
    else:
        with pytest.raises(IndexUnusable) as refused:
            _nightly_matching(wh, index_dir, "after-corruption")
        message = str(refused.value)
        assert "\n" not in message and reason in message and "jiebang reindex" in message
        assert index_dir.read_text(encoding="utf-8") == "not an index"  # someone's file: never removed
    # Recomputed from a rebuilt index, or untouched: the same proposals as before, row for row.
    assert _stored(wh) == before


@pytest.mark.integration
@pytest.mark.parametrize("corrupt", [zeroed_alive_mask, garbage_manifest], ids=lambda c: c.__name__)
def test_a_page_matching_one_challenge_refuses_a_corrupt_index_and_keeps_its_matches(matched, tmp_path, corrupt):
    from jiebang.matching_run import match_one_challenge

    wh, index_dir = _copy(matched, tmp_path)
    challenge_id = wh.query("SELECT challenge_id FROM matches ORDER BY challenge_id LIMIT 1")[0]["challenge_id"]
    _, before = matched
    corrupt(index_dir)
    with pytest.raises(IndexUnusable, match="下次夜间运行会重建它，或现在运行 jiebang reindex"):
        match_one_challenge(wh, challenge_id, today=TODAY, top_k=10, index_dir=index_dir)
    assert _stored(wh) == before


@pytest.mark.unit
@pytest.mark.parametrize(
    "corrupt",
    [c for c, outcome, _ in CORRUPTIONS if c not in (zeroed_alive_mask, one_listing_masked, watermark_in_the_future)],
    ids=lambda c: c.__name__,
)
def test_loading_a_damaged_index_names_the_damage(tmp_path, corrupt):
    from matching.engine import Listing, build_index

    index = build_index([Listing("A", "锂电池隔膜涂覆"), Listing("B", "光伏组件清洗机器人")])
    index.watermark = "2026-01-01T00:00:00"
    index.save(tmp_path / "index")
    corrupt(tmp_path / "index")
    with pytest.raises(IndexCorrupt) as damaged:
        ListingIndex.open(tmp_path / "index")
    assert "\n" not in str(damaged.value) and str(tmp_path / "index") in str(damaged.value)


# --- a page and the index writer: a snapshot needs no lock, a rewrite is waited for a bounded time ---


@contextmanager
def writer_lock_held(index_dir: Path) -> Iterator[None]:
    """The index writer lock held by another process, as the nightly holds it while it refreshes
    or rebuilds the index (minutes at a million listings)."""
    lock = index_dir.with_name(index_dir.name + ".lock")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('held', flush=True); time.sleep(600)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def _finished_within(seconds: float, call: Callable[[], object]) -> object:
    """The call's result, or an assertion error when it has not returned after `seconds` (a
    hang, not a slow run: the bound is generous)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = call()
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting after {seconds} s (on the index writer lock?)"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["result"]


@pytest.mark.integration
def test_a_page_matches_against_the_saved_index_while_another_process_holds_the_writer_lock(matched, tmp_path):
    from jiebang.matching_run import match_one_challenge

    wh, index_dir = _copy(matched, tmp_path)
    _, before = matched
    challenge_id = wh.query("SELECT challenge_id FROM matches ORDER BY challenge_id LIMIT 1")[0]["challenge_id"]
    with writer_lock_held(index_dir):  # the index is current: its snapshot is read without the lock
        outcome = _finished_within(
            120,
            lambda: match_one_challenge(wh, challenge_id, today=TODAY, top_k=10, index_dir=index_dir, wait_seconds=1),
        )
    assert outcome["listings"] == _active(wh) and outcome["matches"] == 10  # type: ignore[index]
    assert _stored(wh) == before  # the same proposals as the nightly's pass, row for row


@pytest.mark.integration
@pytest.mark.parametrize("rewrite", ["rebuilding", "refreshing"])
def test_a_page_waits_for_an_index_being_rewritten_only_a_bounded_time_and_says_so(matched, tmp_path, rewrite):
    from jiebang.matching_run import match_one_challenge

    wh, index_dir = _copy(matched, tmp_path)
    _, before = matched
    challenge_id = wh.query("SELECT challenge_id FROM matches ORDER BY challenge_id LIMIT 1")[0]["challenge_id"]
    with writer_lock_held(index_dir):
        if rewrite == "rebuilding":  # a rebuild removes the folder, then writes it again
            shutil.rmtree(index_dir)
        else:  # the warehouse changed since the index was refreshed: it must be refreshed first
            wh.execute(
                "UPDATE listings SET title = title || ' 改', last_changed = now()::TIMESTAMP"
                " WHERE listing_id = (SELECT min(listing_id) FROM listings WHERE active)"
            )
        with pytest.raises(IndexUnusable) as busy:
            _finished_within(
                120,
                lambda: match_one_challenge(
                    wh, challenge_id, today=TODAY, top_k=10, index_dir=index_dir, wait_seconds=1
                ),
            )
    message = str(busy.value)
    assert "\n" not in message and "等待 1 秒" in message and "下次夜间运行会匹配这条需求" in message
    assert _stored(wh) == before  # nothing replaced


# --- the command line ------------------------------------------------------------------------------


@pytest.mark.integration
def test_jiebang_reindex_rebuilds_a_corrupt_index_or_says_in_one_line_why_it_cannot(matched, tmp_path, monkeypatch):
    wh, index_dir = _copy(matched, tmp_path)
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(wh.path))
    monkeypatch.setenv("JIEBANG_INDEX_DIR", str(index_dir))
    runner = CliRunner()
    assert "Example: jiebang reindex" in runner.invoke(app, ["reindex", "--help"]).output

    zeroed_alive_mask(index_dir)
    done = runner.invoke(app, ["reindex"])
    assert done.exit_code == 0, done.output
    assert done.output.strip() == f"匹配索引已重建 (index rebuilt): {_active(wh)} 条成果 → {index_dir}"
    assert len(ListingIndex.load(index_dir)) == _active(wh)

    index_path_is_a_file(index_dir)
    refused = runner.invoke(app, ["reindex"])
    assert refused.exit_code == 1
    [line] = refused.output.strip().splitlines()
    assert line.startswith("错误 匹配索引无法重建") and "is a file, not an index folder" in line
    assert "jiebang reindex" in line and "Traceback" not in refused.output


# --- the real nightly flow (Prefect) -----------------------------------------------------------------


@pytest.mark.system
def test_the_nightly_flow_rebuilds_an_index_with_zeroed_masks_and_keeps_every_proposal(prefect_harness, flow_env):
    from flows.nightly import nightly_refresh
    from warehouse import queries

    first = nightly_refresh(today=TODAY)
    wh = Warehouse(flow_env.warehouse_path)
    before = _stored(wh)
    assert first["status"] == "completed" and len(before) > 0

    zeroed_alive_mask(flow_env.index_dir)  # the fault: 365 proposals became 10
    second = nightly_refresh(today=TODAY)
    assert second["status"] == "completed"
    assert second["matching"]["listings"] == _active(wh) > 0
    assert "索引有 0 条在用成果" in second["matching"]["index_rebuilt"]
    assert _stored(wh) == before
    assert queries.latest_run(wh)["status"] == "completed"


@pytest.mark.system
def test_jiebang_refresh_with_an_index_path_that_is_a_file_fails_in_one_line(prefect_harness, settings, tmp_path):
    from prefect.settings import PREFECT_API_URL

    from warehouse import queries

    settings.index_dir.write_text("not an index", encoding="utf-8")
    env = {
        **os.environ,
        "JIEBANG_WAREHOUSE_PATH": str(settings.warehouse_path),
        "JIEBANG_DATA_DIR": str(settings.data_dir),
        "JIEBANG_INDEX_DIR": str(settings.index_dir),
        "JIEBANG_SOURCE_BASE_URL": settings.sources[0].base_url,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
    }
    env.pop("JIEBANG_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "jiebang.cli", "refresh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    [line] = done.stdout.strip().splitlines()
    assert line.startswith("错误 运行 ") and "失败 (run failed): IndexUnusable: 匹配索引无法重建" in line
    assert "is a file, not an index folder" in line and "jiebang reindex" in line
    assert "Traceback" not in done.stdout + done.stderr
    run = queries.latest_run(Warehouse(settings.warehouse_path))
    assert run["status"] == "failed" and "IndexUnusable" in run["error"]
    assert Warehouse(settings.warehouse_path).query("SELECT count(*) AS n FROM matches")[0]["n"] == 0
