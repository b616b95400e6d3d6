"""`jiebang ui` started in its own process on a free 127.0.0.1 port, for the browser tests and
the browser benchmark: one way to start it and to know it is up."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from jiebang.prefect_server import free_port


class AppDidNotStart(RuntimeError):
    """The app's health check did not answer in time."""


def start_app(warehouse_path: Path, app_root: Path, wait_seconds: float = 90) -> tuple[subprocess.Popen, str]:
    """The server process and its URL once /_stcore/health answers; the process is stopped and
    AppDidNotStart raised when it does not answer within `wait_seconds`."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(app_root),  # the app of this checkout, even when run from another
        "JIEBANG_WAREHOUSE_PATH": str(warehouse_path),
        "JIEBANG_UI_PORT": str(port),
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_HEADLESS": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "jiebang.cli", "ui"],
        env=env,
        cwd=app_root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return server, url
        except OSError:
            time.sleep(0.3)
    server.terminate()
    server.wait(timeout=20)
    raise AppDidNotStart(f"the app did not start on {url} within {wait_seconds:g} s")
