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
