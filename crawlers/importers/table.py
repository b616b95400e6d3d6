"""Plain tables of achievements (科技成果), needs (技术需求 / 揭榜挂帅) or patents: CSV, TSV
or XLSX (first sheet), one record per row, read through a column mapping
`{column header: item field}`.

Without a mapping, the usual Chinese headers of each kind are recognised (成果名称, 所属领域,
成果简介 … / 需求名称, 需求描述, 榜额 … / 公开号, 申请人, 申请日 …), and so is a column named
like the item field itself (title, abstract …). Headers are compared after NFKC, without
spaces, case, or a unit in brackets: '价格（万元）' is the 价格 column, its unit is remembered.

Amounts become 万元: '80万元' → 80, '1.2亿' → 12000, '50000元' → 5; a bare number is in
万元 (the unit these listings quote) unless its header says 元; 面议 (negotiable) is none.
A row with no public URL is referenced as `file:<name>#<row>`; its id is then made from its
title and organisation, so the same record keeps its id in next month's download.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from crawlers.errors import ImportRefused
from crawlers.fields import ipc_codes, iso_date, split_list, split_names
from crawlers.identity import page_id
from crawlers.importers.common import (
    csv_lines,
    file_ref,
    google_patents_url,
    open_text,
    patent_item,
    rows_under_header,
    unreadable_item,
)
from crawlers.spiders.achievements import price_in_wan

KINDS = ("achievement", "need", "patent")
FIELDS = {
    "achievement": (
        "title",
        "abstract",
        "applicants",
        "keywords",
        "field",
        "maturity",
        "cooperation",
        "price_text",
        "price_wan",
        "contact",
        "region",
        "published_on",
        "url",
    ),
    "need": ("title", "description", "field", "budget_wan", "deadline", "issuer", "region", "cooperation", "url"),
    "patent": (
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
    ),
}
LIST_FIELDS = frozenset({"applicants", "inventors", "ipc", "keywords"})
NAME_FIELDS = frozenset({"applicants", "inventors"})  # "Ricoh Company, Ltd." is one name
DATE_FIELDS = frozenset({"published_on", "deadline", "filing_date", "priority_date"})
AMOUNT_FIELDS = frozenset({"price_wan", "budget_wan"})

DEFAULT_MAPPINGS: dict[str, dict[str, str]] = {
    "achievement": {
        "成果名称": "title",
        "项目名称": "title",
        "单位": "applicants",
        "完成单位": "applicants",
        "成果单位": "applicants",
        "所属领域": "field",
        "技术领域": "field",
        "成果简介": "abstract",
        "成果介绍": "abstract",
        "关键词": "keywords",
        "技术成熟度": "maturity",
        "成熟度": "maturity",
        "合作方式": "cooperation",
        "价格": "price_text",
        "转让价格": "price_text",
        "联系方式": "contact",
        "地区": "region",
        "发布日期": "published_on",
        "链接": "url",
        "网址": "url",
    },
    "need": {
        "需求名称": "title",
        "需求描述": "description",
        "需求内容": "description",
        "所属行业": "field",
        "所属领域": "field",
        "榜额": "budget_wan",
        "悬赏金额": "budget_wan",
        "截止日期": "deadline",
        "发布单位": "issuer",
        "需求单位": "issuer",
        "地区": "region",
        "所在地区": "region",
        "合作方式": "cooperation",
        "链接": "url",
        "网址": "url",
    },
    "patent": {
        "公开号": "publication_number",
        "公开(公告)号": "publication_number",
        "公告号": "publication_number",
        "申请号": "application_number",
        "专利号": "application_number",  # ZL + the application number, on a granted patent
        "专利名称": "title",
        "名称": "title",
        "摘要": "abstract",
        "主权项": "claims",
        "权利要求": "claims",
        "申请人": "applicants",
        "专利权人": "applicants",
        "发明人": "inventors",
        "ipc分类号": "ipc",
        "分类号": "ipc",
        "主分类号": "ipc",
        "申请日": "filing_date",
        "公开日": "published_on",
        "公开(公告)日": "published_on",
        "优先权日": "priority_date",
        "法律状态": "legal_status",
        "链接": "url",
        "application_date": "filing_date",
        "publication_date": "published_on",
    },
}
_NEGOTIABLE = ("面议", "议价", "协商", "待定", "洽谈")
_PLAIN_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*(元)?$")
_NUMBER_IN_URL = re.compile(r"(?:/patent/|filename=)([A-Z]{2}\d{6,13}[A-Z]?\d?)")
Column = tuple[int, str, str]  # (position, header as written, item field)


def read(
    path: Path, *, source: str, mapping: Mapping[str, str] | None = None, kind: str | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number after the header, raw item) for every non-blank row of the table."""
    if kind not in KINDS:
        raise ImportRefused(f"a table import needs kind= one of {', '.join(KINDS)} (got {kind!r})")
    lines = table_lines(path)
    header = next(lines, None)
    if not isinstance(header, list):
        raise ImportRefused(f"{path.name} has no header row")
    columns = resolve_columns(header, mapping, kind, path.name)
    for row in rows_under_header(header, lines):
        ref = file_ref(path, row.number)
        if row.problem:
            base = {"record_type": "challenge"} if kind == "need" else {"record_type": "listing", "kind": kind}
            yield row.number, unreadable_item({**base, "url": ref, "source": source}, row.problem, row.raw)
            continue
        yield row.number, BUILDERS[kind](field_values(row.raw, columns), source=source, ref=ref)


