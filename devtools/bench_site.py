"""A synthetic source site on 127.0.0.1 for the whole-refresh benchmark (`devtools.bench_refresh`).

It serves N synthetic patents (recombined from real titles and abstract sentences by
`devtools.bench.synthetic_listings`) the way Google Patents does, so the real `google_patents`
spider crawls them: search JSON list pages (`/xhr/query?url=...num=100...page=K`, one row per
patent with title, snippet and dates, which is what the spider's list-row hash sees) → detail
pages with itemprops (`/patent/CN1xxxxxxxxA/zh`, with an ETag: a conditional GET of an unchanged
page answers 304). Beside them it serves Q open challenges as the tech market's need list
(`/jsmarket/xqlist?page=K` → `/jsmarket/xq/BXnnnnn.html`, for the `tech_market_needs` spider), so
the crawled challenges enter the warehouse as published, the way the nightly flow loads them.

`change(share)` edits a share of the patents between two crawls: title, abstract and claims of
each change, so both its list row and its detail page (and ETag) differ next time.

    with SyntheticSite.build(Path("../shared/data/real"), n=20_000, challenges=50) as site:
        site.sources_toml()     # [[sources]] for a config file
        changed = site.change(0.01)
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections import Counter
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from devtools import replay_pages
from devtools.bench import load_pools, synthetic_challenges, synthetic_listings
from matching.engine import Challenge, Listing

SEARCH_PAGE_SIZE = 100  # rows per search page (Google's largest `num`)
PATENT_SOURCE = "bench_patents"
MARKET_SOURCE = "bench_market"

_FIELDS = ("新一代信息技术", "高端装备制造", "新能源新材料", "时尚纺织", "生命健康", "绿色智能家居")
_IPC = (
    "H01L 21/02",
    "H01M 10/052",
    "C08L 23/06",
    "B23K 26/38",
    "G06T 7/00",
    "D06M 15/564",
    "A61K 36/00",
    "F24F 11/00",
    "H04B 1/40",
    "C22C 14/00",
    "B29C 45/17",
    "G01N 21/88",
)
_APPLICANTS = (
    "浙江大学",
    "嘉兴学院",
    "上海交通大学",
    "嘉善新材料科技有限公司",
    "浙江某某电子股份有限公司",
    "苏州某某智能装备有限公司",
    "中国科学院宁波材料技术与工程研究所",
    "同济大学",
)
_INVENTORS = ("王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄婷", "周杰", "吴芳")
_REGIONS = ("浙江省嘉兴市嘉善县", "上海市青浦区", "江苏省苏州市吴江区")
_COOPERATION = ("技术转让", "许可", "合作开发", "委托研发", "技术服务")
_LEGAL = ("Active", "Pending", "Expired - Fee Related")
_ROUTES = (
    ("robots", re.compile(r"^/robots\.txt$")),
    ("search", re.compile(r"^/xhr/query$")),
    ("patent", re.compile(r"^/patent/(?P<number>[A-Z0-9]+)/zh$")),
    ("need_list", re.compile(r"^/jsmarket/xqlist$")),
    ("need", re.compile(r"^/jsmarket/xq/(?P<id>[A-Za-z0-9-]+)\.html$")),
)


def publication_number(i: int) -> str:
    """The i-th synthetic patent's number, e.g. CN100000007A (listing id CN100000007)."""
    return f"CN1{i:08d}A"


def patent_record(i: int, listing: Listing, version: int = 0) -> dict[str, Any]:
    """A patent in the replay pages' shape; `version` > 0 is an edited one (title, abstract, claims)."""
    rng = random.Random(i)
    title, abstract = listing.title, listing.abstract
    if len(title.strip()) < 2:  # a few real titles are one character ("瓶", "2"): validation would quarantine them
        title = abstract[:24]
    if version:
        title = f"{title}（第{version}代改进型）"
        abstract = f"在原方案基础上改进第{version}版，提高了稳定性并降低了成本。{abstract}"
    sentences = [s for s in re.split(r"(?<=[。；])", abstract) if s]
    filed = date(2015, 1, 1) + timedelta(days=rng.randrange(3_000))
    return {
        "publication_number": publication_number(i),
        "title": title,
        "abstract": abstract,
        "claims": [
            f"1.一种{title}，其特征在于：{sentences[0] if sentences else abstract}",
            f"2.根据权利要求1所述的{title}，其特征在于：{sentences[-1] if sentences else abstract}",
        ],
        "applicants": [rng.choice(_APPLICANTS)],
        "inventors": rng.sample(_INVENTORS, 2),
        "ipc": rng.sample(_IPC, 2),
        "legal_status": rng.choice(_LEGAL),
        "priority_date": filed.isoformat(),
        "filing_date": filed.isoformat(),
        "publication_date": (filed + timedelta(days=540)).isoformat(),
        "version": version,
    }


def need_record(i: int, challenge: Challenge, deadline: date) -> dict[str, Any]:
    """A tech-market need (揭榜挂帅 challenge) in the replay pages' shape, open until `deadline`."""
    rng = random.Random(-1 - i)
    return {
        "id": f"BX{i:05d}",
        "title": challenge.title,
        "description": challenge.description,
        "field": _FIELDS[i % len(_FIELDS)],
        "reward_wan": rng.choice((None, 20, 50, 80, 120, 300)),
        "deadline": deadline.isoformat(),
        "issuer": f"嘉善县某某制造有限公司{i}号",
        "region": rng.choice(_REGIONS),
        "cooperation": rng.choice(_COOPERATION),
    }


