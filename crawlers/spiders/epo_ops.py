"""EPO OPS: a biblio search (or a family) → each publication's biblio → one patent item.

OPS answers only requests with an OAuth bearer token (client credentials, 20-minute tokens):
that belongs in a downloader middleware reading the credentials from the settings (not written yet).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import scrapy

from crawlers.fields import with_query
from crawlers.formats import epo_ops
from crawlers.spiders import SourceSpider

EPO_OPS = {
    "service": "/3.2/rest-services/",  # used when the start URL does not show the service root
    "detail": "published-data/publication/{id_type}/{id}/biblio",  # or .../full-cycle: both carry biblio + abstract
    "page_size": 25,
    "max_results": 2000,  # OPS serves no search result beyond the 2,000th
}


class EpoOpsSpider(SourceSpider):
    name = "epo_ops"
    list_callbacks = ("parse",)
    detail_callback = "parse_publication"
    custom_settings = {"DEFAULT_REQUEST_HEADERS": {"Accept": "application/xml"}}  # JSON on request too

    def looks_like_detail(self, response) -> bool:
        return epo_ops.page_kind(epo_ops.read(response.text)) == "publication"

    def parse(self, response):
        """A search or family answer: each publication's biblio, then the next result window."""
        page = epo_ops.read(response.text)
        for pub in epo_ops.listed_publications(page):
            id_type, doc_id = (
                ("epodoc", pub["epodoc"]) if "epodoc" in pub else ("docdb", ".".join(filter(None, pub.values())))
            )
            url = service_root(response.url) + EPO_OPS["detail"].format(id_type=id_type, id=doc_id)
            yield from self.detail_request(
                response, url, self.parse_publication, row_text=json.dumps(pub, sort_keys=True)
            )
        if epo_ops.page_kind(page) == "search":
            first, last, total = epo_ops.search_range(page)
            if last and last < min(total, EPO_OPS["max_results"]):
                size = last - first + 1 if last >= first else EPO_OPS["page_size"]  # keep the window asked for
                following = f"{last + 1}-{min(last + size, total, EPO_OPS['max_results'])}"
                yield scrapy.Request(with_query(response.url, Range=following), callback=self.parse)

    def parse_publication(self, response):
        """One item per answer, whatever it lacks (an abstract-only answer has no title)."""
        record = epo_ops.publication(epo_ops.read(response.text))
        yield {
            "record_type": "listing",
            "kind": "patent",
            **{
                key: record.get(key)
                for key in (
                    "publication_number",
                    "application_number",
                    "title",
                    "abstract",
                    "priority_date",
                    "filing_date",
                    "published_on",
                    "language",
                )
            },
            "claims": record.get("claims") or "",
            **{key: record.get(key) or [] for key in ("applicants", "inventors", "ipc")},
            "legal_status": None,  # biblio carries none; OPS serves it under /legal
            "url": response.url,
            "source": self.source,
        }


def service_root(url: str) -> str:
    """'https://ops.epo.org/3.2/rest-services/' from any OPS URL (or the host + the usual root)."""
    if (at := url.find("/rest-services/")) >= 0:
        return url[: at + len("/rest-services/")]
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{EPO_OPS['service']}"
