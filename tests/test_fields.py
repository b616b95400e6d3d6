"""One normaliser per field (crawlers.fields), used by every spider and every importer: what
either of the two former copies accepted comes out in one form, and normalising twice
changes nothing (the property the warehouse migration relies on)."""

from __future__ import annotations

import runpy
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import crawlers.importers.common as importer_common
from crawlers.fields import earliest_date, ipc_code, ipc_codes, iso_date, split_list, split_names
from crawlers.importers import read_items
from crawlers.parse import parse_saved

CNIPR_SEARCH_URL = "http://127.0.0.1:8765/cnipr/search!doOverviewSearch.action"


# The inputs each former copy got right (crawlers.fields: spacing, several codes per text;
# importers.common: leading zeros in the main group, full-width text) → the one canonical form.
@pytest.mark.unit
@pytest.mark.parametrize(
    "texts, expected",
    [
        ("G06F 015/00", ["G06F15/00"]),  # crawler gave G06F015/00
        ("G06F015/00", ["G06F15/00"]),
        ("G06F15/00", ["G06F15/00"]),
        ("H01J001/62", ["H01J1/62"]),
        ("G06F 0015/00", ["G06F15/00"]),
        ("A61B5/0205", ["A61B5/0205"]),  # the subgroup keeps its digits
        ("G06F 15/0", ["G06F15/0"]),
        ("B28B   1/    29            A I", ["B28B1/29"]),
        ("C10M 169/00(2006.01)I", ["C10M169/00"]),
        ("G 06 F 15/16", ["G06F15/16"]),  # importer-only: spaces inside the subclass
        ("ｇ０６ｆ　１５／００", ["G06F15/00"]),  # full-width, lower case
        ("G06Q50/02(2012.01)I;G06Q50/02", ["G06Q50/02"]),
        (["G06F 015/00", "G06F15/00", "H04L29/06"], ["G06F15/00", "H04L29/06"]),
        ("Y02E10/50", ["Y02E10/50"]),  # CPC tagging codes, as Google Patents and USPTO ODP list them
        ("见说明书", []),
        ("", []),
        (None, []),
    ],
)
def test_ipc_codes_one_canonical_form(texts, expected):
    assert ipc_codes(texts) == expected
    first = texts if isinstance(texts, str) or texts is None else texts[0]
    assert ipc_code(first) == (expected[0] if expected else None)


@pytest.mark.unit
@pytest.mark.parametrize(
    "value, expected",
    [
        ("2015-01-06", "2015-01-06"),
        ("2015/1/6", "2015-01-06"),
        ("2015.1.6", "2015-01-06"),
        ("2013.11.13", "2013-11-13"),
        ("20150106", "2015-01-06"),
        ("2015年1月6日", "2015-01-06"),  # crawler gave None
        ("2015 年 1 月 6 日", "2015-01-06"),
        ("２０１５年１月６日", "2015-01-06"),  # full-width digits
        ("2015-01-06 00:00:00", "2015-01-06"),
        ("2016-09-02T00:00:00Z", "2016-09-02"),
        ("公开日：2015.1.6", "2015-01-06"),  # importer gave the text back
        (date(2015, 1, 6), "2015-01-06"),
        (datetime(2015, 1, 6, 8, 30), "2015-01-06"),
        ("CN201510012345", "CN201510012345"),  # a number, not a date: validation quarantines it
        ("明年", "明年"),
        ("  ", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_date_one_behaviour(value, expected):
    assert iso_date(value) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, expected",
    [
        ("浙江嘉善新材料有限公司;嘉兴学院", ["浙江嘉善新材料有限公司", "嘉兴学院"]),
        ("张三；李四、王五", ["张三", "李四", "王五"]),
        ("张三，李四", ["张三", "李四"]),
        ("Itt Corporation, Digital Equipment, Inc.", ["Itt Corporation", "Digital Equipment, Inc."]),
        ("Robert W. Thompson, Jr., Simon Lowenfeld", ["Robert W. Thompson, Jr.", "Simon Lowenfeld"]),
        ("Ricoh Company, Ltd.; Canon Inc.", ["Ricoh Company, Ltd.", "Canon Inc."]),
        ("Ltd.", ["Ltd."]),  # a suffix with no name before it stays a name
        ("", []),
        (None, []),
    ],
)
def test_split_names_one_behaviour(text, expected):
    assert split_names(text) == expected


@pytest.mark.unit
def test_split_list_and_earliest_date():
    assert split_list("深度学习;神经网络，图像、识别\n语音") == ["深度学习", "神经网络", "图像", "识别", "语音"]
    assert earliest_date("20150106", "2014年3月1日", "unknown", None) == "2014-03-01"
    assert earliest_date("unknown", None) is None


@pytest.mark.unit
def test_importers_have_no_normalisers_of_their_own():
    """The importers read the spiders' normalisers: a second copy is how the two drifted apart."""
    for name in ("iso_date", "earliest_date", "normalise_ipc", "ipc_codes", "split_names", "split_list", "unique"):
        assert not hasattr(importer_common, name), name


_IPC_LIKE = st.builds(
    lambda section, cls, sub, zeros, group, subgroup, gaps, tail: (
        f"{section}{gaps[0]}{cls:02d}{gaps[1]}{sub}{gaps[2]}{'0' * zeros}{group}{gaps[3]}/{gaps[4]}{subgroup}{tail}"
    ),
    st.sampled_from("ABCDEFGHY"),
    st.integers(0, 99),
    st.sampled_from("ABCDFGJKLMNQ"),
    st.integers(0, 3),
    st.integers(0, 9999),
    st.from_regex(r"\A[0-9]{1,6}\Z"),
    st.lists(st.sampled_from(["", " ", "  "]), min_size=5, max_size=5),
    st.sampled_from(["", "(2006.01)I", " A I", ";", "；G06F 015/00"]),
)
_DATE_LIKE = st.builds(
    lambda y, m, d, style: style.format(y=y, m=m, d=d),
    st.integers(1000, 9999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(
        ["{y}-{m}-{d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日", "{y}{m:02d}{d:02d}", "x {y}-{m}-{d}T1"]
    ),
)


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_IPC_LIKE, st.text(max_size=30)), max_size=4))
@example(["G06F 015/00", "G06F15/00"])
def test_ipc_codes_is_idempotent(texts):
    once = ipc_codes(texts)
    assert ipc_codes(once) == once
    assert all(ipc_code(code) == code for code in once)


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(st.one_of(_DATE_LIKE, st.text(max_size=30)))
@example("２０１５年１月６日")
def test_iso_date_is_idempotent(value):
    once = iso_date(value)
    assert iso_date(once) == once


