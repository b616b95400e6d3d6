"""One typed settings object, resolved environment → TOML file → defaults.

Built once at an entry point (CLI command, Prefect flow, Streamlit app) and passed down;
library code never reads the environment itself.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from crawlers.config import CrawlConfig, SourceSettings
from jiebang.errors import ConfigError

ENV_PREFIX = "JIEBANG_"
DEFAULT_REPLAY_PORT = 8765


@dataclass(frozen=True)
class ImportSettings:
    """One data file the nightly refresh imports (a `[[imports]]` table): what `jiebang import`
    does by hand, run every night and skipped while the file and its options are unchanged."""

    format: str  # one of crawlers.importers.FORMATS
    path: Path  # absolute once read from a TOML file (relative paths are resolved against its folder)
    source: str | None = None  # defaults to the format's name, as on the command line
    kind: str | None = None  # table imports: achievement | need | patent
    # header → field (the TOML key is `map`, like `--map`); pairs, not a dict, so the settings stay hashable
    mapping: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The key of this import in a run's stats: format and path, which identify it."""
        return f"{self.format}:{self.path}"

    def mapping_dict(self) -> dict[str, str] | None:
        return dict(self.mapping) or None


ACHIEVEMENT_SITES = ("zju", "tsinghua", "fudan", "tongji", "cas", "shu")


def default_sources(base_url: str) -> tuple[SourceSettings, ...]:
    """The sources of the embedded default: all served by the local replay site at base_url."""
    patents = SourceSettings("google_patents", "google_patents", base_url, "/xhr/query?url=country%3DCN%26num%3D25")
    universities = tuple(
        SourceSettings(site, "achievements", base_url, f"/{site}/kjcg/list_1.html") for site in ACHIEVEMENT_SITES
    )
    market = SourceSettings("jiashan_market", "tech_market_needs", base_url, "/jsmarket/xqlist?page=1")
    return (patents, *universities, market)


def _positive_int(raw: object) -> int:
    if isinstance(raw, bool) or (value := int(raw)) < 1:  # type: ignore[call-overload]
        raise ValueError(raw)
    return value


_positive_int.__name__ = "whole number of at least 1"


def _share(raw: object) -> float:
    if isinstance(raw, bool) or not 0.0 <= (value := float(raw)) <= 1.0:  # type: ignore[arg-type]
        raise ValueError(raw)
    return value


_share.__name__ = "share between 0 and 1 (e.g. 0.5)"


def _non_negative_float(raw: object) -> float:
    if isinstance(raw, bool) or not math.isfinite(value := float(raw)) or value < 0:  # type: ignore[arg-type]
        raise ValueError(raw)
    return value


_non_negative_float.__name__ = "number of at least 0"


def _flag(raw: object) -> bool:
    if isinstance(raw, bool):  # TOML's true / false
        return raw
    words = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
    if (value := words.get(str(raw).strip().lower())) is None:
        raise ValueError(raw)
    return value


_flag.__name__ = "yes or no (true | false)"


def _optional_str(raw: object) -> str | None:
    return str(raw) if raw not in (None, "") else None


class _Choice:
    """A setting that must be one of a few words (named in the error message)."""

    def __init__(self, *options: str) -> None:
        self.options = options
        self.__name__ = "choice (" + " | ".join(options) + ")"

    def __call__(self, raw: object) -> str:
        if str(raw) not in self.options:
            raise ValueError(raw)
        return str(raw)


# Field metadata, the only place besides a field's type that says how it is read:
#   parse   a validator for a value that must be more than its type says (its __name__ is
#           the "is not a valid …" of the error message); without it, the type parses
#   secret  read from the environment only, never from a file
#   table   not a scalar: TOML tables read by their own parser below (`[[sources]]`, `[[imports]]`)