def header_key(name: str) -> str:
    """'价格（万元）' → '价格', ' URL ' → 'url': how headers and mapping keys are compared."""
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name or ""))).lower()
    return re.sub(r"\([^()]*\)$", "", text) or text


def resolve_columns(header: list[str], mapping: Mapping[str, str] | None, kind: str, name: str) -> list[Column]:
    """Which column feeds which field; ImportRefused naming the problem when the mapping does
    not fit the file (an unknown field, a mapped column the file lacks, no title column)."""
    allowed = FIELDS[kind]
    if mapping is not None:
        wrong = sorted({f for f in mapping.values() if f not in allowed})
        if wrong:
            raise ImportRefused(f"mapping targets {', '.join(wrong)} are not {kind} fields; use {', '.join(allowed)}")
        missing = [c for c in mapping if header_key(c) not in {header_key(h) for h in header}]
        if missing:
            raise ImportRefused(f"{name} has no column {', '.join(missing)}; its columns are {', '.join(header)}")
    # A mapping names the columns the defaults miss: the usual headers still count for the
    # fields it does not map.
    explicit = dict(mapping or {})
    merged = {**{c: f for c, f in default_mapping(kind).items() if f not in explicit.values()}, **explicit}
    wanted = {header_key(c): f for c, f in merged.items()}
    columns = [(i, h, wanted[header_key(h)]) for i, h in enumerate(header) if header_key(h) in wanted]
    if not any(f == "title" for *_, f in columns):  # every record needs one: a mapping without is wrong
        known = [c for c, f in merged.items() if f == "title"]
        raise ImportRefused(
            f"{name} has no title column for {kind} records (looked for {', '.join(known) or 'none mapped'}); "
            f"its columns are {', '.join(header)}; pass a mapping such as {{'<column>': 'title'}}"
        )
    return columns


def default_mapping(kind: str) -> dict[str, str]:
    """The usual Chinese headers of this kind, plus every item field's own name."""
    return {**{f: f for f in FIELDS[kind]}, **DEFAULT_MAPPINGS[kind]}


def field_values(cells: list[str], columns: list[Column]) -> dict[str, Any]:
    """field → converted value; when two columns feed one field the first non-empty one wins.

    An achievement's price_wan, unless a column gives it, is read from its price text (in the
    unit its header names); unreadable, it is unknown and the text keeps what was written,
    as the spider does."""
    values: dict[str, Any] = {}
    price_header = ""
    for position, header, name in columns:
        cell = cells[position].strip() if position < len(cells) else ""
        if cell and values.get(name) in (None, "", []):
            values[name] = convert(name, cell, header)
            price_header = header if name == "price_text" else price_header
    if values.get("price_text") and not any(name == "price_wan" for *_, name in columns):
        amount = amount_in_wan(values["price_text"], price_header)
        values["price_wan"] = amount if isinstance(amount, float) else None
    return values


