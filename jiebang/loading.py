"""Load what the crawlers yield into the warehouse: a crawl's JSON-lines output or an imported
data file, valid records upserted, the rest quarantined with their reason. Every line is
accounted for.

Here, in the application, because it joins two libraries: crawlers/ reads, cleans and validates
items and knows no warehouse; warehouse/ stores rows and knows no crawler."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawlers.importers import read_items
from crawlers.validation import InvalidItem, validate_item
from warehouse import store
from warehouse.gateway import Warehouse

BATCH_SIZE = 2_000  # rows per transaction: keeps each hold on the warehouse file short


@dataclass
class LoadReport:
    listings: store.UpsertCounts = field(default_factory=store.UpsertCounts)
    challenges: store.UpsertCounts = field(default_factory=store.UpsertCounts)
    quarantined: int = 0
    skipped_unchanged: int = 0  # detail pages not fetched again (list row unchanged, or 304)

    @property
    def loaded(self) -> int:
        return self.listings.total + self.challenges.total

    @property
    def total(self) -> int:
        return self.loaded + self.quarantined + self.skipped_unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "listings": vars(self.listings),
            "challenges": vars(self.challenges),
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "skipped_unchanged": self.skipped_unchanged,
            "total": self.total,
        }


def read_feed(path: Path) -> Iterable[tuple[int, Any]]:
    """(line number, parsed JSON or the raw line when it does not parse)."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError:
                    yield number, line


def superseded_records(items: Iterable[tuple[int, Any]]) -> set[int]:
    """Numbers of the records whose id comes again later in the same file: only the last copy
    is loaded. (Within a batch the upsert keeps the last copy anyway; across batches an earlier
    copy would be written and then overwritten, and a reload would count both as updates.)"""
    last: dict[str, int] = {}
    earlier: set[int] = set()
    for number, item in items:
        if isinstance(item, dict) and (key := _record_key(item)):
            if key in last:
                earlier.add(last[key])
            last[key] = number
    return earlier


def _record_key(item: dict[str, Any]) -> str | None:
    if item.get("record_type") == "listing" and item.get("listing_id"):
        return "listing:" + str(item["listing_id"])
    if item.get("record_type") == "challenge" and item.get("challenge_id"):
        return "challenge:" + str(item["challenge_id"])
    return None


def load_items(
    warehouse: Warehouse,
    items: Iterable[tuple[int, Any]],
    *,
    source: str,
    run_id: str | None,
    superseded: AbstractSet[int] = frozenset(),
) -> LoadReport:
    """Validate and load the records; those numbered in `superseded` (see `superseded_records`)
    are counted as superseded, not written."""
    report = LoadReport()
    batches: dict[str, list[dict[str, Any]]] = {"listing": [], "challenge": []}
    rejects: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []  # detail pages whose record loaded: skipped next time if unchanged
    seen: list[dict[str, Any]] = []

    def flush() -> None:
        if batches["listing"]:
            report.listings += store.upsert_listings(warehouse, batches["listing"])
        if batches["challenge"]:
            report.challenges += store.upsert_challenges(warehouse, batches["challenge"])
        report.quarantined += store.quarantine(warehouse, run_id, rejects)
        report.skipped_unchanged += store.mark_seen(warehouse, seen)
        store.record_pages(warehouse, pages)
        for batch in (*batches.values(), rejects, pages, seen):
            batch.clear()

    for line_number, item in items:
        try:
            if not isinstance(item, dict):
                raise InvalidItem("line", f"line {line_number} is not a JSON object")
            if item.get("record_type") == "seen":
                seen.append(item)
                continue
            if item.get("record_type") == "seen_batch":  # a list page's unchanged rows
                seen.extend(item.get("pages") or ())
                continue
            if line_number in superseded and (key := _record_key(item)):
                counts = store.UpsertCounts(superseded=1)
                if key.startswith("listing:"):
                    report.listings += counts
                else:
                    report.challenges += counts
                continue
            if item.get("record_type") == "fetch_failed":
                raise InvalidItem("http", item.get("reason") or "the page could not be fetched")
            if item.get("record_type") == "parse_failed":  # see crawlers.middlewares.ParseFailureMiddleware
                raise InvalidItem("parse", item.get("reason") or "the page could not be parsed")
            page = item.pop("_page", None)
            record_type, record = validate_item(item)
            batches[record_type].append(record)
            if page:
                pages.append({**page, "record_id": record.get("listing_id") or record.get("challenge_id")})
        except InvalidItem as exc:
            payload = item if isinstance(item, dict) else {"raw": item}
            rejects.append(
                {
                    "source": payload.get("source") or source,
                    "url": payload.get("url"),
                    "record_id": payload.get("listing_id") or payload.get("challenge_id"),
                    "field": exc.field,
                    "reason": exc.reason,
                    "payload": payload,
                }
            )
        if sum(map(len, batches.values())) + len(rejects) + len(seen) >= BATCH_SIZE:
            flush()
    flush()
    return report


def load_feed(warehouse: Warehouse, path: Path, *, source: str, run_id: str | None) -> LoadReport:
    """Validate and load every line of a crawl output file."""
    return load_items(
        warehouse, read_feed(path), source=source, run_id=run_id, superseded=superseded_records(read_feed(path))
    )


def load_file(
    warehouse: Warehouse,
    format: str,
    path: Path,
    *,
    source: str | None = None,
    mapping: Mapping[str, str] | None = None,
    kind: str | None = None,
    run_id: str | None = None,
) -> LoadReport:
    """Read one data file (crawlers.importers) and load it as a crawl's output is loaded: every
    record upserted on its natural id or quarantined with its reason."""

    def items():
        return read_items(format, path, source=source, mapping=mapping, kind=kind)

    return load_items(
        warehouse, items(), source=source or format, run_id=run_id, superseded=superseded_records(items())
    )
