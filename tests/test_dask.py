"""Scale-out: sharded matching on a 2-worker Dask LocalCluster equals matching locally."""

from __future__ import annotations

import pytest

from flows.runners import task_runner_for
from jiebang.settings import Settings
from jiebang.sharding import challenge_batches, match_batch, merge_batches, prepare_sharded_match
from tests.conftest import TODAY


def _config(tmp_path, warehouse, runner: str) -> str:
    path = tmp_path / f"{runner}.toml"
    path.write_text(f'warehouse_path = "{warehouse.path}"\nindex_dir = "{tmp_path / "index"}"\n'
                    f'task_runner = "{runner}"\ndask_workers = 2\nmatch_batch_size = 3\nmatch_top_k = 10\n',
                    encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("runner, expected", [
    ("threads", "ThreadPoolTaskRunner"), ("processes", "ProcessPoolTaskRunner"), ("dask", "DaskTaskRunner"),
])
def test_the_setting_chooses_the_task_runner(runner, expected):
    assert type(task_runner_for(Settings(task_runner=runner))).__name__ == expected


def test_a_scheduler_address_is_used_instead_of_a_local_cluster():
    runner = task_runner_for(Settings(task_runner="dask", dask_address="tcp://127.0.0.1:8786"))
    assert runner.address == "tcp://127.0.0.1:8786"


def test_batches_match_like_one_call(loaded_warehouse, tmp_path):
    from matching.engine import ListingIndex, match_challenges

    prepared = prepare_sharded_match(loaded_warehouse, tmp_path / "index", today=TODAY)
    whole = match_challenges(ListingIndex.load(tmp_path / "index"), prepared.challenges, top_k=10, today=TODAY,
                             exclude=prepared.exclude)
    parts = [match_batch(tmp_path / "index", batch, top_k=10, today=TODAY, exclude=prepared.exclude)
             for batch in challenge_batches(prepared.challenges, 2)]
    assert merge_batches(parts) == whole and whole


def test_dask_local_cluster_and_local_threads_give_identical_matches(prefect_harness, loaded_warehouse, tmp_path):
    from flows.sharded import match_sharded

    results = {runner: match_sharded(config_file=_config(tmp_path, loaded_warehouse, runner), today=TODAY)
               for runner in ("threads", "dask")}
    local, dask = results["threads"], results["dask"]
    assert local["batches"] > 1 and local["rows"]
    assert dask["rows"] == local["rows"]
    assert (dask["challenges"], dask["matches"]) == (local["challenges"], local["matches"])
    matched = {row[0] for row in local["rows"]}
    stored = loaded_warehouse.query("SELECT challenge_id, listing_id, rank, score FROM matches")
    assert sorted((r["challenge_id"], r["listing_id"], r["rank"], r["score"])
                  for r in stored if r["challenge_id"] in matched) == sorted(local["rows"])


def test_an_unknown_task_runner_is_a_one_line_config_error():
    from jiebang.errors import ConfigError

    with pytest.raises(ConfigError, match=r"task_runner='gpu' is not a valid choice \(threads \| processes \| dask\)"):
        Settings.load({"JIEBANG_TASK_RUNNER": "gpu"})
    assert Settings.load({"JIEBANG_DASK_ADDRESS": ""}).dask_address is None
