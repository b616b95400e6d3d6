"""The API / search-list spiders (cnipr, epo_ops, uspto_odp, nstrs), the block and page-accounting
middlewares, and `parse_saved`, on the real pages in ../shared read in place (never copied)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import scrapy
from lxml import etree
from parsel import Selector
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.test import get_crawler

from crawlers.errors import CannotParse
from crawlers.middlewares import (
    BlockedPageMiddleware,
    PageAccountingMiddleware,
    is_block_page,
)
from crawlers.parse import parse_saved, saved_response
from crawlers.pipelines import CleanTextPipeline, PublicationNumberPipeline
from crawlers.skip_unchanged import BLOCKED_META
from crawlers.spiders.cnipr import CniprSpider
from crawlers.spiders.epo_ops import EpoOpsSpider
from crawlers.spiders.google_patents import GooglePatentsSpider
from crawlers.spiders.nstrs import NstrsSpider, beijing_date
from crawlers.spiders.uspto_odp import UsptoOdpSpider
from crawlers.validation import InvalidItem, validate_item
from matching.entity import patent_key

from .conftest import ROOT, SHARED

PAGES = SHARED / "data/real/pages"
CNIPR = PAGES / "cnipr"
EPO = PAGES / "epo_ops"
ODP = PAGES / "uspto/odp"
NSTRS = PAGES / "nstrs/nstrs_kjbg_list_response_page9.json"
CNIPR_SEARCH_URL = "http://search.cnipr.com/search!doOverviewSearch.action"
CNIPR_MOBILE_URL = "http://m.cnipr.com:8081/tailor/http://192.168.201.132:8080/search!doOverviewSearch4Index.action"
OPS = "https://ops.epo.org/3.2/rest-services/"
ODP_SEARCH_URL = "https://beta-api.uspto.gov/api/v1/patent/applications/search?q=filingDate%3A2024&offset=0&limit=25"
NSTRS_URL = "https://www.nstrs.cn/rest/kjbg/wfKjbg/list?pageNo=9&pageSize=10&classification="


def page(path: Path, url: str) -> Response:
    """A saved page as Scrapy would receive it (class and encoding chosen as in a crawl)."""
    return saved_response(path, url)


def cleaned(item: dict) -> dict:
    return PublicationNumberPipeline().process_item(CleanTextPipeline().process_item(dict(item)))


def split(results) -> tuple[list[scrapy.Request], list[dict]]:
    results = list(results)
    requests = [r for r in results if isinstance(r, scrapy.Request)]
    items = [cleaned(r) for r in results if isinstance(r, dict)]
    assert len(requests) + len(items) == len(results)
    return requests, items


def parser_of(request: scrapy.Request):
    """The parser a request ends in (detail requests pass through the incremental wrapper)."""
    return request.cb_kwargs.get("parse") or request.callback


# --- cnipr: the desktop search result (whole records with abstract and IPC) ----------------------


@pytest.fixture(scope="module")
def cnipr_search():
    spider = CniprSpider(source="cnipr")
    return spider, *split(spider.parse(page(CNIPR / "cnipr_search_result_list.html", CNIPR_SEARCH_URL)))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("row", "field", "expected"),
    [
        (0, "publication_number", "CN104636980A"),
        (0, "application_number", "CN201310571770.7"),
        (0, "listing_id", "CN104636980"),
        (0, "title", "针对河道砂油藏类型油气汇集条件的地球物理表征方法"),
        (0, "applicants", ["中国石油化工股份有限公司", "中国石油化工股份有限公司胜利油田分公司地质科学研究院"]),
        (0, "ipc", ["G06Q50/02"]),
        (0, "filing_date", "2013-11-13"),
        (0, "published_on", "2015-05-20"),
        (0, "legal_status", "有效"),
        (0, "language", "zh"),
        (1, "legal_status", "在审"),
        (4, "legal_status", "无效"),
        (6, "ipc", ["C08F279/02", "C08F212/08", "C08F2/01", "C08L51/04"]),  # several codes, version suffix dropped
        (9, "publication_number", "CN103131404A"),
        (0, "priority_date", None),  # the row's 优先权 cell is empty
        (0, "inventors", []),  # the list shows no inventors
    ],
)
def test_cnipr_search_result_row_field(cnipr_search, row, field, expected):
    _, _, items = cnipr_search
    assert items[row][field] == expected


@pytest.mark.unit
def test_cnipr_search_result_rows_are_whole_records(cnipr_search):
    _, _, items = cnipr_search
    assert len(items) == 10
    assert items[0]["abstract"].startswith("本发明提供一种针对河道砂油藏类型油气汇集条件的地球物理表征方法")
    assert items[6]["abstract"].endswith("光泽度在60°时为75-95。")  # <sup>2</sup> inside the text is kept
    assert all(validate_item(item)[0] == "listing" for item in items)


@pytest.mark.unit
def test_cnipr_search_result_posts_its_form_for_the_next_page(cnipr_search):
    spider, requests, _ = cnipr_search
    (following,) = requests
    form = parse_qs(following.body.decode())
    assert (following.method, following.url, following.callback) == ("POST", CNIPR_SEARCH_URL, spider.parse)
    assert form["start"] == ["2"] and form["limit"] == ["10"]
    assert form["strWhere"] == ["申请（专利权）人=(中国石油化工股份有限公司)"]


@pytest.mark.unit
def test_cnipr_stops_at_max_pages():
    spider = CniprSpider(source="cnipr", max_pages="1")
    requests, items = split(spider.parse(page(CNIPR / "cnipr_search_result_list.html", CNIPR_SEARCH_URL)))
    assert (requests, len(items)) == ([], 10)


# --- cnipr: the mobile applicant list (rows without abstract; more rows come as JSON) ------------


@pytest.fixture(scope="module")
def cnipr_mobile():
    spider = CniprSpider(source="cnipr")
    return spider, *split(spider.parse(page(CNIPR / "cnipr_applicant_patent_list_1.html", CNIPR_MOBILE_URL)))


@pytest.mark.unit
def test_cnipr_mobile_list_rows(cnipr_mobile):
    _, _, items = cnipr_mobile
    assert [i["publication_number"] for i in items[:3]] == ["CN105983410A", "CN105470313A", "CN107293639A"]
    assert [i["application_number"] for i in items[:2]] == ["CN201510083742.X", "CN201410393613.6"]
    first = items[0]
    assert (first["title"], first["applicants"]) == ("异质复合型光催化剂及其制备方法", ["北京纳米能源与系统研究所"])
    assert (first["filing_date"], first["published_on"], first["legal_status"]) == ("2015-02-16", "2016-10-05", "有效")
    assert items[6]["title"] == "一种可变形柔性纳米发电机、制备方法及制成的传感器"  # hit words were wrapped in spans
    assert items[3]["title"] == "压电材料压电系数的测试方法及测试装置"
    assert all(i["abstract"] is None and i["ipc"] == [] for i in items)
    assert all(validate_item(item)[0] == "listing" for item in items)


@pytest.mark.unit
def test_cnipr_mobile_list_loads_more_by_posting_the_tab_query(cnipr_mobile):
    spider, requests, _ = cnipr_mobile
    (more,) = requests
    assert more.method == "POST" and more.url.endswith("/search!doOverviewSearch.action")
    assert parse_qs(more.body.decode())["start"] == ["2"]
    assert more.cb_kwargs["tab"]["page"] == 2 and more.cb_kwargs["tab"]["pages"] == 16  # data-all 155, 10 a page

    real_rows = Selector(text=(CNIPR / "cnipr_applicant_patent_list_1.html").read_text(encoding="utf-8")).css(
        "div.list-item"
    )
    answer = json.dumps({"html": "".join(real_rows[:2].getall())}, ensure_ascii=False)
    response = TextResponse(url=more.url, body=answer.encode("utf-8"), encoding="utf-8", request=more)
    requests, items = split(spider.parse(response, **more.cb_kwargs))
    assert [i["publication_number"] for i in items] == ["CN105983410A", "CN105470313A"]
    assert items[0]["legal_status"] == "有效"  # the tab's status travels with the request
    assert parse_qs(requests[0].body.decode())["start"] == ["3"]


@pytest.mark.unit
@pytest.mark.parametrize("answer", [{"html": ""}, {"imgCode": True}])
def test_cnipr_mobile_paging_stops_at_an_empty_or_captcha_answer(cnipr_mobile, answer):
    spider, (more,), _ = cnipr_mobile
    response = TextResponse(url=more.url, body=json.dumps(answer).encode(), encoding="utf-8", request=more)
    assert list(spider.parse(response, **more.cb_kwargs)) == []


@pytest.mark.unit
def test_cnipr_captcha_page_yields_nothing():
    requests, items = split(
        CniprSpider(source="cnipr").parse(page(CNIPR / "cnipr_captcha_block_page.html", CNIPR_MOBILE_URL))
    )
    assert (requests, items) == ([], [])


@pytest.mark.unit
def test_cnipr_gbk_page_decodes_to_chinese(tmp_path):
    """A GBK page declared by its meta charset, as many Chinese sites still serve."""
    html = """<html><head><meta charset="gbk"><title>专利检索</title></head><body>
      <div class="g_item"><ul>
        <li class="g_li" name="patti" title="一种锂离子电池隔膜的制备方法">1.一种锂离子电池隔膜的制备方法</li>
      <li class="g_li2">有效</li></ul>
      <div class="g_cont_left"><table>
        <tr><td><span>申请号：</span> CN202110000001.5 </td><td><span>申请日：</span> 2021.01.04 </td></tr>
        <tr><td><span>公开(公告)号：</span> CN112909001A </td><td><span>公开(公告)日：</span> 2021.06.04 </td></tr>
        <tr><td colspan="2"><span>申请(专利权)人：</span> 浙江嘉善新材料有限公司;嘉兴学院 </td></tr>
        <tr><td colspan="2"><span>分类号：</span> H01M50/403(2021.01)I </td></tr>
        <tr><td colspan="2"><span>摘要：</span><span name="patab">本发明公开了一种锂离子电池隔膜。</span></td></tr>
      </table></div></div></body></html>"""
    path = tmp_path / "gbk_list.html"
    path.write_bytes(html.encode("gbk"))
    (item,) = parse_saved("cnipr", path, url=CNIPR_SEARCH_URL)
    assert item["title"] == "一种锂离子电池隔膜的制备方法"
    assert item["applicants"] == ["浙江嘉善新材料有限公司", "嘉兴学院"]
    assert (item["abstract"], item["ipc"], item["listing_id"]) == (
        "本发明公开了一种锂离子电池隔膜。",
        ["H01M50/403"],
        "CN112909001",
    )


# --- block detection -----------------------------------------------------------------------------


def _response(status: int, body: str, url: str = "http://site.test/list", cls=HtmlResponse) -> Response:
    return cls(url=url, status=status, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "response", "records_css", "blocked"),
    [
        (
            "CNIPR captcha page (200, no rows)",
            lambda: page(CNIPR / "cnipr_captcha_block_page.html", CNIPR_MOBILE_URL),
            CniprSpider.records_css,
            True,
        ),
        (
            "CNIPR list: same hidden captcha dialog, but rows",
            lambda: page(CNIPR / "cnipr_applicant_patent_list_1.html", CNIPR_MOBILE_URL),
            CniprSpider.records_css,
            False,
        ),
        (
            "CNIPR desktop search result",
            lambda: page(CNIPR / "cnipr_search_result_list.html", CNIPR_SEARCH_URL),
            CniprSpider.records_css,
            False,
        ),
        ("429 rate-limit page", lambda: _response(429, "<p>访问过于频繁，请稍后再试</p>"), None, True),
        ("403 slider check", lambda: _response(403, '<div id="nc_1_wrapper">请拖动滑块完成验证</div>'), None, True),
        ("403 captcha, any case", lambda: _response(403, "<h1>Please solve the CAPTCHA</h1>"), None, True),
        (
            "403 EPO OPS robot fault",
            lambda: _response(403, "<fault><code>CLIENT.RobotDetected</code></fault>", cls=TextResponse),
            None,
            True,
        ),
        ("403 without block wording: a forbidden page", lambda: _response(403, "<h1>Forbidden</h1>"), None, False),
        (
            "200 page with a login box's 验证码, spider declares no rows",
            lambda: _response(200, "<form>验证码 <input></form>"),
            None,
            False,
        ),
        ("404 with block wording is not judged", lambda: _response(404, "captcha"), None, False),
        (
            "JSON captcha answer, rows expected",
            lambda: _response(200, '{"imgCode": true, "msg": "请输入验证码"}', cls=TextResponse),
            CniprSpider.records_css,
            True,
        ),
    ],
)
def test_block_page_detection(description, response, records_css, blocked):
    assert is_block_page(response(), records_css) is blocked, description


@pytest.fixture
def block_middleware():
    crawler = get_crawler(CniprSpider, {"JIEBANG_BLOCK_RETRIES": 2, "JIEBANG_BLOCK_BACKOFF_SECONDS": 0})
    crawler.spider = CniprSpider.from_crawler(crawler, source="cnipr")
    return crawler, BlockedPageMiddleware.from_crawler(crawler)


@pytest.mark.unit
def test_cnipr_captcha_page_is_retried_then_given_up(block_middleware):
    crawler, middleware = block_middleware
    block_page = (CNIPR / "cnipr_captcha_block_page.html").read_bytes()
    request = Request(CNIPR_MOBILE_URL, callback=crawler.spider.parse)
    for attempt in (1, 2):
        response = HtmlResponse(url=request.url, body=block_page, request=request)
        retry = asyncio.run(middleware.process_response(request, response))
        assert isinstance(retry, Request), "a block page must never reach the spider"
        assert (retry.url, retry.dont_filter, retry.meta["jiebang_block_attempts"]) == (request.url, True, attempt)
        assert crawler.stats.get_value("jiebang/blocked") is None  # not given up yet
        request = retry
    with pytest.raises(IgnoreRequest):
        asyncio.run(
            middleware.process_response(request, HtmlResponse(url=request.url, body=block_page, request=request))
        )
    assert request.meta[BLOCKED_META] is True  # so the incremental errback records no fetch failure
    assert crawler.stats.get_value("jiebang/blocked") == 1  # once per request given up
    assert crawler.stats.get_value("jiebang/blocked_responses") == 3  # every block page seen


@pytest.mark.unit
def test_block_middleware_passes_data_pages(block_middleware):
    crawler, middleware = block_middleware
    response = page(CNIPR / "cnipr_applicant_patent_list_1.html", CNIPR_MOBILE_URL)
    assert asyncio.run(middleware.process_response(response.request, response)) is response
    assert crawler.stats.get_value("jiebang/blocked_responses") is None


@pytest.mark.unit
@pytest.mark.parametrize(("attempt", "seconds"), [(1, 30.0), (2, 60.0), (3, 120.0), (6, 600.0), (9, 600.0)])
def test_block_backoff_doubles_up_to_the_cap(attempt, seconds):
    crawler = get_crawler(CniprSpider, {"JIEBANG_BLOCK_BACKOFF_SECONDS": 30, "JIEBANG_BLOCK_BACKOFF_MAX_SECONDS": 600})
    assert BlockedPageMiddleware.from_crawler(crawler).delay_before(attempt) == seconds


# --- page accounting -----------------------------------------------------------------------------


@pytest.fixture
def accounting():
    crawler = get_crawler(GooglePatentsSpider)
    crawler.spider = GooglePatentsSpider.from_crawler(crawler, source="google_patents")
    return crawler, PageAccountingMiddleware.from_crawler(crawler)


@pytest.mark.unit
def test_pages_are_counted_by_callback_kind(accounting):
    crawler, middleware = accounting
    spider = crawler.spider
    detail = next(
        spider.detail_request(_response(200, ""), "/patent/CN1", spider.parse_patent)
    )  # the incremental wrapper
    for request, status in [
        (Request("http://h/q", callback=spider.parse), 200),
        (Request("http://h/q2"), 200),  # no callback: parse
        (Request("http://h/p", callback=spider.parse_patent), 200),
        (detail, 200),
        (Request("http://h/robots.txt", callback=NO_CALLBACK), 200),  # Scrapy's own request: not a page
        (Request("http://h/missing", callback=spider.parse_patent), 404),  # reaches no parser
    ]:
        middleware.process_response(request, Response(request.url, status=status, request=request))
    assert crawler.stats.get_value("jiebang/pages/list") == 2
    assert crawler.stats.get_value("jiebang/pages/detail") == 2


@pytest.mark.unit
def test_a_304_reaches_no_parser_unless_asked_for(accounting):
    crawler, middleware = accounting
    plain = Request("http://h/p", callback=crawler.spider.parse_patent)
    with pytest.raises(IgnoreRequest):
        middleware.process_response(plain, Response(plain.url, status=304, request=plain))
    assert crawler.stats.get_value("jiebang/skipped_unchanged") == 1
    asked = Request("http://h/p", meta={"handle_httpstatus_list": [304]})  # crawlers.skip_unchanged counts these itself
    response = Response(asked.url, status=304, request=asked)
    assert middleware.process_response(asked, response) is response
    assert crawler.stats.get_value("jiebang/skipped_unchanged") == 1
    assert crawler.stats.get_value("jiebang/pages/detail") is None


class _Site(BaseHTTPRequestHandler):
    """/m/list: the real CNIPR applicant list; anything POSTed: the real captcha page."""

    def do_GET(self):
        if self.path == "/m/list":
            self._send(200, (CNIPR / "cnipr_applicant_patent_list_1.html").read_bytes())
        else:
            self._send(404, b"not found")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(200, (CNIPR / "cnipr_captcha_block_page.html").read_bytes())

    def _send(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.integration
def test_cnipr_crawl_backs_off_a_block_page_and_loads_no_item_from_it(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    items, stats = tmp_path / "cnipr.jsonl", tmp_path / "stats.json"
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "crawl",
                "cnipr",
                "-a",
                "source=cnipr",
                "-a",
                f"start_url=http://127.0.0.1:{server.server_port}/m/list",
                "-O",
                f"{items}:jsonlines",
                "-s",
                f"JIEBANG_STATS_FILE={stats}",
                "-s",
                "JIEBANG_BLOCK_RETRIES=2",
                "-s",
                "JIEBANG_BLOCK_BACKOFF_SECONDS=0.05",
                "-s",
                "AUTOTHROTTLE_ENABLED=False",
                "-s",
                "LOG_LEVEL=WARNING",
            ],
            cwd=ROOT,
            env={"SCRAPY_SETTINGS_MODULE": "crawlers.settings", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    crawl = json.loads(stats.read_text(encoding="utf-8"))
    lines = [json.loads(line) for line in items.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 10 and {line["publication_number"] for line in lines} >= {"CN105983410A", "CN106601329A"}
    assert crawl["jiebang/pages/list"] == 1  # the list; the block page reached no parser
    assert (crawl["jiebang/blocked"], crawl["jiebang/blocked_responses"]) == (1, 3)
    assert "retry 1/2" in done.stderr and "giving up after 2 retries" in done.stderr


# --- epo_ops --------------------------------------------------------------------------------------


def _publication(name: str, url: str = OPS + "published-data/publication/docdb/EP.1000000.A1/biblio") -> dict:
    (item,) = split(EpoOpsSpider(source="epo_ops").parse_publication(page(EPO / name, url)))[1]
    return item


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "field", "expected"),
    [
        ("ep1000000_full_cycle_result.xml", "publication_number", "EP1000000B1"),  # the newest of A1 and B1
        ("ep1000000_full_cycle_result.xml", "listing_id", "EP1000000"),
        ("ep1000000_full_cycle_result.xml", "application_number", "EP99203729A"),  # docdb, as the publication
        (
            "ep1000000_full_cycle_result.xml",
            "title",
            "Apparatus for manufacturing green bricks for the brick manufacturing industry",
        ),
        ("ep1000000_full_cycle_result.xml", "applicants", ["BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V"]),
        ("ep1000000_full_cycle_result.xml", "inventors", ["KOSMAN, WILHELMUS JACOBUS MARIA"]),
        ("ep1000000_full_cycle_result.xml", "ipc", ["B28B1/29", "B28B5/02", "B28B7/00", "H02P6/08"]),
        ("ep1000000_full_cycle_result.xml", "priority_date", "1998-11-12"),
        ("ep1000000_full_cycle_result.xml", "filing_date", "1999-11-08"),
        ("ep1000000_full_cycle_result.xml", "published_on", "2003-02-12"),
        ("ep1000000_full_cycle_result.xml", "language", "en"),
        ("ep1000000_biblio_result.json", "publication_number", "EP1000000A1"),
        ("ep1000000_biblio_result.json", "published_on", "2000-05-17"),
        ("ep1000000_biblio_result.json", "ipc", ["B28B1/29", "B28B5/02", "B28B7/00", "H02P6/08"]),
        ("ep1000000_biblio_result.json", "applicants", ["BEHEERMAATSCHAPPIJ DE BOER NIJMEGEN B.V"]),
        ("ep1000000_biblio_result.json", "filing_date", "1999-11-08"),
        ("ep1000000_biblio_result.json", "application_number", "EP99203729A"),
        ("ep1000000_abstract_result.xml", "application_number", None),  # … nor an application reference
        ("ep1000000_abstract_result.xml", "publication_number", "EP1000000A1"),
        ("ep1000000_abstract_result.xml", "title", None),  # an abstract answer has no title …
        ("ep1000000_claims_result.json", "listing_id", "EP1000000"),
        ("ep1000000_description_result.xml", "publication_number", "EP1000000A1"),  # JSON despite its name
    ],
)
def test_epo_ops_publication_field(name, field, expected):
    assert _publication(name)[field] == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "name", ["ep1000000_full_cycle_result.xml", "ep1000000_biblio_result.json", "ep1000000_abstract_result.xml"]
)
def test_epo_ops_abstract_text(name):
    abstract = _publication(name)["abstract"]
    assert abstract.startswith("The invention relates to an apparatus (1) for manufacturing green bricks from clay")
    assert abstract.endswith("on at least one side of the green bricks.") and "IMAGE" not in abstract


@pytest.mark.unit
def test_epo_ops_partial_answers_still_yield_one_item_each():
    """… and so are quarantined with the reason instead of vanishing."""
    claims = _publication("ep1000000_claims_result.json")
    assert claims["claims"].startswith("1. Apparatus for manufacturing green bricks from clay")
    for name in ("ep1000000_abstract_result.xml", "ep1000000_claims_result.json", "ep1000000_description_result.xml"):
        with pytest.raises(InvalidItem) as missing:
            validate_item(_publication(name))
        assert missing.value.field == "title"
    assert validate_item(_publication("ep1000000_full_cycle_result.xml"))[1]["listing_id"] == "EP1000000"


@pytest.mark.unit
def test_epo_ops_prefers_a_chinese_title_then_english():
    xml = (
        (EPO / "ep1000000_full_cycle_result.xml")
        .read_text(encoding="utf-8")
        .replace(
            '<invention-title lang="de">',
            '<invention-title lang="zh">制砖业用生坯砖制造装置</invention-title><invention-title lang="de">',
        )
    )
    response = TextResponse(url=OPS, body=xml.encode("utf-8"), encoding="utf-8")
    (item,) = EpoOpsSpider(source="epo_ops").parse_publication(response)
    assert item["title"] == "制砖业用生坯砖制造装置"


@pytest.mark.unit
def test_epo_ops_gives_a_chinese_documents_application_number_as_a_key():
    """The real full cycle made a Chinese document: its docdb application reference names the
    patent that an achievement cites as ZL200810012345.6."""
    xml = re.sub(
        r"<country>EP</country>(\s*)<doc-number>99203729</doc-number>",
        r"<country>CN</country>\1<doc-number>200810012345</doc-number>",
        (EPO / "ep1000000_full_cycle_result.xml").read_text(encoding="utf-8"),
    )
    response = TextResponse(url=OPS, body=xml.encode("utf-8"), encoding="utf-8")
    (item,) = EpoOpsSpider(source="epo_ops").parse_publication(response)
    assert item["application_number"] == "CN200810012345A"
    assert patent_key(item["application_number"]) == patent_key("ZL200810012345.6") == "CN200810012345"


def _badgerfish(element) -> dict:
    """OPS's JSON for an XML element: attributes as @name, text as $, repeated children as lists."""
    node: dict = {f"@{k}": v for k, v in element.attrib.items()}
    if element.getparent() is None:
        node["@xmlns"] = {prefix or "$": uri for prefix, uri in element.nsmap.items()}
    if (element.text or "").strip():
        node["$"] = element.text
    for child in element:
        if isinstance(child.tag, str):
            key = f"{child.prefix}:{etree.QName(child).localname}" if child.prefix else etree.QName(child).localname
            node.setdefault(key, []).append(_badgerfish(child))
    return {k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in node.items()}


