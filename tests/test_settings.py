import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest

from crawlers.config import CrawlConfig
from jiebang import settings as settings_module
from jiebang.errors import ConfigError
from jiebang.settings import DEFAULT_REPLAY_PORT, Settings

pytestmark = pytest.mark.unit


def test_defaults_point_every_source_at_the_local_replay_site():
    settings = Settings.load({})
    assert settings.warehouse_path == Path("var/jiebang.duckdb")
    assert {s.base_url for s in settings.sources} == {f"http://127.0.0.1:{DEFAULT_REPLAY_PORT}"}
    assert {s.spider for s in settings.sources} == {"google_patents", "achievements", "tech_market_needs"}


@pytest.mark.parametrize(
    "description, env, toml, expected",
    [
        ("toml overrides default", {}, "ui_port = 9000", {"ui_port": 9000}),
        ("env overrides toml", {"JIEBANG_UI_PORT": "9100"}, "ui_port = 9000", {"ui_port": 9100}),
        (
            "env path becomes a Path",
            {"JIEBANG_WAREHOUSE_PATH": "/data/w.duckdb"},
            "",
            {"warehouse_path": Path("/data/w.duckdb")},
        ),
        ("float from env", {"JIEBANG_LOCK_TIMEOUT_SECONDS": "2.5"}, "", {"lock_timeout_seconds": 2.5}),
    ],
)
def test_resolution_order(tmp_path, description, env, toml, expected):
    config = tmp_path / "jiebang.toml"
    config.write_text(toml, encoding="utf-8")
    settings = Settings.load(env, config)
    for key, value in expected.items():
        assert getattr(settings, key) == value, description


def test_production_sources_come_from_the_toml_file(tmp_path):
    config = tmp_path / "prod.toml"
    config.write_text(
        'warehouse_path = "/srv/jiebang.duckdb"\n'
        '[[sources]]\nname = "google_patents"\nspider = "google_patents"\n'
        'base_url = "https://patents.google.com"\nstart_path = "/xhr/query?url=q%3D%E9%94%82%E7%94%B5%E6%B1%A0"\n',
        encoding="utf-8",
    )
    settings = Settings.load({}, config)
    assert [s.start_url for s in settings.sources] == [
        "https://patents.google.com/xhr/query?url=q%3D%E9%94%82%E7%94%B5%E6%B1%A0"
    ]


def test_base_url_from_env_moves_every_default_source():
    settings = Settings.load({"JIEBANG_SOURCE_BASE_URL": "http://127.0.0.1:9999"})
    assert all(s.start_url.startswith("http://127.0.0.1:9999/") for s in settings.sources)


def test_all_problems_are_reported_together(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('ui_port = "eighty"\ncolour = "blue"\n[[sources]]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Settings.load({"JIEBANG_MATCH_TOP_K": "many"}, config)
    message = str(error.value)
    for problem in ("ui_port", "colour", "match_top_k", "sources[0] is missing spider, base_url, start_path"):
        assert problem in message


@pytest.mark.parametrize("enabled, crawled", [("true", ["a", "b"]), ("false", ["a"])])
def test_a_disabled_source_is_not_crawled(tmp_path, enabled, crawled):
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[sources]]\nname = "a"\nspider = "achievements"\nbase_url = "http://x"\nstart_path = "/"\n'
        f'[[sources]]\nname = "b"\nspider = "achievements"\nbase_url = "http://x"\nstart_path = "/"\n'
        f"enabled = {enabled}\n",
        encoding="utf-8",
    )
    assert [s.name for s in Settings.load({}, config).sources] == crawled


