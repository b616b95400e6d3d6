"""Scale-out: the nightly refresh on a 2-worker Dask LocalCluster, with matching split over
challenge batches and listing partitions, and on a process pool, stores the same matches as a
run on local threads; the partitioned rounds equal one matching pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flows.runners import task_runner_for
from jiebang.matching_run import (
    challenge_batches,
    listing_partitions,
    match_batch,
    match_partitioned,
    merge_batches,
    prepare,
)
from jiebang.settings import Settings
from tests.conftest import TODAY
from warehouse.gateway import Warehouse


@pytest.mark.unit
@pytest.mark.parametrize(
    "runner, expected",
    [
        ("threads", "ThreadPoolTaskRunner"),
        ("processes", "ProcessPoolTaskRunner"),
        ("dask", "DaskTaskRunner"),
    ],
)
def test_the_setting_chooses_the_task_runner(runner, expected):
    assert type(task_runner_for(Settings(task_runner=runner))).__name__ == expected


@pytest.mark.unit
def test_a_scheduler_address_is_used_instead_of_a_local_cluster():
    runner = task_runner_for(Settings(task_runner="dask", dask_address="tcp://127.0.0.1:8786"))
    assert runner.address == "tcp://127.0.0.1:8786"


@pytest.mark.unit
@pytest.mark.parametrize(
    "segments, parts, expected",
    [
        (0, 2, [range(0, 0)]),  # an empty index still has one (empty) partition to search
        (1, 3, [range(0, 1)]),
        (4, 2, [range(0, 2), range(2, 4)]),
        (5, 3, [range(0, 2), range(2, 4), range(4, 5)]),
        (3, 1, [range(0, 3)]),
    ],
)
def test_listing_partitions_cover_every_segment_once(segments, parts, expected):
    assert listing_partitions(segments, parts) == expected


@pytest.mark.integration
def test_batches_and_listing_partitions_match_like_one_call(loaded_warehouse, tmp_path):
    from matching.engine import ListingIndex, match_challenges

    index_dir = tmp_path / "index"
    prepared = prepare(loaded_warehouse, index_dir, today=TODAY, top_k=10, segment_size=40)
    assert prepared.segments >= 5
    exclude = prepared.exclude | {(prepared.challenges[0].challenge_id, "no-such-listing")}
    plan = replace(prepared, exclude=exclude)
    whole = match_challenges(ListingIndex.load(index_dir), plan.challenges, top_k=10, today=TODAY, exclude=exclude)
    batches = challenge_batches(plan.challenges, 2)
    by_batch = [match_batch(plan, batch) for batch in batches]
    by_partition = [match_partitioned(plan, batch, listing_partitions(plan.segments, 3)) for batch in batches]
    assert whole and merge_batches(by_batch) == whole
    assert merge_batches(by_partition) == whole


def _config(tmp_path, base_url: str, runner: str) -> str:
    folder = tmp_path / runner
    path = tmp_path / f"{runner}.toml"
    path.write_text(
        f'warehouse_path = "{folder / "jiebang.duckdb"}"\ndata_dir = "{folder / "runs"}"\n'
        f'source_base_url = "{base_url}"\ntask_runner = "{runner}"\ndask_workers = 2\n'
        f"match_batch_size = 4\nmatch_top_k = 10\nindex_segment_size = 60\n"
        f"match_partitions = {2 if runner == 'dask' else 1}\n",
        encoding="utf-8",
    )
    return str(path)


def _matches(warehouse_path) -> list[tuple]:
    return [
        tuple(r.values())
        for r in Warehouse(warehouse_path).query(
            "SELECT challenge_id, listing_id, rank, score, parts, matched_terms FROM matches ORDER BY ALL"
        )
    ]


@pytest.mark.system
def test_the_refresh_on_a_dask_local_cluster_and_on_processes_stores_the_same_matches_as_locally(
    prefect_harness, replay_site, tmp_path
):
    from flows.nightly import nightly_refresh

    results = {
        runner: nightly_refresh(config_file=_config(tmp_path, replay_site.base_url, runner), today=TODAY)
        for runner in ("threads", "dask", "processes")
    }
    local = results["threads"]
    assert local["matching"]["challenges"] > 4 and local["matching"]["matches"] > 0
    assert local["sharding"]["batches"] > 1 and local["sharding"]["partitions"] == 1
    expected = _matches(tmp_path / "threads" / "jiebang.duckdb")
    assert len(expected) == local["matching"]["matches"]
    for runner, partitions in (("dask", 2), ("processes", 1)):
        other = results[runner]
        assert other["status"] == local["status"] == "completed", runner
        assert other["sharding"] == {
            "task_runner": runner,
            "batches": local["sharding"]["batches"],
            "partitions": partitions,
        }
        assert other["matching"] == local["matching"], runner
        assert _matches(tmp_path / runner / "jiebang.duckdb") == expected, runner


@pytest.mark.unit
def test_an_unknown_task_runner_is_a_one_line_config_error():
    from jiebang.errors import ConfigError

    with pytest.raises(ConfigError, match=r"task_runner='gpu' is not a valid choice \(threads \| processes \| dask\)"):
        Settings.load({"JIEBANG_TASK_RUNNER": "gpu"})
    assert Settings.load({"JIEBANG_DASK_ADDRESS": ""}).dask_address is None
