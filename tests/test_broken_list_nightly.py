"""The nightly refresh on a source whose list page breaks: the run is partial, names the source,
and the source's listings stay active and matched (real Prefect flow runs, real crawls of
127.0.0.1)."""

from __future__ import annotations

import pytest

from flows.nightly import nightly_refresh
from tests.conftest import TODAY
from tests.fault_site import PatentSearchSite
from warehouse import queries
from warehouse.gateway import Warehouse

pytestmark = pytest.mark.system


def test_a_truncated_search_answer_makes_the_night_partial_and_keeps_the_source(
    prefect_harness, settings, sample_data, tmp_path, monkeypatch
):
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(settings.warehouse_path))
    monkeypatch.setenv("JIEBANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JIEBANG_INDEX_DIR", str(settings.index_dir))
    total = len(sample_data.patents)
    with PatentSearchSite(sample_data) as site:
        config = tmp_path / "jiebang.toml"
        config.write_text(
            "[[sources]]\nname = 'google_patents'\nspider = 'google_patents'\n"
            f"base_url = '{site.base_url}'\nstart_path = '/xhr/query?url=country%3DCN%26num%3D25'\n",
            encoding="utf-8",
        )
        first = nightly_refresh(config_file=str(config), today=TODAY)
        site.truncated_pages = {0}
        second = nightly_refresh(config_file=str(config), today=TODAY)

    assert (first["status"], first["matching"]["listings"]) == ("completed", total)
    assert second["status"] == "partial"
    assert second["matching"]["listings"] == total  # matched against every listing, none lost
    wh = Warehouse(settings.warehouse_path)
    assert wh.query("SELECT count(*) AS n FROM listings WHERE active")[0]["n"] == total
    run = queries.latest_run(wh)
    assert run["status"] == "partial" and run["error"].startswith("google_patents: 爬取不完整")
    assert "JSONDecodeError" in run["error"]
    [page] = wh.query("SELECT field, reason FROM quarantine WHERE run_id = ?", [second["run_id"]])
    assert page["field"] == "parse" and page["reason"].startswith("JSONDecodeError: ")