@pytest.mark.unit
@pytest.mark.parametrize("name", ["ep1000000_full_cycle_result.xml", "ep1000000_abstract_result.xml"])
def test_epo_ops_json_answers_read_like_the_xml(name):
    root = etree.fromstring((EPO / name).read_bytes())
    as_json = json.dumps({"ops:world-patent-data": _badgerfish(root)}, ensure_ascii=False)
    response = TextResponse(url=OPS, body=as_json.encode("utf-8"), encoding="utf-8")
    (from_json,) = EpoOpsSpider(source="epo_ops").parse_publication(response)
    assert cleaned(from_json) == _publication(name, OPS)


@pytest.mark.unit
def test_epo_ops_search_follows_each_hit_and_the_next_range():
    spider = EpoOpsSpider(source="epo_ops")
    url = OPS + "published-data/search?q=ti%3Dplastic&Range=1-100"
    requests, items = split(spider.parse(page(EPO / "search_result.xml", url)))  # JSON, despite its name
    details, following = requests[:-1], requests[-1]
    assert items == [] and len(details) == 100
    assert details[0].url == OPS + "published-data/publication/docdb/CA.3237865.A1/biblio"
    assert details[2].url == OPS + "published-data/publication/docdb/PL.3398771.T3/biblio"
    assert all(parser_of(r) == spider.parse_publication for r in details)
    assert (following.callback, parse_qs(urlparse(following.url).query)) == (
        spider.parse,
        {"q": ["ti=plastic"], "Range": ["101-200"]},
    )


