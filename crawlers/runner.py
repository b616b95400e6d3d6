"""Run one source's crawl as a Scrapy subprocess writing JSON lines and a stats file.

A subprocess keeps Twisted's reactor out of the calling process (a Prefect worker, a test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawlers.config import CrawlConfig, SourceSettings
from crawlers.errors import CrawlFailed
from crawlers.skip_unchanged import write_known_pages


@dataclass(frozen=True)
class CrawlOutput:
    source: str
    items_path: Path
    stats: dict[str, Any]
    started_at: datetime

    @property
    def pages_fetched(self) -> int:
        return int(self.stats.get("downloader/response_count", 0))

    @property
    def blocked(self) -> int:
        return int(self.stats.get("jiebang/blocked", 0))

    @property
    def parse_failures(self) -> dict[str, int]:
        """Pages a parser raised on, by kind ('list', 'detail'); each is a quarantined page."""
        prefix = "jiebang/parse_failed/"
        return {kind: int(self.stats[prefix + kind]) for kind in ("list", "detail") if self.stats.get(prefix + kind)}

    @property
    def failure(self) -> str | None:
        """Why the crawl cannot be trusted at all, or None: the spider raised (a page it could
        not parse, an exception Scrapy only logged). The source then counts as failed."""
        problems = []
        if failed := self.parse_failures:
            pages = ", ".join(f"{n} {kind}" for kind, n in sorted(failed.items()))
            first = self.stats.get("jiebang/parse_failed/first", "")
            problems.append(f"页面无法解析 ({pages} page(s) unparseable, quarantined with field parse): {first}")
        prefix = "spider_exceptions/"
        if raised := {k.removeprefix(prefix): v for k, v in self.stats.items() if k.startswith(prefix)}:
            counts = ", ".join(f"{name} ×{n}" for name, n in sorted(raised.items()))
            problems.append(f"爬虫异常 (spider exceptions: {counts}; see the crawl log)")
        return "; ".join(problems) or None

    @property
    def complete(self) -> bool:
        """Every page was reached and parsed: only then may a listing missing from it count as gone."""
        return (
            self.stats.get("finish_reason") == "finished"
            and not self.blocked
            and not self.stats.get("jiebang/fetch_failed")
            and self.failure is None
        )


def crawl_source(
    source: SourceSettings, config: CrawlConfig, out_dir: Path, known_pages: dict[str, dict[str, Any]] | None = None
) -> CrawlOutput:
    """Crawl one source into `out_dir/<source>.jsonl`; raise CrawlFailed with the log tail.

    `known_pages` (page key → record id, ETag, Last-Modified, list-row hash) lets the spider
    skip detail pages that have not changed since they were loaded."""
    out_dir.mkdir(parents=True, exist_ok=True)
    items = out_dir / f"{source.name}.jsonl"
    stats = out_dir / f"{source.name}.stats.json"
    log = out_dir / f"{source.name}.log"
    known = write_known_pages(out_dir / f"{source.name}.known.json", known_pages or {})
    items.unlink(missing_ok=True)
    started_at = datetime.now(UTC).replace(tzinfo=None)
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        source.spider,
        "-a",
        f"source={source.name}",
        "-a",
        f"start_url={source.start_url}",
        "-a",
        f"known={known}",
        "-O",
        f"{items}:jsonlines",
        "-s",
        f"JIEBANG_STATS_FILE={stats}",
        "-s",
        f"USER_AGENT={config.user_agent}",
        "-s",
        f"DOWNLOAD_DELAY={config.crawl_delay_seconds}",
        "-s",
        f"CONCURRENT_REQUESTS_PER_DOMAIN={config.crawl_concurrency}",
        "-s",
        f"DOWNLOAD_TIMEOUT={config.crawl_timeout_seconds}",
        "-s",
        f"JIEBANG_BACKOFF_SECONDS={config.crawl_backoff_seconds}",
        "-s",
        f"JIEBANG_BLOCK_BACKOFF_SECONDS={config.block_backoff_seconds}",
        "-s",
        f"LOG_FILE={log}",
    ]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "crawlers.settings"}
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not stats.exists():
        tail = (log.read_text(encoding="utf-8", errors="replace") if log.exists() else done.stderr)[-2000:]
        raise CrawlFailed(f"爬取 {source.name} 失败 (crawl of {source.name} failed, exit {done.returncode}): {tail}")
    items.touch()
    output = CrawlOutput(source.name, items, json.loads(stats.read_text(encoding="utf-8")), started_at)
    if output.pages_fetched == 0:
        raise CrawlFailed(
            f"{source.name} 无法访问 (no page of {source.start_url} could be fetched; is the site up"
            " and the base URL right?)"
        )
    return output
