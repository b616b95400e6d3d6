"""A university achievement site that misbehaves on purpose, served on 127.0.0.1 for crawl tests.

Pages follow the replay site's structure (list pages → detail pages); each achievement may carry
a `fault`: "500" (two server errors, then fine), "429" (one 429 with Retry-After), "timeout" (the
first answer comes too late), "truncated" (always shorter than its Content-Length), "gbk" (GBK
bytes), "captcha" (the real CNIPR block page), "no_title", "gone" (404), "duplicate" (linked
from two list pages), "json" (an API's JSON error answer where the HTML page should be: the parser raises).

`PatentSearchSite` serves the replay site's Google Patents search, cut short or shrunk on demand.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from devtools import replay_pages
from devtools.replay_site import SampleData, render

CAPTCHA_PAGE = Path(__file__).resolve().parents[2] / "shared/data/real/pages/cnipr/cnipr_captcha_block_page.html"
LAST_MODIFIED = "Mon, 02 Nov 2026 08:00:00 GMT"


def achievement(n: int, fault: str | None = None, **overrides) -> dict:
    return {
        "n": n,
        "fault": fault,
        "title": f"高导热石墨烯复合膜制备技术{n}号",
        "unit": "故障测试大学材料学院",
        "field": "新能源新材料",
        "maturity": "小试",
        "cooperation": "技术转让",
        "price": "面议",
        "keywords": ["石墨烯", "导热膜"],
        "contact": "李老师 0571-00000000",
        "published": "2026-10-0" + str(n % 9 + 1),
        "summary": f"本成果第{n}号：以氧化石墨烯为原料，经涂布与高温石墨化制备导热膜，面内导热系数达1500W/(m·K)。",
        **overrides,
    }


class FaultSite:
    def __init__(self, items: list[dict]) -> None:
        self.items = items
        self.requests: Counter[str] = Counter()  # path → times requested
        self.statuses: list[tuple[str, int]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def detail_paths_requested(self) -> set[str]:
        return {p for p in self.requests if "/detail/" in p}

    def _listed(self) -> list[dict]:
        # A row may show another date than its page (`list_date`): the row changes, the page not.
        listed = [{**a, "published": a.get("list_date", a["published"])} for a in self.items]
        duplicates = [a for a in listed if a["fault"] == "duplicate"]
        # The duplicate shows up again on the next list page (as when a site re-sorts while it is read).
        return listed[: replay_pages.PAGE_SIZE] + duplicates + listed[replay_pages.PAGE_SIZE :]

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                site.requests[path] += 1
                if path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                if path.startswith("/fault/kjcg/list_"):
                    page = int(path.removeprefix("/fault/kjcg/list_").removesuffix(".html"))
                    html = replay_pages.achievement_list("故障测试大学", "fault", site._listed(), page)
                    return self._send(200, html.encode("utf-8"))
                if path.startswith("/fault/kjcg/detail/"):
                    n = int(path.removeprefix("/fault/kjcg/detail/").removesuffix(".html"))
                    found = [a for a in site.items if a["n"] == n]
                    return self._detail(found[0], site.requests[path]) if found else self._send(404, b"not found")
                self._send(404, b"not found")

            def _detail(self, a: dict, attempt: int) -> None:
                fault = a["fault"]
                if fault == "500" and attempt <= 2:
                    return self._send(500, b"internal error")
                if fault == "429" and attempt == 1:
                    return self._send(429, b"slow down", headers={"Retry-After": "1"})
                if fault == "timeout" and attempt == 1:
                    time.sleep(3)  # longer than the crawl's download timeout
                if fault == "gone":
                    return self._send(404, b"not found")
                if fault == "captcha":
                    return self._send(200, CAPTCHA_PAGE.read_bytes())
                if fault == "json":
                    body = '{"code": 500, "msg": "系统繁忙"}'.encode()
                    return self._send(200, body, "application/json; charset=utf-8")
                html = replay_pages.achievement_detail({**a, "title": "" if fault == "no_title" else a["title"]})
                if fault == "gbk":
                    html = html.replace('charset="utf-8"', 'charset="gbk"')
                    return self._send(200, html.encode("gbk"), "text/html; charset=gbk")
                body = html.encode("utf-8")
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", headers={"ETag": etag})
                if fault == "truncated":
                    return self._send(200, body[: len(body) // 2], declared_length=len(body))
                self._send(200, body, headers={"ETag": etag, "Last-Modified": LAST_MODIFIED})

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str = "text/html; charset=utf-8",
                headers: dict | None = None,
                declared_length: int | None = None,
            ) -> None:
                site.statuses.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(declared_length or len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
                if declared_length:
                    self.close_connection = True

        return Handler


class PatentSearchSite:
    """The replay site's Google Patents search (JSON) and patent pages on 127.0.0.1, with faults
    on the search answer: `truncated_pages` (search page numbers answered with their JSON cut in
    half, as a dropped connection or a broken proxy does) and `listed` (the patents the search
    lists: shrink it to make most of the source vanish at once)."""

    def __init__(self, data: SampleData) -> None:
        self.data = data
        self.listed = list(data.patents)
        self.truncated_pages: set[int] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> PatentSearchSite:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                data = replace(site.data, patents=site.listed)
                status, content_type, text = render(data, url.path, query) or (404, "text/plain", "not found")
                body = text.encode("utf-8")
                page = int(parse_qs(query.get("url", [""])[0]).get("page", ["0"])[0])
                if url.path == "/xhr/query" and page in site.truncated_pages:
                    body = body[: len(body) // 2]  # a whole HTTP answer whose JSON stops half-way
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
