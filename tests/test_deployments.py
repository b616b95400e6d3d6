"""Scheduling as Prefect reports it: `prefect deploy --all` of prefect.yaml against a real local
server (process work pool), and `jiebang serve` registering the nightly deployment itself."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jiebang.prefect_server import LocalPrefectServer, free_port
from tests.conftest import ROOT
from tests.processes import processes

pytestmark = pytest.mark.system

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST_SCHEDULER = {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}  # scheduled runs appear at once


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    with LocalPrefectServer(port=0, prefect_home=home, env={**os.environ, **FAST_SCHEDULER}) as server:
        yield server


def _prefect(server: LocalPrefectServer, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**server.client_env(), "JIEBANG_HOME": str(ROOT)},
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)  # used inside temporary_settings(PREFECT_API_URL=...)


def _deployment(api_url: str, name: str):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), _client() as client:
        return client.read_deployment_by_name(name)


def _scheduled_starts(api_url: str, deployment_id) -> list[datetime]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), _client() as client:
        runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])))
    return sorted(run.expected_start_time for run in runs if run.state and run.state.is_scheduled())


def _wait_for(check, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if result := check():
                return result
        except AssertionError:
            raise
        except Exception:  # not there yet (404, server still starting)
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(1)


def _assert_nightly_at_two_in_shanghai(api_url: str) -> None:
    nightly = _deployment(api_url, "nightly-refresh/nightly")
    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 2 * * *", "Asia/Shanghai", True)
    assert not nightly.paused
    starts = _wait_for(lambda: _scheduled_starts(api_url, nightly.id))
    first = starts[0].astimezone(SHANGHAI)
    assert (first.hour, first.minute) == (2, 0)
    assert all((s.astimezone(SHANGHAI).hour, s.astimezone(SHANGHAI).minute) == (2, 0) for s in starts)


def test_prefect_deploy_registers_the_three_deployments_and_the_nightly_schedule(prefect_server):
    _prefect(prefect_server, "work-pool", "create", "jiebang", "--type", "process", "--overwrite")
    _prefect(prefect_server, "deploy", "--all", "--no-prompt")
    api = prefect_server.api_url
    for name in ("nightly-refresh/nightly", "match-challenge/match-challenge", "rebuild-index/rebuild-index"):
        deployment = _deployment(api, name)
        assert deployment.work_pool_name == "jiebang"
        assert deployment.parameters == {"config_file": None}
    for name in ("match-challenge/match-challenge", "rebuild-index/rebuild-index"):
        assert _deployment(api, name).schedules == []
    assert _deployment(api, "match-challenge/match-challenge").entrypoint == "flows/on_demand.py:match_challenge"
    _assert_nightly_at_two_in_shanghai(api)


def _start_serve(tmp_path, port: int) -> tuple[subprocess.Popen, Path]:
    env = {
        **os.environ,
        **FAST_SCHEDULER,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "JIEBANG_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "serve.log"  # a file, not a pipe: an unread pipe could fill and stall it
    serve = subprocess.Popen(
        [sys.executable, "-m", "jiebang.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return serve, log


def _child_of(pid: int) -> int | None:
    return next((child for child, (parent, _, _) in processes().items() if parent == pid), None)


def _alive_in_group(group: int) -> list[int]:
    return [pid for pid, (_, g, state) in processes().items() if g == group and state != "Z"]


def test_jiebang_serve_runs_a_server_with_the_scheduled_nightly_deployment(tmp_path):
    port = free_port()
    serve, log = _start_serve(tmp_path, port)
    api = f"http://127.0.0.1:{port}/api"
    try:

        def registered():
            assert serve.poll() is None, f"jiebang serve exited: {log.read_text()}"
            return _deployment(api, "nightly-refresh/nightly")

        _wait_for(registered, timeout=240)  # a busy 2-core machine: server start-up and deployment
        _assert_nightly_at_two_in_shanghai(api)
        for name in ("match-challenge/match-challenge", "rebuild-index/rebuild-index"):
            # Registered one after the other: the nightly being there says nothing about these.
            assert _wait_for(lambda name=name: _deployment(api, name)).schedules == []
        server = LocalPrefectServer(port=port)
        assert server.healthy()  # the UI and API stay up while serving
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    output = log.read_text()
    assert serve.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert re.search(r"下次运行 next run \d{4}-\d\d-\d\d 02:00 Asia/Shanghai", output), output
    assert not LocalPrefectServer(port=port).healthy()  # the server stopped with it


@pytest.mark.parametrize("moment", ["the server is starting", "the deployments are starting"])
def test_jiebang_serve_stops_cleanly_on_sigterm_during_start_up(tmp_path, moment):
    """However early SIGTERM comes, the server it started goes with it: exit 0, no traceback.
    The moments are events, not delays, so the test means the same on a fast or a busy machine."""
    port = free_port()
    serve, log = _start_serve(tmp_path, port)
    try:

        def server_started():
            assert serve.poll() is None, f"jiebang serve exited: {log.read_text()}"
            return _child_of(serve.pid)

        def server_healthy():
            assert serve.poll() is None, f"jiebang serve exited: {log.read_text()}"
            return LocalPrefectServer(port=port).healthy()

        server_pid = _wait_for(server_started, timeout=240)  # `prefect server start` is its only child
        if moment == "the deployments are starting":
            _wait_for(server_healthy, timeout=240)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
    output = log.read_text()
    assert serve.returncode == 0, output
    assert "Traceback" not in output, output
    _wait_for(lambda: not _alive_in_group(server_pid), timeout=60)  # the server and its workers
    assert not LocalPrefectServer(port=port).healthy()
