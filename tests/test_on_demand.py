"""The on-demand flows, run by Prefect: match one challenge now; rebuild the index from scratch."""

from __future__ import annotations

import pytest

from flows.on_demand import match_challenge, rebuild_index
from tests.conftest import TODAY

pytestmark = pytest.mark.system


def _config(tmp_path, warehouse) -> str:
    path = tmp_path / "jiebang.toml"
    path.write_text(f'warehouse_path = "{warehouse.path}"\nindex_dir = "{tmp_path / "index"}"\n', encoding="utf-8")
    return str(path)


def test_match_challenge_stores_the_matches_of_one_challenge(prefect_harness, loaded_warehouse, tmp_path):
    challenge_id = loaded_warehouse.query("SELECT challenge_id FROM challenges ORDER BY challenge_id LIMIT 1")[0][
        "challenge_id"
    ]
    result = match_challenge(challenge_id, config_file=_config(tmp_path, loaded_warehouse), today=TODAY)
    assert result["challenge_id"] == challenge_id and result["matches"] > 0
    stored = loaded_warehouse.query("SELECT count(*) AS n FROM matches WHERE run_id = ?", [result["run_id"]])
    assert stored[0]["n"] > 0


def test_rebuild_index_replaces_the_index_folder(prefect_harness, loaded_warehouse, tmp_path):
    config = _config(tmp_path, loaded_warehouse)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "stale-segment").write_text("from an older version")
    result = rebuild_index(config_file=config)
    listings = loaded_warehouse.query("SELECT count(*) AS n FROM listings WHERE active")[0]["n"]
    assert result["listings"] == listings > 0
    assert not (tmp_path / "index" / "stale-segment").exists()
    assert (tmp_path / "index" / "manifest.json").exists()


def test_an_unknown_challenge_is_a_one_line_error_and_stores_nothing(prefect_harness, loaded_warehouse, tmp_path):
    import pytest

    from jiebang.errors import UnknownChallenge

    before = loaded_warehouse.query("SELECT count(*) AS n FROM matches")[0]["n"]
    with pytest.raises(UnknownChallenge, match=r"no challenge with id 'N-404'"):
        match_challenge("N-404", config_file=_config(tmp_path, loaded_warehouse), today=TODAY)
    assert loaded_warehouse.query("SELECT count(*) AS n FROM matches")[0]["n"] == before
