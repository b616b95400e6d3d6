"""Parsers tested on saved pages: the real Google Patents pages in ../shared and the replay site.

Every spider in crawlers/spiders must have a test here named `test_<spider name>_…`
(see `test_every_spider_is_declared_and_has_a_parse_test`).
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import scrapy
import yaml
from scrapy.http import HtmlResponse, Request, TextResponse

import crawlers.spiders
from crawlers.pipelines import CleanTextPipeline, PublicationNumberPipeline
from crawlers.spiders.achievements import AchievementsSpider, price_in_wan
from crawlers.spiders.google_patents import GooglePatentsSpider, next_search_page
from crawlers.spiders.tech_market_needs import TechMarketNeedsSpider
from devtools.replay_site import render

from .conftest import SHARED

GOOGLE_PAGES = SHARED / "data/real/pages/google_patents"
BASE = "http://replay.test:8765"  # any host: ids must not depend on it


def saved_page(path: Path, url: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=path.read_bytes(), encoding="utf-8", request=Request(url))


def replay_page(sample_data, path_and_query: str, base: str = BASE) -> TextResponse:
    """A page of the replay site rendered in-process, as Scrapy would receive it."""
    url = base + path_and_query
    parts = urlparse(url)
    rendered = render(sample_data, parts.path, parse_qs(parts.query))
    assert rendered is not None, f"the replay site has no page {path_and_query}"
    status, content_type, body = rendered
    cls = TextResponse if content_type.startswith("application/json") else HtmlResponse
    return cls(url=url, status=status, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


def cleaned(item: dict) -> dict:
    """The item after the cleaning pipelines that run before the feed is written."""
    return PublicationNumberPipeline().process_item(CleanTextPipeline().process_item(dict(item)))


def parses_with(request: scrapy.Request, parser) -> bool:
    """Whether a detail request ends in `parser` (detail pages pass through the incremental wrapper)."""
    return request.cb_kwargs.get("parse") == parser


def split_requests(results: list) -> tuple[list[scrapy.Request], list[dict]]:
    requests = [r for r in results if isinstance(r, scrapy.Request)]
    items = [r for r in results if isinstance(r, dict)]
    assert len(requests) + len(items) == len(results)
    return requests, items


def _inner_query(url: str) -> dict[str, list[str]]:
    return parse_qs(parse_qs(urlparse(url).query)["url"][0])


# --- google_patents: the real pages ------------------------------------------------------------


@pytest.fixture(scope="module")
def cn_patent() -> tuple[dict, dict]:
    url = "https://patents.google.com/patent/CN101551481B/zh"
    items = list(GooglePatentsSpider().parse_patent(saved_page(GOOGLE_PAGES / "CN101551481B_zh.html", url)))
    assert len(items) == 1
    return items[0], cleaned(items[0])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("record_type", "listing"),
        ("kind", "patent"),
        ("publication_number", "CN101551481B"),
        ("application_number", "CN2009101277538A"),  # as Google writes it: check digit 8, kind A
        ("listing_id", "CN101551481"),
        ("title", "滤色片制造方法"),
        ("applicants", ["Fujifilm Corp"]),
        ("inventors", ["竹田明彦", "中泽隆浩"]),
        ("priority_date", "2008-03-31"),
        ("filing_date", "2009-03-25"),
        ("published_on", "2012-11-21"),
        ("legal_status", "Expired - Fee Related"),
        ("language", "zh"),
        ("ipc", []),  # this page has no classification list
        ("url", "https://patents.google.com/patent/CN101551481B/zh"),
        ("source", "google_patents"),
    ],
)
def test_google_patents_real_cn_page_field(cn_patent, field, expected):
    _, item = cn_patent
    assert item[field] == expected


@pytest.mark.unit
def test_google_patents_real_cn_page_texts(cn_patent):
    raw, item = cn_patent
    assert item["abstract"].startswith("本发明提供下述滤色片制造方法")
    assert "黑矩阵" in item["abstract"]
    assert item["claims"].startswith("1.一种滤色片的制造方法")
    assert len(re.findall(r"(?:^|\s)\d+\.", raw["claims"])) >= 2  # every claim, not just the first
    assert raw["title"].strip() == "滤色片制造方法"  # the layout whitespace is the pipeline's job


@pytest.fixture(scope="module")
def us_patent() -> dict:
    url = "https://patents.google.com/patent/US7654321B2/en"
    items = list(GooglePatentsSpider().parse_patent(saved_page(GOOGLE_PAGES / "US7654321B2_en.html", url)))
    assert len(items) == 1
    return cleaned(items[0])


@pytest.mark.unit
def test_google_patents_real_us_page(us_patent):
    assert us_patent["publication_number"] == "US7654321B2"
    assert us_patent["listing_id"] == "US7654321"
    assert us_patent["title"].startswith("Formation fluid sampling apparatus")
    assert us_patent["applicants"] == ["Schlumberger Technology Corp"]
    assert us_patent["ipc"] == ["E21B49/00", "E21B49/08", "E21B49/10"]  # page lists some twice
    assert us_patent["ipc"].count("E21B49/00") == 1
    assert us_patent["inventors"][0] == "Alexander F. Zazovsky" and len(us_patent["inventors"]) == 6
    assert (us_patent["priority_date"], us_patent["filing_date"], us_patent["published_on"]) == (
        "2006-12-27",
        "2006-12-27",
        "2010-02-02",
    )
    assert us_patent["language"] == "en"
    assert us_patent["claims"].startswith("1. A fluid sampling system")


@pytest.mark.unit
def test_google_patents_real_search_response_follows_each_hit():
    cassette = yaml.safe_load((GOOGLE_PAGES / "vcr_cassette_search_patents.yaml").read_text(encoding="utf-8"))
    exchange = cassette["interactions"][0]
    url = exchange["request"]["uri"]
    body = exchange["response"]["body"]["string"]
    hits = [hit["id"] for hit in json.loads(body)["results"]["cluster"][0]["result"]]
    response = TextResponse(url=url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))
    spider = GooglePatentsSpider()
    requests = list(spider.parse(response))
    follow = [r for r in requests if r.callback != spider.parse]
    more = [r for r in requests if r.callback == spider.parse]
    assert len(hits) == 10  # Google returned 10 hits although num=5 was asked for
    assert [r.url for r in follow] == [f"https://patents.google.com/{hit}" for hit in hits]
    assert follow[0].url == "https://patents.google.com/patent/JP7661093B2/en"
    assert all(parses_with(r, spider.parse_patent) for r in follow)
    # The starting page asks for every later page at once (Google said how many there are).
    total = json.loads(body)["results"]["total_num_pages"]
    assert [_inner_query(r.url)["page"] for r in more] == [[str(page)] for page in range(1, total)]
    assert _inner_query(more[0].url) == {"q": ["robot"], "num": ["5"], "page": ["1"]}


# --- google_patents: the replay site --------------------------------------------------------------


@pytest.mark.unit
def test_google_patents_search_follows_hits_and_the_next_page(sample_data):
    response = replay_page(sample_data, "/xhr/query?url=country%3DCN%26num%3D25")
    spider = GooglePatentsSpider(source="google_patents")
    requests, items = split_requests(list(spider.parse(response)))
    assert items == []
    expected = [f"{BASE}/patent/{p['publication_number']}/zh" for p in sample_data.patents[:25]]
    pages = -(-len(sample_data.patents) // 25)
    follow, more = requests[:25], requests[25:]
    assert [r.url for r in follow] == expected
    assert all(parses_with(r, spider.parse_patent) for r in follow)
    assert [r.url for r in more] == [next_search_page(response.url, page) for page in range(1, pages)]
    assert all(r.callback == spider.parse and r.meta["listed"] for r in more)
    assert _inner_query(more[0].url) == {"country": ["CN"], "num": ["25"], "page": ["1"]}


@pytest.mark.unit
def test_google_patents_later_search_pages_list_no_more_pages(sample_data):
    response = replay_page(sample_data, "/xhr/query?url=country%3DCN%26num%3D25%26page%3D1")
    response.request.meta["listed"] = True  # asked for by the starting page
    spider = GooglePatentsSpider(source="google_patents")
    requests = list(spider.parse(response))
    assert requests and all(parses_with(r, spider.parse_patent) for r in requests)


@pytest.mark.unit
def test_google_patents_search_stops_on_the_last_page(sample_data):
    last = -(-len(sample_data.patents) // 25) - 1
    assert last >= 1, "the sample data should span several search pages"
    response = replay_page(sample_data, f"/xhr/query?url=country%3DCN%26num%3D25%26page%3D{last}")
    spider = GooglePatentsSpider(source="google_patents")
    requests = list(spider.parse(response))
    assert [r.url for r in requests] == [
        f"{BASE}/patent/{p['publication_number']}/zh" for p in sample_data.patents[last * 25 :]
    ]
    assert all(parses_with(r, spider.parse_patent) for r in requests)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "url", "page", "expected_inner"),
    [
        (
            "adds page to the inner query",
            "http://h/xhr/query?url=country%3DCN%26num%3D25",
            1,
            {"country": ["CN"], "num": ["25"], "page": ["1"]},
        ),
        (
            "replaces an existing page",
            "http://h/xhr/query?url=q%3Drobot%26page%3D3",
            4,
            {"q": ["robot"], "page": ["4"]},
        ),
        ("works without an inner query", "http://h/xhr/query", 2, {"page": ["2"]}),
    ],
)
def test_google_patents_next_search_page(description, url, page, expected_inner):
    result = next_search_page(url, page)
    assert urlparse(result)[:3] == urlparse(url)[:3], description
    assert _inner_query(result) == expected_inner, description


@pytest.mark.unit
def test_google_patents_replay_detail_page_matches_the_sample(sample_data):
    patent = sample_data.patents[0]
    number = patent["publication_number"]
    response = replay_page(sample_data, f"/patent/{number}/zh")
    (raw,) = GooglePatentsSpider(source="google_patents").parse_patent(response)
    item = cleaned(raw)
    assert item["publication_number"] == number
    assert item["title"] == patent["title"]
    assert item["applicants"] == patent["applicants"]
    assert item["inventors"] == patent["inventors"]
    assert item["ipc"] == list(dict.fromkeys(c for c in patent["ipc"] if "/" in c))
    assert item["published_on"] == patent["publication_date"]
    assert raw["claims"].split("\n") == patent["claims"]  # one line per claim before cleaning
    assert item["listing_id"] == re.sub(r"[A-Z]\d?$", "", number)  # kind code dropped
    assert item["language"] == "zh"


# --- achievements ------------------------------------------------------------------------------


@pytest.mark.unit
def test_achievements_list_page_follows_details_and_next_page(sample_data):
    records = sample_data.achievements["zju"]
    assert len(records) > 10, "the sample data should span two list pages"
    spider = AchievementsSpider(source="zju")
    requests, items = split_requests(list(spider.parse(replay_page(sample_data, "/zju/kjcg/list_1.html"))))
    assert items == []
    assert [r.url for r in requests[:-1]] == [f"{BASE}/zju/kjcg/detail/{a['n']}.html" for a in records[:10]]
    assert all(parses_with(r, spider.parse_detail) for r in requests[:-1])
    assert (requests[-1].url, requests[-1].callback) == (f"{BASE}/zju/kjcg/list_2.html", spider.parse)

    last = list(spider.parse(replay_page(sample_data, "/zju/kjcg/list_2.html")))
    assert [r.url for r in last] == [f"{BASE}/zju/kjcg/detail/{a['n']}.html" for a in records[10:20]]
    assert all(parses_with(r, spider.parse_detail) for r in last)  # no next page after the last


def _first(sample_data, wanted):
    return next((site, a) for site, records in sample_data.achievements.items() for a in records if wanted(a))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "wanted", "price_wan"),
    [
        ("priced in 万元", lambda a: a["price"] == "500万元", 500.0),
        ("negotiable price (面议)", lambda a: a["price"] == "面议", None),
        ("summary over several lines", lambda a: "\n" in a["summary"], "any"),
    ],
)
def test_achievements_detail_page_matches_the_sample(sample_data, description, wanted, price_wan):
    site, record = _first(sample_data, wanted)
    path = f"/{site}/kjcg/detail/{record['n']}.html"
    (raw,) = AchievementsSpider(source=site).parse_detail(replay_page(sample_data, path))
    item = cleaned(raw)
    assert item["listing_id"] == f"{site}:{path}", description
    assert item["record_type"] == "listing" and item["kind"] == "achievement"
    assert item["title"] == record["title"]
    assert item["applicants"][0] == record["unit"]
    assert item["field"] == record["field"]
    assert item["maturity"] == record["maturity"]
    assert item["cooperation"] == record["cooperation"]
    assert item["price_text"] == record["price"]
    if price_wan != "any":
        assert item["price_wan"] == price_wan, description
    assert item["price_wan"] == price_in_wan(record["price"])
    assert item["keywords"] == record["keywords"]
    assert item["contact"] == record["contact"]
    assert item["published_on"] == record["published"]
    assert item["abstract"] == "\n".join(
        " ".join(line.split()) for line in record["summary"].splitlines() if line.strip()
    )
    assert (item["source"], item["url"]) == (site, BASE + path)


@pytest.mark.integration
def test_achievements_detail_id_is_the_same_on_the_served_replay_site(sample_data, replay_site):
    site, record = _first(sample_data, lambda a: True)
    url = f"{replay_site.base_url}/{site}/kjcg/detail/{record['n']}.html"
    with urllib.request.urlopen(url, timeout=10) as served:
        body = served.read()
    response = HtmlResponse(url=url, body=body, encoding="utf-8", request=Request(url))
    (item,) = AchievementsSpider(source=site).parse_detail(response)
    assert item["listing_id"] == f"{site}:/{site}/kjcg/detail/{record['n']}.html"
    assert item["title"] == record["title"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "text", "expected"),
    [
        ("whole 万元", "80万元", 80.0),
        ("decimal 万", "12.5 万", 12.5),
        ("negotiable", "面议", None),
        ("missing", None, None),
    ],
)
def test_achievements_price_in_wan(description, text, expected):
    assert price_in_wan(text) == expected, description


# --- tech_market_needs -------------------------------------------------------------------------


@pytest.mark.unit
def test_tech_market_needs_list_page_follows_details_and_next_page(sample_data):
    assert len(sample_data.needs) > 10, "the sample data should span two list pages"
    spider = TechMarketNeedsSpider(source="jiashan_market")
    requests, items = split_requests(list(spider.parse(replay_page(sample_data, "/jsmarket/xqlist?page=1"))))
    assert items == []
    assert [r.url for r in requests[:-1]] == [f"{BASE}/jsmarket/xq/{n['id']}.html" for n in sample_data.needs[:10]]
    assert all(parses_with(r, spider.parse_detail) for r in requests[:-1])
    assert (requests[-1].url, requests[-1].callback) == (f"{BASE}/jsmarket/xqlist?page=2", spider.parse)

    last_page = -(-len(sample_data.needs) // 10)
    last = list(spider.parse(replay_page(sample_data, f"/jsmarket/xqlist?page={last_page}")))
    assert [r.url for r in last] == [
        f"{BASE}/jsmarket/xq/{n['id']}.html" for n in sample_data.needs[(last_page - 1) * 10 :]
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "wanted"),
    [
        ("reward in 万元 (榜额)", lambda n: n["reward_wan"] is not None),
        ("negotiable reward (面议)", lambda n: n["reward_wan"] is None),
    ],
)
def test_tech_market_needs_detail_page_matches_the_sample(sample_data, description, wanted):
    need = next(n for n in sample_data.needs if wanted(n))
    path = f"/jsmarket/xq/{need['id']}.html"
    (raw,) = TechMarketNeedsSpider(source="jiashan_market").parse_detail(replay_page(sample_data, path))
    item = cleaned(raw)
    assert item["record_type"] == "challenge"
    assert item["challenge_id"] == f"jiashan_market:{path}", description
    assert item["title"] == need["title"]
    expected_budget = None if need["reward_wan"] is None else float(need["reward_wan"])
    assert item["budget_wan"] == expected_budget, description
    assert item["deadline"] == need["deadline"]
    assert item["issuer"] == need["issuer"]
    assert item["region"] == need["region"]
    assert item["field"] == need["field"]
    assert item["cooperation"] == need["cooperation"]
    assert item["description"] == " ".join(need["description"].split())


# --- every spider ------------------------------------------------------------------------------


def _spider_classes() -> dict[str, type[scrapy.Spider]]:
    """Module name → the spider class defined in it, for every module in crawlers/spiders."""
    found: dict[str, type[scrapy.Spider]] = {}
    for module_info in pkgutil.iter_modules(crawlers.spiders.__path__):
        module = importlib.import_module(f"crawlers.spiders.{module_info.name}")
        classes = [
            c
            for _, c in inspect.getmembers(module, inspect.isclass)
            if issubclass(c, scrapy.Spider) and c.__module__ == module.__name__
        ]
        assert len(classes) == 1, f"{module_info.name} should define exactly one spider, found {classes}"
        found[module_info.name] = classes[0]
    return found


@pytest.mark.unit
def test_every_spider_is_declared_and_has_a_parse_test():
    spiders = _spider_classes()
    assert set(spiders) == {
        "achievements",
        "google_patents",
        "tech_market_needs",
        "cnipr",
        "epo_ops",
        "uspto_odp",
        "nstrs",
    }
    names = [cls.name for cls in spiders.values()]
    assert len(set(names)) == len(names), f"spider names must be distinct: {names}"
    # the API / search-list spiders are tested in test_source_spiders.py
    test_sources = "".join(
        Path(__file__).with_name(name).read_text(encoding="utf-8")
        for name in ("test_spiders.py", "test_source_spiders.py")
    )
    for module_name, cls in spiders.items():
        assert cls.name == module_name, f"{cls.__name__}.name should be {module_name!r}"
        assert issubclass(cls, crawlers.spiders.SourceSpider)
        assert callable(getattr(cls, "parse", None))
        assert f"def test_{cls.name}_" in test_sources, f"spider {cls.name} has no parse test"


# --- cleaning pipelines ------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "item", "expected"),
    [
        ("collapses layout whitespace", {"title": "  滤色片\n\t 制造方法 \n   "}, {"title": "滤色片 制造方法"}),
        (
            "drops empty and blank list entries",
            {"keywords": ["储氢", "", "  ", " 氢能\n"]},
            {"keywords": ["储氢", "氢能"]},
        ),
        ("keeps numbers and None", {"price_wan": 80.0, "field": None}, {"price_wan": 80.0, "field": None}),
        ("full-width space is whitespace too", {"title": "滤色片\u3000制造方法"}, {"title": "滤色片 制造方法"}),
        (
            "claims keep one break between claims",
            {"claims": "1.一种方法，\n\n  其特征在于 A。\n 2.根据权利要求1"},
            {"claims": "1.一种方法，\n其特征在于 A。\n2.根据权利要求1"},
        ),
    ],
)
def test_clean_text_pipeline(description, item, expected):
    assert CleanTextPipeline().process_item(item) == expected, description


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "item", "expected_id"),
    [
        ("patent gets its normalised number", {"kind": "patent", "publication_number": "CN101551481B"}, "CN101551481"),
        ("spaced number", {"kind": "patent", "publication_number": "CN 101551481 B"}, "CN101551481"),
        ("an existing id is kept", {"kind": "patent", "publication_number": "CN101551481B", "listing_id": "X1"}, "X1"),
        ("unreadable number gives no id", {"kind": "patent", "publication_number": "待定"}, None),
        (
            "achievements keep their page id",
            {"kind": "achievement", "listing_id": "zju:/zju/kjcg/detail/1.html"},
            "zju:/zju/kjcg/detail/1.html",
        ),
    ],
)
def test_publication_number_pipeline(description, item, expected_id):
    assert PublicationNumberPipeline().process_item(dict(item)).get("listing_id") == expected_id, description


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, output, expected",
    [
        (
            "unchanged rows leave as one batch after the page's other output",
            [
                {"record_type": "seen", "source": "s", "page_key": "a"},
                "request-1",
                {"record_type": "seen", "source": "s", "page_key": "b"},
                {"record_type": "listing", "listing_id": "x"},
            ],
            [
                "request-1",
                {"record_type": "listing", "listing_id": "x"},
                {
                    "record_type": "seen_batch",
                    "source": "s",
                    "pages": [
                        {"record_type": "seen", "source": "s", "page_key": "a"},
                        {"record_type": "seen", "source": "s", "page_key": "b"},
                    ],
                },
            ],
        ),
        (
            "a page with nothing unchanged adds no batch",
            ["request-1", {"record_type": "listing"}],
            ["request-1", {"record_type": "listing"}],
        ),
    ],
)
def test_seen_records_of_a_page_leave_as_one_batch(description, output, expected):
    import asyncio

    from crawlers.middlewares import SeenBatchMiddleware

    middleware = SeenBatchMiddleware()
    assert list(middleware.process_spider_output(None, iter(output))) == expected, description

    async def collect():
        async def produce():
            for element in output:
                yield element

        return [element async for element in middleware.process_spider_output_async(None, produce())]

    assert asyncio.run(collect()) == expected, description