@pytest.mark.integration
def test_the_same_patent_crawled_and_imported_gets_the_same_codes_and_dates(tmp_path: Path):
    """A CNIPR result row and a spreadsheet row of one patent, both written the zero-padded way."""
    html = """<html><head><meta charset="utf-8"></head><body>
      <div class="g_item"><ul>
        <li class="g_li" name="patti" title="一种数据处理方法">1.一种数据处理方法</li>
      <li class="g_li2">有效</li></ul>
      <div class="g_cont_left"><table>
        <tr><td><span>申请号：</span> CN201410000001.5 </td><td><span>申请日：</span> 2014年3月1日 </td></tr>
        <tr><td><span>公开(公告)号：</span> CN104000001A </td><td><span>公开(公告)日：</span> 2015年1月6日 </td></tr>
        <tr><td colspan="2"><span>申请(专利权)人：</span> 浙江大学 </td></tr>
        <tr><td colspan="2"><span>分类号：</span> G06F 015/00(2006.01)I;H04L 029/06 </td></tr>
        <tr><td colspan="2"><span>摘要：</span><span name="patab">一种数据处理方法。</span></td></tr>
      </table></div></div></body></html>"""
    page = tmp_path / "list.html"
    page.write_text(html, encoding="utf-8")
    (crawled,) = parse_saved("cnipr", page, url=CNIPR_SEARCH_URL)
    table = tmp_path / "专利.csv"
    table.write_text(
        "公开号,专利名称,申请人,分类号,申请日,公开日\n"
        "CN104000001A,一种数据处理方法,浙江大学,G06F015/00；H04L29/06,2014/3/1,20150106\n",
        encoding="utf-8",
    )
    ((_, imported),) = read_items("table", table, kind="patent")
    fields = ("listing_id", "ipc", "filing_date", "published_on")
    assert (
        {f: crawled[f] for f in fields}
        == {f: imported[f] for f in fields}
        == {
            "listing_id": "CN104000001",
            "ipc": ["G06F15/00", "H04L29/06"],
            "filing_date": "2014-03-01",
            "published_on": "2015-01-06",
        }
    )


MIGRATION_0009 = Path(__file__).parents[1] / "warehouse" / "migrations" / "0009_normalised_fields.py"
migration_rule = runpy.run_path(str(MIGRATION_0009))["canonical_ipc"]


@pytest.mark.unit
@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_IPC_LIKE, st.text(max_size=30)), max_size=4))
@example(["G06F 015/00", "见说明书", "G06F15/00"])
def test_the_warehouse_migration_rewrites_codes_as_the_normaliser_does(texts):
    """Migration 0009 carries its own copy of the rule (a migration must not change meaning
    later); today it must give what crawlers.fields gives, or stored and crawled codes differ."""
    assert migration_rule(texts) == ipc_codes(texts)
