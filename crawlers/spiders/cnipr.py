"""CNIPR (专利信息服务平台) result lists: the rows carry whole records, so the list yields items.

Two layouts: the desktop search result (`search!doOverviewSearch.action`, div.g_item rows with
abstract and IPC, paged by re-posting its searchForm) and the mobile applicant list (div.list-item
rows, paged by posting the active tab's `data-more` query, answered with JSON `{"html": …}`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import scrapy
from parsel import Selector

from crawlers.fields import ipc_codes, iso_date, split_names
from crawlers.spiders import SourceSpider

CNIPR: dict[str, Any] = {
    "records": "div.g_item, div.list-item",
    "title_attr": "li[name=patti]::attr(title)",  # desktop: the title without its row number
    "title_text": "h5.list-title ::text",  # mobile: "3.聚左旋乳酸…", hit words wrapped in spans
    "cells": "div.g_cont_left td, p",  # "<span>申请号：</span> value"
    "status": "li.g_li2::text",
    "mobile_tab": "ul.tab-menu li.active",
    "mobile_more_path": "search!doOverviewSearch.action",
    "page_size": 10,
    "max_pages": 50,  # a broad query has thousands of pages; `-a max_pages=N` overrides
}
# Cell labels (after NFKC, without the colon) → item fields.
LABELS = {
    "申请号": "application_number",
    "申请日": "filing_date",
    "公开(公告)号": "publication_number",
    "公开(公告)日": "published_on",
    "申请(专利权)人": "applicants",
    "发明(设计)人": "inventors",
    "分类号": "ipc",
    "优先权": "priority",
    "摘要": "abstract",
}


class CniprSpider(SourceSpider):
    name = "cnipr"
    list_callbacks = ("parse",)
    records_css = CNIPR["records"]  # a page with block wording and none of these rows is a block page

    def parse(self, response, tab: dict | None = None):
        if tab:  # a mobile "load more" answer: the rows come as HTML inside JSON
            answer = json.loads(response.text)
            page, status = Selector(text=answer.get("html") or "<html/>", type="html"), tab["status"]
        else:
            page, status = response, response.css(f"{CNIPR['mobile_tab']}::text").get("").strip()
        rows = page.css(CNIPR["records"])
        for row in rows:
            yield self.record(row, response.url, row.css(CNIPR["status"]).get("").strip() or status)
        if tab and not rows:  # the end, or `{"imgCode": …}`: the site wants a captcha solved
            if answer.get("imgCode"):
                self.logger.warning("CNIPR asked for a captcha on %s; paging stopped", response.url)
            return
        yield from self.next_page(response, tab, status)

    def record(self, row, url: str, status: str) -> dict:
        cells = dict(labelled(cell) for cell in row.css(CNIPR["cells"]))
        fields = {LABELS[label]: value for label, value in cells.items() if label in LABELS}
        title = row.css(CNIPR["title_attr"]).get() or re.sub(
            r"^\s*\d+\.", "", "".join(row.css(CNIPR["title_text"]).getall())
        )
        return {
            "record_type": "listing",
            "kind": "patent",
            "publication_number": fields.get("publication_number"),
            "application_number": fields.get("application_number"),
            "title": title,
            "abstract": fields.get("abstract"),
            "claims": "",
            "applicants": split_names(fields.get("applicants")),
            "inventors": split_names(fields.get("inventors")),
            "ipc": ipc_codes(fields.get("ipc")),
            "priority_date": iso_date(fields.get("priority")),
            "filing_date": iso_date(fields.get("filing_date")),
            "published_on": iso_date(fields.get("published_on")),
            "legal_status": status or None,
            "language": "zh",
            "url": url,
            "source": self.source,
        }

    def next_page(self, response, tab: dict | None, status: str):
        limit = int(getattr(self, "max_pages", CNIPR["max_pages"]))
        if tab is None and (form := response.css("form[name=searchForm]")):
            current = int(form.css("input[name=start]::attr(value)").get("1"))
            per_page = int(form.css("input[name=limit]::attr(value)").get(CNIPR["page_size"]))
            pages = -(-int(response.css("#allRecordCnt::attr(value)").get("0")) // per_page)
            if current < min(pages, limit):  # re-post the page's own form, as its pager does
                fields = {i.attrib["name"]: i.attrib.get("value", "") for i in form.css("input[name]")}
                yield scrapy.FormRequest(
                    response.urljoin(form.attrib.get("action", "")),
                    callback=self.parse,
                    formdata={**fields, "start": str(current + 1)},
                )
            return
        if tab is None and (active := response.css(CNIPR["mobile_tab"])) and active.attrib.get("data-more"):
            tab = {
                "more": active.attrib["data-more"],
                "page": int(active.attrib.get("data-start", 1)),
                "pages": -(-int(active.attrib.get("data-all", 0)) // CNIPR["page_size"]),
                "status": status,
            }
        if tab and tab["page"] < min(tab["pages"], limit):
            following = {**tab, "page": tab["page"] + 1}
            body = re.sub(r"(^|&)start=\d*", rf"\g<1>start={following['page']}", tab["more"])
            yield scrapy.Request(
                response.urljoin(CNIPR["mobile_more_path"]),
                method="POST",
                body=body,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
                callback=self.parse,
                cb_kwargs={"tab": following},
            )


def labelled(cell) -> tuple[str, str]:
    """("申请号", "CN201310571770.7") from `<td><span>申请号：</span> <a>CN201310571770.7</a></td>`."""
    label = "".join(cell.xpath("./*[1][self::span]//text()").getall()).strip()
    text = "".join(cell.css("::text").getall()).strip()
    value = text.removeprefix(label)
    return unicodedata.normalize("NFKC", label).strip(" :"), value.strip()
