"""What the crawler needs to know, as its own small typed config: the application composes it
from its settings (`jiebang.settings.Settings.crawl_config()`) and passes it down.

The field names are the application's setting names (TOML key, `JIEBANG_<NAME>` variable), so
the one maps onto the other by name, and the defaults here are the settings' defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceSettings:
    """One crawled source: which spider reads it and where it lives."""

    name: str  # stable; part of every listing id from this source
    spider: str  # Scrapy spider name (= module name in crawlers/spiders)
    base_url: str
    start_path: str  # first page, relative to base_url

    @property
    def start_url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.start_path.lstrip("/")


@dataclass(frozen=True)
class CrawlConfig:
    """How one crawl behaves towards a site (the Scrapy settings each run is started with)."""

    user_agent: str = "JiebangBot/0.1 (+https://github.com/jiebang/jiebang; tech-market matchmaking)"
    crawl_delay_seconds: float = 0.0  # politeness per source; production sets ≥ 1
    crawl_concurrency: int = 4
    crawl_timeout_seconds: float = 30.0
    crawl_backoff_seconds: float = 1.0  # first wait before retrying a 429/5xx without Retry-After; doubles
    block_backoff_seconds: float = 30.0  # first wait after a captcha/anti-bot page; doubles
