"""Run a spider's parser on a saved page: what a crawl would get from it, without fetching.

Backs `jiebang parse SOURCE FILE`, for checking a site's new layout or a quarantined page by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scrapy
from scrapy.http import HtmlResponse, JsonResponse, Request, Response, XmlResponse
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

from crawlers.errors import CannotParse, excerpt
from crawlers.pipelines import CleanTextPipeline, PublicationNumberPipeline

# Spiders that do not declare `detail_callback` / `looks_like_detail` themselves: their detail
# callback, and text that only their detail pages contain.
DETAIL_PAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "google_patents": ("parse_patent", ('itemprop="publicationNumber"',)),
    "achievements": ("parse_detail", ('class="cg-title"',)),
    "tech_market_needs": ("parse_detail", ('class="xq-info"',)),
}


def parse_saved(
    spider_name: str, path: Path, url: str | None = None, callback: str | None = None, *, source: str | None = None
) -> list[dict[str, Any]]:
    """The cleaned items a spider makes of a saved page, and `{"request": url, "callback": name}`
    for each page it would fetch next (with `method` and `body` when not a plain GET).

    `url` is where the page came from (ids and links derive from it; default: the file's URI);
    `callback` defaults to the detail callback for a detail page, else `parse`. For example
    `parse_saved("cnipr", Path("list.html"))` → ten patent items and the next page's request.
    """
    spider = spider_class(spider_name)(source=source)
    response = saved_response(Path(path), url)
    name = callback or choose_callback(spider, response)
    parser = getattr(spider, name, None)
    if not callable(parser):
        raise CannotParse(f"spider {spider_name} has no callback {name!r} (回调不存在); leave it out to choose by page")
    try:
        return [described(result) for result in parser(response) or () if isinstance(result, (dict, Request))]
    except Exception as exc:
        # Whatever the parser trips on (cut-off JSON, a list where an object was expected, a
        # missing key), it means one thing here: this page is not one the callback can read.
        raise CannotParse(
            f"{path}: {spider_name}.{name} 无法解析此页面 (cannot parse the page: "
            f"{type(exc).__name__}: {excerpt(str(exc), 200)})"
        ) from exc


def spider_class(name: str) -> type[scrapy.Spider]:
    loader = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["crawlers.spiders"]}))
    try:
        return loader.load(name)
    except KeyError:
        raise CannotParse(f"no spider named {name!r} (爬虫不存在); known: {', '.join(loader.list())}") from None


def saved_response(path: Path, url: str | None = None) -> Response:
    """The file as Scrapy would have received it. The class is chosen from the content, not the
    name (EPO's saved `search_result.xml` is JSON), so HTML meta charsets (GBK …) and XML
    declarations decide the encoding as in a crawl."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise CannotParse(f"cannot read {path}: {exc.strerror} (文件无法读取)") from None
    url = url or path.resolve().as_uri()
    return response_class(body)(url=url, body=body, request=Request(url))


def response_class(body: bytes) -> type[Response]:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:2048].lower()
    if head[:1] in (b"{", b"["):
        return JsonResponse
    if head.startswith(b"<?xml") and b"<html" not in head:
        return XmlResponse
    return HtmlResponse


def choose_callback(spider: scrapy.Spider, response: Response) -> str:
    """The spider's detail callback when the page looks like a detail page, else `parse`."""
    detail, markers = DETAIL_PAGES.get(spider.name, (getattr(spider, "detail_callback", None), ()))
    if not detail:
        return "parse"
    if callable(looks_like_detail := getattr(spider, "looks_like_detail", None)):
        return detail if looks_like_detail(response) else "parse"
    return detail if any(marker in response.text for marker in markers) else "parse"


def described(result: dict | Request) -> dict[str, Any]:
    if isinstance(result, dict):
        return PublicationNumberPipeline().process_item(CleanTextPipeline().process_item(dict(result)))
    # detail requests go through the incremental wrapper, which keeps the real parser in cb_kwargs
    parser = result.cb_kwargs.get("parse") or result.callback
    entry = {"request": result.url, "callback": getattr(parser, "__name__", "parse")}
    if result.method != "GET":
        entry |= {"method": result.method, "body": result.body.decode("utf-8", "replace")}
    return entry
