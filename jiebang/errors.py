"""Small named exceptions, turned into one actionable line at the CLI / flow / UI boundary."""


class JiebangError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(JiebangError):
    """The settings (environment or TOML file) are invalid; lists every problem at once."""


class WarehouseLocked(JiebangError):
    """Another process held the DuckDB file for longer than the retry bound."""


class CrawlFailed(JiebangError):
    """A Scrapy crawl exited with an error."""


class AccessDenied(JiebangError):
    """The signed-in user's role does not allow this operation."""
