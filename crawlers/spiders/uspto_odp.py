"""USPTO Open Data Portal: application search (JSON, offset/limit) → application data → patent items.

A search asked for a few fields only (`fields=…`) returns bare rows, which are followed to the
application; rows that already carry a whole record become items at once. Reads the beta API's
`patentBag` rows and the current API's `patentFileWrapperDataBag` rows (data under
`applicationMetaData`). ODP has no abstracts or claims: those come from the full-text importers.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import scrapy

from crawlers.fields import ipc_codes, iso_date, query_int, with_query
from crawlers.spiders import SourceSpider

USPTO_ODP: dict[str, Any] = {
    "application": "/api/v1/patent/applications/{number}",  # on the search's host
    "page_size": 25,
    "max_results": 1000,  # a search can match millions; `-a max_results=N` overrides
}
_INDEXING_CODE = re.compile(r"^[A-H]\d{2}[A-Z]\s*2\d{3}/")  # CPC 2000-series: indexing codes, not in IPC


class UsptoOdpSpider(SourceSpider):
    name = "uspto_odp"
    list_callbacks = ("parse",)
    detail_callback = "parse_application"

    def parse(self, response):
        data = json.loads(response.text)
        for row in rows(data):
            meta = row.get("applicationMetaData") or row
            url = application_url(response, row)
            if meta.get("inventionTitle") and publication_number(meta) and applicant_names(meta):
                yield self.item(row, url)
            elif row.get("applicationNumberText"):
                yield from self.detail_request(
                    response, url, self.parse_application, row_text=json.dumps(row, sort_keys=True)
                )
        offset, limit = query_int(response.url, "offset", 0), query_int(response.url, "limit", USPTO_ODP["page_size"])
        following = offset + limit
        if following < min(int(data.get("count") or 0), int(getattr(self, "max_results", USPTO_ODP["max_results"]))):
            yield scrapy.Request(with_query(response.url, offset=following, limit=limit), callback=self.parse)

    def parse_application(self, response):
        """One item per application answer, even an empty one (it is then quarantined)."""
        yield self.item(next(iter(rows(json.loads(response.text))), {}), response.url)

    def item(self, row: dict, url: str) -> dict:
        meta = row.get("applicationMetaData") or row
        return {
            "record_type": "listing",
            "kind": "patent",
            "publication_number": publication_number(meta),
            "title": meta.get("inventionTitle"),
            "abstract": "",
            "claims": "",
            "applicants": applicant_names(meta),
            "inventors": [
                i.get("inventorNameText") for i in meta.get("inventorBag") or [] if i.get("inventorNameText")
            ],
            # ODP gives CPC only; CPC extends IPC below the main group, and its 2000-series
            # indexing codes have no IPC counterpart.
            "ipc": ipc_codes(c for c in meta.get("cpcClassificationBag") or [] if not _INDEXING_CODE.match(c)),
            "priority_date": None,  # in /foreign-priority and /continuity, not in the application data
            "filing_date": iso_date(meta.get("filingDate")),
            "published_on": iso_date(meta.get("grantDate") or meta.get("earliestPublicationDate")),
            "legal_status": meta.get("applicationStatusDescriptionText"),
            "language": "en",
            "url": url,
            "source": self.source,
        }


def application_url(response, row: dict) -> str:
    """The application's own address on the answering host (the answer's when it has no number)."""
    number = row.get("applicationNumberText")
    return response.urljoin(USPTO_ODP["application"].format(number=quote(number, safe=""))) if number else response.url


def rows(data: dict) -> list[dict]:
    return data.get("patentFileWrapperDataBag") or data.get("patentBag") or []


def publication_number(meta: dict) -> str | None:
    """The grant's number when granted ('US10123456'), else the first publication's
    ('US 2017-0071586 A1' → 'US20170071586A1')."""
    if patent := meta.get("patentNumber"):
        return f"US{patent}"
    if earliest := meta.get("earliestPublicationNumber"):
        return re.sub(r"[\s-]", "", earliest)
    return None


def applicant_names(meta: dict) -> list[str]:
    names = [a.get("applicantNameText") or a.get("applicant") for a in meta.get("applicantBag") or []]
    return [n for n in names if n] or ([meta["firstApplicantName"]] if meta.get("firstApplicantName") else [])