@pytest.mark.unit
def test_epo_ops_search_xml_and_its_last_window():
    xml = """<?xml version="1.0" encoding="UTF-8"?>
    <ops:world-patent-data xmlns="http://www.epo.org/exchange" xmlns:ops="http://ops.epo.org">
      <ops:biblio-search total-result-count="27"><ops:query>ti=锂电池</ops:query><ops:range begin="26" end="27"/>
        <ops:search-result>
          <ops:publication-reference family-id="1"><document-id document-id-type="docdb">
            <country>CN</country><doc-number>101551481</doc-number><kind>B</kind></document-id></ops:publication-reference>
          <ops:publication-reference family-id="2"><document-id document-id-type="epodoc">
            <doc-number>EP1000000</doc-number></document-id></ops:publication-reference>
        </ops:search-result></ops:biblio-search></ops:world-patent-data>"""
    response = TextResponse(url=OPS + "published-data/search?q=x&Range=26-27", body=xml.encode("utf-8"))
    spider = EpoOpsSpider(source="epo_ops")
    assert not spider.looks_like_detail(response)
    assert [r.url for r in spider.parse(response)] == [  # no next window after the last
        OPS + "published-data/publication/docdb/CN.101551481.B/biblio",
        OPS + "published-data/publication/epodoc/EP1000000/biblio",
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("family_input.xml", ["EP.1000000.A1", "EP.1000000.B1", "US.6093011.A"]),
        ("example_1.xml", ["EP.1000000.A1"]),  # a legal answer names its publication as a family member
        ("example_3.xml", ["US.10465445.B2"]),
    ],
)
def test_epo_ops_family_answers_follow_each_member(name, expected):
    requests, items = split(
        EpoOpsSpider(source="epo_ops").parse(page(EPO / name, OPS + "family/publication/docdb/EP.1000000.A1"))
    )
    ids = [r.url.split("/docdb/")[1].removesuffix("/biblio") for r in requests]
    assert items == [] and set(expected) <= set(ids) and len(ids) == len(set(ids))


