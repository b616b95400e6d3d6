"""The crawler's own errors, at the bottom of the package: every module of crawlers/ may raise
them, and the application (jiebang/) turns any `CrawlerError` into one line for the user."""

from __future__ import annotations


class CrawlerError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class CrawlFailed(CrawlerError):
    """A Scrapy crawl exited with an error."""


class ImportRefused(CrawlerError):
    """A data file cannot be imported as asked (wrong option, missing column, unreadable file).

    Raised before the file's first record is yielded, so nothing has been loaded."""


class UnknownFormat(ImportRefused):
    """The import format name is not one of crawlers.importers.FORMATS."""


class UnsupportedFormatVersion(ImportRefused):
    """The file is a known family (e.g. USPTO full text) in a version the importer does not read."""


class CannotParse(CrawlerError):
    """The spider or callback named does not exist, or the file cannot be read."""


def excerpt(text: str, limit: int) -> str:
    """The text, or its first `limit` characters and how long it was (a huge value quoted in a
    message or a quarantine reason).

    >>> excerpt("钛" * 10, 3)
    '钛钛钛…(10 chars)'
    """
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"
