"""One typed settings object, resolved environment → TOML file → defaults.

Built once at an entry point (CLI command, Prefect flow, Streamlit app) and passed down;
library code never reads the environment itself.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from jiebang.errors import ConfigError

ENV_PREFIX = "JIEBANG_"
DEFAULT_REPLAY_PORT = 8765


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


ACHIEVEMENT_SITES = ("zju", "tsinghua", "fudan", "tongji", "cas", "shu")


def default_sources(base_url: str) -> tuple[SourceSettings, ...]:
    """The sources of the embedded default: all served by the local replay site at base_url."""
    patents = SourceSettings(
        "google_patents", "google_patents", base_url, "/xhr/query?url=country%3DCN%26num%3D25"
    )
    universities = tuple(
        SourceSettings(site, "achievements", base_url, f"/{site}/kjcg/list_1.html")
        for site in ACHIEVEMENT_SITES
    )
    market = SourceSettings("jiashan_market", "tech_market_needs", base_url, "/jsmarket/xqlist?page=1")
    return (patents, *universities, market)


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path = Path("var/jiebang.duckdb")
    data_dir: Path = Path("var/runs")  # crawl outputs (JSON lines) per run
    index_dir: Path = Path("var/index")  # the matching index (segments, memory-mapped)
    sources: tuple[SourceSettings, ...] = field(
        default_factory=lambda: default_sources(f"http://127.0.0.1:{DEFAULT_REPLAY_PORT}")
    )
    replay_host: str = "127.0.0.1"
    replay_port: int = DEFAULT_REPLAY_PORT
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    match_top_k: int = 20
    lock_timeout_seconds: float = 60.0  # how long to retry a locked warehouse before giving up
    crawl_delay_seconds: float = 0.0  # politeness per source; production sets ≥ 1
    crawl_concurrency: int = 4
    crawl_retries: int = 2  # whole-crawl retries of a source that could not be reached
    refetch_after_days: int = 7  # an unchanged-looking page is still fetched (conditionally) this often
    crawl_timeout_seconds: float = 30.0
    crawl_backoff_seconds: float = 1.0  # first wait before retrying a 429/5xx without Retry-After; doubles
    block_backoff_seconds: float = 30.0  # first wait after a captcha/anti-bot page; doubles
    user_agent: str = "JiebangBot/0.1 (+https://github.com/jiebang/jiebang; tech-market matchmaking)"
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "Asia/Shanghai"
    digest_min_score: float = 60.0  # new matches at least this good go into the brokers' digest
    digest_webhook_url: str = ""  # e.g. a WeCom robot URL; empty: not sent
    digest_smtp_host: str = ""  # empty: no e-mail
    digest_smtp_port: int = 25
    digest_smtp_from: str = "jiebang@localhost"
    digest_smtp_to: str = ""  # comma-separated addresses
    digest_smtp_user: str = ""  # when set, log in (STARTTLS first if the server offers it)
    digest_smtp_password: str = field(default="", repr=False)  # secret: only from JIEBANG_DIGEST_SMTP_PASSWORD
    prefect_host: str = "127.0.0.1"  # `jiebang serve` starts its Prefect server (API + UI) here
    prefect_port: int = 4200  # 0: any free port
    task_runner: str = "threads"  # threads | processes | dask: where a flow's mapped tasks run
    dask_address: str | None = None  # a running Dask scheduler (tcp://host:8786); None: a LocalCluster
    dask_workers: int = 2  # LocalCluster workers (and process-pool size for "processes")
    match_batch_size: int = 50  # challenges per sharded matching task

    @classmethod
    def load(cls, env: Mapping[str, str], config_file: Path | None = None) -> Settings:
        """Resolve settings: `JIEBANG_*` environment variables override the TOML file,
        which overrides the defaults. All problems are reported together.

        >>> Settings.load({"JIEBANG_UI_PORT": "8600"}).ui_port
        8600
        """
        config_file = config_file or _path_or_none(env.get(ENV_PREFIX + "CONFIG"))
        values: dict[str, object] = {}
        errors: list[str] = []
        if config_file is not None:
            values.update(_read_toml(config_file, errors))
        for key in (*_SCALAR_FIELDS, _SOURCE_BASE_KEY):
            if (raw := env.get(ENV_PREFIX + key.upper())) is not None:
                values[key] = raw
        for secret in _SECRET_FIELDS:
            if secret in values:
                errors.append(f"{secret} is a secret: set it only in the environment ({ENV_PREFIX}{secret.upper()})")
                values.pop(secret)
        settings = _build(values, errors)
        secrets = {k: env[ENV_PREFIX + k.upper()] for k in _SECRET_FIELDS if env.get(ENV_PREFIX + k.upper())}
        if errors:
            raise ConfigError("配置有误 (invalid settings): " + "; ".join(errors))
        return replace(settings, **secrets)

    def with_replay_base(self, base_url: str) -> Settings:
        """The same settings with every source pointed at another replay site (tests use port 0)."""
        return replace(self, sources=default_sources(base_url))


class _Choice:
    """A setting that must be one of a few words (named in the error message)."""

    def __init__(self, *options: str) -> None:
        self.options = options
        self.__name__ = "choice (" + " | ".join(options) + ")"

    def __call__(self, raw: object) -> str:
        if str(raw) not in self.options:
            raise ValueError(raw)
        return str(raw)


def _optional_str(raw: object) -> str | None:
    return str(raw) if raw not in (None, "") else None


_SCALAR_FIELDS = {
    "warehouse_path": Path,
    "data_dir": Path,
    "index_dir": Path,
    "replay_host": str,
    "replay_port": int,
    "ui_host": str,
    "ui_port": int,
    "match_top_k": int,
    "lock_timeout_seconds": float,
    "crawl_delay_seconds": float,
    "crawl_concurrency": int,
    "crawl_retries": int,
    "refetch_after_days": int,
    "crawl_timeout_seconds": float,
    "crawl_backoff_seconds": float,
    "block_backoff_seconds": float,
    "user_agent": str,
    "schedule_cron": str,
    "schedule_timezone": str,
    "digest_min_score": float,
    "digest_webhook_url": str,
    "digest_smtp_host": str,
    "digest_smtp_port": int,
    "digest_smtp_from": str,
    "digest_smtp_to": str,
    "digest_smtp_user": str,
    "prefect_host": str,
    "prefect_port": int,
    "task_runner": _Choice("threads", "processes", "dask"),
    "dask_address": _optional_str,
    "dask_workers": int,
    "match_batch_size": int,
}
_SECRET_FIELDS = ("digest_smtp_password",)  # read from the environment only, never from a file
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


def _build(values: dict[str, object], errors: list[str]) -> Settings:
    kwargs: dict[str, object] = {}
    base_url = values.pop(_SOURCE_BASE_KEY, None)
    raw_sources = values.pop("sources", None)
    for key, raw in values.items():
        kind = _SCALAR_FIELDS.get(key)
        if kind is None:
            errors.append(f"unknown setting {key!r}")
            continue
        try:
            kwargs[key] = kind(raw)
        except (TypeError, ValueError):
            errors.append(f"{key}={raw!r} is not a valid {kind.__name__}")
    if "warehouse_path" in kwargs and "index_dir" not in kwargs:
        # The index belongs to one warehouse: another warehouse file gets its own, beside it.
        kwargs["index_dir"] = kwargs["warehouse_path"].with_suffix(".index")  # type: ignore[union-attr]
    if raw_sources is not None:
        kwargs["sources"] = _parse_sources(raw_sources, errors)
    elif base_url:
        kwargs["sources"] = default_sources(str(base_url))
    elif "replay_port" in kwargs:
        kwargs["sources"] = default_sources(f"http://127.0.0.1:{kwargs['replay_port']}")
    return Settings(**kwargs)  # type: ignore[arg-type]


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
        sources.append(SourceSettings(*(str(entry[k]) for k in ("name", "spider", "base_url", "start_path"))))
    return tuple(sources)