def convert(name: str, cell: str, header: str = "") -> Any:
    if name == "ipc":
        return ipc_codes(cell)
    if name in NAME_FIELDS:
        return split_names(cell)
    if name in LIST_FIELDS:
        return split_list(cell)
    if name in DATE_FIELDS:
        return iso_date(cell)
    if name in AMOUNT_FIELDS:
        return amount_in_wan(cell, header)
    return cell


def amount_in_wan(text: str | None, header: str = "") -> float | str | None:
    """An amount in 万元; None when negotiable or empty; the text itself when it is no amount
    (validation then quarantines the record naming the field).

    >>> amount_in_wan("80万元"), amount_in_wan("面议"), amount_in_wan("50000", "榜额（元）"), amount_in_wan("80")
    (80.0, None, 5.0, 80.0)
    """
    value = unicodedata.normalize("NFKC", text or "").strip().replace(",", "")
    if not value or any(word in value for word in _NEGOTIABLE):
        return None
    if (wan := price_in_wan(value)) is not None:
        return wan
    if m := _PLAIN_AMOUNT.match(value):
        in_yuan = bool(m[2]) or ("元" in header and "万" not in header)
        return float(m[1]) / 10_000 if in_yuan else float(m[1])
    return text


def record_id(source: str, url: str | None, title: str | None, organisation: str | None) -> str:
    """`source:path` of the record's page when it has one (the id the spiders give it), else
    `source:` + a digest of title and organisation, which do not move when rows do."""
    if url and url.startswith(("http://", "https://")):
        return page_id(source, url)
    key = "\x1f".join(" ".join(unicodedata.normalize("NFKC", v or "").split()) for v in (title, organisation))
    return f"{source}:{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


def achievement_item(values: dict[str, Any], *, source: str, ref: str) -> dict[str, Any]:
    url = values.get("url") or ref
    applicants = values.get("applicants") or []
    return {
        "record_type": "listing",
        "kind": "achievement",
        "listing_id": record_id(source, values.get("url"), values.get("title"), next(iter(applicants), None)),
        "title": values.get("title"),
        "applicants": applicants,
        "field": values.get("field"),
        "abstract": values.get("abstract"),
        "keywords": values.get("keywords") or [],
        "maturity": values.get("maturity"),
        "cooperation": values.get("cooperation"),
        "price_text": values.get("price_text"),
        "price_wan": values.get("price_wan"),
        "contact": values.get("contact"),
        "region": values.get("region"),
        "published_on": values.get("published_on"),
        "url": url,
        "source": source,
    }


def need_item(values: dict[str, Any], *, source: str, ref: str) -> dict[str, Any]:
    return {
        "record_type": "challenge",
        "challenge_id": record_id(source, values.get("url"), values.get("title"), values.get("issuer")),
        **{f: values.get(f) for f in FIELDS["need"] if f != "url"},
        "url": values.get("url") or ref,
        "source": source,
    }


def patent_row_item(values: dict[str, Any], *, source: str, ref: str) -> dict[str, Any]:
    number = values.get("publication_number")
    if not number and (linked := _NUMBER_IN_URL.search(values.get("url") or "")):
        number = linked[1]  # CNKI and Google Patents links name the publication (filename=CN108982325A)
    fields = {f: values[f] for f in FIELDS["patent"] if f in values}
    return patent_item(
        source,
        **{**fields, "publication_number": number, "url": values.get("url") or google_patents_url(number) or ref},
    )


BUILDERS = {"achievement": achievement_item, "need": need_item, "patent": patent_row_item}


def table_lines(path: Path) -> Iterator[list[str] | Any]:
    """The header, then the rows, of a CSV/TSV (any of the usual encodings) or of the first
    sheet of an XLSX workbook; blank rows are left out. Cells come out as text."""
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise ImportRefused(f"{path.name} is an old binary Excel file; save it as .xlsx or CSV and import that")
    if suffix in (".xlsx", ".xlsm"):
        yield from xlsx_lines(path)
        return
    with open_text(path) as stream:
        yield from csv_lines(stream)


def xlsx_lines(path: Path) -> Iterator[list[str]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ImportRefused(f"{path.name} cannot be opened as an XLSX workbook ({exc})") from None
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                yield cells
    finally:
        workbook.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV export would show (dates as YYYY-MM-DD, 80 not 80.0)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
