"""The matching library's own errors, at the bottom of the package; the application (jiebang/)
turns any `MatchingError` into one line for the user (or rebuilds what it names)."""

from __future__ import annotations


class MatchingError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class IndexCorrupt(MatchingError):
    """The saved index cannot be used as it is on disk (a file missing, unreadable, cut short, of
    another type or shape than its segment says, or the index path not a folder): rebuild it from
    the warehouse. The message says which file and what is wrong, on one line."""


class IndexFormatChanged(IndexCorrupt):
    """The saved index was written by another version: rebuild it from the warehouse."""