# --- uspto_odp ------------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("name", ["application.json", "biblio.json"])
def test_uspto_odp_application_answer(name):
    url = "https://beta-api.uspto.gov/api/v1/patent/applications/15123456"
    (item,) = split(UsptoOdpSpider(source="uspto_odp").parse_application(page(ODP / name, url)))[1]
    assert item["publication_number"] == "US20170071586A1" and item["listing_id"] == "US20170071586"
    assert item["title"] == "TONGUE RETRACTORS FOR FRENOTOMIES"
    assert (item["applicants"], item["inventors"]) == (["The General Hospital Corporation"], ["Marvin Wang"])
    assert item["ipc"] == [
        "A61B13/00",
        "A61B17/02",
        "A61B17/24",
        "A61B17/244",
    ]  # CPC without 2000-series indexing codes
    assert (item["filing_date"], item["published_on"]) == ("2016-09-02", "2017-03-16")
    assert item["legal_status"] == "Abandoned -- Failure to Respond to an Office Action"
    assert validate_item(item)[0] == "listing"


@pytest.mark.unit
def test_uspto_odp_search_follows_bare_rows_and_pages_by_offset():
    spider = UsptoOdpSpider(source="uspto_odp")
    requests, items = split(spider.parse(page(ODP / "search.json", ODP_SEARCH_URL)))
    details, following = requests[:-1], requests[-1]
    assert items == [] and len(details) == 25  # rows with three fields only: fetch each application
    assert details[0].url == "https://beta-api.uspto.gov/api/v1/patent/applications/90019421"
    assert all(parser_of(r) == spider.parse_application for r in details)
    assert parse_qs(urlparse(following.url).query) == {"q": ["filingDate:2024"], "offset": ["25"], "limit": ["25"]}


