"""Tech-market need listings (技术需求 / 揭榜挂帅 榜单): list table → detail pages → challenges."""

from __future__ import annotations

from crawlers.identity import page_id
from crawlers.spiders import SourceSpider
from crawlers.spiders.achievements import price_in_wan


class TechMarketNeedsSpider(SourceSpider):
    name = "tech_market_needs"
    records_css = "table.xq-list, table.xq-info"  # a page with neither, but captcha wording, is a block page

    def parse(self, response):
        for row in response.css("table.xq-list tr"):
            if href := row.css("td.xq-name a::attr(href)").get():
                yield from self.detail_request(
                    response, href, self.parse_detail, row_text=" ".join(row.css("::text").getall())
                )
        if next_page := response.css("div.pagination a.next::attr(href)").get():
            yield response.follow(next_page, callback=self.parse)

    def parse_detail(self, response):
        cell = lambda cls: response.css(f"table.xq-info td.{cls}::text").get()  # noqa: E731
        yield {
            "record_type": "challenge",
            "challenge_id": page_id(self.source, response.url),
            "title": cell("title"),
            "description": " ".join(response.css("div.xq-desc p ::text").getall()),
            "field": cell("field"),
            "budget_wan": price_in_wan(cell("reward")),
            "deadline": cell("deadline"),
            "issuer": cell("issuer"),
            "region": cell("region"),
            "cooperation": cell("cooperation"),
            "url": response.url,
            "source": self.source,
        }
