"""国家科技报告服务系统 (nstrs.cn): the report list API carries whole records, so it yields items.

A 科技报告 is the report of a publicly funded project: its unit, abstract and keywords describe a
result available for transfer, so it is listed as an achievement. The API is POSTed with its
query in the URL (`pageNo`, `pageSize`, `classification`, `kjbgRegion`, …) and an empty body.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import scrapy

from crawlers.fields import query_int, split_list, split_names, with_query
from crawlers.identity import page_id
from crawlers.spiders import SourceSpider

NSTRS = {
    "detail": "/kjbg/detail?id={id}",  # the public page of one report, on the API's host
    "page_size": 10,
    "max_pages": 100,  # `-a max_pages=N` overrides
}
# Times are UTC renderings of Beijing midnights ("2019-12-31 16:00:00" is 2020-01-01), and
# "1899-12-31 16:00:00" stands for no date.
_BEIJING = timedelta(hours=8)


class NstrsSpider(SourceSpider):
    name = "nstrs"
    list_callbacks = ("parse",)

    async def start(self):
        async for request in super().start():
            yield request.replace(method="POST", body=b"")

    def parse(self, response):
        data = json.loads(response.text)
        if str(data.get("CODE")) != "0":
            self.logger.warning(
                "nstrs answered CODE=%s (%s) for %s", data.get("CODE"), data.get("MESSAGE"), response.url
            )
            return
        result = data.get("RESULT") or {}
        for report in result.get("list") or []:
            yield self.item(report, response.urljoin(NSTRS["detail"].format(id=report.get("id"))))
        page = int(result.get("pageNo") or query_int(response.url, "pageNo", 1))
        size = int(result.get("pageSize") or NSTRS["page_size"])
        if page * size < int(result.get("count") or 0) and page < int(getattr(self, "max_pages", NSTRS["max_pages"])):
            yield scrapy.Request(
                with_query(response.url, pageNo=page + 1), method="POST", body=b"", callback=self.parse
            )

    def item(self, report: dict, url: str) -> dict:
        units = [
            report.get("undertakeOrg"),
            report.get("prepareOrganization"),
            *split_names(report.get("creatOrorganization")),
        ]
        contact = " ".join(filter(None, (report.get("linkmanName"), report.get("linkmanEmail"))))
        return {
            "record_type": "listing",
            "kind": "achievement",
            "listing_id": page_id(self.source, url),
            "title": report.get("title"),
            "abstract": report.get("abstractCn") or report.get("abstractEn"),
            "keywords": split_list(report.get("keywordsCn")),
            "applicants": list(dict.fromkeys(u.strip() for u in units if u and u.strip())),
            "inventors": split_names(report.get("creator")),
            "field": None,  # its `classification` (医药、卫生 …) is not one of the six industries matching compares
            "maturity": None,
            "cooperation": None,
            "price_text": None,
            "price_wan": None,
            "contact": contact or None,
            "region": report.get("kjbgRegion"),
            "published_on": beijing_date(report.get("publicDate")) or beijing_date(report.get("createTime")),
            "url": url,
            "source": self.source,
        }


def beijing_date(text: str | None) -> str | None:
    """'2021-09-15 16:00:00' → '2021-09-16'; the 1899 placeholder → None."""
    try:
        moment = datetime.strptime((text or "").strip(), "%Y-%m-%d %H:%M:%S") + _BEIJING
    except ValueError:
        return None
    return moment.date().isoformat() if moment.year > 1900 else None
