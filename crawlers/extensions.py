"""Write the crawl's stats to a JSON file, so the run that started the crawl can record them."""

from __future__ import annotations

import json
from pathlib import Path

from scrapy import signals


class StatsFile:
    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler.settings.get("JIEBANG_STATS_FILE"))
        ext.stats = crawler.stats
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider, reason):
        if self.path is None:
            return
        stats = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.stats.get_stats().items()}
        stats["finish_reason"] = reason
        self.path.write_text(json.dumps(stats, ensure_ascii=False, indent=1), encoding="utf-8")
