"""Small helpers shared by spiders: dates, name lists, classification codes, query strings."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

# 2013.11.13 / 2013-11-13 / 2013/11/13, or exactly eight digits (20000517): a longer digit run is
# a document number, not a date.
_DATE = re.compile(r"(?<!\d)(\d{4})(?:[.\-/](\d{1,2})[.\-/](\d{1,2})|(\d{2})(\d{2}))(?!\d)")
_IPC = re.compile(r"([A-H]\d{2}[A-Z])\s*(\d{1,4})\s*/\s*(\d{1,6})")


def iso_date(text: str | None) -> str | None:
    """'2013.11.13', '20000517' or '2016-09-02T00:00:00Z' → 'YYYY-MM-DD'; None when there is no date.

    >>> iso_date("2013.11.13"), iso_date("20000517"), iso_date("")
    ('2013-11-13', '2000-05-17', None)
    """
    if not (m := _DATE.search(text or "")):
        return None
    month, day = (m[2], m[3]) if m[2] else (m[4], m[5])
    return f"{m[1]}-{int(month):02d}-{int(day):02d}"


def split_names(text: str | None) -> list[str]:
    """'A;B；C' → ['A', 'B', 'C'] (CNIPR and NSTRS separate names with semicolons)."""
    return [name.strip() for name in re.split(r"[;；]", text or "") if name.strip()]


def ipc_codes(texts) -> list[str]:
    """Compact, distinct IPC codes from any layout: 'B28B   1/    29  A I', 'G06Q50/02(2012.01)I'.

    >>> ipc_codes(["B28B   1/    29            A I", "G06Q50/02(2012.01)I;G06Q50/02"])
    ['B28B1/29', 'G06Q50/02']
    """
    if texts is None or isinstance(texts, str):
        texts = [texts]
    codes = (f"{m[1]}{m[2]}/{m[3]}" for text in texts for m in _IPC.finditer(text or ""))
    return list(dict.fromkeys(codes))


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
