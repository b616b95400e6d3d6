"""The 2,810 real achievements of Zhejiang's market, stored in a warehouse file and resolved by a
full `jiebang dedup` pass (features, EM training, Splink, clusters): the 314 titles listed more than
once end up as tests/fixtures/entity_pairs.tsv says, counted on the clusters (where one wrong link
can join a whole chain), not on pairs alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from crawlers.validation import validate_listing
from devtools.entity_model import real_listings
from jiebang import dedup
from warehouse import entity_store, store
from warehouse.gateway import Warehouse
from warehouse.migrations import migrate

pytestmark = pytest.mark.integration
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "zj_market" / "achievements.jsonl"
PAIRS = Path(__file__).parent / "fixtures" / "entity_pairs.tsv"


def _stored(tmp_path: Path) -> tuple[Warehouse, dict[str, str]]:
    """The real achievements in a warehouse file, as the market's source; their titles by id."""
    listings = real_listings(REAL)
    wh = Warehouse(tmp_path / "zj.duckdb")
    migrate(wh)
    store.upsert_listings(
        wh,
        [
            validate_listing(
                {
                    **listing,
                    "record_type": "listing",
                    "kind": "achievement",
                    "url": f"http://127.0.0.1:8765/zj/{listing['listing_id']}",
                    "source": "zj",
                }
            )
            for listing in listings
        ],
    )
    return wh, {listing["listing_id"]: listing["title"] for listing in listings}


@pytest.mark.skipif(not REAL.exists(), reason=f"real market data absent ({REAL}): nothing to resolve")
def test_the_real_repeated_titles_resolve_into_clusters_as_the_labelled_pairs_say(tmp_path: Path):
    wh, title = _stored(tmp_path)
    figures = dedup.run(wh)
    assert (figures["listings"], figures["trained"]) == (2810, True)

    repeated = {t for t, n in Counter(title.values()).items() if n > 1}
    assert (len(repeated), sum(n for n in Counter(title.values()).values() if n > 1)) == (314, 669)
    lines = [line.split("\t") for line in PAIRS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    pairs = [(a, b, label) for a, b, label, _ in lines[1:]]
    cluster = entity_store.cluster_ids(wh, {i for a, b, _ in pairs for i in (a, b)})
    together = {(a, b): cluster[a] == cluster[b] for a, b, _ in pairs}

    tp = sum(together[a, b] and label == "same" for a, b, label in pairs)
    fp = sum(together[a, b] and label == "not_same" for a, b, label in pairs)
    fn = sum(not together[a, b] and label == "same" for a, b, label in pairs)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    # Every repeated title is labelled, and most resolve exactly as labelled.
    labelled = {title[a] for a, b, _ in pairs if title[a] == title[b]}
    resolved = {
        t
        for t in labelled
        if all(together[a, b] == (label == "same") for a, b, label in pairs if title[a] == title[b] == t)
    }
    print(f"precision {precision:.3f} recall {recall:.3f}; titles {len(resolved)}/{len(labelled)} as labelled")
    assert labelled == repeated
    assert precision >= 0.98 and recall >= 0.90
    assert len(resolved) / len(labelled) >= 0.85
