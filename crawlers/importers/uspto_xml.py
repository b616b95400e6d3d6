"""USPTO bulk full-text XML (bulkdata.uspto.gov, "Patent Grant / Application Full Text").

Read, one listing per document of a (possibly zipped) weekly file:
- ICE XML v4.x, `us-patent-grant` and `us-patent-application`: grants and applications
  published from 2005 on (the xml2004/xml2006/xml2014/xmlApp2004 samples);
- the older formats in uspto_legacy: pre-grant publications 2001–2004
  (`patent-application-publication`) and grants 2002–2004 in ST.32 XML (`PATDOC`).
Refused with UnsupportedFormatVersion, naming what the file is: the APS text format of grants
1976–2001, another `us-patent-*` DTD version, or a document that is not USPTO full text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crawlers.errors import UnsupportedFormatVersion
from crawlers.fields import earliest_date, ipc_code, iso_date, unique
from crawlers.importers import uspto_legacy
from crawlers.importers.common import (
    google_patents_url,
    patent_item,
    unreadable_item,
    us_publication_number,
)
from crawlers.importers.xmldocs import (
    child_or_empty,
    document_excerpt,
    documents_in,
    first_bytes,
    paragraphs,
    parse_document,
    text_at,
    text_of,
)

Parser = Callable[[ET.Element, str], dict[str, Any]]


def read(path: Path, *, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(document number, raw item) for every document of the file."""
    refuse_text_formats(first_bytes(path), path.name)
    for number, (name, document) in enumerate(documents_in(path), start=1):
        yield number, document_item(document, source=source, ref=f"file:{name}#{number}", first=number == 1)


def refuse_text_formats(head: bytes, name: str) -> None:
    """The APS format (grants 1976–2001) is fixed-field text, not XML: say so up front."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return
    if text.startswith((b"HHHHHT", b"PATN")) or b"\nPATN" in text:
        raise UnsupportedFormatVersion(
            f"{name} is USPTO APS text (grants 1976–2001), which is not supported; "
            "import the XML full-text files (2002 onwards) instead"
        )
    raise UnsupportedFormatVersion(f"{name} is not XML, so not USPTO bulk full text (expected <?xml …)")


def document_item(document: bytes, *, source: str, ref: str, first: bool = False) -> dict[str, Any]:
    """The listing of one document; an unreadable document becomes an item that validation
    quarantines. The first document decides whether the file is USPTO full text at all."""
    base = {"record_type": "listing", "kind": "patent", "url": ref, "source": source}
    try:
        root = parse_document(document)
    except ET.ParseError as exc:
        return unreadable_item(base, f"document is not well-formed XML ({exc})", document_excerpt(document))
    try:
        parse = parser_for(root)
    except UnsupportedFormatVersion as exc:
        if first:
            raise
        return unreadable_item(base, str(exc), document_excerpt(document))
    item = parse(root, source)
    item["url"] = item["url"] or ref
    return item


def parser_for(root: ET.Element) -> Parser:
    tag = root.tag
    if tag in ("us-patent-grant", "us-patent-application"):
        version = root.get("dtd-version", "")
        if re.match(r"v?4", version):
            return ice_item
        raise UnsupportedFormatVersion(
            f"<{tag}> dtd-version {version!r} is not supported (ICE XML v4.x, 2005 onwards, is)"
        )
    if tag == "patent-application-publication":
        return uspto_legacy.pap_item
    if tag == "PATDOC":
        return uspto_legacy.patdoc_item
    raise UnsupportedFormatVersion(
        f"<{tag}> is not a USPTO full-text document (expected us-patent-grant, us-patent-application, "
        "patent-application-publication or PATDOC)"
    )


def ice_item(root: ET.Element, source: str) -> dict[str, Any]:
    """A grant or application in ICE XML v4.0–v4.x."""
    biblio = child_or_empty(root, "us-bibliographic-data-grant", "us-bibliographic-data-application")
    publication = biblio.find("publication-reference/document-id")
    number = us_publication_number(
        text_at(publication, "doc-number"), text_at(publication, "kind"), text_at(publication, "country") or "US"
    )
    filing = text_at(biblio, "application-reference/document-id/date")
    earlier = [text_of(d) for d in biblio.iterfind("priority-claims/priority-claim/date")]
    earlier += [text_of(d) for d in biblio.iterfind("us-related-documents//document-id/date")]
    return patent_item(
        source,
        publication_number=number,
        title=text_at(biblio, "invention-title"),
        abstract=paragraphs(root.find("abstract"), "p"),
        claims=paragraphs(root.find("claims"), "claim"),
        applicants=ice_owners(biblio),
        inventors=ice_inventors(biblio),
        ipc=ice_ipc(biblio),
        priority_date=earliest_date(filing, *earlier),
        filing_date=iso_date(filing),
        published_on=iso_date(text_at(publication, "date")),
        language=(root.get("lang") or "").lower() or None,
        url=google_patents_url(number),
    )


def party_name(party: ET.Element) -> str | None:
    """An organisation's name, else 'First Last' (addressbook or not, by version)."""
    if org := text_at(party, ".//orgname"):
        return org
    name = " ".join(n for n in (text_at(party, ".//first-name"), text_at(party, ".//last-name")) if n)
    return name or text_at(party, ".//name")


def ice_owners(biblio: ET.Element) -> list[str]:
    """Assignees, as Google Patents' 'original assignee'; an unassigned patent's applicants
    (its inventors up to v4.3) stand in, as they do on Google Patents."""
    owners = unique(party_name(a) for a in biblio.iterfind(".//assignees/assignee"))
    if owners:
        return owners
    applicants = biblio.findall(".//us-applicants/us-applicant") or biblio.findall(".//applicants/applicant")
    return unique(party_name(a) for a in applicants)


def ice_inventors(biblio: ET.Element) -> list[str]:
    """`inventors` from v4.4 on; before that, inventors are the applicants of type
    'applicant-inventor'."""
    inventors = biblio.findall(".//inventors/inventor")
    if not inventors:
        inventors = [a for a in biblio.iterfind(".//applicants/applicant") if "inventor" in a.get("app-type", "")]
    return unique(party_name(i) for i in inventors)


def ice_ipc(biblio: ET.Element) -> list[str]:
    """IPC-R codes (from parts: section, class, subclass, main group, subgroup), else the IPC 7
    main and further classifications of v4.0/v4.1."""
    codes = [
        ipc_code(
            f"{text_at(c, 'section')}{text_at(c, 'class')}{text_at(c, 'subclass')}"
            f"{text_at(c, 'main-group')}/{text_at(c, 'subgroup')}"
        )
        for c in biblio.iterfind("classifications-ipcr/classification-ipcr")
    ]
    codes += [ipc_code(text_of(c)) for c in biblio.iterfind("classification-ipc/main-classification")]
    codes += [ipc_code(text_of(c)) for c in biblio.iterfind("classification-ipc/further-classification")]
    return unique(codes)
