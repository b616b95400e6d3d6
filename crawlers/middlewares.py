"""Downloader middlewares: block pages never reach a parser, and every page is accounted for.

`BlockedPageMiddleware` backs off and retries a captcha / rate-limit page, then gives the
request up; `PageAccountingMiddleware` counts the pages that do reach a parser (list or
detail) and drops 304 Not Modified answers.

`ParseFailureMiddleware` (a spider middleware) turns a page its parser fails on into a
`parse_failed` record, quarantined like a page that could not be fetched.

Stats: `jiebang/blocked` (requests given up as blocked, once each), `jiebang/blocked_responses`
(every block page seen, retries included), `jiebang/pages/list`, `jiebang/pages/detail`,
`jiebang/skipped_unchanged` (304s nobody asked to see), `jiebang/parse_failed/list` and
`jiebang/parse_failed/detail` (pages a parser raised on), `jiebang/parse_failed/first` (the first
one's URL and error, for the run report).
"""

from __future__ import annotations

import logging

from parsel import Selector
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse, XmlResponse
from scrapy.http.request import NO_CALLBACK
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.asyncio import sleep

from crawlers.skip_unchanged import BLOCKED_META

logger = logging.getLogger(__name__)

# Wording of block pages (captcha, rate limit, slider check), compared lower-cased. In a 403 or
# 429 body any of them means a block. A 2xx page is judged only by a spider that declares
# `records_css`: CNIPR ships its "操作过于频繁,请输入验证码" dialog hidden in every page, and
# ordinary pages have login boxes asking for a 验证码, so the wording alone proves nothing there.
BLOCK_MARKERS = (
    "操作过于频繁",
    "访问过于频繁",
    "请求过于频繁",
    "请输入验证码",
    "验证码",
    "人机验证",
    "安全验证",
    "滑块验证",
    "拖动滑块",
    "向右滑动",
    "captcha",
    "slider",
    "geetest",
    "unusual traffic",
    "are you a robot",
    "robotdetected",  # EPO OPS answers a suspected robot with 403 CLIENT.RobotDetected
)
BLOCK_STATUSES = frozenset({403, 429})
ATTEMPT_META = "jiebang_block_attempts"


def is_block_page(response: Response, records_css: str | None = None) -> bool:
    """Whether a response is a block page rather than data.

    >>> from scrapy.http import HtmlResponse
    >>> is_block_page(HtmlResponse("http://x/", status=429, body="访问过于频繁".encode(), encoding="utf-8"))
    True
    """
    if not isinstance(response, TextResponse):
        return False
    text = response.text.lower()
    if not any(marker in text for marker in BLOCK_MARKERS):
        return False
    if response.status in BLOCK_STATUSES:
        return True
    if 200 <= response.status < 300 and records_css:
        # JSON answers cannot be queried with CSS: their text is searched as HTML instead
        page = (
            response if isinstance(response, (HtmlResponse, XmlResponse)) else Selector(text=response.text, type="html")
        )
        return not page.css(records_css)
    return False


