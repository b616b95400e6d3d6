"""The field normalisers: one per field, used by every spider and every importer, so the same
patent gets the same dates, names and IPC codes whether it was crawled or imported.

Each normaliser is idempotent (normalising a normalised value changes nothing), which is what
lets warehouse migration 0009 rewrite stored values to the same form. The URL helpers at the
end are for spiders that page through query strings."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

# 2013.11.13 / 2013-11-13 / 2013/1/6 / 2015年1月6日, or exactly eight digits (20000517): a longer
# digit run is a document number, not a date.
_DATE = re.compile(r"(?<!\d)(\d{4})(?:\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?|(\d{2})(\d{2})(?!\d))")
# A section (A–H; Y is CPC's tagging section, which Google Patents and USPTO ODP list with the
# IPC codes), class, subclass, main group and subgroup, whatever the spacing between them.
_IPC = re.compile(r"([A-HY])\s*(\d{2})\s*([A-Z])\s*0*(\d{1,4})\s*/\s*(\d{1,6})")


def _text(value: Any) -> str:
    """Full-width digits and letters (２０１５, Ｇ０６Ｆ) read as ASCII; outer spaces dropped."""
    return unicodedata.normalize("NFKC", str(value)).strip()


def iso_date(value: Any) -> str | None:
    """YYYY-MM-DD from the date in a text or a spreadsheet cell; None when empty.

    Text holding no date is returned as written: validation then quarantines the record
    naming the field, rather than a date being guessed or silently dropped.

    >>> iso_date("2015年1月6日"), iso_date("20150106"), iso_date("2016-09-02T00:00:00Z")
    ('2015-01-06', '2015-01-06', '2016-09-02')
    >>> iso_date(""), iso_date("soon")
    (None, 'soon')
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _text(value)
    if not text:
        return None
    if not (m := _DATE.search(text)):
        return text
    month, day = (m[2], m[3]) if m[2] else (m[4], m[5])
    return f"{m[1]}-{int(month):02d}-{int(day):02d}"


def earliest_date(*values: Any) -> str | None:
    """The earliest of some dates (a priority date is the earliest claim); texts that hold no
    date are left out."""
    dates = [d for d in map(iso_date, values) if d and re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)]
    return min(dates) if dates else None


def ipc_code(text: str | None) -> str | None:
    """The first IPC code of a text in the canonical form: section, class and subclass, the main
    group without leading zeros, the subgroup as written; None when the text holds none.

    >>> ipc_code("G06F 015/00"), ipc_code("C10M 169/00(2006.01)I"), ipc_code("见说明书")
    ('G06F15/00', 'C10M169/00', None)
    """
    return next(_ipc_matches(text), None)


def ipc_codes(texts: str | Iterable[str | None] | None) -> list[str]:
    """Every IPC code in some texts, canonical (see ipc_code) and distinct, in order.

    >>> ipc_codes(["B28B   1/    29            A I", "G06Q50/02(2012.01)I;G06Q50/02", "G06F 015/00"])
    ['B28B1/29', 'G06Q50/02', 'G06F15/00']
    """
    if texts is None or isinstance(texts, str):
        texts = [texts]
    return unique(code for text in texts for code in _ipc_matches(text))


def _ipc_matches(text: str | None) -> Iterator[str]:
    for m in _IPC.finditer(_text(text or "").upper()):
        yield f"{m[1]}{m[2]}{m[3]}{int(m[4])}/{m[5]}"


_LIST_SEPARATORS = re.compile(r"\s*[;；,，、\n]\s*")
_NAME_SEPARATORS = re.compile(r"\s*[;；、\n]\s*")
# Pieces of one name that a comma-separated list splits off: "Lynx System Developers, Inc.",
# "Robert W. Thompson, Jr." (Google Patents exports join several names with ", ").
_NAME_SUFFIX = re.compile(
    r"^(inc\.?|incorporated|ltd\.?|limited|l\.?l\.?c\.?|l\.?p\.?|n\.?v\.?|s\.?a\.?|a\.?g\.?|gmbh|co\.?|corp\.?|plc"
    r"|jr\.?|sr\.?|ii|iii|iv|a limited liability .*)$",
    re.IGNORECASE,
)


def split_list(text: str | None) -> list[str]:
    """'深度学习;神经网络，图像、识别' → four entries (keywords: ; ； , ， 、 or new lines)."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text or "") if part.strip()]


def split_names(text: str | None) -> list[str]:
    """Names separated by ; ； 、 new lines or commas, a comma before Inc., Ltd., Jr. … kept
    inside the name (CNIPR and NSTRS use semicolons, Google Patents exports commas).

    >>> split_names("浙江嘉善新材料有限公司;嘉兴学院")
    ['浙江嘉善新材料有限公司', '嘉兴学院']
    >>> split_names("Itt Corporation, Digital Equipment, Inc.")
    ['Itt Corporation', 'Digital Equipment, Inc.']
    """
    names: list[str] = []
    for group in _NAME_SEPARATORS.split(text or ""):
        start = len(names)
        for part in (p.strip() for p in re.split(r"[,，]", group)):
            if not part:
                continue
            if len(names) > start and _NAME_SUFFIX.match(part):
                names[-1] = f"{names[-1]}, {part}"
            else:
                names.append(part)
    return names


def unique(values: Iterable[str | None]) -> list[str]:
    """The values that are set, each once, in order."""
    return list(dict.fromkeys(v for v in values if v))


def with_query(url: str, **params) -> str:
    """The URL with query parameters set (added or replaced), the others kept.

    >>> with_query("http://h/search?q=x&offset=0", offset=25, limit=25)
    'http://h/search?q=x&offset=25&limit=25'
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | {k: str(v) for k, v in params.items()}
    return parts._replace(query=urlencode(query)).geturl()


def query_int(url: str, key: str, default: int) -> int:
    value = dict(parse_qsl(urlsplit(url).query)).get(key, "")
    return int(value) if value.isdigit() else default
