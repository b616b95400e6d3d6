"""Shared fixtures: the replay site, a migrated warehouse file, a loaded warehouse, Prefect."""

from __future__ import annotations

import fcntl
import functools
import os
import sys
import tempfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from devtools.app_server import start_app
from devtools.replay_site import ReplaySite, SampleData
from jiebang.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # read in place, never copied (see ../shared/data/README.md)
TODAY = date(2026, 11, 26)  # fixed, so deadlines in the sample data stay open in every test run

_QUIET = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "STREAMLIT_SERVER_HEADLESS": "true",
}


def pytest_configure(config):
    for key, value in _QUIET.items():
        os.environ.setdefault(key, value)


@pytest.fixture(scope="session", autouse=True)
def _streamlit_components_scanned_once():
    """Each new AppTest scans the metadata of every installed distribution for Streamlit
    components: about 0.8 s of CPU, most of a page test. The installed set does not change
    during a run, so the first scan's answer is reused (a copy each time)."""
    if "streamlit.testing.v1" not in sys.modules:  # no test module of this run uses AppTest
        yield
        return
    from streamlit.components.v2 import manifest_scanner

    scan = manifest_scanner.scan_component_manifests
    first = functools.cache(lambda: tuple(scan()))
    manifest_scanner.scan_component_manifests = lambda max_workers=None: list(first())
    yield
    manifest_scanner.scan_component_manifests = scan


@pytest.fixture(autouse=True)
def _main_module_restored():
    """AppTest runs a page as `__main__` and leaves it there; a process started later with the
    spawn method (Dask's workers) re-runs `__main__` and would run that page outside Streamlit."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def sample_data() -> SampleData:
    return SampleData.load()


@pytest.fixture(scope="session")
def replay_site(sample_data):
    with ReplaySite(sample_data) as site:
        yield site


@pytest.fixture
def settings(tmp_path, replay_site) -> Settings:
    return Settings(
        warehouse_path=tmp_path / "jiebang.duckdb",
        data_dir=tmp_path / "runs",
        index_dir=tmp_path / "index",
        lock_timeout_seconds=30,
    ).with_replay_base(replay_site.base_url)


@pytest.fixture
def flow_env(monkeypatch, settings):
    """The flow resolves its settings from the environment, like a scheduled run does."""
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(settings.warehouse_path))
    monkeypatch.setenv("JIEBANG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("JIEBANG_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("JIEBANG_SOURCE_BASE_URL", settings.sources[0].base_url)
    monkeypatch.delenv("JIEBANG_CONFIG", raising=False)
    return settings


@pytest.fixture
def warehouse(settings):
    from jiebang.pipeline import open_warehouse

    return open_warehouse(settings.warehouse_path, settings.lock_timeout_seconds)


@pytest.fixture(scope="session")
def loaded_warehouse_file(tmp_path_factory, replay_site) -> Path:
    """A warehouse filled by the real crawl → load → match steps (no Prefect), built once per
    run: under pytest-xdist the first worker to need it builds it and the others wait for it
    (each worker building its own would cost a core the time of eight crawls)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return _build_loaded_warehouse(tmp_path_factory.mktemp("loaded"), replay_site.base_url)
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above the workers' own
    with open(shared / "loaded.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        built = shared / "loaded.path"
        if not built.exists():  # a failed build leaves no path: the next worker starts afresh
            folder = Path(tempfile.mkdtemp(prefix="loaded-", dir=shared))
            built.write_text(str(_build_loaded_warehouse(folder, replay_site.base_url)), encoding="utf-8")
        return Path(built.read_text(encoding="utf-8"))


def _build_loaded_warehouse(folder: Path, replay_base_url: str) -> Path:
    from crawlers.runner import crawl_source
    from jiebang.loading import load_feed
    from jiebang.pipeline import open_warehouse
    from warehouse import store

    settings = Settings(warehouse_path=folder / "jiebang.duckdb").with_replay_base(replay_base_url)
    wh = open_warehouse(settings.warehouse_path, 30)
    run_id = store.start_run(wh, "fixture")
    # The crawls run side by side, as the nightly flow's crawl tasks do; loading stays in order.
    with ThreadPoolExecutor(max_workers=len(settings.sources)) as pool:
        outputs = list(
            pool.map(lambda source: crawl_source(source, settings.crawl_config(), folder / "runs"), settings.sources)
        )
    for source, output in zip(settings.sources, outputs, strict=True):
        load_feed(wh, output.items_path, source=source.name, run_id=run_id)
    match_open_challenges(wh, run_id, folder / "index")
    store.finish_run(wh, run_id, {})
    return settings.warehouse_path


def match_open_challenges(warehouse, run_id: str, index_dir: Path, *, top_k: int = 10) -> dict:
    """The nightly's matching, in this process: the one matching path (prepare, run, store)."""
    from jiebang import matching_run

    plan = matching_run.prepare(warehouse, index_dir, today=TODAY, top_k=top_k)
    return matching_run.store_matches(warehouse, run_id, plan, matching_run.run(plan))


@pytest.fixture
def loaded_warehouse(loaded_warehouse_file, tmp_path):
    """A private copy of the loaded warehouse, free for the test to change."""
    import shutil

    from warehouse.gateway import Warehouse

    path = tmp_path / "loaded.duckdb"
    shutil.copy(loaded_warehouse_file, path)
    return Warehouse(path, 30)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


# --- the app served for the browser tests (tests/test_browser*.py) ---------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture
def app_url(loaded_warehouse):
    if not os.access(CHROMIUM, os.X_OK):  # one line, not Playwright's launch trace
        pytest.fail(
            f"{CHROMIUM} 不存在 (Chromium missing): run `make test` as root, "
            "or apt-get install -y chromium fonts-noto-cjk fonts-wqy-microhei",
            pytrace=False,
        )
    server, url = start_app(loaded_warehouse.path, ROOT)
    yield url
    server.terminate()
    server.wait(timeout=20)
    # Stopping `jiebang ui` stops Streamlit with it: nothing is left listening on the port.
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "/_stcore/health", timeout=2)