class BlockedPageMiddleware:
    """Retry a blocked request after a growing pause; after the last attempt, give it up.

    The pause happens inside the middleware, so the request keeps its place in the crawl (the
    spider does not go idle and close meanwhile), and the site's download slot is slowed to at
    least the same delay so its other requests back off too (AutoThrottle relaxes it again).
    """

    def __init__(self, crawler, retries: int, backoff: float, max_backoff: float) -> None:
        self.crawler = crawler
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(
            crawler,
            s.getint("JIEBANG_BLOCK_RETRIES", 3),
            s.getfloat("JIEBANG_BLOCK_BACKOFF_SECONDS", 30.0),
            s.getfloat("JIEBANG_BLOCK_BACKOFF_MAX_SECONDS", 600.0),
        )

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1, 2, …): doubling, capped."""
        return min(self.backoff * 2 ** (attempt - 1), self.max_backoff)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if not is_block_page(response, getattr(self.crawler.spider, "records_css", None)):
            return response
        stats = self.crawler.stats
        stats.inc_value("jiebang/blocked_responses")
        attempt = request.meta.get(ATTEMPT_META, 0) + 1
        if attempt > self.retries:
            stats.inc_value("jiebang/blocked")
            request.meta[BLOCKED_META] = True  # the incremental errback then records no fetch failure
            logger.warning(
                "blocked (HTTP %s), giving up after %d retries: %s", response.status, self.retries, request.url
            )
            raise IgnoreRequest(f"blocked by the site (HTTP {response.status}): {request.url}")
        delay = self.delay_before(attempt)
        logger.warning(
            "blocked (HTTP %s), retry %d/%d in %.1f s: %s", response.status, attempt, self.retries, delay, request.url
        )
        self._slow_down(request, delay)
        if delay > 0:
            await sleep(delay)
        return request.replace(dont_filter=True, meta={**request.meta, ATTEMPT_META: attempt})

    def _slow_down(self, request: Request, delay: float) -> None:
        if not self.crawler.crawling:  # driven directly, outside a crawl: no downloader
            return
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(downloader.get_slot_key(request))
        if slot is not None:
            slot.delay = max(slot.delay, delay)


class PageAccountingMiddleware:
    """Count the pages that reach a parser by kind, and keep 304s away from parsers.

    A spider names its list callbacks in `list_callbacks` (default: `parse`); any other
    callback is a detail page. A 304 reaches the spider only when the request asked for it
    (`handle_httpstatus_list`, as crawlers.skip_unchanged does; it then counts the page itself).
    """

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status == 304 and not self._asked_for(request, 304):
            self.crawler.stats.inc_value("jiebang/skipped_unchanged")
            raise IgnoreRequest(f"not modified: {request.url}")
        if 200 <= response.status < 300 and request.callback is not NO_CALLBACK:
            self.crawler.stats.inc_value(f"jiebang/pages/{self.page_kind(request)}")
        return response

    def page_kind(self, request: Request) -> str:
        return page_kind(self.crawler.spider, request)

    def _asked_for(self, request: Request, status: int) -> bool:
        allowed = request.meta.get("handle_httpstatus_list", getattr(self.crawler.spider, "handle_httpstatus_list", ()))
        return bool(request.meta.get("handle_httpstatus_all")) or status in allowed


def page_kind(spider, request: Request) -> str:
    """'list' for a spider's list callbacks (`list_callbacks`, default `parse`), else 'detail'."""
    callback = request.callback
    name = "parse" if callback is None else getattr(callback, "__name__", str(callback))
    return "list" if name in getattr(spider, "list_callbacks", ("parse",)) else "detail"


class ParseFailureMiddleware:
    """Spider middleware: a page whose parser raises (a search answer cut off half-way, a site
    that changed its layout) becomes one `parse_failed` record with the exception's message,
    which the loader quarantines with field `parse`. Scrapy would only log it and count
    `spider_exceptions/…`; the page would then vanish from the accounting, and a list page's
    listings would look gone. HTTP errors are left to Scrapy (HttpErrorMiddleware)."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception):
        if isinstance(exception, HttpError):
            return None
        spider = self.crawler.spider
        kind = page_kind(spider, response.request) if response.request is not None else "list"
        reason = f"{type(exception).__name__}: {exception}"[:500]
        stats = self.crawler.stats
        stats.inc_value(f"jiebang/parse_failed/{kind}")
        if stats.get_value("jiebang/parse_failed/first") is None:
            stats.set_value("jiebang/parse_failed/first", f"{reason} ({response.url})"[:700])
        logger.error("could not parse %s page %s: %s", kind, response.url, reason, exc_info=exception)
        return [
            {
                "record_type": "parse_failed",
                "source": getattr(spider, "source", spider.name),
                "url": response.url,
                "page_kind": kind,
                "reason": reason,
            }
        ]


class SeenBatchMiddleware:
    """Spider middleware: the `seen` records a list page yields (one per unchanged row) leave as
    one `seen_batch` item per page. An item costs Scrapy a fraction of a millisecond in its
    pipelines and feed; one per unchanged listing was most of an incremental night's crawl.
    (Both forms of the hook, so spiders with sync or async callbacks get it.)"""

    def process_spider_output(self, response, result):
        seen = []
        for element in result:
            if _is_seen(element):
                seen.append(element)
            else:
                yield element
        yield from _batched(seen)

    async def process_spider_output_async(self, response, result):
        seen = []
        async for element in result:
            if _is_seen(element):
                seen.append(element)
            else:
                yield element
        for batch in _batched(seen):
            yield batch


def _is_seen(element) -> bool:
    return isinstance(element, dict) and element.get("record_type") == "seen"


def _batched(seen: list[dict]) -> list[dict]:
    return [{"record_type": "seen_batch", "source": seen[0]["source"], "pages": seen}] if seen else []
