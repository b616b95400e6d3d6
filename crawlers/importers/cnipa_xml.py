"""CNIPA full-text XML (`cn-patent-document`, DTD cn-patent-document-06-10-27): one patent per
document; a file may hold one document or several, and a zip many files.

Bibliographic part `cn-bibliographic-data` (publication reference, application, priority,
IPC, cn-parties, abstract) and `application-body` (claims, description). Documents cut from
TRS full-text systems can lack the bibliographic part (the real sample does): they keep
their title and claims, have no publication number, and are quarantined for that reason.
The 2019 CNIPA standard (namespaced `business:PatentDocumentAndRelated`) is refused by name.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawlers.errors import UnsupportedFormatVersion
from crawlers.fields import earliest_date, ipc_code, iso_date, unique
from crawlers.importers.common import (
    google_patents_url,
    patent_item,
    unreadable_item,
)
from crawlers.importers.xmldocs import (
    child_or_empty,
    document_excerpt,
    documents_in,
    first_bytes,
    parse_document,
    text_at,
    text_of,
    texts_at,
)

# Full-text systems break lines inside Chinese sentences ("润 滑脂"); between two Chinese
# characters or punctuation marks a space is only layout, and it would split terms.
_CJK = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})[^\S\n]+(?={_CJK})")  # line breaks between paragraphs stay


def read(path: Path, *, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(document number, raw item) for every cn-patent-document in the file (or zip)."""
    if not first_bytes(path).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise UnsupportedFormatVersion(f"{path.name} is not XML, so not CNIPA cn-patent-document full text")
    for number, (name, document) in enumerate(documents_in(path), start=1):
        yield number, document_item(document, source=source, ref=f"file:{name}#{number}", first=number == 1)


def document_item(document: bytes, *, source: str, ref: str, first: bool = False) -> dict[str, Any]:
    base = {"record_type": "listing", "kind": "patent", "url": ref, "source": source}
    try:
        root = parse_document(document)
    except ET.ParseError as exc:
        return unreadable_item(base, f"document is not well-formed XML ({exc})", document_excerpt(document))
    if root.tag != "cn-patent-document":
        refusal = UnsupportedFormatVersion(
            f"<{root.tag}> is not supported: the importer reads CNIPA cn-patent-document XML"
            + (" (the 2019 namespaced standard is not read yet)" if "PatentDocumentAndRelated" in root.tag else "")
        )
        if first:
            raise refusal
        return unreadable_item(base, str(refusal), document_excerpt(document))
    item = cn_patent_item(root, source)
    item["url"] = item["url"] or ref
    return item


def cn_patent_item(root: ET.Element, source: str) -> dict[str, Any]:
    """The listing of one cn-patent-document (pure: element in, item out)."""
    biblio = child_or_empty(root, "cn-bibliographic-data")
    body = child_or_empty(root, "application-body")
    publication = biblio.find("cn-publication-reference/document-id")
    number = cn_publication_number(publication)
    application = biblio.find("application-reference/document-id")
    filing = text_at(application, "date")
    title = (
        text_at(biblio, "invention-title")
        or text_at(body, "description/invention-title")
        or text_at(root, ".//invention-title")
    )
    return patent_item(
        source,
        publication_number=number,
        application_number=cn_application_number(application),
        title=cjk_text(title),
        abstract=cjk_text("\n".join(texts_at(biblio, "abstract/p")) or None),
        claims=cjk_text("\n".join(text_of(c) for c in body.iterfind("claims/claim")) or None),
        applicants=unique(cjk_text(_name(a)) for a in biblio.iterfind("cn-parties/cn-applicants/cn-applicant")),
        inventors=unique(cjk_text(_name(i)) for i in biblio.iterfind("cn-parties/cn-inventors/cn-inventor")),
        ipc=cn_ipc(biblio),
        priority_date=earliest_date(filing, *texts_at(biblio, "priority-claims/priority-claim/date")),
        filing_date=iso_date(filing),
        published_on=iso_date(text_at(publication, "date")),
        language=(root.get("lang") or "zh").lower(),
        url=google_patents_url(number),
    )


def cn_publication_number(document_id: ET.Element | None) -> str | None:
    """'CN' + '101551481' + 'B'; None when the document carries no publication reference."""
    number = text_at(document_id, "doc-number")
    if not number:
        return None
    return f"{text_at(document_id, 'country') or 'CN'}{number}{text_at(document_id, 'kind') or ''}"


def cn_application_number(document_id: ET.Element | None) -> str | None:
    """'CN' + '200810047451.3' as the document writes it (check digit and all); None when absent.
    No country is assumed where the document names none."""
    number = text_at(document_id, "doc-number")
    return f"{text_at(document_id, 'country') or ''}{number}" if number else None


def cn_ipc(biblio: ET.Element) -> list[str]:
    """IPC-R texts ('C10M 169/00(2006.01)I'), else the IPC 7 main and further classifications."""
    texts = texts_at(biblio, "classifications-ipcr/classification-ipcr/text")
    texts += texts_at(biblio, "classification-ipc/main-classification")
    texts += texts_at(biblio, "classification-ipc/further-classification")
    return unique(ipc_code(t) for t in texts)


def _name(party: ET.Element) -> str | None:
    return text_at(party, "addressbook/name") or text_at(party, "name")


def cjk_text(text: str | None) -> str | None:
    """Layout spaces between Chinese characters removed: '润 滑脂' → '润滑脂'.

    >>> cjk_text("一种磺酸钙-环烷酸钙锆基四聚脲润 滑脂 and SO 3")
    '一种磺酸钙-环烷酸钙锆基四聚脲润滑脂 and SO 3'
    """
    return _SPACE_BETWEEN_CJK.sub("", text) if text else text
