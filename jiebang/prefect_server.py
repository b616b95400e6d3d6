"""A real local Prefect server (API + UI) in a subprocess, for `jiebang serve` and the tests.

Schedules never fire on the temporary server a flow starts when no server is configured, so
the single-machine scheduler runs `prefect server start` on 127.0.0.1 and points
PREFECT_API_URL at it.

    with LocalPrefectServer(port=0) as server:   # 0: any free port
        print(server.ui_url, server.api_url)

The server runs in its own session (Ctrl-C in the terminal reaches only the command, which stops
it) under a parent-death guard: killed with its parent, even by kill -9, it stops too instead of
running on as an orphan holding its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

from jiebang.errors import JiebangError

QUIET_ENV = {  # telemetry off: nothing leaves 127.0.0.1
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}


class PrefectServerFailed(JiebangError):
    """The local Prefect server did not become healthy."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalPrefectServer:
    """`prefect server start --host HOST --port PORT` until `stop()` (or the `with` block ends)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4200,
        *,
        prefect_home: Path | None = None,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 120.0,
        ephemeral: bool = False,
    ) -> None:
        """`ephemeral`: the API alone, without UI and background services (what Prefect starts
        by itself for a flow run with no server configured): for one `jiebang refresh`."""
        self.host, self.port = host, port or free_port(host)
        self.prefect_home, self.startup_timeout = prefect_home, startup_timeout
        self.ephemeral = ephemeral
        self.env = {**(os.environ if env is None else env), **QUIET_ENV}
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client_env(self) -> dict[str, str]:
        """Environment for a process that should talk to this server."""
        env = {**self.env, "PREFECT_API_URL": self.api_url}
        if self.prefect_home is not None:
            env["PREFECT_HOME"] = str(self.prefect_home)
        return env

    def start(self) -> LocalPrefectServer:
        env = self.client_env()
        env.pop("PREFECT_API_URL")  # the server itself must not look for another one
        # Its output goes to a file: an unread pipe would fill up and stall the server.
        self.log = tempfile.NamedTemporaryFile(prefix="prefect-server-", suffix=".log", delete=False)
        try:
            with _signals_held(signal.SIGTERM, signal.SIGINT):
                self.process = subprocess.Popen(
                    self._command(),
                    env=env,
                    stdout=self.log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_parent_death_guard(),
                )
            return self._wait_until_healthy(self.process)
        except (KeyboardInterrupt, SystemExit):
            # Ctrl-C or SIGTERM while it starts: `with` never reached its block, so nothing else stops it.
            self.stop()
            Path(self.log.name).unlink(missing_ok=True)
            raise

    def _command(self) -> list[str]:
        where = ["--host", self.host, "--port", str(self.port)]
        if not self.ephemeral:
            return [sys.executable, "-m", "prefect", "server", "start", *where]
        factory = f"{__name__}:ephemeral_app"
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            *where,
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ]

    def _wait_until_healthy(self, process: subprocess.Popen) -> LocalPrefectServer:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last = Path(self.log.name).read_text(errors="replace").strip().splitlines()[-1:]
                raise PrefectServerFailed(
                    f"Prefect 服务器未能启动 (server exited: {' '.join(last)}); "
                    f"is port {self.port} free? Set JIEBANG_PREFECT_PORT, see {self.log.name}"
                )
            if self.healthy():
                return self
            time.sleep(0.5)
        self.stop()
        raise PrefectServerFailed(
            f"Prefect 服务器未就绪 (not healthy at {self.api_url} after "
            f"{self.startup_timeout:.0f} s), see {self.log.name}"
        )

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.api_url + "/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._kill()
        except BaseException:  # a second Ctrl-C must not leave it running
            self._kill()
            raise

    def _kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> LocalPrefectServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop it and remove its log (kept only when start-up failed: the error names it)."""
        self.stop()
        Path(self.log.name).unlink(missing_ok=True)


def ephemeral_app():
    """The ASGI app of an ephemeral server (uvicorn --factory): the API without UI or services."""
    from prefect.server.api.server import create_app

    return create_app(ephemeral=True, final=True)


def _parent_death_guard():
    """A preexec_fn that has the kernel send the child SIGTERM when this process dies, however
    it dies (Linux PR_SET_PDEATHSIG; elsewhere None: no guard). If this process died before the
    guard was set, the child ends at once. The parent is the thread that starts the child:
    start servers from the main thread."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork: no imports after it
    except (OSError, AttributeError):
        return None
    parent, signum = os.getpid(), int(signal.SIGTERM)

    def guard() -> None:
        prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return guard


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@contextlib.contextmanager
def _signals_held(*signums: int) -> Iterator[None]:
    """Signals that arrive inside are handled when it ends. Between starting a child and
    recording it, a KeyboardInterrupt would leave the child running with nobody to stop it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread handles signals
        return
    arrived: list[int] = []

    def hold(signum, _frame):
        arrived.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in signums}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)


def next_run(cron: str, timezone: str, after: datetime | None = None) -> datetime:
    """When a cron schedule next fires, in its timezone, computed the way Prefect's scheduler does.

    >>> from zoneinfo import ZoneInfo
    >>> next_run("0 2 * * *", "Asia/Shanghai", datetime(2026, 11, 26, 17, 0, tzinfo=ZoneInfo("UTC"))).isoformat()
    '2026-11-27T02:00:00+08:00'
    """
    from prefect.server.schemas.schedules import CronSchedule  # the server's own schedule arithmetic

    (first,) = asyncio.run(CronSchedule(cron=cron, timezone=timezone).get_dates(1, start=after))
    return datetime.fromisoformat(first.isoformat())