class SyntheticSite:
    """The synthetic source site in a background thread (threaded http.server, 127.0.0.1, port 0)."""

    def __init__(
        self,
        listings: list[Listing],
        challenges: list[Challenge],
        *,
        deadline: date | None = None,
        seed: int = 11,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.listings = listings
        self.patents = [patent_record(i, listing) for i, listing in enumerate(listings)]
        self._by_number = {p["publication_number"]: i for i, p in enumerate(self.patents)}
        deadline = deadline or date.today() + timedelta(days=365)
        self.needs = [need_record(i, c, deadline) for i, c in enumerate(challenges)]
        self._needs_by_id = {n["id"]: n for n in self.needs}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.served: Counter[str] = Counter()  # robots, search, patent, patent_304, need_list, need, 404
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @classmethod
    def build(cls, real: Path, n: int, challenges: int, seed: int = 7, **kwargs: Any) -> SyntheticSite:
        """N patents and Q challenges recombined from the real records in `real`."""
        pools = load_pools(Path(real))
        return cls(synthetic_listings(pools, n, seed), synthetic_challenges(pools, challenges, seed + 1), **kwargs)

    # ---- the benchmark's controls ----

    def change(self, share: float) -> list[str]:
        """Edit round(share × N) patents (at least one, spread over the whole list); returns their
        listing ids (publication numbers without kind code)."""
        count = max(1, round(share * len(self.patents))) if self.patents else 0
        picked = sorted(self._rng.sample(range(len(self.patents)), count))
        with self._lock:
            for i in picked:
                self.patents[i] = patent_record(i, self.listings[i], self.patents[i]["version"] + 1)
        return [self.patents[i]["publication_number"][:-1] for i in picked]

    def reset_counts(self) -> None:
        with self._lock:
            self.served.clear()

    @property
    def base_url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]  # server_address is typed str | bytes
        return f"http://{host}:{port}"

    def sources_toml(self) -> str:
        """The two sources of this site as `[[sources]]` tables of a Jiebang config file."""
        return (
            f'[[sources]]\nname = "{PATENT_SOURCE}"\nspider = "google_patents"\nbase_url = "{self.base_url}"\n'
            f'start_path = "/xhr/query?url=country%3DCN%26num%3D{SEARCH_PAGE_SIZE}"\n\n'
            f'[[sources]]\nname = "{MARKET_SOURCE}"\nspider = "tech_market_needs"\nbase_url = "{self.base_url}"\n'
            'start_path = "/jsmarket/xqlist?page=1"\n'
        )

    def start(self) -> SyntheticSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> SyntheticSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- pages ----

    def render(
        self, path: str, query: dict[str, list[str]], if_none_match: str | None
    ) -> tuple[int, str, bytes, dict[str, str]]:
        """(status, content type, body, extra headers) for one request."""
        for name, pattern in _ROUTES:
            if m := pattern.match(path):
                return getattr(self, f"_{name}")(m.groupdict(), query, if_none_match)
        self._count("404")
        return 404, "text/html; charset=utf-8", "<h1>404 未找到</h1>".encode(), {}

    def _count(self, kind: str) -> None:
        with self._lock:
            self.served[kind] += 1

    def _robots(self, _g, _q, _etag):
        self._count("robots")
        return 200, "text/plain", b"User-agent: *\nAllow: /\n", {}

    def _search(self, _g, query, _etag):
        inner = parse_qs(query.get("url", [""])[0])
        num = min(SEARCH_PAGE_SIZE, int(inner.get("num", ["10"])[0]))
        page = int(inner.get("page", ["0"])[0])
        self._count("search")
        body = replay_pages.google_patents_search(self.patents, num, page)
        return 200, "application/json; charset=utf-8", body.encode("utf-8"), {}

    def _patent(self, g, _q, if_none_match):
        i = self._by_number.get(g["number"])
        if i is None:
            self._count("404")
            return 404, "text/html; charset=utf-8", b"<h1>404</h1>", {}
        patent = self.patents[i]
        etag = '"' + hashlib.sha1(f"{patent['publication_number']}/{patent['version']}".encode()).hexdigest()[:16] + '"'
        if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
            self._count("patent_304")
            return 304, "text/html; charset=utf-8", b"", {"ETag": etag}
        self._count("patent")
        return (
            200,
            "text/html; charset=utf-8",
            replay_pages.google_patent_detail(patent).encode("utf-8"),
            {"ETag": etag},
        )

    def _need_list(self, _g, query, _etag):
        self._count("need_list")
        body = replay_pages.need_list(self.needs, int(query.get("page", ["1"])[0]))
        return 200, "text/html; charset=utf-8", body.encode("utf-8"), {}

    def _need(self, g, _q, _etag):
        need = self._needs_by_id.get(g["id"])
        if need is None:
            self._count("404")
            return 404, "text/html; charset=utf-8", b"<h1>404</h1>", {}
        self._count("need")
        return 200, "text/html; charset=utf-8", replay_pages.need_detail(need).encode("utf-8"), {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real sites answer

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                status, ctype, body, headers = site.render(
                    url.path, parse_qs(url.query), self.headers.get("If-None-Match")
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: Scrapy logs the requests
                pass

        return Handler
