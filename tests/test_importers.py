"""Bulk importers: every record of every real sample file is read, a known record carries the
right values, and a load accounts for every record (loaded or quarantined), twice over with
nothing changed the second time. Record counts are computed here with the csv module or a
root-element count, independently of the importers."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from crawlers.errors import ImportRefused, UnknownFormat, UnsupportedFormatVersion
from crawlers.fields import ipc_code, iso_date, split_names
from crawlers.importers import FORMATS, read_items
from crawlers.importers.common import us_publication_number
from crawlers.importers.table import amount_in_wan, header_key
from crawlers.importers.uspto_legacy import patdoc_ipc
from jiebang.errors import KNOWN_ERRORS
from jiebang.loading import load_file, load_items
from tests.conftest import SHARED

REAL = SHARED / "data" / "real"
GOOGLE_EXPORTS = REAL / "patents_us_patentsview" / "google_patents_search_exports"
PATENTSVIEW = REAL / "patents_us_patentsview"
BULK_XML = REAL / "pages" / "uspto" / "bulk_xml"
CNIPA_XML = REAL / "pages" / "cnipr" / "cn_patent_document_fulltext.xml"
CNKI_COMPANY = REAL / "patents_cn_cnki_company" / "cnki_company_patents.csv"
CN_FULL_ROWS = REAL / "patents_cn_full_rows" / "MaterialChemistry_18_19.csv"
FULL_ROWS_MAPPING = {
    "title": "title",
    "author": "inventors",
    "com": "applicants",
    "sql": "filing_date",
    "quote": "published_on",
    "href": "url",
    "ChDiv_summary": "abstract",
    "claim_text": "claims",
}


# --- independent record counts ----------------------------------------------------------------


def csv_records(path: Path, header_lines: int) -> int:
    """Non-blank rows minus the header (and the Google export's search-URL line)."""
    with path.open(encoding="utf-8", newline="") as stream:
        rows = [r for r in csv.reader(stream) if any(cell.strip() for cell in r)]
    return len(rows) - header_lines


_ROOTS = re.compile(
    rb"<(us-patent-grant|us-patent-application|patent-application-publication|PATDOC|"
    rb"cn-patent-document)[\s>]"
)


def xml_documents(path: Path) -> int:
    return len(_ROOTS.findall(path.read_bytes()))


def sample(format: str, path: Path, count, **options):
    return pytest.param(format, path, options, count, id=f"{format}:{path.parent.name}/{path.name}")


SAMPLES = [
    *(sample("google_patents_csv", p, lambda p: csv_records(p, 2)) for p in sorted(GOOGLE_EXPORTS.glob("*.csv"))),
    *(
        sample("patentsview", PATENTSVIEW / n, lambda p: csv_records(p, 1))
        for n in ("baseball_patent_query.csv", "neural_network_patent_query.csv")
    ),
    sample("cnipa_xml", CNIPA_XML, xml_documents),
    *(sample("uspto_xml", p, xml_documents) for p in sorted(BULK_XML.glob("*/*.xml"))),
    sample("table", CNKI_COMPANY, lambda p: csv_records(p, 1), kind="patent"),
    sample("table", CN_FULL_ROWS, lambda p: csv_records(p, 1), kind="patent", mapping=FULL_ROWS_MAPPING),
]


@pytest.mark.unit
def test_the_samples_are_there():
    assert len(SAMPLES) == 10 + 2 + 1 + 14 + 2
    assert all(p.values[1].is_file() for p in SAMPLES)


@pytest.mark.unit
@pytest.mark.parametrize("format, path, options, count", SAMPLES)
def test_every_record_of_a_real_sample_is_read(format, path, options, count):
    numbers = [number for number, _ in read_items(format, path, **options)]
    assert numbers == list(range(1, count(path) + 1))


def _counts(report) -> int:
    return sum(vars(report.listings).values()) + sum(vars(report.challenges).values()) + report.quarantined


# The CNKI list (16,030 rows) is loaded twice by test_reloading_the_cnki_list_…, which checks all
# of this and more: loading it twice again here would double the slowest part of the fast lane.
LOAD_SAMPLES = [s for s in SAMPLES if s.values[1] != CNKI_COMPANY]


@pytest.mark.integration
@pytest.mark.parametrize("format, path, options, count", LOAD_SAMPLES)
def test_loading_a_real_sample_accounts_for_every_record_and_is_idempotent(warehouse, format, path, options, count):
    first = load_file(warehouse, format, path, run_id="import-1", **options)
    assert _counts(first) == count(path)

    second = load_file(warehouse, format, path, run_id="import-2", **options)
    assert _counts(second) == count(path)
    assert (second.listings.inserted, second.listings.updated, second.challenges.inserted) == (0, 0, 0)
    assert second.listings.unchanged + second.listings.superseded == first.listings.total
    assert second.quarantined == first.quarantined
    stored = warehouse.query("SELECT count(*) AS n FROM listings")[0]["n"]
    assert stored == first.listings.inserted


@pytest.mark.integration
def test_reloading_the_cnki_list_leaves_the_warehouse_as_it_was(warehouse):
    def snapshot():
        return warehouse.query(
            "SELECT listing_id, title, applicants, inventors, published_on, publication_number"
            " FROM listings ORDER BY listing_id"
        )

    items = [item for _, item in read_items("table", CNKI_COMPANY, kind="patent")]
    first = load_file(warehouse, "table", CNKI_COMPANY, kind="patent", run_id="r1")
    after_first = snapshot()
    second = load_file(warehouse, "table", CNKI_COMPANY, kind="patent", run_id="r2")
    assert snapshot() == after_first
    assert _counts(first) == _counts(second) == len(items) == csv_records(CNKI_COMPANY, 1) == 16_030
    # A CN patent's A and B publications are one listing (CN105989387A / …B → CN105989387); in
    # the CNKI list 7 such pairs fall in different loader batches: only the last copy is written,
    # so the reload is all unchanged too.
    assert (second.listings.inserted, second.listings.updated, second.challenges.inserted) == (0, 0, 0)
    assert second.listings.unchanged + second.listings.superseded == first.listings.total
    assert second.quarantined == first.quarantined
    assert warehouse.query("SELECT count(*) AS n FROM listings")[0]["n"] == first.listings.inserted


# --- known records -----------------------------------------------------------------------------

KNOWN = [
    pytest.param(
        "google_patents_csv",
        GOOGLE_EXPORTS / "gp-search-deep-learning.csv",
        {},
        1,
        {
            "publication_number": "US20150112182A1",
            "listing_id": "US20150112182",
            "title": "Method and System for Machine Learning Based Assessment of Fractional Flow Reserve",
            "applicants": ["Siemens Aktiengesellschaft"],
            "priority_date": "2013-10-17",
            "filing_date": "2014-10-16",
            "published_on": "2015-04-23",
            "language": "en",
            "ipc": [],
            "url": "https://patents.google.com/patent/US20150112182A1/en",
        },
        id="google csv: the link's number, not the id column's",
    ),
    pytest.param(
        "google_patents_csv",
        GOOGLE_EXPORTS / "gp-search-artificial-intelligence.csv",
        {},
        4,
        {
            "listing_id": "US5412756",
            "applicants": ["Mitsubishi Denki Kabushiki Kaisha"],
            "inventors": ["Douglas A. Bauman", "Simon Lowenfeld", "Brian A. Schultz", "Robert W. Thompson, Jr."],
        },
        id="google csv: 'Jr.' stays with its name",
    ),
    pytest.param(
        "google_patents_csv",
        GOOGLE_EXPORTS / "gp-search-autonomous-systems.csv",
        {},
        2,
        {
            "applicants": ["Lynx System Developers, Inc."],
            "listing_id": "US20080129825",
        },
        id="google csv: 'Inc.' stays with its company",
    ),
    pytest.param(
        "patentsview",
        PATENTSVIEW / "baseball_patent_query.csv",
        {},
        1,
        {
            "publication_number": "US5269177",
            "listing_id": "US5269177",
            "published_on": "1993-12-14",
            "title": 'Apparatus and method for determining the center of percussion ("sweet spot") for baseball bats '
            "and other objects",
            "url": "https://patents.google.com/patent/US5269177",
            "language": "en",
        },
        id="patentsview: doubly quoted title read once",
    ),
    pytest.param(
        "patentsview",
        PATENTSVIEW / "neural_network_patent_query.csv",
        {},
        1,
        {
            "listing_id": "US5535303",
            "title": '"Barometer" neuron for a neural network',
            "published_on": "1996-07-09",
        },
        id="patentsview: title starting with a quote",
    ),
    pytest.param(
        "cnipa_xml",
        CNIPA_XML,
        {},
        1,
        {
            "title": "一种磺酸钙-环烷酸钙锆基四聚脲润滑脂及其制备方法",
            "publication_number": None,
            "listing_id": None,
            "language": "zh",
            "url": "file:cn_patent_document_fulltext.xml#1",
        },
        id="cnipa: TRS full text without bibliography",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "xml2014" / "US08930553.xml",
        {},
        1,
        {
            "publication_number": "US8930553B2",
            "listing_id": "US8930553",
            "title": "Managing mid-dialog session initiation protocol (SIP) messages",
            "applicants": ["International Business Machines Corporation"],
            "inventors": ["Nitzan Nissim", "Brian Pulito", "Asaf Zinger"],
            "ipc": ["G06F15/16"],
            "filing_date": "2012-10-09",
            "priority_date": "2012-10-09",
            "published_on": "2015-01-06",
            "language": "en",
            "url": "https://patents.google.com/patent/US8930553B2",
        },
        id="uspto v4.5 grant",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "xml2006" / "US07272630B2.xml",
        {},
        1,
        {
            "listing_id": "US7272630",
            "applicants": ["Microsoft Corporation"],
            "ipc": ["G06F15/13"],
            "filing_date": "2004-11-18",
            "priority_date": "2001-06-06",
        },
        id="uspto v4.2 grant: a divisional's priority is its parent's",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "xml2004" / "US06859910.xml",
        {},
        1,
        {
            "listing_id": "US6859910",
            "applicants": ["Bluestreak.com"],
            "inventors": ["John Charles Croy"],
            "ipc": ["G06F15/00", "G06F17/00", "G06F17/21", "G06F17/24"],
            "published_on": "2005-02-22",
        },
        id="uspto v4.0 grant: IPC 7, inventors among the applicants",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "xmlApp2004" / "US20050004437A1.xml",
        {},
        1,
        {
            "publication_number": "US20050004437A1",
            "listing_id": "US20050004437",
            "ipc": ["A61B5/00"],
            "applicants": ["Heiner Kaufmann", "Thomas Vering"],
            "priority_date": "2001-10-26",
        },
        id="uspto v4.0 application: no assignee, the applicants stand in",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "pap" / "US20010000943A1.xml",
        {},
        1,
        {
            "listing_id": "US20010000943",
            "applicants": ["IDEMITSU KOSAN CO., LTD."],
            "ipc": ["H01J1/62"],
            "inventors": ["Kenichi Fukuoka", "Mitsura Eida"],
            "priority_date": "1999-04-05",
            "filing_date": "2000-12-04",
        },
        id="uspto pap 2001",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "sgml" / "US06336130.xml",
        {},
        1,
        {
            "listing_id": "US6336130",
            "applicants": ["Telefonaktiebolaget LM Ericsson (publ)"],
            "inventors": ["Thanh Van Do"],
            "ipc": ["G06F15/16", "G06F13/00"],
            "published_on": "2002-01-01",
        },
        id="uspto PATDOC 2002: IPC in fixed columns",
    ),
    pytest.param(
        "uspto_xml",
        BULK_XML / "sgml" / "USD435854S1.xml",
        {},
        1,
        {
            "publication_number": "USD435854S",
            "listing_id": "USD435854",
            "title": "Disc cartridge",
        },
        id="uspto PATDOC design: the design series keeps its D",
    ),
    pytest.param(
        "table",
        CNKI_COMPANY,
        {"kind": "patent"},
        5,
        {
            "publication_number": "CN101226857",
            "application_number": None,  # the list has no 申请号 column: none is made up
            "listing_id": "CN101226857",
            "title": "带指示功能的分励脱扣器",
            "applicants": ["TCL低压电器(无锡)有限公司"],
            "inventors": ["晏国云", "韩瑄", "王振宇"],
            "filing_date": "2007-11-27",
            "published_on": "2008-07-23",
            "url": "https://patents.google.com/patent/CN101226857",
        },
        id="table: CNKI company list, default mapping",
    ),
    pytest.param(
        "table",
        CN_FULL_ROWS,
        {"kind": "patent", "mapping": FULL_ROWS_MAPPING},
        1,
        {
            "publication_number": "CN108982325A",
            "listing_id": "CN108982325",
            "applicants": ["浙江大学"],
            "inventors": ["李育超", "于泽溪", "魏璐璐", "黄根清"],
            "filing_date": "2018-07-30",
            "published_on": "2018-12-11",
        },
        id="table: CNKI full rows, number from the link",
    ),
]


@pytest.mark.unit
@pytest.mark.parametrize("format, path, options, number, expected", KNOWN)
def test_a_known_record_has_its_values(format, path, options, number, expected):
    item = dict(read_items(format, path, **options))[number]
    assert {key: item.get(key) for key in expected} == expected
    assert item["record_type"] == "listing" and item["kind"] == "patent"


@pytest.mark.unit
def test_items_have_the_keys_of_a_crawled_patent():
    crawled = {
        "record_type",
        "kind",
        "publication_number",
        "application_number",
        "title",
        "abstract",
        "claims",
        "applicants",
        "inventors",
        "ipc",
        "priority_date",
        "filing_date",
        "published_on",
        "legal_status",
        "language",
        "url",
        "source",
        "listing_id",
    }
    for format, path in [
        ("uspto_xml", BULK_XML / "xml2014" / "US08926509.xml"),
        ("google_patents_csv", GOOGLE_EXPORTS / "gp-search-neural-networks.csv"),
        ("patentsview", PATENTSVIEW / "baseball_patent_query.csv"),
    ]:
        _, item = next(read_items(format, path))
        assert set(item) == crawled, format
        assert item["source"] == format


@pytest.mark.integration
def test_design_and_reissue_patents_load_under_their_series_ids(warehouse):
    path = PATENTSVIEW / "baseball_patent_query.csv"
    with path.open(encoding="utf-8", newline="") as stream:
        not_utility = sum(not row["patent_number"].isdigit() for row in csv.DictReader(stream))
    report = load_file(warehouse, "patentsview", path, source="patentsview_baseball", run_id="r")
    assert not_utility == 610 and report.quarantined == 0  # 608 designs (D…), 2 reissues (RE…)
    series = warehouse.query("SELECT count(*) AS n FROM listings WHERE regexp_matches(listing_id, '^US(D|RE)[0-9]+$')")
    assert series[0]["n"] == not_utility - report.listings.superseded
    assert warehouse.query("SELECT listing_id FROM listings WHERE listing_id = 'USD349814'")


# --- USPTO bulk files --------------------------------------------------------------------------


def _bulk_file(tmp_path: Path, *documents: bytes) -> Path:
    path = tmp_path / "ipg150106.xml"
    path.write_bytes(b"".join(d if d.endswith(b"\n") else d + b"\n" for d in documents))
    return path


@pytest.mark.integration
def test_a_bulk_file_of_concatenated_documents_is_split(tmp_path, warehouse):
    grants = sorted((BULK_XML / "xml2014").glob("*.xml"))
    broken = b'<?xml version="1.0" encoding="UTF-8"?>\n<us-patent-grant dtd-version="v4.5"><us-biblio\n'
    path = _bulk_file(tmp_path, grants[0].read_bytes(), broken, *(g.read_bytes() for g in grants[1:]))
    items = list(read_items("uspto_xml", path))
    assert [(n, i["listing_id"]) for n, i in items] == [(1, "US8926509"), (2, None), (3, "US8927118"), (4, "US8930553")]
    assert items[1][1]["url"] == "file:ipg150106.xml#2"

    report = load_file(warehouse, "uspto_xml", path, run_id="r")
    assert (report.listings.inserted, report.quarantined) == (3, 1)
    [reject] = warehouse.query("SELECT field, reason, url, payload FROM quarantine")
    assert reject["field"] == "raw" and "not well-formed XML" in reject["reason"]
    assert reject["url"] == "file:ipg150106.xml#2"
    assert json.loads(reject["payload"])["raw"]["record"].startswith("<?xml")


@pytest.mark.unit
def test_a_zipped_bulk_file_is_read(tmp_path):
    path = tmp_path / "ipa050106.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for doc in sorted((BULK_XML / "xmlApp2004").glob("*.xml")):
            archive.write(doc, doc.name)
    assert [i["listing_id"] for _, i in read_items("uspto_xml", path)] == ["US20050004437", "US20050004974"]


@pytest.mark.unit
@pytest.mark.parametrize(
    "content, says",
    [
        (b"HHHHHT  APS1\nPATN\nWKU  039305848\n", "APS text"),
        (b'<?xml version="1.0"?>\n<us-patent-grant dtd-version="v5.0 2030-01-01"></us-patent-grant>\n', "v5.0"),
        (b'<?xml version="1.0"?>\n<ep-patent-document lang="en"></ep-patent-document>\n', "ep-patent-document"),
    ],
    ids=["APS text 1976-2001", "a future DTD", "an EPO document"],
)
def test_unsupported_uspto_formats_are_refused_by_name(tmp_path, content, says):
    path = tmp_path / "pftaps19760106.txt"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormatVersion, match=re.escape(says)) as refused:
        read_items("uspto_xml", path)
    assert "not supported" in str(refused.value) or "not a USPTO" in str(refused.value)
    assert "\n" not in str(refused.value)


