"""Real crawls (Scrapy subprocesses) of a site on 127.0.0.1 that fails in every usual way: every
detail page is accounted for, nothing broken reaches the listings, a second crawl skips what did
not change, and what disappears is marked inactive, unless the crawl cannot be trusted to say so
(a page its parser failed on, far fewer listings than the source has)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jiebang import pipeline, run_report
from jiebang.settings import SourceSettings, default_sources
from warehouse import store

from .fault_site import FaultSite, PatentSearchSite, achievement

pytestmark = pytest.mark.integration

FAULTS = ["500", "429", "timeout", "truncated", "gbk", "captcha", "no_title", "gone", "duplicate", "json"]
LOADED = {"500", "429", "timeout", "gbk", "duplicate", None}  # faults a polite crawler gets past
QUARANTINED = {"truncated": "http", "no_title": "title", "gone": "http", "json": "parse"}


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
    return _crawl_and_load(crawl_settings, warehouse, source, out)


def _crawl_and_load(crawl_settings, warehouse, source: SourceSettings, out) -> dict:
    output = pipeline.crawl(replace(crawl_settings, sources=(source,)), source, out)
    run_id = store.start_run(warehouse, "test")
    return pipeline.load_crawl(warehouse, output, run_id, min_seen_share=crawl_settings.min_seen_share)


def test_a_faulty_site_is_crawled_with_every_page_accounted_for(crawl_settings, warehouse, tmp_path):
    items = [achievement(n, fault) for n, fault in enumerate(FAULTS, start=1)]
    items += [achievement(n) for n in range(len(FAULTS) + 1, 15)]
    with FaultSite(items) as site:
        report = crawl_and_load(crawl_settings, warehouse, site, tmp_path / "run1")
        fetched = site.detail_paths_requested()

    # Accounting: each detail page fetched ended as exactly one outcome.
    assert len(fetched) == len(items)
    assert report["loaded"] + report["quarantined"] + report["blocked"] + report["skipped_unchanged"] == len(fetched)
    assert (report["blocked"], report["quarantined"], report["skipped_unchanged"]) == (1, 4, 0)
    assert report["loaded"] == len(items) - 5 and report["complete"] is False
    assert report["detail_pages"] == len(fetched)
    assert "1 detail page(s) unparseable" in report["error"]  # a page no parser could read fails the source

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
    assert by_page[FAULTS.index("json") + 1]["reason"].startswith("ValueError: Cannot use css")


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


# --- a crawl that cannot say what vanished marks nothing inactive ---------------------------------


def crawl_patents(crawl_settings, warehouse, site: PatentSearchSite, out) -> dict:
    return _crawl_and_load(crawl_settings, warehouse, default_sources(site.base_url)[0], out)


def active_patents(warehouse) -> int:
    return warehouse.query("SELECT count(*) AS n FROM listings WHERE active AND kind = 'patent'")[0]["n"]


@pytest.mark.parametrize("page", [0, 2], ids=["the first search page", "a later search page"])
def test_a_truncated_search_answer_fails_the_source_and_marks_nothing_inactive(
    crawl_settings, warehouse, sample_data, tmp_path, page
):
    with PatentSearchSite(sample_data) as site:
        first = crawl_patents(crawl_settings, warehouse, site, tmp_path / "run1")
        total = len(sample_data.patents)
        assert (first["loaded"], first["complete"], first["marked_inactive"]) == (total, True, 0)
        assert "error" not in first and run_report.run_status({"sources": {"google_patents": first}}) == "completed"

        site.truncated_pages = {page}
        second = crawl_patents(crawl_settings, warehouse, site, tmp_path / "run2")

    assert active_patents(warehouse) == total  # nothing vanished because a page could not be read
    assert (second["complete"], second["marked_inactive"], second["quarantined"]) == (False, 0, 1)
    assert "JSONDecodeError" in second["error"] and "未标记下架" in second["error"]
    stats = {"sources": {"google_patents": second}}
    assert run_report.run_status(stats) == "partial"
    assert run_report.failed_sources(stats) == {"google_patents": second["error"]}
    [quarantined] = warehouse.query("SELECT source, url, field, reason FROM quarantine")
    assert (quarantined["source"], quarantined["field"]) == ("google_patents", "parse")
    assert "/xhr/query" in quarantined["url"] and quarantined["reason"].startswith("JSONDecodeError: ")
    # The list page is a quarantined page, not a detail page: the detail accounting still adds up.
    assert second["detail_pages"] == second["loaded"] + second["skipped_unchanged"] + second["blocked"]


def test_a_list_with_far_fewer_listings_than_the_source_has_marks_nothing_inactive(
    crawl_settings, warehouse, sample_data, tmp_path
):
    total = len(sample_data.patents)
    with PatentSearchSite(sample_data) as site:
        crawl_patents(crawl_settings, warehouse, site, tmp_path / "run1")
        site.listed = sample_data.patents[:20]  # 20 of 120: far below the 50 % a crawl must see
        shrunk = crawl_patents(crawl_settings, warehouse, site, tmp_path / "run2")
        assert active_patents(warehouse) == total
        assert (shrunk["complete"], shrunk["marked_inactive"]) == (False, 0)
        assert "20/120" in shrunk["error"] and "50%" in shrunk["error"]
        assert run_report.run_status({"sources": {"google_patents": shrunk}}) == "partial"

        # The share is a setting: allowed to shrink that far, the same crawl marks the rest inactive.
        allowed = crawl_patents(replace(crawl_settings, min_seen_share=0.1), warehouse, site, tmp_path / "run3")
    assert (allowed["complete"], allowed["marked_inactive"]) == (True, total - 20)
    assert "error" not in allowed and active_patents(warehouse) == 20
