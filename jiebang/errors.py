"""Small named exceptions, turned into one actionable line at the CLI / flow / UI boundary.

The application's errors derive from JiebangError; each library has its own base at its bottom
(crawlers.errors.CrawlerError, warehouse.errors.WarehouseError, matching.errors.MatchingError),
since a library imports nothing from the application. The boundary catches `KNOWN_ERRORS`:
all four."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any, TypeVar

from crawlers.errors import CrawlerError
from matching.errors import MatchingError
from warehouse.errors import WarehouseError, excerpt

T = TypeVar("T")


class JiebangError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


# What the CLI, the flows and the pages turn into one line (an `except KNOWN_ERRORS` clause); a
# `KnownError` is any of them, for annotations.
KNOWN_ERRORS = (JiebangError, CrawlerError, WarehouseError, MatchingError)
KnownError = JiebangError | CrawlerError | WarehouseError | MatchingError


class ConfigError(JiebangError):
    """The settings (environment or TOML file) are invalid; lists every problem at once."""


class AccessDenied(JiebangError):
    """The signed-in user's role does not allow this operation."""


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


class NotFound(JiebangError):
    """A detail page's link names no challenge or listing the caller may see (unknown, or not
    public): one message for both, so links cannot be used to probe."""


class InvalidValue(JiebangError):
    """A command's option is outside what makes sense (--top 0)."""


class FileAccessError(JiebangError):
    """A file named on the command line could not be read or written (missing, a directory, no
    permission, disk full)."""


class IndexUnusable(JiebangError):
    """The on-disk matching index is corrupt or disagrees with the warehouse and was not (or
    could not be) rebuilt; nothing was matched with it, so no stored match was replaced. The
    message says what is wrong and what to run."""


MESSAGE_CHARS = (
    1000  # an error line longer than this is cut (a huge value quoted in it), yet every problem of a long list fits
)


def one_line(text: str, limit: int = MESSAGE_CHARS) -> str:
    """A message as one bounded line: line breaks folded, a huge quoted value cut.

    >>> one_line("a\\n  b " + "x" * 400, 10)
    'a b xxxxxx…(404 chars)'
    """
    return excerpt(" ".join(str(text).split()), limit)


# What to do about the usual reasons a file operation fails, by errno.
_OS_ERROR_HINTS = {
    errno.ENOSPC: "磁盘已满，请腾出空间后重试 (disk full)",
    errno.EDQUOT: "磁盘配额已满，请腾出空间后重试 (quota exceeded)",
    errno.EACCES: "没有权限，请检查文件和目录权限 (permission denied)",
    errno.EPERM: "没有权限，请检查文件和目录权限 (not permitted)",
    errno.EROFS: "文件系统只读，请换一个可写的位置 (read-only file system)",
    errno.ENOENT: "文件或目录不存在，请检查路径 (no such file)",
    errno.EISDIR: "这是一个目录，请给出文件 (a directory, not a file)",
    errno.ENOTDIR: "路径中有一段不是目录，请检查路径 (a path component is a file)",
}


def os_error_message(exc: OSError, path: object = None) -> str:
    """One line for a failed file operation: which file (`path` when the error does not say: a
    write refused at close names none), the system's reason verbatim (so "No space left on
    device" is what the user reads) and what to do.

    >>> os_error_message(FileNotFoundError(errno.ENOENT, "No such file or directory", "x.tsv"))
    'x.tsv: No such file or directory; 文件或目录不存在，请检查路径 (no such file)'
    """
    name = exc.filename if exc.filename is not None else path
    where = f"{name}: " if name is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = _OS_ERROR_HINTS.get(exc.errno) if exc.errno is not None else None
    return one_line(f"{where}{reason}" + (f"; {hint}" if hint else ""))


def known_errors(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call, with the failures no library names turned into a known error: a file operation the
    system refused (OSError: disk full, a directory, no permission) becomes FileAccessError with
    its one-line message. The one place, besides the libraries' own errors, that the CLI maps."""
    try:
        return call(*args, **kwargs)
    except OSError as exc:
        raise FileAccessError(os_error_message(exc)) from exc
