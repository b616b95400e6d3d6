"""Natural ids: the same patent or page always gets the same id, whatever the source's host."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlparse

_PUBLICATION = re.compile(r"^(?P<country>[A-Z]{2})?(?P<number>[0-9]{6,13})(?P<kind>[A-Z][0-9]?)?$")
_CHECK_DIGIT = re.compile(r"\.[0-9X]$")  # CN application numbers end in ".7": not part of the number


def normalise_publication_number(raw: str) -> str | None:
    """Country + number without kind code and separators; China is assumed when no country.

    >>> normalise_publication_number("CN 101551481 B")
    'CN101551481'
    >>> normalise_publication_number("101551481")
    'CN101551481'
    """
    text = _CHECK_DIGIT.sub("", unicodedata.normalize("NFKC", raw or "").strip().upper())
    compact = re.sub(r"[\s,./-]", "", text)
    m = _PUBLICATION.match(compact)
    if not m:
        return None
    return (m["country"] or "CN") + m["number"]


def page_id(source: str, url: str) -> str:
    """`source:path?query` — stable when the same site moves host or port.

    >>> page_id("zju", "http://127.0.0.1:8765/zju/kjcg/detail/1001.html")
    'zju:/zju/kjcg/detail/1001.html'
    """
    parts = urlparse(url)
    return f"{source}:{parts.path}" + (f"?{parts.query}" if parts.query else "")