# --- CNIPA -------------------------------------------------------------------------------------

CN_DOCUMENT = """<?xml version="1.0" encoding="UTF-8"?>
<cn-patent-document lang="ZH" country="CN">
  <cn-bibliographic-data lang="ZH" country="CN">
    <cn-publication-reference><document-id>
      <country>CN</country><doc-number>101551481</doc-number><kind>B</kind><date>20110720</date>
    </document-id></cn-publication-reference>
    <application-reference appl-type="invention"><document-id>
      <country>CN</country><doc-number>200810047451.3</doc-number><date>20080424</date>
    </document-id></application-reference>
    <classifications-ipcr>
      <classification-ipcr><text>C10M 169/06(2006.01)I</text></classification-ipcr>
      <classification-ipcr><text>C10N 50/10(2006.01)N</text></classification-ipcr>
    </classifications-ipcr>
    <cn-parties>
      <cn-applicants><cn-applicant sequence="1"><addressbook><name>中国石油化工股份有限公司</name>
        </addressbook></cn-applicant></cn-applicants>
      <cn-inventors><cn-inventor sequence="1"><name>孙 洪伟</name></cn-inventor>
        <cn-inventor sequence="2"><name>刘俊玲</name></cn-inventor></cn-inventors>
    </cn-parties>
    <invention-title>一种复合锂基 润滑脂</invention-title>
    <abstract><p>本发明涉及一种复合锂基润滑脂，包括基础油和稠化剂。</p></abstract>
  </cn-bibliographic-data>
  <application-body>
    <claims><claim num="1"><claim-text>1.一种复合锂基润滑脂，其特征在于，含有 SO<sub>3</sub>。</claim-text></claim>
      <claim num="2"><claim-text>2.根据权利要求1所述的润滑脂。</claim-text></claim></claims>
  </application-body>
</cn-patent-document>
"""


