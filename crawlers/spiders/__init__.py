"""One spider per source kind; a source's base URL and start page come from the settings."""

from __future__ import annotations

import scrapy


class SourceSpider(scrapy.Spider):
    """Base spider: `-a source=NAME -a start_url=URL`. Subclasses parse; this starts."""

    def __init__(self, source: str | None = None, start_url: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.source = source or self.name
        self.start_url = start_url

    async def start(self):
        if not self.start_url:
            raise ValueError(f"spider {self.name} needs -a start_url=…")
        yield scrapy.Request(self.start_url, callback=self.parse)
