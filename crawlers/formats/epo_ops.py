"""EPO Open Patent Services (OPS 3.2) answers → plain dicts.

Reads OPS XML (exchange documents, biblio search, family, fulltext), OPS's own JSON (the same tree
in BadgerFish notation: `@attr`, `$` text), and the flattened JSON that patent_client writes
(`documents`, `results`, `document_id`). Exchange-document elements live in the default namespace
`http://www.epo.org/exchange`, search and family wrappers in `ops:`; the XPaths name both.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from parsel import Selector, SelectorList

from crawlers.fields import earliest_date, ipc_codes, iso_date

NS = {"ex": "http://www.epo.org/exchange", "ops": "http://ops.epo.org"}
TITLE_LANGUAGES = ("zh", "en")  # preferred title / abstract languages, in order; else the first given
_IMAGE = re.compile(r"\s*<IMAGE>\s*", re.IGNORECASE)  # OPS marks a drawing in an abstract with "<IMAGE>"


def read(text: str) -> Selector | dict[str, Any]:
    """An XML selector for OPS XML or OPS JSON, the decoded object for patent_client JSON."""
    if text.lstrip().startswith(("{", "[")):
        data = json.loads(text)
        if not (isinstance(data, dict) and "ops:world-patent-data" in data):
            return data
        text = badgerfish_to_xml(data)
    return Selector(text=text, type="xml", namespaces=NS)


def page_kind(page: Selector | dict[str, Any]) -> str:
    """'search', 'family' or 'publication' (biblio, full cycle, abstract, claims, description)."""
    if isinstance(page, dict):
        return "search" if "results" in page else "publication"
    if page.xpath("//ops:biblio-search"):
        return "search"
    return "family" if page.xpath("//ops:patent-family") else "publication"


def search_range(page: Selector | dict[str, Any]) -> tuple[int, int, int]:
    """(first, last, total) of a search answer's result window."""
    if isinstance(page, dict):
        return int(page.get("begin") or 1), int(page.get("end") or 0), int(page.get("num_results") or 0)
    total = int(page.xpath("//ops:biblio-search/@total-result-count").get("0"))
    return int(page.xpath("//ops:range/@begin").get("1")), int(page.xpath("//ops:range/@end").get("0")), total


def listed_publications(page: Selector | dict[str, Any]) -> list[dict[str, str]]:
    """The publications a search or family answer names: [{'country', 'number', 'kind'}] (docdb),
    or [{'epodoc': 'EP1000000'}] when only the epodoc form is given."""
    if isinstance(page, dict):
        return [
            {"country": r["country"], "number": r["doc_number"], "kind": r.get("kind") or ""}
            for r in page.get("results", [])
            if r.get("country") and r.get("doc_number")
        ]
    found = []
    for ref in page.xpath(
        "//ops:search-result/ops:publication-reference | //ops:family-member/ex:publication-reference"
        " | //ops:search-result//ex:exchange-document/ex:bibliographic-data/ex:publication-reference"
    ):
        docdb = _docdb(ref)
        if docdb["number"]:
            found.append(docdb)
        elif epodoc := ref.xpath("ex:document-id[@document-id-type='epodoc']/ex:doc-number/text()").get():
            found.append({"epodoc": epodoc})
    return list({json.dumps(p, sort_keys=True): p for p in found}.values())


def publication(page: Selector | dict[str, Any]) -> dict[str, Any]:
    """One record from a publication answer; several exchange documents (a full cycle: A1 and B1)
    are merged, the newest first and the older ones filling its gaps (a B1 has no abstract)."""
    if isinstance(page, dict):
        return _flat_record(page)
    records = [_exchange_record(doc) for doc in page.xpath("//ex:exchange-document")]
    if fulltext := _fulltext_record(page):
        records.append(fulltext)
    records.sort(key=lambda r: r.get("published_on") or "", reverse=True)
    merged: dict[str, Any] = {}
    for record in records:
        for key, value in record.items():
            if value and not merged.get(key):
                merged[key] = value
    return merged


def _docdb(ref: Selector | SelectorList[Selector]) -> dict[str, str]:
    doc = ref.xpath("ex:document-id[@document-id-type='docdb']")
    return {
        "country": doc.xpath("ex:country/text()").get(""),
        "number": doc.xpath("ex:doc-number/text()").get(""),
        "kind": doc.xpath("ex:kind/text()").get(""),
    }


def _exchange_record(doc: Selector) -> dict[str, Any]:
    biblio = doc.xpath("ex:bibliographic-data")
    publication_ref = biblio.xpath("ex:publication-reference")
    docdb = _docdb(publication_ref)
    number = "".join(docdb.values()) or "".join(doc.xpath("@country | @doc-number | @kind").getall())
    title, title_lang = _preferred(biblio.xpath("ex:invention-title"))
    abstract, abstract_lang = _preferred(doc.xpath("ex:abstract"), "\n")
    return {
        "publication_number": number or publication_ref.xpath(".//ex:doc-number/text()").get(),
        # docdb, as the publication: country, number, kind (CN200910127753A; a key in matching.entity)
        "application_number": "".join(_docdb(biblio.xpath("ex:application-reference")).values()) or None,
        "title": title,
        "abstract": _IMAGE.sub(" ", abstract or "").strip() or None,
        "applicants": _names(biblio, "applicant"),
        "inventors": _names(biblio, "inventor"),
        "ipc": ipc_codes(
            biblio.xpath("ex:classifications-ipcr/ex:classification-ipcr/ex:text/text()").getall()
            or biblio.xpath("ex:classification-ipc/ex:text/text()").getall()
        ),
        "priority_date": earliest_date(*biblio.xpath("ex:priority-claims//ex:date/text()").getall()),
        "filing_date": iso_date(biblio.xpath("ex:application-reference//ex:date/text()").get()),
        "published_on": iso_date(publication_ref.xpath(".//ex:date/text()").get()),
        "language": abstract_lang or title_lang,
    }


