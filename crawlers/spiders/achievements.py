"""University achievement listings (科技成果): one spider, per-site selectors in SITE_CONFIGS."""

from __future__ import annotations

from crawlers.fields import iso_date, split_list
from crawlers.identity import page_id
from crawlers.spiders import SourceSpider
from matching.text import chinese_number

# Selectors per site; a site whose pages differ from the usual structure overrides keys.
DEFAULT_SELECTORS = {
    "detail_links": "ul.cg-list li a",  # link elements; their row (li / tr) is the list entry
    "next_page": "div.pagination a.next::attr(href)",
    "title": "h1.cg-title::text",
    "unit": "td.unit::text",
    "field": "td.field::text",
    "maturity": "td.maturity::text",
    "cooperation": "td.cooperation::text",
    "price": "td.price::text",
    "keywords": "td.keywords::text",
    "contact": "td.contact::text",
    "published": "td.published::text",
    "summary": "div.cg-summary p ::text",
}
SITE_CONFIGS: dict[str, dict[str, str]] = {site: {} for site in ("zju", "tsinghua", "fudan", "tongji", "cas", "shu")}


def price_in_wan(text: str | None) -> float | None:
    """'80万元' → 80.0, '1.2亿' → 12000.0; '面议' (negotiable) → None."""
    amount = chinese_number(text or "")
    return None if amount is None else amount / 10_000


class AchievementsSpider(SourceSpider):
    name = "achievements"
    records_css = "ul.cg-list, h1.cg-title"  # a page with neither, but captcha wording, is a block page

    def selector(self, key: str) -> str:
        return SITE_CONFIGS.get(self.source, {}).get(key, DEFAULT_SELECTORS[key])

    def parse(self, response):
        for link in response.css(self.selector("detail_links")):
            row = link.xpath("ancestor-or-self::*[self::li or self::tr][1]")
            yield from self.detail_request(
                response,
                link.attrib["href"],
                self.parse_detail,
                row_text=" ".join((row or link).css("::text").getall()),
            )
        if next_page := response.css(self.selector("next_page")).get():
            yield response.follow(next_page, callback=self.parse)

    def parse_detail(self, response):
        text = lambda key: response.css(self.selector(key)).get()  # noqa: E731
        yield {
            "record_type": "listing",
            "kind": "achievement",
            "listing_id": page_id(self.source, response.url),
            "title": text("title"),
            "applicants": [text("unit")],
            "field": text("field"),
            "abstract": " ".join(response.css(self.selector("summary")).getall()),
            "keywords": split_list(text("keywords")),
            "maturity": text("maturity"),
            "cooperation": text("cooperation"),
            "price_text": text("price"),
            "price_wan": price_in_wan(text("price")),
            "contact": text("contact"),
            "published_on": iso_date(text("published")),
            "url": response.url,
            "source": self.source,
        }
