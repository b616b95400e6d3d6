"""Natural ids: the same patent or page always gets the same id, whatever the source's host."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlparse

# A number with a series letter is tried first: US design (D), reissue (RE), plant (PP) and
# statutory invention (H) patents, JP Heisei (H) and Showa (S) era numbers. The series number may be
# short here because a zero-padded US number (H000123) normalises to a short one (USH123), which
# must normalise to itself; the function asks for 4 digits where the text alone would be too vague.
_PUBLICATION = re.compile(
    r"^(?:(?P<series_country>[A-Z]{2})?(?P<series>D|RE|PP|H|S)(?P<series_number>[0-9]{1,10})"
    r"|(?P<country>[A-Z]{2})?(?P<number>[0-9]{6,13}))(?P<kind>[A-Z][0-9]?)?$"
)
_CHECK_DIGIT = re.compile(r"\.[0-9X]$")  # CN application numbers end in ".7": not part of the number


def compact_number(number: str | None) -> str:
    """'US-2015112182-A1' → 'US2015112182A1': no separators, kind code kept (the form Google
    Patents writes in its URLs; normalise_publication_number goes on to the id)."""
    return re.sub(r"[\s,./-]", "", unicodedata.normalize("NFKC", number or "").upper())


def normalise_publication_number(raw: str) -> str | None:
    """Country + number without kind code and separators; China is assumed when no country.

    >>> normalise_publication_number("CN 101551481 B")
    'CN101551481'
    >>> normalise_publication_number("101551481")
    'CN101551481'
    >>> normalise_publication_number("US-D361061-S"), normalise_publication_number("RE31811")
    ('USD361061', 'USRE31811')
    """
    compact = compact_number(_CHECK_DIGIT.sub("", unicodedata.normalize("NFKC", raw or "").strip().upper()))
    m = _PUBLICATION.match(compact)
    if not m:
        return None
    if m["series"] is None:
        return (m["country"] or "CN") + m["number"]
    if m["series_country"] is None and m["series"] == "S":
        return None  # a Showa-era number means nothing without its country
    # Bare D/RE/PP/H numbers are how USPTO data (PatentsView) writes its own series; USPTO bulk
    # files zero-pad them (D0435854), Google does not. A JP era number's zeros are its year.
    if len(m["series_number"]) < 4 and m["series_country"] != "US":
        return None  # "H12" or "JPH12" is too vague to be taken for a publication number
    country = m["series_country"] or "US"
    if country != "US":
        return country + m["series"] + m["series_number"]
    number = m["series_number"].lstrip("0")
    if not number:
        return None  # D0000: there is no patent number zero
    return country + m["series"] + number


def page_id(source: str, url: str) -> str:
    """`source:path?query` — stable when the same site moves host or port.

    >>> page_id("zju", "http://127.0.0.1:8765/zju/kjcg/detail/1001.html")
    'zju:/zju/kjcg/detail/1001.html'
    """
    parts = urlparse(url)
    return f"{source}:{parts.path}" + (f"?{parts.query}" if parts.query else "")
