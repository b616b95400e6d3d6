"""A local replay of the sources: serves the sample data as the real sites' pages on 127.0.0.1.

The demo and the tests crawl this site with the same spiders that crawl the real sources;
only the base URLs in the settings differ.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from devtools import replay_pages as pages
from jiebang.errors import JiebangError
from jiebang.settings import ACHIEVEMENT_SITES
from warehouse.domain import SOURCE_LABELS


@dataclass(frozen=True)
class SampleData:
    patents: list[dict[str, Any]]
    achievements: dict[str, list[dict[str, Any]]]  # site → records, each with its number "n"
    needs: list[dict[str, Any]]

    @classmethod
    def load(cls, folder: Path | None = None) -> SampleData:
        """Read the sample JSON lines (by default the ones shipped in devtools/demo_data)."""
        base = Path(folder) if folder else Path(str(resources.files("devtools").joinpath("demo_data")))
        patents = sorted(_read_all(base, "patents_*.jsonl"), key=lambda p: p["publication_number"])
        achievements: dict[str, list[dict[str, Any]]] = {site: [] for site in ACHIEVEMENT_SITES}
        for record in sorted(_read_all(base, "achievements_*.jsonl"), key=lambda a: (a["published"], a["title"])):
            site_list = achievements[record["site"]]
            site_list.append({**record, "n": 1000 + len(site_list)})
        needs = sorted(_read_all(base, "needs.jsonl"), key=lambda n: n["id"])
        return cls(patents, achievements, needs)


def _read_all(base: Path, pattern: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(base.glob(pattern)):
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return records


_ROUTES = [
    (re.compile(r"^/robots\.txt$"), "robots"),
    (re.compile(r"^/xhr/query$"), "patent_search"),
    (re.compile(r"^/patent/(?P<number>[A-Z0-9]+)/zh$"), "patent_detail"),
    (re.compile(r"^/(?P<site>[a-z]+)/kjcg/list_(?P<page>\d+)\.html$"), "achievement_list"),
    (re.compile(r"^/(?P<site>[a-z]+)/kjcg/detail/(?P<n>\d+)\.html$"), "achievement_detail"),
    (re.compile(r"^/jsmarket/xqlist$"), "need_list"),
    (re.compile(r"^/jsmarket/xq/(?P<id>[A-Za-z0-9-]+)\.html$"), "need_detail"),
]


def render(data: SampleData, path: str, query: dict[str, list[str]]) -> tuple[int, str, str] | None:
    """(status, content type, body) for a path of the replay site, or None for 404."""
    for pattern, name in _ROUTES:
        if m := pattern.match(path):
            return _RENDERERS[name](data, m.groupdict(), query)
    return None


def _html(body: str | None) -> tuple[int, str, str] | None:
    return None if body is None else (200, "text/html; charset=utf-8", body)


def _patent_search(data: SampleData, _: dict, query: dict) -> tuple[int, str, str]:
    inner = parse_qs(query.get("url", [""])[0])
    num = int(inner.get("num", ["10"])[0])
    page = int(inner.get("page", ["0"])[0])
    return 200, "application/json; charset=utf-8", pages.google_patents_search(data.patents, num, page)


def _patent_detail(data: SampleData, g: dict, _: dict):
    found = next((p for p in data.patents if p["publication_number"] == g["number"]), None)
    return _html(pages.google_patent_detail(found) if found else None)


def _achievement_list(data: SampleData, g: dict, _: dict):
    items = data.achievements.get(g["site"])
    if items is None:
        return None
    return _html(pages.achievement_list(SOURCE_LABELS[g["site"]], g["site"], items, int(g["page"])))


def _achievement_detail(data: SampleData, g: dict, _: dict):
    items = data.achievements.get(g["site"], [])
    found = next((a for a in items if a["n"] == int(g["n"])), None)
    return _html(pages.achievement_detail(found) if found else None)


def _need_detail(data: SampleData, g: dict, _: dict):
    found = next((n for n in data.needs if n["id"] == g["id"]), None)
    return _html(pages.need_detail(found) if found else None)


_RENDERERS = {
    "robots": lambda d, g, q: (200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
    "patent_search": _patent_search,
    "patent_detail": _patent_detail,
    "achievement_list": _achievement_list,
    "achievement_detail": _achievement_detail,
    "need_list": lambda d, g, q: _html(pages.need_list(d.needs, int(q.get("page", ["1"])[0]))),
    "need_detail": _need_detail,
}


class PortInUse(JiebangError):
    """The replay site's port is taken."""


class ReplaySite:
    """The replay site in a background thread: `with ReplaySite(data) as site: site.base_url`."""

    def __init__(self, data: SampleData, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data = data
        handler = type("Handler", (_Handler,), {"data": data})
        try:
            self.server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise PortInUse(
                f"回放站点无法监听 {host}:{port} ({exc.strerror}); 端口被占用？"
                " Stop the other demo or set JIEBANG_REPLAY_PORT to a free port."
            ) from None
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]  # server_address is typed str | bytes
        return f"http://{host}:{port}"

    def start(self) -> ReplaySite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ReplaySite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    data: SampleData

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        result = render(self.data, url.path, parse_qs(url.query))
        status, ctype, body = result or (404, "text/html; charset=utf-8", "<h1>404 未找到</h1>")
        payload = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: Scrapy logs the requests
        pass