@dataclass(frozen=True)
class Settings:
    """Every setting, once: its TOML key is the field name, its environment variable
    `JIEBANG_<NAME>`, and its type (or `parse` metadata) how a raw value is read. Flat, so the
    keys and variables stay what they were; grouped here by the component that reads them, and
    each library's part handed down as that library's own config type (`crawl_config()`)."""

    # -- warehouse (warehouse.gateway.Warehouse takes these) and where a run's files go
    warehouse_path: Path = Path("var/jiebang.duckdb")
    lock_timeout_seconds: float = field(default=60.0, metadata={"parse": _non_negative_float})  # retry a locked file
    data_dir: Path = Path("var/runs")  # crawl outputs (JSON lines) per run

    # -- crawl: what to crawl, crawlers.config.CrawlConfig (the crawler's own defaults), and the
    #    application's rules around a crawl
    sources: tuple[SourceSettings, ...] = field(
        default_factory=lambda: default_sources(f"http://127.0.0.1:{DEFAULT_REPLAY_PORT}"), metadata={"table": True}
    )
    user_agent: str = CrawlConfig.user_agent
    crawl_delay_seconds: float = field(default=CrawlConfig.crawl_delay_seconds, metadata={"parse": _non_negative_float})
    crawl_concurrency: int = CrawlConfig.crawl_concurrency
    crawl_timeout_seconds: float = CrawlConfig.crawl_timeout_seconds
    crawl_backoff_seconds: float = field(
        default=CrawlConfig.crawl_backoff_seconds, metadata={"parse": _non_negative_float}
    )
    block_backoff_seconds: float = field(
        default=CrawlConfig.block_backoff_seconds, metadata={"parse": _non_negative_float}
    )
    crawl_retries: int = 2  # whole-crawl retries of a source that could not be reached
    refetch_after_days: int = 7  # an unchanged-looking page is still fetched (conditionally) this often
    # A crawl that sees less than this share of a source's active listings cannot say which vanished
    # (a broken list page, a changed site): it marks none inactive and the source fails.
    min_seen_share: float = field(default=0.5, metadata={"parse": _share})

    # -- imports: data files loaded each night; only from the TOML file
    imports: tuple[ImportSettings, ...] = field(default=(), metadata={"table": True})

    # -- matching and its index
    index_dir: Path = Path("var/index")  # the matching index (segments, memory-mapped)
    match_top_k: int = field(default=20, metadata={"parse": _positive_int})
    match_batch_size: int = field(default=50, metadata={"parse": _positive_int})  # challenges per sharded task
    # listing partitions (ranges of index segments) each batch is split over
    match_partitions: int = field(default=1, metadata={"parse": _positive_int})
    # listings per index segment (the unit of a listing partition)
    index_segment_size: int = field(default=100_000, metadata={"parse": _positive_int})
    # bm25s retrieval, numpy | numba: numba retrieves ~4x faster per query but compiles for seconds in
    # every new process. The nightly matches a thousand challenges per process: numba (81 s → ~16 s
    # at 1M); a firm's page matches one, in a server process that may be new: numpy (cold 2.9 s vs 11 s).
    match_backend: str = field(default="numba", metadata={"parse": _Choice("numpy", "numba")})
    page_match_backend: str = field(default="numpy", metadata={"parse": _Choice("numpy", "numba")})
    # a page waits this long for the index writer, then leaves matching to the next run
    index_wait_seconds: float = field(default=5.0, metadata={"parse": _non_negative_float})

    # -- flows: when the nightly runs, where its mapped tasks run, the Prefect server
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "Asia/Shanghai"
    task_runner: str = field(default="threads", metadata={"parse": _Choice("threads", "processes", "dask")})
    dask_address: str | None = None  # a running Dask scheduler (tcp://host:8786); None: a LocalCluster
    # LocalCluster workers (and process-pool size for "processes")
    dask_workers: int = field(default=2, metadata={"parse": _positive_int})
    prefect_host: str = "127.0.0.1"  # `jiebang serve` starts its Prefect server (API + UI) here
    prefect_port: int = 4200  # 0: any free port

    # -- digest: the brokers' notice of new good matches
    digest_min_score: float = 60.0  # new matches at least this good go into the brokers' digest
    digest_webhook_url: str = ""  # e.g. a WeCom robot URL; empty: not sent
    digest_smtp_host: str = ""  # empty: no e-mail
    digest_smtp_port: int = 25
    digest_smtp_from: str = "jiebang@localhost"
    digest_smtp_to: str = ""  # comma-separated addresses
    digest_smtp_user: str = ""  # when set, log in (STARTTLS first if the server offers it)
    digest_smtp_password: str = field(default="", repr=False, metadata={"secret": True})

    # -- the UI, and the local replay site the default sources point at
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    # Solvers (揭榜方) may make their own account on the sign-in page; false: only `jiebang user add`
    # and the admin's 用户管理 make accounts (firm, broker and admin accounts always are).
    solver_sign_up: bool = True
    replay_host: str = "127.0.0.1"
    replay_port: int = DEFAULT_REPLAY_PORT

    @classmethod
    def load(cls, env: Mapping[str, str], config_file: Path | None = None) -> Settings:
        """Resolve settings: `JIEBANG_*` environment variables override the TOML file,
        which overrides the defaults. All problems are reported together.

        >>> Settings.load({"JIEBANG_UI_PORT": "8600"}).ui_port
        8600
        """
        scalars, secret_keys = _scalar_parsers(cls), _secrets(cls)
        config_file = config_file or _path_or_none(env.get(ENV_PREFIX + "CONFIG"))
        values: dict[str, object] = {}
        errors: list[str] = []
        if config_file is not None:
            values.update(_read_toml(config_file, errors))
        for key in (*scalars, _SOURCE_BASE_KEY):
            if (raw := env.get(ENV_PREFIX + key.upper())) is not None:
                values[key] = raw
        for secret in secret_keys:
            if secret in values:
                errors.append(f"{secret} is a secret: set it only in the environment ({ENV_PREFIX}{secret.upper()})")
                values.pop(secret)
        # Relative import paths mean "beside the config file", whatever the worker's directory.
        config_dir = config_file.absolute().parent if config_file is not None else Path()
        kwargs = _build(values, errors, config_dir, scalars)
        kwargs.update({k: env[ENV_PREFIX + k.upper()] for k in secret_keys if env.get(ENV_PREFIX + k.upper())})
        if errors:
            raise ConfigError("配置有误 (invalid settings): " + "; ".join(errors))
        return cls(**kwargs)

    def with_replay_base(self, base_url: str) -> Settings:
        """The same settings with every source pointed at another replay site (tests use port 0)."""
        return replace(self, sources=default_sources(base_url))

    def crawl_config(self) -> CrawlConfig:
        """The crawler's part of the settings, as the crawler's own config (same names)."""
        return CrawlConfig(**{f.name: getattr(self, f.name) for f in fields(CrawlConfig)})


