"""Retries that back off: a server that says 429 or 503 is given the time it asks for.

Scrapy's own RetryMiddleware retries at once; against a rate-limited site that only earns more
429s. This one waits `Retry-After` (seconds or an HTTP date, capped) when the server sends it,
and otherwise JIEBANG_BACKOFF_SECONDS × 2^(retries so far).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.utils.response import response_status_message

MAX_WAIT_SECONDS = 120.0  # a Retry-After beyond this is not waited for in one crawl


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header value, or None when it says nothing usable.

    >>> retry_after_seconds("3")
    3.0
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    10.0
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.backoff_seconds = settings.getfloat("JIEBANG_BACKOFF_SECONDS", 1.0)

    async def process_response(self, request, response, spider=None):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        header = response.headers.get(b"Retry-After")
        wait = retry_after_seconds(header.decode("latin-1") if header else None)
        if wait is None:
            wait = self.backoff_seconds * 2 ** request.meta.get("retry_times", 0)
        self.crawler.stats.inc_value("jiebang/backoff_seconds", round(min(wait, MAX_WAIT_SECONDS), 3))
        await asyncio.sleep(min(wait, MAX_WAIT_SECONDS))
        return retry
