"""Scrapy settings shared by every spider; per-run values come from `crawlers.runner`."""

BOT_NAME = "jiebang"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "JiebangBot/0.1 (+https://github.com/jiebang/jiebang; tech-market matchmaking)"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
DOWNLOAD_TIMEOUT = 30

# Nothing listens or calls out beyond the crawl itself.
TELNETCONSOLE_ENABLED = False
COOKIES_ENABLED = False  # no source needs a session; also keeps tldextract from fetching its suffix list
REMOTE_CONTROL_ENABLED = False
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawlers.extensions.StatsFile": 500,
}

# Between HttpCompression (590: bodies arrive decompressed) and Retry (550: a 429 block page is
# backed off here, not retried at once); block detection sees a response before page accounting.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.retry.BackoffRetryMiddleware": 550,  # waits Retry-After / backs off before retrying
    "crawlers.middlewares.BlockedPageMiddleware": 586,
    "crawlers.middlewares.PageAccountingMiddleware": 585,
}
JIEBANG_BLOCK_RETRIES = 3  # retries of a blocked request before it is given up (counted in jiebang/blocked)
JIEBANG_BLOCK_BACKOFF_SECONDS = 30.0  # pause before the first retry; doubles for each further one
JIEBANG_BLOCK_BACKOFF_MAX_SECONDS = 600.0

SPIDER_MIDDLEWARES = {
    "crawlers.middlewares.SeenBatchMiddleware": 950,  # nearest the spider: sees its own output first
    "crawlers.middlewares.ParseFailureMiddleware": 940,  # a parser's exception → a quarantined page
}
ITEM_PIPELINES = {
    "crawlers.pipelines.CleanTextPipeline": 100,
    "crawlers.pipelines.PublicationNumberPipeline": 200,
    "crawlers.pipelines.CrawledAtPipeline": 300,
}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
