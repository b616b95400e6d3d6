"""Real crawls (Scrapy subprocesses) of a site on 127.0.0.1 that fails in every usual way: every
detail page is accounted for, nothing broken reaches the listings, a second crawl skips what did
not change, and what disappears is marked inactive."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jiebang import pipeline
from jiebang.settings import SourceSettings
from warehouse import store

from .fault_site import FaultSite, achievement

pytestmark = pytest.mark.integration

FAULTS = ["500", "429", "timeout", "truncated", "gbk", "captcha", "no_title", "gone", "duplicate"]
LOADED = {"500", "429", "timeout", "gbk", "duplicate", None}  # faults a polite crawler gets past
QUARANTINED = {"truncated": "http", "no_title": "title", "gone": "http"}


@pytest.fixture
def crawl_settings(settings, tmp_path):
    return replace(
        settings,
        crawl_timeout_seconds=1.0,
        crawl_backoff_seconds=0.05,
        block_backoff_seconds=0.05,
        crawl_delay_seconds=0.0,
    )


def crawl_and_load(crawl_settings, warehouse, site: FaultSite, out) -> dict:
    source = SourceSettings("fault", "achievements", site.base_url, "/fault/kjcg/list_1.html")
    output = pipeline.crawl(replace(crawl_settings, sources=(source,)), source, out)
    run_id = store.start_run(warehouse, "test")
    return pipeline.load_crawl(warehouse, output, run_id)


def test_a_faulty_site_is_crawled_with_every_page_accounted_for(crawl_settings, warehouse, tmp_path):
    items = [achievement(n, fault) for n, fault in enumerate(FAULTS, start=1)]
    items += [achievement(n) for n in range(len(FAULTS) + 1, 15)]
    with FaultSite(items) as site:
        report = crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run1")
        fetched = site.detail_paths_requested()

    # Accounting: each detail page fetched ended as exactly one outcome.
    assert len(fetched) == len(items)
    assert report["loaded"] + report["quarantined"] + report["blocked"] + report["skipped_unchanged"] == len(fetched)
    assert (report["blocked"], report["quarantined"], report["skipped_unchanged"]) == (1, 3, 0)
    assert report["loaded"] == len(items) - 4 and report["complete"] is False

    listings = {r["title"]: r for r in warehouse.query("SELECT title, abstract, applicants FROM listings")}
    expected = {a["title"]: a for a in items if a["fault"] in LOADED}
    assert set(listings) == set(expected)  # no block page, no half page, no untitled page
    for title, row in listings.items():
        assert row["abstract"] == expected[title]["summary"] and row["applicants"] == ["故障测试大学材料学院"]
    assert "高导热石墨烯复合膜制备技术5号" in listings  # the GBK page, decoded

    quarantined = warehouse.query("SELECT url, field, reason FROM quarantine ORDER BY url")
    by_page = {int(q["url"].rsplit("/", 1)[1].removesuffix(".html")): q for q in quarantined}
    assert {FAULTS[n - 1]: q["field"] for n, q in by_page.items()} == QUARANTINED
    assert "404" in by_page[FAULTS.index("gone") + 1]["reason"]


def test_a_second_crawl_fetches_only_what_changed_and_marks_vanished_listings_inactive(
    crawl_settings, warehouse, tmp_path
):
    items = [achievement(n) for n in range(1, 13)]
    with FaultSite(items) as site:
        first = crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run1")
        assert (first["loaded"], first["complete"]) == (12, True)
        site.requests.clear()
        items[2]["summary"] += "新增：已完成中试。"
        items[2]["published"] = "2026-11-20"  # the list row shows the update
        site.items = [a for a in items if a["n"] != 7]
        second = crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run2")
        refetched = site.detail_paths_requested()

    assert refetched == {"/fault/kjcg/detail/3.html"}
    assert (second["skipped_unchanged"], second["listings"]["updated"], second["marked_inactive"]) == (10, 1, 1)
    rows = {r["title"]: r for r in warehouse.query("SELECT title, abstract, active FROM listings")}
    assert len(rows) == 12  # the vanished listing is kept …
    assert rows["高导热石墨烯复合膜制备技术7号"]["active"] is False  # … as inactive
    assert sum(r["active"] for r in rows.values()) == 11
    assert rows["高导热石墨烯复合膜制备技术3号"]["abstract"].endswith("已完成中试。")


def test_an_unchanged_page_linked_from_a_changed_row_answers_304(crawl_settings, warehouse, tmp_path):
    items = [achievement(n) for n in range(1, 4)]
    with FaultSite(items) as site:
        crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run1")
        site.requests.clear()
        site.statuses.clear()
        items[0]["list_date"] = "2026-11-25"  # the row changes, the page (its ETag) does not …
        again = crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run2")
    # … so the page is asked for conditionally and the server answers 304 Not Modified.
    assert [s for p, s in site.statuses if "/detail/" in p] == [304]
    assert again["skipped_unchanged"] == 3 and again["loaded"] == 0