def test_enabled_must_be_true_or_false(tmp_path):
    config = tmp_path / "sources.toml"
    config.write_text(
        '[[sources]]\nname = "a"\nspider = "achievements"\nbase_url = "http://x"\nstart_path = "/"\nenabled = "no"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"sources\[0\]\.enabled='no' is not true or false"):
        Settings.load({}, config)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load({"JIEBANG_CONFIG": str(tmp_path / "nope.toml")})


def test_the_live_sources_config_names_existing_spiders():
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.spiderloader import SpiderLoader

    live = Settings.load({}, Path(__file__).resolve().parents[1] / "config/live_sources.toml")
    spiders = set(SpiderLoader.from_settings(ScrapySettings({"SPIDER_MODULES": ["crawlers.spiders"]})).list())
    assert {s.spider for s in live.sources} <= spiders
    assert all(s.base_url.startswith("http") and "127.0.0.1" not in s.base_url for s in live.sources)
    assert live.crawl_delay_seconds >= 1.0  # polite to real sites


def test_another_warehouse_gets_its_own_index():
    assert Settings.load({"JIEBANG_WAREHOUSE_PATH": "/data/market.duckdb"}).index_dir == Path("/data/market.index")
    explicit = {"JIEBANG_WAREHOUSE_PATH": "/data/market.duckdb", "JIEBANG_INDEX_DIR": "/fast/index"}
    assert Settings.load(explicit).index_dir == Path("/fast/index")


@pytest.mark.parametrize(
    "key, raw",
    [
        ("match_partitions", "0"),
        ("index_segment_size", "-5"),
        ("match_batch_size", "many"),
        ("dask_workers", "0"),
    ],
)
def test_counts_must_be_at_least_one(key, raw):
    with pytest.raises(ConfigError, match=rf"{key}='{raw}' is not a valid whole number of at least 1"):
        Settings.load({f"JIEBANG_{key.upper()}": raw})


@pytest.mark.parametrize("raw, expected", [("0.5", 0.5), ("0", 0.0), ("1", 1.0), ("1.5", None), ("-0.1", None)])
def test_min_seen_share_is_a_share(raw, expected):
    if expected is None:
        with pytest.raises(ConfigError, match=rf"min_seen_share='{raw}' is not a valid share between 0 and 1"):
            Settings.load({"JIEBANG_MIN_SEEN_SHARE": raw})
    else:
        assert Settings.load({"JIEBANG_MIN_SEEN_SHARE": raw}).min_seen_share == expected


@pytest.mark.parametrize(
    "raw, expected", [("false", False), ("0", False), (" No ", False), ("true", True), ("on", True), ("maybe", None)]
)
def test_a_yes_or_no_setting_reads_words_not_truthiness(raw, expected):
    """bool("false") is True: a flag read by its type alone would turn sign-up on when told off."""
    if expected is None:
        with pytest.raises(ConfigError, match=r"solver_sign_up='maybe' is not a valid yes or no"):
            Settings.load({"JIEBANG_SOLVER_SIGN_UP": raw})
    else:
        assert Settings.load({"JIEBANG_SOLVER_SIGN_UP": raw}).solver_sign_up is expected


def test_a_flag_in_the_toml_file_is_toml_s_own_boolean(tmp_path):
    config = tmp_path / "jiebang.toml"
    config.write_text("solver_sign_up = false\n", encoding="utf-8")
    assert Settings.load({}, config).solver_sign_up is False and Settings.load({}).solver_sign_up is True


def test_a_new_field_is_a_setting_with_no_other_edit():
    """The parser is derived from the fields (type, or `parse` metadata): nothing to keep in sync."""

    @dataclass(frozen=True)
    class WithMore(Settings):
        extra_port: int = 1
        extra_share: float = field(default=0.5, metadata={"parse": settings_module._share})

    loaded = WithMore.load({"JIEBANG_EXTRA_PORT": "5", "JIEBANG_UI_PORT": "9000"})
    assert (type(loaded), loaded.extra_port, loaded.ui_port) == (WithMore, 5, 9000)
    with pytest.raises(ConfigError, match=r"extra_share='2' is not a valid share between 0 and 1"):
        WithMore.load({"JIEBANG_EXTRA_SHARE": "2"})


def _another_value(name: str, default: object) -> object:
    """A value of the setting's kind other than its default."""
    options = getattr({f.name: f for f in fields(Settings)}[name].metadata.get("parse"), "options", None)
    if options:  # a choice: another of its words
        return next(option for option in options if option != default)
    if default is None:
        return "tcp://127.0.0.1:1"
    if isinstance(default, bool):  # before int: a bool is one
        return not default
    for kind, value in ((Path, Path("/x/y")), (str, "something"), (int, 7), (float, 0.25)):
        if isinstance(default, kind):
            return value
    raise AssertionError(f"{name}: no sample for {default!r}")


@pytest.mark.parametrize(
    "name", [f.name for f in fields(Settings) if not f.metadata.get("table") and not f.metadata.get("secret")]
)
def test_every_setting_reads_from_its_toml_key_and_environment_variable(tmp_path, name):
    value = _another_value(name, getattr(Settings(), name))
    config = tmp_path / "s.toml"
    config.write_text(f"{name} = {json.dumps(str(value) if isinstance(value, Path) else value)}\n", encoding="utf-8")
    assert getattr(Settings.load({}, config), name) == value
    assert getattr(Settings.load({f"JIEBANG_{name.upper()}": str(value)}), name) == value


def test_the_secret_comes_only_from_the_environment(tmp_path):
    config = tmp_path / "s.toml"
    config.write_text('digest_smtp_password = "hunter2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"digest_smtp_password is a secret: set it only in the environment"):
        Settings.load({}, config)
    assert Settings.load({"JIEBANG_DIGEST_SMTP_PASSWORD": "hunter2"}).digest_smtp_password == "hunter2"


def test_the_crawler_gets_its_own_config_from_the_settings():
    env = {"JIEBANG_CRAWL_DELAY_SECONDS": "2", "JIEBANG_USER_AGENT": "Bot/2", "JIEBANG_UI_PORT": "1"}
    settings = Settings.load(env)
    assert settings.crawl_config() == CrawlConfig(user_agent="Bot/2", crawl_delay_seconds=2.0)
    # the crawler's defaults are the settings' defaults: one declaration
    assert Settings().crawl_config() == CrawlConfig()