@pytest.mark.unit
def test_a_cnipa_document_with_bibliography(tmp_path):
    path = tmp_path / "CN101551481B.xml"
    path.write_text(CN_DOCUMENT, encoding="utf-8")
    [(number, item)] = list(read_items("cnipa_xml", path, source="cnipa"))
    assert number == 1
    assert {
        k: item[k]
        for k in (
            "publication_number",
            "application_number",
            "listing_id",
            "title",
            "applicants",
            "inventors",
            "ipc",
            "filing_date",
            "priority_date",
            "published_on",
            "language",
            "url",
            "source",
        )
    } == {
        "publication_number": "CN101551481B",
        "application_number": "CN200810047451.3",  # as the document writes it, check digit and all
        "listing_id": "CN101551481",
        "title": "一种复合锂基润滑脂",
        "applicants": ["中国石油化工股份有限公司"],
        "inventors": ["孙洪伟", "刘俊玲"],
        "ipc": ["C10M169/06", "C10N50/10"],
        "filing_date": "2008-04-24",
        "priority_date": "2008-04-24",
        "published_on": "2011-07-20",
        "language": "zh",
        "url": "https://patents.google.com/patent/CN101551481B",
        "source": "cnipa",
    }
    assert item["abstract"] == "本发明涉及一种复合锂基润滑脂，包括基础油和稠化剂。"
    assert item["claims"] == "1.一种复合锂基润滑脂，其特征在于，含有 SO3。\n2.根据权利要求1所述的润滑脂。"


