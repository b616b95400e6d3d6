"""The USPTO's full-text XML before ICE v4: pre-grant publications 2001–2004 (pap v1.5/v1.6,
`patent-application-publication`) and grants 2002–2004 (ST.32 v2.4/v2.5, `PATDOC`, with
WIPO ST.32 tag numbers: B110 publication number, B540 title, B721 inventor …)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from crawlers.fields import earliest_date, ipc_code, iso_date, unique
from crawlers.importers.common import (
    google_patents_url,
    patent_item,
    us_publication_number,
)
from crawlers.importers.xmldocs import child_or_empty, paragraphs, text_at, texts_at


def pap_item(root: ET.Element, source: str) -> dict[str, Any]:
    """A pre-grant publication (US2001…A1), 2001–2004."""
    biblio = child_or_empty(root, "subdoc-bibliographic-information")
    publication = biblio.find("document-id")
    number = us_publication_number(text_at(publication, "doc-number"), text_at(publication, "kind-code"))
    filing = text_at(biblio, "domestic-filing-data/filing-date")
    ipc = texts_at(biblio, "technical-information/classification-ipc/classification-ipc-primary/ipc")
    ipc += texts_at(biblio, "technical-information/classification-ipc/classification-ipc-secondary/ipc")
    inventors = biblio.findall("inventors/first-named-inventor") + biblio.findall("inventors/inventor")
    return patent_item(
        source,
        publication_number=number,
        title=text_at(biblio, "technical-information/title-of-invention"),
        abstract=paragraphs(root.find("subdoc-abstract"), "paragraph"),
        claims=paragraphs(root.find("subdoc-claims"), "claim"),
        applicants=unique(
            text_at(a, "organization-name") or _pap_person(a.find("name")) for a in biblio.iterfind("assignee")
        ),
        inventors=unique(_pap_person(i.find("name")) for i in inventors),
        ipc=unique(ipc_code(code) for code in ipc),
        priority_date=earliest_date(filing, *texts_at(biblio, "foreign-priority-data/filing-date")),
        filing_date=iso_date(filing),
        published_on=iso_date(text_at(publication, "document-date")),
        language="en",
        url=google_patents_url(number),
    )


def _pap_person(name: ET.Element | None) -> str | None:
    parts = (text_at(name, tag) for tag in ("given-name", "middle-name", "family-name", "name-suffix"))
    return " ".join(p for p in parts if p) or None


def patdoc_item(root: ET.Element, source: str) -> dict[str, Any]:
    """A grant in ST.32 XML, 2002–2004 (and the 2001 SGML once converted to XML)."""
    biblio = child_or_empty(root, "SDOBI")
    number = us_publication_number(
        text_at(biblio, "B100/B110"), text_at(biblio, "B100/B130"), text_at(biblio, "B100/B190") or "US"
    )
    filing = text_at(biblio, "B200/B220")
    # Raw text, not whitespace-collapsed: the spaces are the columns of the IPC code.
    ipc = ["".join(e.itertext()).strip() for e in biblio.iterfind("B500/B510/*") if e.tag in ("B511", "B512")]
    return patent_item(
        source,
        publication_number=number,
        title=text_at(biblio, "B500/B540"),
        abstract=paragraphs(root.find("SDOAB"), "PARA"),
        claims=paragraphs(root.find("SDOCL"), "CLM"),
        applicants=unique(_patdoc_party(p) for p in biblio.iterfind("B700/B730/B731/PARTY-US")),
        inventors=unique(_patdoc_party(p) for p in biblio.iterfind("B700/B720/B721/PARTY-US")),
        ipc=unique(patdoc_ipc(code) for code in ipc),
        priority_date=earliest_date(filing, *texts_at(biblio, "B300/B320")),
        filing_date=iso_date(filing),
        published_on=iso_date(text_at(biblio, "B100/B140")),
        language="en",
        url=google_patents_url(number),
    )


def _patdoc_party(party: ET.Element) -> str | None:
    """ONM is an organisation's name; FNM + SNM a person's."""
    if org := text_at(party, "NAM/ONM"):
        return org
    return " ".join(n for n in (text_at(party, "NAM/FNM"), text_at(party, "NAM/SNM")) if n) or None


_PATDOC_IPC = re.compile(r"^([A-H]\d\d[A-Z])([ \d]{3})(\d{2,6})$")


def patdoc_ipc(code: str) -> str | None:
    """ST.32 writes IPC in fixed columns without the slash: subclass (4), main group
    right-aligned in 3, then the subgroup: 'G06F 1516' is G06F 15/16, 'B32B  302' B32B 3/02.
    A design patent's Locarno class ('1402') is not IPC and gives None.

    >>> patdoc_ipc("G06F 1516"), patdoc_ipc("B32B  302"), patdoc_ipc("1402")
    ('G06F15/16', 'B32B3/02', None)
    """
    m = _PATDOC_IPC.match(code)
    if not m or not m[2].strip():
        return None
    return ipc_code(f"{m[1]}{m[2].strip()}/{m[3]}")