@pytest.mark.unit
def test_uspto_odp_search_rows_with_whole_records_are_items_and_paging_stops():
    """A search without `fields=` returns whole rows (current API shape here): no detail requests."""
    meta = json.loads((ODP / "application.json").read_text(encoding="utf-8"))["patentBag"][0]
    granted = {**meta, "patentNumber": "10123456", "grantDate": "2018-11-13"}
    answer = {
        "count": 2,
        "patentFileWrapperDataBag": [
            {"applicationNumberText": "15123456", "applicationMetaData": meta},
            {"applicationNumberText": "15123457", "applicationMetaData": granted},
        ],
    }
    response = TextResponse(url=ODP_SEARCH_URL, body=json.dumps(answer).encode("utf-8"), encoding="utf-8")
    requests, items = split(UsptoOdpSpider(source="uspto_odp").parse(response))
    assert requests == []  # 2 results fit in the first window
    assert [i["publication_number"] for i in items] == ["US20170071586A1", "US10123456"]
    assert items[1]["published_on"] == "2018-11-13" and items[1]["listing_id"] == "US10123456"
    assert items[0]["url"] == "https://beta-api.uspto.gov/api/v1/patent/applications/15123456"


@pytest.mark.unit
@pytest.mark.parametrize("name", ["continuity.json", "transactions.json", "documents.json"])
def test_uspto_odp_sub_resources_are_not_listings(name):
    """Per-application side data the spider never asks for: nothing to follow, nothing to load."""
    assert list(UsptoOdpSpider(source="uspto_odp").parse(page(ODP / name, ODP_SEARCH_URL))) == []


