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


class ImportRefused(JiebangError):
    """A data file cannot be imported as asked (wrong option, missing column, unreadable file).

    Raised before the file's first record is yielded, so nothing has been loaded."""


class UnknownFormat(ImportRefused):
    """The import format name is not one of crawlers.importers.FORMATS."""


class UnsupportedFormatVersion(ImportRefused):
    """The file is a known family (e.g. USPTO full text) in a version the importer does not read."""


class InvalidDecision(JiebangError):
    """A broker decision cannot be recorded as given (which field, why)."""


class NotOnScreen(InvalidDecision):
    """A decision names a challenge other than the one the broker's page was showing (a stale
    card after the page moved on): refused, so it can never land on another firm's challenge."""


class InvalidApplication(JiebangError):
    """A 揭榜 application is incomplete or malformed; `problems` maps each field label to why
    (all at once)."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        super().__init__("申请填写有误：" + "；".join(f"{k}：{v}" for k, v in self.problems.items()))


class DuplicateApplication(JiebangError):
    """The same applicant sent the same proposal to the same challenge a moment ago (a second
    click); refused so the broker sees it once."""


class RateLimited(JiebangError):
    """Too many submissions from one session in a short time; says when to try again."""


class RefreshRunning(JiebangError):
    """Another refresh holds the warehouse's refresh lock; the message names the warehouse and
    the holder (pid, run id, since when)."""


class UnknownChallenge(JiebangError):
    """No challenge has the given id (an on-demand match asked for one that does not exist)."""


class IndexUnusable(JiebangError):
    """The on-disk matching index is corrupt or disagrees with the warehouse and was not (or
    could not be) rebuilt; nothing was matched with it, so no stored match was replaced. The
    message says what is wrong and what to run."""
