"""One spider per source kind; a source's base URL and start page come from the settings."""

from __future__ import annotations

import scrapy

from crawlers.skip_unchanged import IncrementalDetails, read_known_pages


class SourceSpider(IncrementalDetails, scrapy.Spider):
    """Base spider: `-a source=NAME -a start_url=URL [-a known=FILE]`. Subclasses parse; this
    starts. Detail pages are requested through `detail_request` (see crawlers.skip_unchanged)."""

    def __init__(self, source: str | None = None, start_url: str | None = None, known: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.source = source or self.name
        self.start_url = start_url
        self.known = read_known_pages(known)

    async def start(self):
        if not self.start_url:
            raise ValueError(f"spider {self.name} needs -a start_url=…")
        yield scrapy.Request(self.start_url, callback=self.parse)