# --- nstrs ----------------------------------------------------------------------------------------


@pytest.mark.unit
def test_nstrs_report_list_yields_achievements_and_posts_the_next_page():
    spider = NstrsSpider(source="nstrs")
    requests, (item,) = split(spider.parse(page(NSTRS, NSTRS_URL)))
    assert item["listing_id"] == "nstrs:/kjbg/detail?id=b6e09d75-69d6-11ec-9ee8-6c626dea5ddb"
    assert item["url"] == "https://www.nstrs.cn/kjbg/detail?id=b6e09d75-69d6-11ec-9ee8-6c626dea5ddb"
    assert item["title"].startswith("基于抑制小神经胶质细胞活化的新型多靶点薯蓣皂苷元-二甲双胍缀合物")
    assert item["abstract"].startswith("阿尔茨海默症（AD）是目前全世界范围内严重威胁人类健康的疾病之一")
    assert item["keywords"] == ["分子修饰", "天麻素", "薯蓣皂苷元", "神经炎症", "老年痴呆"]
    assert item["applicants"] == ["河南中医药大学"] and item["inventors"][0] == "蔡邦荣"
    assert (item["kind"], item["region"], item["published_on"]) == ("achievement", "河南", "2021-09-16")
    assert validate_item(item)[0] == "listing"
    (following,) = requests
    assert (following.method, following.callback) == ("POST", spider.parse)
    assert parse_qs(urlparse(following.url).query)["pageNo"] == ["10"]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("description", "result", "follows"),
    [
        ("last page", {"pageNo": 5997, "pageSize": 10, "count": 59970}, False),
        ("max_pages reached", {"pageNo": 100, "pageSize": 10, "count": 59970}, False),
        ("more pages", {"pageNo": 99, "pageSize": 10, "count": 59970}, True),
    ],
)
def test_nstrs_paging_stops(description, result, follows):
    body = json.dumps({"CODE": "0", "RESULT": {**result, "list": []}}).encode()
    requests = list(NstrsSpider(source="nstrs").parse(TextResponse(url=NSTRS_URL, body=body, encoding="utf-8")))
    assert bool(requests) is follows, description