@pytest.mark.unit
def test_a_cnipa_document_names_no_country_that_its_application_reference_lacks(tmp_path):
    path = tmp_path / "doc.xml"
    path.write_text(CN_DOCUMENT.replace("<country>CN</country><doc-number>2008", "<doc-number>2008"), encoding="utf-8")
    [(_, item)] = list(read_items("cnipa_xml", path, source="cnipa"))
    assert item["application_number"] == "200810047451.3"


@pytest.mark.integration
def test_the_real_cnipa_document_is_quarantined_for_its_missing_number(warehouse):
    report = load_file(warehouse, "cnipa_xml", CNIPA_XML, run_id="r")
    assert (report.listings.total, report.quarantined) == (0, 1)
    [reject] = warehouse.query("SELECT field, url, payload FROM quarantine")
    assert (reject["field"], reject["url"]) == ("publication_number", "file:cn_patent_document_fulltext.xml#1")
    assert json.loads(reject["payload"])["title"] == "一种磺酸钙-环烷酸钙锆基四聚脲润滑脂及其制备方法"


@pytest.mark.unit
def test_the_2019_cnipa_standard_is_refused_by_name(tmp_path):
    path = tmp_path / "new.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<business:PatentDocumentAndRelated xmlns:business='
        '"http://www.sipo.gov.cn/XMLSchema/business"/>\n',
        encoding="utf-8",
    )
    with pytest.raises(UnsupportedFormatVersion, match="2019"):
        read_items("cnipa_xml", path)
    with pytest.raises(UnsupportedFormatVersion, match="not XML"):
        read_items("cnipa_xml", CN_FULL_ROWS)


