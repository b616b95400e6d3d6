"""Incremental crawling: a detail page whose listing has not changed is not fetched again.

Before a crawl the runner writes what the warehouse knows about the source's detail pages
(`KNOWN_PAGES` file: page key → record id, ETag, Last-Modified, list-row hash). A spider then
asks `detail_request` for every detail link on a list page:
- the list row looks as it did last time → no request; a `seen` record keeps the listing alive;
- otherwise → a conditional GET (If-None-Match / If-Modified-Since); a 304 is `seen` too.
Every detail link therefore ends as exactly one of: an item (loaded or quarantined), `seen`
(skipped unchanged), blocked, or `fetch_failed` (quarantined with the HTTP reason).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import response_status_message

from crawlers.identity import page_id

_SPACE = re.compile(r"\s+")
BLOCKED_META = "jiebang_blocked"  # set on a request the block detection gave up on


@dataclass(frozen=True)
class KnownPage:
    record_id: str
    etag: str | None = None
    last_modified: str | None = None
    row_hash: str | None = None

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


def row_hash(row_text: str | None) -> str | None:
    """A fingerprint of the list row linking to a page (its visible text, whitespace folded)."""
    if not row_text or not (text := _SPACE.sub(" ", row_text).strip()):
        return None
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def read_known_pages(path: str | Path | None) -> dict[str, KnownPage]:
    if not path or not Path(path).exists():
        return {}
    return {key: KnownPage(**page) for key, page in json.loads(Path(path).read_text(encoding="utf-8")).items()}


def write_known_pages(path: Path, pages: dict[str, dict[str, Any]]) -> Path:
    path.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    return path


class IncrementalDetails:
    """Mixin for SourceSpider: detail requests that skip unchanged pages, and one outcome per link."""

    source: str
    known: dict[str, KnownPage]
    crawler: Any

    def detail_request(self, response, href: str, callback: Callable, row_text: str | None = None) -> Iterator:
        """A request for a detail page, or a `seen` record when its list row is unchanged."""
        url = response.urljoin(href)
        key = page_id(self.source, url)
        fingerprint = row_hash(row_text)
        known = self.known.get(key)
        if known is not None and fingerprint is not None and known.row_hash == fingerprint:
            yield self._seen(url, key, known, "list row unchanged")
            return
        yield scrapy.Request(
            url,
            callback=self._detail,
            errback=self._detail_failed,
            headers=known.conditional_headers() if known else None,
            cb_kwargs={"parse": callback},
            meta={"page_key": key, "row_hash": fingerprint, "handle_httpstatus_list": [304]},
        )

    def _detail(self, response, parse: Callable) -> Iterator[dict]:
        key = response.meta["page_key"]
        if response.status == 304 and (known := self.known.get(key)) is not None:
            yield self._seen(response.url, key, known, "304 not modified")
            return
        page = {
            "source": self.source,
            "page_key": key,
            "row_hash": response.meta.get("row_hash"),
            "etag": _header(response, b"ETag"),
            "last_modified": _header(response, b"Last-Modified"),
        }
        for item in parse(response):
            yield {**item, "_page": page} if isinstance(item, dict) else item

    def _detail_failed(self, failure) -> Iterator[dict]:
        request = failure.request
        if failure.check(IgnoreRequest) and request.meta.get(BLOCKED_META):
            return  # counted in the crawl stats as blocked, not data
        self.crawler.stats.inc_value("jiebang/fetch_failed")
        if failure.check(HttpError):
            reason = f"HTTP {response_status_message(failure.value.response.status)} (after retries)"
        else:
            reason = f"{failure.type.__name__}: {failure.getErrorMessage()} (after retries)"
        yield {"record_type": "fetch_failed", "source": self.source, "url": request.url, "reason": reason[:500]}

    def _seen(self, url: str, key: str, known: KnownPage, why: str) -> dict:
        self.crawler.stats.inc_value("jiebang/skipped_unchanged")
        return {
            "record_type": "seen",
            "source": self.source,
            "url": url,
            "page_key": key,
            "record_id": known.record_id,
            "why": why,
        }


def _header(response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
