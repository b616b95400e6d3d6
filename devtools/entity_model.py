"""Train the Splink model the project ships (matching/models/entity-v1.json) on the 2,810 real
achievements of Zhejiang's market: what `jiebang dedup` uses for a warehouse too small to learn
from. Run it again whenever the features (matching.entity.entity_features) or the comparisons
(warehouse.entity_links) change.

    python -m devtools.entity_model [--real ../shared/data/real]
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

from matching.entity import entity_features


def real_listings(achievements: Path) -> list[dict]:
    """Each real achievement as the warehouse's listing columns (the market gives no owner or
    patent field: they come from the text)."""
    rows = [json.loads(line) for line in achievements.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        {
            "listing_id": r["id"],
            "title": r["title"],
            "abstract": r["abstract"],
            "field": r["field"],
            "price_wan": r["price_wan"],
            "published_on": r["posted"],
        }
        for r in rows
    ]


def real_features(achievements: Path) -> list[dict]:
    return [entity_features(listing) for listing in real_listings(achievements)]


def main() -> None:
    from warehouse import entity_links

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    ns = parser.parse_args()
    model = entity_links.train(real_features(ns.real / "zj_market" / "achievements.jsonl"))
    target = Path(str(resources.files("matching").joinpath("models", "entity-v1.json")))
    target.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