def _fulltext_record(page: Selector) -> dict[str, Any] | None:
    """Claims / description answers (`ftxt:fulltext-document`); matched by local name because OPS
    has moved these elements between namespaces across versions."""
    claims = page.xpath("//*[local-name()='claims']")
    description = page.xpath("//*[local-name()='description']")
    if not claims and not description:
        return None
    ref = page.xpath("//*[local-name()='fulltext-document']//*[local-name()='document-id']")
    number = "".join(
        ref.xpath("*[local-name()='country' or local-name()='doc-number' or local-name()='kind']/text()").getall()
    )
    texts = [" ".join(t.split()) for t in claims.xpath(".//*[local-name()='claim-text']//text()").getall()]
    return {"publication_number": number or None, "claims": "\n".join(t for t in texts if t) or None}


def _preferred(elements: SelectorList[Selector], joiner: str = " ") -> tuple[str | None, str | None]:
    """The text of the element in the first preferred language (`@lang`), else of the first one."""
    by_lang = {(e.attrib.get("lang") or "").lower(): e for e in elements}
    lang = next((lang for lang in TITLE_LANGUAGES if lang in by_lang), next(iter(by_lang), None))
    if lang is None:
        return None, None
    parts = [" ".join(t.split()) for t in by_lang[lang].xpath("./ex:p | self::*[not(ex:p)]").xpath("string()").getall()]
    return joiner.join(p for p in parts if p) or None, lang or None


def _names(biblio: SelectorList[Selector], role: str) -> list[str]:
    """Names as filed ('original'); the EPO's normalised 'epodoc' form (with ' [NL]') when absent."""
    path = f"ex:parties/ex:{role}s/ex:{role}[@data-format='%s']/ex:{role}-name/ex:name/text()"
    names = biblio.xpath(path % "original").getall() or biblio.xpath(path % "epodoc").getall()
    return list(dict.fromkeys(re.sub(r"\s*\[[A-Z]{2}\]\s*$", "", " ".join(n.split())) for n in names))


def _flat_record(data: dict[str, Any]) -> dict[str, Any]:
    """patent_client's JSON: a biblio `documents` list, or a claims / description document."""
    if docs := data.get("documents"):
        return _flat_document(docs[0])
    doc_id = data.get("document_id") or {}
    return {
        "publication_number": "".join(doc_id.get(k) or "" for k in ("country", "doc_number", "kind")) or None,
        "claims": (data.get("claim_text") or "").strip() or None,
    }


def _flat_document(doc: dict[str, Any]) -> dict[str, Any]:
    titles = {(t.get("lang") or "").lower(): t.get("text") for t in doc.get("titles") or []}
    lang = next((lang for lang in TITLE_LANGUAGES if lang in titles), None)
    return {
        "publication_number": doc.get("publication_number")
        or "".join(doc.get(k) or "" for k in ("country", "doc_number", "kind"))
        or None,
        "application_number": doc.get("application_number")
        or "".join((doc.get("application_reference_docdb") or {}).get(k) or "" for k in ("country", "number", "kind"))
        or None,
        "title": titles.get(lang) if lang else doc.get("title"),
        "abstract": _IMAGE.sub(" ", doc.get("abstract") or "").strip() or None,
        "applicants": doc.get("applicants_original") or doc.get("applicants_epodoc") or [],
        "inventors": doc.get("inventors_original") or doc.get("inventors_epodoc") or [],
        "ipc": ipc_codes(doc.get("intl_class") or []),
        "priority_date": earliest_date(*(p.get("date") for p in doc.get("priority_claims") or [])),
        "filing_date": iso_date(
            (doc.get("application_reference_epodoc") or {}).get("date")
            or (doc.get("application_reference_docdb") or {}).get("date")
        ),
        "published_on": iso_date((doc.get("publication_reference_docdb") or {}).get("date")),
        "language": lang,
    }


def badgerfish_to_xml(node: Any, name: str | None = None) -> str:
    """OPS JSON back to the XML it was made from: `@x` keys are attributes, `$` is text,
    `@xmlns` holds the namespace declarations ({'$': default, 'ops': …}), a list repeats the element."""
    if name is None:
        return "".join(badgerfish_to_xml(value, key) for key, value in node.items())
    if isinstance(node, list):
        return "".join(badgerfish_to_xml(item, name) for item in node)
    if not isinstance(node, dict):
        return f"<{name}>{escape(str(node))}</{name}>"
    attrs = []
    for key, value in node.items():
        if key == "@xmlns":
            attrs += [("xmlns" if prefix == "$" else f"xmlns:{prefix}", uri) for prefix, uri in value.items()]
        elif key.startswith("@"):
            attrs.append((key[1:], value))
    head = name + "".join(f" {key}={quoteattr(str(value))}" for key, value in attrs)
    body = escape(str(node.get("$", ""))) + "".join(
        badgerfish_to_xml(value, key) for key, value in node.items() if not key.startswith(("@", "$"))
    )
    return f"<{head}>{body}</{name}>"