@pytest.mark.unit
def test_nstrs_error_answer_yields_nothing():
    body = json.dumps({"CODE": "1", "MESSAGE": "系统繁忙"}, ensure_ascii=False).encode("utf-8")
    assert list(NstrsSpider(source="nstrs").parse(TextResponse(url=NSTRS_URL, body=body, encoding="utf-8"))) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-09-15 16:00:00", "2021-09-16"),
        ("2019-12-31 16:00:00", "2020-01-01"),
        ("1899-12-31 16:00:00", None),
        ("", None),
        (None, None),
    ],
)
def test_nstrs_times_are_beijing_dates(text, expected):
    assert beijing_date(text) == expected


# --- parse_saved ----------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    ("spider", "path", "url", "first", "count"),
    [
        ("cnipr", CNIPR / "cnipr_search_result_list.html", CNIPR_SEARCH_URL, {"listing_id": "CN104636980"}, 11),
        (
            "epo_ops",
            EPO / "ep1000000_full_cycle_result.xml",
            None,
            {"listing_id": "EP1000000"},
            1,
        ),  # detail, by content
        (
            "epo_ops",
            EPO / "family_input.xml",
            OPS + "family/publication/docdb/EP.1000000.A1",
            {"request": OPS + "published-data/publication/docdb/EP.1000000.A1/biblio", "callback": "parse_publication"},
            6,
        ),
        ("uspto_odp", ODP / "application.json", None, {"publication_number": "US20170071586A1"}, 1),
        ("nstrs", NSTRS, NSTRS_URL, {"applicants": ["河南中医药大学"]}, 2),
        (
            "google_patents",
            PAGES / "google_patents/CN101551481B_zh.html",
            "https://patents.google.com/patent/CN101551481B/zh",
            {"title": "滤色片制造方法", "listing_id": "CN101551481"},
            1,
        ),
    ],
)
def test_parse_saved_real_pages(spider, path, url, first, count):
    results = parse_saved(spider, path, url)
    assert len(results) == count
    assert first.items() <= results[0].items()


@pytest.mark.unit
def test_parse_saved_lists_follow_up_posts_with_their_body():
    results = parse_saved("cnipr", CNIPR / "cnipr_search_result_list.html", CNIPR_SEARCH_URL)
    assert results[-1]["request"] == CNIPR_SEARCH_URL and results[-1]["method"] == "POST"
    assert parse_qs(results[-1]["body"])["start"] == ["2"]
    assert results[0]["applicants"][1] == "中国石油化工股份有限公司胜利油田分公司地质科学研究院"  # cleaned


@pytest.mark.unit
def test_parse_saved_explicit_callback_and_errors():
    url = "https://beta-api.uspto.gov/api/v1/patent/applications/15123456"
    (item,) = parse_saved("uspto_odp", ODP / "biblio.json", url, callback="parse_application")
    assert item["url"] == url
    with pytest.raises(CannotParse, match="no spider named 'cnki'"):
        parse_saved("cnki", NSTRS)
    with pytest.raises(CannotParse, match="no callback 'parse_detail'"):
        parse_saved("nstrs", NSTRS, callback="parse_detail")
    with pytest.raises(CannotParse, match="cannot read"):
        parse_saved("nstrs", NSTRS.with_name("missing.json"))
