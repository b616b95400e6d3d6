"""Small single-purpose cleaning steps, in ITEM_PIPELINES order. Validation happens at load."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from crawlers.identity import normalise_publication_number

_SPACE = re.compile(r"\s+")
_SPACE_IN_LINE = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
MULTILINE_FIELDS = frozenset({"abstract", "claims", "description"})  # paragraphs and claims keep their breaks


def clean_text(value, keep_lines: bool = False):
    """Collapse layout whitespace; with keep_lines, line breaks survive (once each)."""
    if isinstance(value, str):
        if keep_lines:
            return _LINE_BREAKS.sub("\n", _SPACE_IN_LINE.sub(" ", value)).strip()
        return _SPACE.sub(" ", value).strip()
    if isinstance(value, list):
        return [v for v in (clean_text(x) for x in value) if v]
    return value


class CleanTextPipeline:
    """Collapse whitespace from HTML layout; empty list entries are dropped."""

    def process_item(self, item, spider=None):
        return {k: clean_text(v, keep_lines=k in MULTILINE_FIELDS) for k, v in item.items()}


class PublicationNumberPipeline:
    """A patent's id is its normalised publication number (CN 101551481 B → CN101551481)."""

    def process_item(self, item, spider=None):
        if item.get("kind") == "patent" and not item.get("listing_id"):
            item["listing_id"] = normalise_publication_number(item.get("publication_number") or "")
        return item


class CrawledAtPipeline:
    def process_item(self, item, spider=None):
        item["crawled_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return item
