"""The warehouse's own errors, at the bottom of the package: the gateway raises them, and the
application (jiebang/) turns any `WarehouseError` into one line for the user."""

from __future__ import annotations


class WarehouseError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class WarehouseLocked(WarehouseError):
    """Another process held the DuckDB file for longer than the retry bound."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse file cannot be opened or written: not a DuckDB file (corrupt, empty, a
    directory), a path that cannot be created, or a write the system refused (disk full, no
    permission). The message keeps the system's own reason, e.g. "No space left on device"."""


EXCERPT_CHARS = 500  # what is kept of a huge value (quarantine payloads, values quoted in messages)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text, or its first `limit` characters and how long it was.

    >>> excerpt("钛" * 10, 3)
    '钛钛钛…(10 chars)'
    """
    return text if len(text) <= limit else f"{text[:limit]}…({len(text)} chars)"
