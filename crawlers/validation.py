"""Validation of crawled or imported items: a clean record, or a specific reason to quarantine.

Pure functions over dicts; the loader decides where records and rejects go.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from crawlers.errors import CrawlerError, excerpt

LIMITS = {"title": 300, "abstract": 20_000, "claims": 100_000, "description": 20_000}
# One definition of an absurd value, for every path in (crawl, import, the firm's form):
BUDGET_MAX_WAN = 100_000.0  # 10 亿元: a 榜额 above this is a typo (元 typed as 万元)
DEADLINES = (date(2000, 1, 1), date(2100, 12, 31))  # a deadline outside is a typo or a placeholder
# A record (a JSON line, a CSV row) longer than this is no listing or need (the longest real one
# in ../shared is 32,000 characters; every text limit above together is 150,000): readers refuse it.
MAX_RECORD_CHARS = 1_000_000
_LISTING_KINDS = ("patent", "achievement")


@dataclass(frozen=True)
class InvalidItem(CrawlerError):
    """Which field of which record is wrong, and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def _required_text(item: dict[str, Any], key: str, min_len: int = 2) -> str:
    value = item.get(key)
    if not isinstance(value, str) or len(value.strip()) < min_len:
        raise InvalidItem(key, "missing or empty (缺少必填字段)")
    if len(value) > LIMITS.get(key, 10_000):
        raise InvalidItem(key, f"longer than {LIMITS.get(key, 10_000)} characters")
    return value.strip()


def _optional_text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidItem(key, f"expected text, got {type(value).__name__}")
    if len(value) > LIMITS.get(key, 10_000):
        raise InvalidItem(key, f"longer than {LIMITS.get(key, 10_000)} characters")
    return value


def _date(item: dict[str, Any], key: str) -> date | None:
    value = item.get(key)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InvalidItem(key, f"{excerpt(repr(value), 40)} is not a date (YYYY-MM-DD)") from None


def _deadline(item: dict[str, Any], key: str) -> date | None:
    value = _date(item, key)
    low, high = DEADLINES
    if value is not None and not low <= value <= high:
        raise InvalidItem(key, f"{value.isoformat()} is not between {low.year} and {high.year} (日期不合理)")
    return value


def _budget(item: dict[str, Any], key: str) -> float | None:
    value = _number(item, key)
    if value is not None and value > BUDGET_MAX_WAN:
        raise InvalidItem(
            key, f"{value:,.0f} 万元 is above {BUDGET_MAX_WAN:,.0f} 万元 (榜额超出上限: 元 written as 万元?)"
        )
    return value


def _number(item: dict[str, Any], key: str) -> float | None:
    value = item.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise InvalidItem(key, f"{value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidItem(key, f"{excerpt(repr(value), 40)} is not a number") from None
    if not math.isfinite(number):
        raise InvalidItem(key, f"{value!r} is not a finite number")
    if number < 0:
        raise InvalidItem(key, f"{number} is negative")
    return number


def _text_list(item: dict[str, Any], key: str) -> list[str]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidItem(key, "expected a list of text")
    return [v for v in value if v]


def validate_listing(item: dict[str, Any]) -> dict[str, Any]:
    """A listing record ready for `warehouse.store.upsert_listings`, or InvalidItem."""
    if not item.get("listing_id"):
        field = "publication_number" if item.get("kind") == "patent" else "url"
        raise InvalidItem(field, "no stable id could be derived (无法确定编号)")
    if item.get("kind") not in _LISTING_KINDS:
        raise InvalidItem("kind", f"{excerpt(repr(item.get('kind')), 40)} is not one of {', '.join(_LISTING_KINDS)}")
    return {
        "listing_id": item["listing_id"],
        "kind": item["kind"],
        "title": _required_text(item, "title"),
        "abstract": _optional_text(item, "abstract") or "",
        "claims": _optional_text(item, "claims") or "",
        "keywords": _text_list(item, "keywords"),
        "applicants": _text_list(item, "applicants"),
        "inventors": _text_list(item, "inventors"),
        "ipc": _text_list(item, "ipc"),
        "publication_number": _optional_text(item, "publication_number"),
        "application_number": _optional_text(item, "application_number"),
        "field": _optional_text(item, "field"),
        "maturity": _optional_text(item, "maturity"),
        "cooperation": _optional_text(item, "cooperation"),
        "price_wan": _number(item, "price_wan"),
        "price_text": _optional_text(item, "price_text"),
        "contact": _optional_text(item, "contact"),
        "region": _optional_text(item, "region"),
        "legal_status": _optional_text(item, "legal_status"),
        "published_on": _date(item, "published_on"),
        "url": _required_text(item, "url"),
        "source": _required_text(item, "source"),
    }


def validate_challenge(item: dict[str, Any]) -> dict[str, Any]:
    """A challenge record ready for `warehouse.store.upsert_challenges`, or InvalidItem."""
    if not item.get("challenge_id"):
        raise InvalidItem("url", "no stable id could be derived (无法确定编号)")
    return {
        "challenge_id": item["challenge_id"],
        "title": _required_text(item, "title"),
        "description": _required_text(item, "description", min_len=10),
        "field": _optional_text(item, "field"),
        "budget_wan": _budget(item, "budget_wan"),
        "deadline": _deadline(item, "deadline"),
        "issuer": _optional_text(item, "issuer"),
        "region": _optional_text(item, "region"),
        "cooperation": _optional_text(item, "cooperation"),
        "url": _optional_text(item, "url"),
        "source": _required_text(item, "source"),
    }


VALIDATORS = {"listing": validate_listing, "challenge": validate_challenge}


def validate_item(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(record_type, clean record); raises InvalidItem naming the field and the reason."""
    if item.get("parse_error"):  # an imported row or document that could not be read at all
        raise InvalidItem("raw", excerpt(str(item["parse_error"]), 500))
    for key, value in item.items():
        if any("\x00" in v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)):
            raise InvalidItem(key, "contains a NUL byte (含有空字符 \\x00: a binary or corrupt field)")
    record_type = item.get("record_type")
    if record_type not in VALIDATORS:
        raise InvalidItem("record_type", f"{excerpt(repr(record_type), 40)} is neither listing nor challenge")
    return record_type, VALIDATORS[record_type](item)