def _scalar_parsers(cls: type[Settings]) -> dict[str, Callable[[Any], Any]]:
    """Setting name → how its raw value (a TOML value or an environment string) is read: the
    field's `parse` metadata, else its type. Derived from the fields, so a new field is a new
    setting with no other edit."""
    hints = get_type_hints(cls)
    parsers: dict[str, Callable[[Any], Any]] = {}
    for f in fields(cls):
        if f.metadata.get("table") or f.metadata.get("secret"):
            continue
        parse = f.metadata.get("parse") or _BY_TYPE.get(hints[f.name])
        if parse is None:  # caught by the unit tests, before any deployment reads a setting
            raise TypeError(f"setting {f.name}: no parser for {hints[f.name]}; add metadata parse=…")
        parsers[f.name] = parse
    return parsers


def _secrets(cls: type[Settings]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.metadata.get("secret"))


_BY_TYPE: dict[object, Callable[[Any], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _flag,
    Path: Path,
    str | None: _optional_str,
}
_SOURCE_BASE_KEY = "source_base_url"  # one base URL for every default source


def _path_or_none(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def _read_toml(path: Path, errors: list[str]) -> dict[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        errors.append(f"config file {path} does not exist")
        return {}
    except tomllib.TOMLDecodeError as exc:
        errors.append(f"config file {path} is not valid TOML: {exc}")
        return {}
    values = {k: v for k, v in data.items() if k != "sources"}
    if "sources" in data:
        values["sources"] = data["sources"]
    return values


def _build(
    values: dict[str, object], errors: list[str], config_dir: Path, scalars: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    """The keyword arguments of the settings, from the raw values; problems go to `errors`."""
    kwargs: dict[str, Any] = {}
    base_url = values.pop(_SOURCE_BASE_KEY, None)
    raw_sources = values.pop("sources", None)
    raw_imports = values.pop("imports", None)
    for key, raw in values.items():
        kind = scalars.get(key)
        if kind is None:
            errors.append(f"unknown setting {key!r}")
            continue
        try:
            kwargs[key] = kind(raw)
        except (TypeError, ValueError):
            errors.append(f"{key}={raw!r} is not a valid {kind.__name__}")
    if isinstance(warehouse_path := kwargs.get("warehouse_path"), Path) and "index_dir" not in kwargs:
        # The index belongs to one warehouse: another warehouse file gets its own, beside it.
        kwargs["index_dir"] = warehouse_path.with_suffix(".index")
    if raw_sources is not None:
        kwargs["sources"] = _parse_sources(raw_sources, errors)
    elif base_url:
        kwargs["sources"] = default_sources(str(base_url))
    elif "replay_port" in kwargs:
        kwargs["sources"] = default_sources(f"http://127.0.0.1:{kwargs['replay_port']}")
    if raw_imports is not None:
        kwargs["imports"] = _parse_imports(raw_imports, errors, config_dir)
    return kwargs


def _parse_sources(raw: object, errors: list[str]) -> tuple[SourceSettings, ...]:
    if not isinstance(raw, list):
        errors.append("sources must be a list of [[sources]] tables")
        return ()
    sources = []
    for i, entry in enumerate(raw):
        missing = [k for k in ("name", "spider", "base_url", "start_path") if k not in entry]
        if missing:
            errors.append(f"sources[{i}] is missing {', '.join(missing)}")
            continue
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            errors.append(f"sources[{i}].enabled={enabled!r} is not true or false")
        elif enabled:  # a disabled source is not crawled, and its listings are left as they are
            sources.append(SourceSettings(*(str(entry[k]) for k in ("name", "spider", "base_url", "start_path"))))
    return tuple(sources)


_IMPORT_KEYS = ("format", "path", "source", "kind", "map")


def _parse_imports(raw: object, errors: list[str], config_dir: Path) -> tuple[ImportSettings, ...]:
    """The `[[imports]]` tables; every problem of every entry is reported, one line each."""
    if not isinstance(raw, list):
        errors.append("imports must be a list of [[imports]] tables")
        return ()
    imports: list[ImportSettings] = []
    seen: dict[tuple[str, Path], int] = {}
    for i, entry in enumerate(raw):
        problems: list[str] = []
        spec = _parse_import(entry, problems, config_dir)
        errors.extend(f"imports[{i}] {problem}" for problem in problems)
        if spec is None:
            continue
        # One warehouse row per format and path: two entries would overwrite each other's record.
        if (first := seen.setdefault((spec.format, spec.path), i)) != i:
            errors.append(f"imports[{i}] repeats imports[{first}] (same format and path)")
            continue
        imports.append(spec)
    return tuple(imports)


def _parse_import(entry: object, problems: list[str], config_dir: Path) -> ImportSettings | None:
    if not isinstance(entry, dict):
        problems.append("must be a table with format and path")
        return None
    if unknown := [k for k in entry if k not in _IMPORT_KEYS]:
        problems.append(f"has unknown key {', '.join(map(repr, unknown))}; use {', '.join(_IMPORT_KEYS)}")
    if missing := [k for k in ("format", "path") if k not in entry]:
        problems.append(f"is missing {', '.join(missing)}")
    format, path = entry.get("format"), entry.get("path")
    if format is not None and format not in (known := _import_formats()):
        problems.append(f"format {format!r} is unknown; use one of {', '.join(known)}")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        problems.append(f"path={path!r} is not a file path")
    for key in ("source", "kind"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            problems.append(f"{key}={entry[key]!r} is not a non-empty string")
    mapping = entry.get("map", {})
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        problems.append(f"map={mapping!r} is not a table of header = field names")
    if problems or not isinstance(format, str) or not isinstance(path, str):  # the types: checked above
        return None
    return ImportSettings(
        format=format,
        path=config_dir / path,
        source=entry.get("source"),
        kind=entry.get("kind"),
        mapping=tuple(mapping.items()),
    )


def _import_formats() -> tuple[str, ...]:
    # Imported here, not at the top: the importers pull in Scrapy and the text tools (about a
    # second), which every entry point would pay for a setting most configurations do not use.
    from crawlers.importers import FORMATS

    return tuple(FORMATS)
