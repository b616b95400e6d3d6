"""Google Patents: the search endpoint (JSON) and the detail pages (HTML with itemprops)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlparse

import scrapy

from crawlers.fields import ipc_codes, iso_date
from crawlers.spiders import SourceSpider


class GooglePatentsSpider(SourceSpider):
    name = "google_patents"

    def parse(self, response):
        """A search result page: follow each patent; the page the crawl starts on also asks for
        every later page at once (the total is known), so a night that skips unchanged patents
        is not one list page after another (politeness still comes from the per-host delay and
        concurrency)."""
        results = json.loads(response.text)["results"]
        for cluster in results.get("cluster", []):
            for hit in cluster.get("result", []):
                yield from self.detail_request(
                    response,
                    f"/{hit['id']}",
                    self.parse_patent,
                    row_text=json.dumps(hit, sort_keys=True, ensure_ascii=False),
                )
        if not response.meta.get("listed"):  # the page the crawl started on
            for page in range(int(results.get("num_page", 0)) + 1, int(results.get("total_num_pages", 0))):
                yield scrapy.Request(next_search_page(response.url, page), callback=self.parse, meta={"listed": True})

    def parse_patent(self, response):
        number = response.css('dd[itemprop="publicationNumber"]::text').get("")
        claims = [" ".join(c.css("::text").getall()) for c in response.css("div.claim-text")]
        yield {
            "record_type": "listing",
            "kind": "patent",
            "publication_number": number,
            "application_number": response.css('dd[itemprop="applicationNumber"]::text').get(),
            "title": response.css('span[itemprop="title"]::text').get(""),
            "abstract": " ".join(response.css('section[itemprop="abstract"] div.abstract ::text').getall()),
            "claims": "\n".join(claims),
            "applicants": response.css('dd[itemprop="assigneeOriginal"]::text').getall(),
            "inventors": response.css('dd[itemprop="inventor"]::text').getall(),
            # The classification tree lists each level (G06F, G06F15/00 …): only groups are codes.
            "ipc": ipc_codes(response.css('li[itemprop="classifications"] span[itemprop="Code"]::text').getall()),
            "priority_date": iso_date(response.css('time[itemprop="priorityDate"]::attr(datetime)').get()),
            "filing_date": iso_date(response.css('time[itemprop="filingDate"]::attr(datetime)').get()),
            "published_on": iso_date(response.css('time[itemprop="publicationDate"]::attr(datetime)').get()),
            "legal_status": response.css('dd[itemprop="legalStatusIfi"] span[itemprop="status"]::text').get(),
            "language": response.css("abstract::attr(lang)").get("").lower() or None,
            "url": response.url,
            "source": self.source,
        }


def next_search_page(url: str, page: int) -> str:
    """The search URL with `page=N` set inside its `url=` parameter (Google's query syntax)."""
    parts = urlparse(url)
    outer = parse_qs(parts.query, keep_blank_values=True)
    inner = parse_qs(outer.get("url", [""])[0], keep_blank_values=True)
    inner["page"] = [str(page)]
    outer["url"] = [urlencode(inner, doseq=True)]
    return parts._replace(query=urlencode(outer, doseq=True)).geturl()