# --- tables of achievements and needs ----------------------------------------------------------

ACHIEVEMENTS = [
    ["成果名称", "单位", "所属领域", "成果简介", "技术成熟度", "合作方式", "价格", "联系方式", "发布日期", "URL"],
    [
        "高导热氮化铝陶瓷基板",
        "浙江大学",
        "新能源新材料",
        "采用流延成型与无压烧结，热导率大于170W/mK。",
        "中试",
        "技术转让",
        "80万元",
        "0571-8795xxxx",
        "2024/3/5",
        "",
    ],
    [
        "纺织品 数码印花 废水回用",
        "东华大学",
        "时尚纺织",
        "膜分离与高级氧化组合工艺，回用率70%。",
        "产业化",
        "技术许可",
        "面议",
        "",
        "2024年11月2日",
        "https://www.example.edu.cn/kjcg/2.html",
    ],
]


def _write_csv(path: Path, rows: list[list[str]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


@pytest.mark.integration
def test_a_gbk_achievement_table_with_the_default_mapping(tmp_path, warehouse):
    path = _write_csv(tmp_path / "成果.csv", ACHIEVEMENTS, "gbk")
    items = dict(read_items("table", path, kind="achievement", source="zju_table"))
    first, second = items[1], items[2]
    assert {
        k: first[k]
        for k in (
            "title",
            "applicants",
            "field",
            "maturity",
            "cooperation",
            "price_text",
            "price_wan",
            "contact",
            "published_on",
            "url",
            "source",
        )
    } == {
        "title": "高导热氮化铝陶瓷基板",
        "applicants": ["浙江大学"],
        "field": "新能源新材料",
        "maturity": "中试",
        "cooperation": "技术转让",
        "price_text": "80万元",
        "price_wan": 80.0,
        "contact": "0571-8795xxxx",
        "published_on": "2024-03-05",
        "url": "file:成果.csv#1",
        "source": "zju_table",
    }
    assert first["listing_id"].startswith("zju_table:") and first["kind"] == "achievement"
    assert (second["price_text"], second["price_wan"], second["published_on"]) == ("面议", None, "2024-11-02")
    assert second["listing_id"] == "zju_table:/kjcg/2.html"  # the page id a spider would give it

    report = load_items(warehouse, items.items(), source="zju_table", run_id="r")
    assert (report.listings.inserted, report.quarantined) == (2, 0)

    # Next month's download lists the same achievements in another order: same ids, nothing new.
    moved = _write_csv(tmp_path / "成果-12月.csv", [ACHIEVEMENTS[0], ACHIEVEMENTS[2], ACHIEVEMENTS[1]], "gbk")
    again = load_file(warehouse, "table", moved, kind="achievement", source="zju_table", run_id="r2")
    assert (again.listings.inserted, again.listings.updated + again.listings.unchanged) == (0, 2)


@pytest.mark.integration
def test_a_patent_table_keeps_the_application_number_as_written(tmp_path, warehouse):
    rows = [
        ["公开(公告)号", "申请号", "专利名称"],
        ["CN101234567B", "200810012345.6", "一种锂电池隔膜涂覆方法"],
        ["CN101234568A", "", "一种隔膜分切装置"],
    ]
    load_file(warehouse, "table", _write_csv(tmp_path / "专利.csv", rows, "utf-8"), kind="patent", run_id="r")
    stored = warehouse.query("SELECT listing_id, application_number FROM listings ORDER BY listing_id")
    assert stored == [
        {"listing_id": "CN101234567", "application_number": "200810012345.6"},
        {"listing_id": "CN101234568", "application_number": None},  # an empty cell is no number
    ]


@pytest.mark.integration
def test_an_xlsx_of_needs_with_the_default_mapping(tmp_path, warehouse):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["需求名称", "需求描述", "所属行业", "榜额（万元）", "截止日期", "发布单位", "地区"])
    sheet.append(
        [
            "锂电池极片涂布厚度在线检测",
            "我公司需要在线检测极片涂布厚度，精度±1μm，速度60m/min。",
            "新能源新材料",
            50,
            datetime(2026, 12, 31),
            "嘉善某新能源有限公司",
            "嘉善",
        ]
    )
    sheet.append([None] * 7)  # formatted but empty: not a record
    sheet.append(
        [
            "面料抗起球整理",
            "寻求环保型抗起球整理剂及工艺，适用于羊毛混纺面料。",
            "时尚纺织",
            "面议",
            "2027-01-15",
            "嘉善某纺织有限公司",
            "嘉善",
        ]
    )
    path = tmp_path / "needs.xlsx"
    workbook.save(path)

    items = dict(read_items("table", path, kind="need", source="jiashan_xlsx"))
    assert sorted(items) == [1, 2]
    first = items[1]
    assert {
        k: first[k] for k in ("record_type", "title", "field", "budget_wan", "deadline", "issuer", "region", "url")
    } == {
        "record_type": "challenge",
        "title": "锂电池极片涂布厚度在线检测",
        "field": "新能源新材料",
        "budget_wan": 50.0,
        "deadline": "2026-12-31",
        "issuer": "嘉善某新能源有限公司",
        "region": "嘉善",
        "url": "file:needs.xlsx#1",
    }
    assert first["challenge_id"].startswith("jiashan_xlsx:")
    assert (items[2]["budget_wan"], items[2]["deadline"]) == (None, "2027-01-15")

    report = load_file(warehouse, "table", path, kind="need", source="jiashan_xlsx", run_id="r")
    assert (report.challenges.inserted, report.quarantined) == (2, 0)


@pytest.mark.integration
def test_malformed_rows_are_quarantined_with_their_field(tmp_path, warehouse):
    rows = [
        ["需求名称", "需求描述", "榜额", "截止日期", "发布单位"],
        [
            "注塑件缩痕消除",
            "汽车内饰件注塑缩痕明显，需要优化模具与工艺参数。",
            "30万元",
            "2026-06-30",
            "某汽车部件公司",
        ],
        ["焊缝视觉检测", "需要焊缝缺陷的在线视觉检测系统，覆盖气孔和裂纹。", "20万元", "明年六月", "某钢构公司"],
        ["", "只有描述没有名称的需求，名称一栏空着。", "", "", ""],
        ["多了一列", "这一行多了一个单元格，列已经对不上。", "10万元", "2026-01-01", "某公司", "多余"],
        ["预算看不懂", "榜额一栏写的不是金额，需要人工确认后再导入。", "大约五十", "2026-05-01", "某公司"],
    ]
    path = _write_csv(tmp_path / "needs.csv", rows, "utf-8")
    report = load_file(warehouse, "table", path, kind="need", run_id="r")
    assert report.challenges.inserted + report.quarantined == len(rows) - 1
    rejects = warehouse.query("SELECT field, url, reason FROM quarantine ORDER BY quarantine_id")
    assert [(r["field"], r["url"]) for r in rejects] == [
        ("deadline", "file:needs.csv#2"),
        ("title", "file:needs.csv#3"),
        ("raw", "file:needs.csv#4"),
        ("budget_wan", "file:needs.csv#5"),
    ]
    assert rejects[2]["reason"] == "row has 6 cells, the header has 5"


@pytest.mark.unit
@pytest.mark.parametrize(
    "options, says",
    [
        ({}, "kind= one of achievement, need, patent"),
        ({"kind": "need", "mapping": {"需求名称": "name"}}, "name are not need fields"),
        ({"kind": "need", "mapping": {"项目名称": "title"}}, "has no column 项目名称"),
        ({"kind": "achievement"}, "no title column for achievement records"),
    ],
    ids=["no kind", "unknown field", "mapped column missing", "no title column"],
)
def test_a_table_that_does_not_fit_is_refused_before_loading(tmp_path, options, says):
    path = _write_csv(tmp_path / "needs.csv", [["需求名称", "需求描述"], ["甲", "乙乙乙乙乙乙乙乙乙乙"]], "utf-8")
    with pytest.raises(ImportRefused, match=re.escape(says)):
        read_items("table", path, **options)


@pytest.mark.unit
def test_unknown_format_and_wrong_options_are_named():
    with pytest.raises(UnknownFormat) as unknown:
        read_items("epo_ops", CNIPA_XML)
    assert isinstance(unknown.value, KNOWN_ERRORS)  # the CLI turns it into one line
    assert str(unknown.value) == (
        "unknown import format 'epo_ops'; known formats: google_patents_csv, patentsview, cnipa_xml, uspto_xml, table"
    )
    assert list(FORMATS) == ["google_patents_csv", "patentsview", "cnipa_xml", "uspto_xml", "table"]
    with pytest.raises(ImportRefused, match="takes no mapping"):
        read_items("patentsview", CNKI_COMPANY, mapping={"title": "title"})
    with pytest.raises(ImportRefused, match="not a PatentsView table"):
        read_items("patentsview", CNKI_COMPANY)
    with pytest.raises(ImportRefused, match="not a Google Patents CSV export"):
        read_items("google_patents_csv", CNKI_COMPANY)
    with pytest.raises(ImportRefused, match="is not a file"):
        read_items("uspto_xml", BULK_XML / "missing.xml")


# --- the small normalisers ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, expected",
    [
        ("80万元", 80.0),
        ("1.2亿", 12000.0),
        ("面议", None),
        ("", None),
        ("80", 80.0),
        ("50000元", 5.0),
        ("大约五十", "大约五十"),
    ],
    ids=["万元", "亿", "negotiable", "empty", "bare number is 万元", "元", "not an amount"],
)
def test_amount_in_wan(text, expected):
    assert amount_in_wan(text) == expected


