"""The application step that keeps the on-disk index in step with the warehouse."""

import pytest

from crawlers.validation import validate_listing
from jiebang.pipeline import refresh_index
from matching.index import ListingIndex
from warehouse import store

pytestmark = pytest.mark.integration


def _listing(listing_id, title, abstract="燃料电池双极板涂层"):
    return validate_listing(
        {
            "listing_id": listing_id,
            "kind": "patent",
            "title": title,
            "abstract": abstract,
            "url": f"https://example.org/{listing_id}",
            "source": "test",
        }
    )


def test_only_changed_listings_are_indexed_again(warehouse, tmp_path):
    store.upsert_listings(warehouse, [_listing("A", "双极板涂层"), _listing("B", "拉链头")])
    first = refresh_index(warehouse, tmp_path / "index")
    assert len(first) == 2 and len(first.segments) == 1

    unchanged = refresh_index(warehouse, tmp_path / "index")
    assert len(unchanged.segments) == 1  # nothing changed: no new segment

    store.upsert_listings(warehouse, [_listing("B", "拉链头自动装配"), _listing("C", "硅碳负极")])
    grown = refresh_index(warehouse, tmp_path / "index")
    assert len(grown.segments) == 2 and grown.segments[1].ids == ["B", "C"]
    assert len(grown) == 3

    warehouse.execute("UPDATE listings SET active = false WHERE listing_id = 'A'")
    shrunk = refresh_index(warehouse, tmp_path / "index")
    assert "A" not in shrunk.where
    assert "A" not in ListingIndex.load(tmp_path / "index").where


def test_a_listing_seen_again_unchanged_after_going_inactive_is_indexed_again_without_a_rebuild(warehouse, tmp_path):
    from jiebang.pipeline import checked_index

    store.upsert_listings(warehouse, [_listing("A", "双极板涂层"), _listing("B", "拉链头")])
    refresh_index(warehouse, tmp_path / "index")
    warehouse.execute("UPDATE listings SET active = false WHERE listing_id = 'A'")  # vanished from a crawl
    assert "A" not in refresh_index(warehouse, tmp_path / "index").where

    store.upsert_listings(warehouse, [_listing("A", "双极板涂层")])  # back, its content unchanged
    index, rebuilt = checked_index(warehouse, tmp_path / "index")
    assert "A" in index.where and len(index) == 2
    assert rebuilt is None and len(index.segments) == 2  # added incrementally, not a full rebuild
