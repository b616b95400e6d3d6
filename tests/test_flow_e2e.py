"""The real nightly flow (Prefect) against the replay site, into a temporary DuckDB file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from flows.nightly import nightly_refresh
from tests.conftest import TODAY
from warehouse import queries
from warehouse.gateway import Warehouse

pytestmark = pytest.mark.system


def test_nightly_refresh_crawls_loads_and_matches(prefect_harness, flow_env, sample_data):
    result = nightly_refresh(today=TODAY)
    wh = Warehouse(flow_env.warehouse_path)

    n_patents = len(sample_data.patents)
    n_achievements = sum(map(len, sample_data.achievements.values()))
    counts = queries.table_counts(wh)
    assert counts["listings"] == n_patents + n_achievements
    assert counts["challenges"] == len(sample_data.needs)
    assert counts["quarantine"] == 0

    kinds = {r["kind"]: r["n"] for r in wh.query("SELECT kind, count(*) AS n FROM listings GROUP BY kind")}
    assert kinds == {"patent": n_patents, "achievement": n_achievements}

    # A patent is keyed by its normalised publication number and keeps its crawled fields.
    first = sample_data.patents[0]
    row = wh.query("SELECT * FROM listings WHERE publication_number = ?", [first["publication_number"]])[0]
    assert row["listing_id"] == first["publication_number"][:-1]
    assert row["title"] == first["title"]
    assert row["applicants"] == first["applicants"]
    assert row["sources"] == ["google_patents"]

    # Every open challenge has ranked matches, best first, with parts adding up to the score.
    open_ids = [c["challenge_id"] for c in queries.open_challenges(wh, TODAY)]
    assert result["matching"]["challenges"] == len(open_ids) > 0
    for challenge_id in open_ids:
        matches = queries.matches_for_challenge(wh, challenge_id, limit=100)
        # Top k, less one where both copies of the demo's two-source technology were retrieved.
        assert flow_env.match_top_k - 1 <= len(matches) <= flow_env.match_top_k
        scores = [m["score"] for m in matches]
        assert scores == sorted(scores, reverse=True)
        assert all(abs(sum(m["parts"].values()) - m["score"]) < 0.01 for m in matches)

    # The run is recorded with per-source counts that account for every item.
    run = queries.latest_run(wh)
    assert run["status"] == "completed" and run["run_id"] == result["run_id"]
    stats = json.loads(run["stats"])
    assert set(stats["sources"]) == {s.name for s in flow_env.sources}
    patents = stats["sources"]["google_patents"]
    assert patents["listings"]["inserted"] == n_patents
    assert patents["pages_fetched"] > n_patents  # detail pages + search pages + robots.txt


def test_a_second_refresh_is_idempotent_and_keeps_decisions(prefect_harness, flow_env):
    from jiebang import broker
    from jiebang.accounts import User

    first = nightly_refresh(today=TODAY)
    wh = Warehouse(flow_env.warehouse_path)
    before = queries.table_counts(wh)
    challenge_id = queries.open_challenges(wh, TODAY)[0]["challenge_id"]
    top, second = queries.matches_for_challenge(wh, challenge_id, limit=2)
    from tests.workspace_data import register

    [me] = register(wh, User("wang", "王经纪", "broker"))  # the services re-read the account
    broker.decide(wh, me, challenge_id, top["listing_id"], "shortlist")
    broker.decide(wh, me, challenge_id, second["listing_id"], "reject", reason="技术不对口")

    result = nightly_refresh(today=TODAY)

    from matching.index import ListingIndex

    assert len(ListingIndex.load(flow_env.index_dir).segments) == 1  # nothing changed: nothing re-segmented
    after = queries.table_counts(wh)
    assert after["listings"] == before["listings"] and after["challenges"] == before["challenges"]
    assert all(s["loaded"] == s["quarantined"] == 0 for s in result["sources"].values())
    # No detail page was fetched again: only list pages (and robots.txt).
    assert sum(s["skipped_unchanged"] for s in result["sources"].values()) == before["listings"] + before["challenges"]
    for name, again in result["sources"].items():
        assert again["pages_fetched"] == first["sources"][name]["pages_fetched"] - first["sources"][name]["loaded"]
    proposed = {m["listing_id"]: m for m in queries.matches_for_challenge(wh, challenge_id, limit=100)}
    assert proposed[top["listing_id"]]["decision"] == "shortlist"  # shortlist kept across runs
    assert second["listing_id"] not in proposed  # rejected never proposed again
    assert after["reviews"] == 2


def test_a_source_that_is_down_does_not_stop_the_others(prefect_harness, flow_env, monkeypatch, sample_data):
    broken = flow_env.data_dir.parent / "one_down.toml"
    sources = "".join(
        f'[[sources]]\nname = "{s.name}"\nspider = "{s.spider}"\n'
        f'base_url = "{"http://127.0.0.1:9" if s.name == "zju" else s.base_url}"\nstart_path = "{s.start_path}"\n'
        for s in flow_env.sources
    )
    broken.write_text(sources, encoding="utf-8")
    monkeypatch.setenv("JIEBANG_CRAWL_RETRIES", "0")
    result = nightly_refresh(config_file=str(broken), today=TODAY)  # the flow itself succeeds

    assert result["status"] == "partial"
    wh = Warehouse(flow_env.warehouse_path)
    run = queries.latest_run(wh)
    assert run["run_id"] == result["run_id"]
    assert run["status"] == "partial" and run["error"].startswith("zju: CrawlFailed")
    stats = json.loads(run["stats"])
    assert "error" in stats["sources"]["zju"]
    assert stats["sources"]["tsinghua"]["listings"]["inserted"] == len(sample_data.achievements["tsinghua"])
    assert stats["sources"]["tsinghua"]["duration_seconds"] > 0
    assert stats["matching"]["challenges"] > 0  # the others were still loaded and matched
    assert stats["matching"]["new"] == stats["matching"]["matches"] > 0  # a first run: every match is new
    assert queries.table_counts(wh)["matches"] > 0
    assert Path(stats["notify"]["file"]).exists()  # the digest is written; nothing configured, nothing sent
    assert stats["notify"]["sent"] == [] and stats["notify"]["errors"] == {}

    # The next run, with the source back, retries it and completes.
    monkeypatch.delenv("JIEBANG_CRAWL_RETRIES")
    again = nightly_refresh(today=TODAY)
    assert again["status"] == "completed"
    assert again["sources"]["zju"]["listings"]["inserted"] == len(sample_data.achievements["zju"])
    assert queries.latest_run(wh)["status"] == "completed"


def test_the_run_report_is_a_prefect_artifact(prefect_harness, flow_env):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    result = nightly_refresh(today=TODAY)

    async def latest():
        async with get_client() as client:
            found = await client.read_latest_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["nightly-refresh-report"]))
            )
            return found[0]

    artifact = asyncio.run(latest())
    assert artifact.type == "markdown"
    assert result["run_id"] in artifact.data and "| google_patents |" in artifact.data


def test_configured_imports_run_in_the_night_and_a_missing_file_makes_it_partial(prefect_harness, flow_env, tmp_path):
    from tests.test_configured_imports import ACHIEVEMENTS, _write_csv

    _write_csv(tmp_path / "成果.csv", ACHIEVEMENTS)
    config = tmp_path / "jiebang.toml"
    config.write_text(
        '[[imports]]\nformat = "table"\npath = "成果.csv"\nkind = "achievement"\nsource = "zju_table"\n\n'
        '[[imports]]\nformat = "table"\npath = "gone.csv"\n',
        encoding="utf-8",
    )
    good, gone = f"table:{tmp_path / '成果.csv'}", f"table:{tmp_path / 'gone.csv'}"

    first = nightly_refresh(config_file=str(config), today=TODAY)
    assert first["status"] == "partial"
    assert first["imports"][good]["loaded"] == len(ACHIEVEMENTS) - 1
    assert "gone.csv" in first["imports"][gone]["error"]
    wh = Warehouse(flow_env.warehouse_path)
    assert len(wh.query("SELECT 1 FROM listings WHERE source = 'zju_table'")) == len(ACHIEVEMENTS) - 1
    assert "gone.csv" in queries.latest_run(wh)["error"]

    second = nightly_refresh(config_file=str(config), today=TODAY)
    assert second["imports"][good]["skipped_file"] is True and second["imports"][good]["loaded"] == 0
