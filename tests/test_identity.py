"""Natural ids: publication numbers and page ids stay the same however a source writes them."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crawlers.identity import normalise_publication_number, page_id

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("description", "raw", "expected"),
    [
        ("CN grant with kind code", "CN101551481B", "CN101551481"),
        ("spaces between country, number and kind", "CN 101551481 B", "CN101551481"),
        ("bare number: China is assumed", "101551481", "CN101551481"),
        ("lower case with application kind", "cn101551481a", "CN101551481"),
        ("US grant with two-character kind", "US7654321B2", "US7654321"),
        ("US style with thousands separators", "US 7,654,321 B2", "US7654321"),
        ("already normalised stays as it is", "CN101551481", "CN101551481"),
        ("hyphen and slash separators", "CN-101551481/B", "CN101551481"),
        ("surrounding whitespace", "  CN101551481B\n", "CN101551481"),
        ("US design patent, Google's form", "US-D361061-S", "USD361061"),
        ("US design patent, PatentsView's bare form", "D349814", "USD349814"),
        ("US reissue", "US-RE39339-E", "USRE39339"),
        ("bare reissue with a six-digit number is not the country RE", "RE123456", "USRE123456"),
        ("US statutory invention registration, zero-padded", "H002215", "USH2215"),
        ("a bulk file's zero-padded design number", "USD0435854S", "USD435854"),
        ("JP era year keeps its zero", "JPH0635872A", "JPH0635872"),
        ("US plant patent", "USPP12345P2", "USPP12345"),
        ("JP Heisei-era number", "JP-H10111862-A", "JPH10111862"),
        ("JP Showa-era number", "JPS5812345A", "JPS5812345"),
        ("a Showa number without its country", "S5812345", None),
        ("a zero-padded SIR below 1000 loses its zeros", "H000123", "USH123"),
        ("a short US series number with its country", "USH123", "USH123"),
        ("a short series number without its country is too vague", "H123", None),
        ("there is no design patent zero", "D0000", None),
        ("German number is not a design series", "DE102005012345A1", "DE102005012345"),
        ("Hong Kong is not a statutory invention", "HK1234567A", "HK1234567"),
        ("garbage text", "not a patent", None),
        ("too few digits", "CN12345", None),
        ("three-letter country", "CHN101551481B", None),
        ("Chinese words around the number", "专利CN101551481B", None),
        ("empty string", "", None),
        ("only whitespace", "   ", None),
        ("None from a missing field", None, None),
    ],
)
def test_normalise_publication_number(description, raw, expected):
    assert normalise_publication_number(raw) == expected, description


@pytest.mark.parametrize(
    ("description", "source", "url", "expected"),
    [
        (
            "path only, host and port dropped",
            "zju",
            "http://127.0.0.1:8765/zju/kjcg/detail/1001.html",
            "zju:/zju/kjcg/detail/1001.html",
        ),
        (
            "query string kept",
            "jiashan_market",
            "http://127.0.0.1:8765/jsmarket/xq?id=XQ-7&lang=zh",
            "jiashan_market:/jsmarket/xq?id=XQ-7&lang=zh",
        ),
        (
            "fragment is not part of the id",
            "zju",
            "https://www.zju.edu.cn/zju/kjcg/detail/1001.html#top",
            "zju:/zju/kjcg/detail/1001.html",
        ),
        ("source name is the prefix", "tsinghua", "https://kjc.tsinghua.edu.cn/a/b.html", "tsinghua:/a/b.html"),
    ],
)
def test_page_id(description, source, url, expected):
    assert page_id(source, url) == expected, description


@pytest.mark.parametrize(
    ("description", "url_a", "url_b"),
    [
        (
            "two ports on one host",
            "http://127.0.0.1:8765/zju/kjcg/detail/1001.html",
            "http://127.0.0.1:40123/zju/kjcg/detail/1001.html",
        ),
        (
            "replay site and real host",
            "http://127.0.0.1:8765/zju/kjcg/detail/1001.html",
            "https://www.zju.edu.cn/zju/kjcg/detail/1001.html",
        ),
        (
            "query string on both hosts",
            "http://127.0.0.1:8765/jsmarket/xqlist?page=2",
            "https://jsmarket.example.cn:8443/jsmarket/xqlist?page=2",
        ),
    ],
)
def test_page_id_is_the_same_on_another_host_or_port(description, url_a, url_b):
    assert page_id("site", url_a) == page_id("site", url_b), description


def test_page_id_differs_when_the_query_differs():
    assert page_id("m", "http://h/list?page=1") != page_id("m", "http://h/list?page=2")


# Texts shaped like publication numbers, so the property also sees many non-None outputs.
_number_like = st.from_regex(r"[A-Za-z]{0,3}[ ,.\-/]?[0-9 ,]{5,16}[ .]?[A-Za-z]?[0-9]?", fullmatch=True)


@given(st.one_of(st.text(), _number_like))
@example("D0000")  # once became USD0, which is no publication number
@example("H000123")  # a zero-padded statutory invention number normalises to a short one
def test_normalising_twice_changes_nothing(raw):
    once = normalise_publication_number(raw)
    if once is not None:
        assert normalise_publication_number(once) == once