@pytest.mark.unit
def test_amount_in_wan_reads_the_unit_of_the_header():
    assert amount_in_wan("50000", "榜额（元）") == 5.0
    assert amount_in_wan("50", "榜额（万元）") == 50.0
    assert header_key("榜额（万元）") == "榜额" and header_key(" URL ") == "url"


@pytest.mark.unit
@pytest.mark.parametrize(
    "value, expected",
    [
        ("20150106", "2015-01-06"),
        ("2015/1/6", "2015-01-06"),
        ("2015年1月6日", "2015-01-06"),
        ("2015-01-06 00:00:00", "2015-01-06"),
        (date(2015, 1, 6), "2015-01-06"),
        ("", None),
        ("明年", "明年"),
    ],
)
def test_iso_date(value, expected):
    assert iso_date(value) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, expected",
    [
        ("G06F015/00", "G06F15/00"),
        ("C10M 169/00(2006.01)I", "C10M169/00"),
        ("H01J001/62", "H01J1/62"),
        ("A61B5/0205", "A61B5/0205"),
        ("见说明书", None),
    ],
)
def test_ipc_code(text, expected):
    assert ipc_code(text) == expected


@pytest.mark.unit
@pytest.mark.parametrize("code, expected", [("G06F 1516", "G06F15/16"), ("B32B  302", "B32B3/02"), ("1402", None)])
def test_patdoc_ipc_columns(code, expected):
    assert patdoc_ipc(code) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "parts, expected",
    [
        (("06859910", "B2"), "US6859910B2"),
        (("20050004437", "A1"), "US20050004437A1"),
        (("D0435854", "S"), "USD435854S"),
        (("", "B2"), None),
    ],
)
def test_us_publication_number(parts, expected):
    assert us_publication_number(*parts) == expected


@pytest.mark.unit
@pytest.mark.parametrize(
    "text, expected",
    [
        ("Ricoh Company, Ltd.", ["Ricoh Company, Ltd."]),
        ("Pauline A. Langen, Jeffrey S. Katz", ["Pauline A. Langen", "Jeffrey S. Katz"]),
        ("Robert W. Thompson, Jr., Simon Lowenfeld", ["Robert W. Thompson, Jr.", "Simon Lowenfeld"]),
        ("", []),
    ],
)
def test_split_names(text, expected):
    assert split_names(text) == expected
