"""Helpers for tests that drive real processes: wait for a condition while the process lives,
read a warehouse another process holds, list the machine's processes from /proc."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from warehouse.errors import WarehouseLocked
from warehouse.gateway import Warehouse


def wait_for(condition, what: str, *, process: subprocess.Popen | None = None, timeout: float = 180.0):
    """condition()'s first truthy result; AssertionError when `process` ends first or on timeout."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return result


def query_or_none(path: Path, sql: str):
    """A read that gives way to the process holding the file (None: try again)."""
    if not path.exists():
        return None
    try:
        return Warehouse(path, lock_timeout_seconds=0.2).query(sql)
    except WarehouseLocked:
        return None
    except Exception as exc:  # the file is being created or migrated meanwhile
        if "does not exist" in str(exc) or "Catalog" in str(exc):
            return None
        raise


def processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, process group, state) of every process, read from /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue  # it ended meanwhile
            state, parent, group = stat.rpartition(")")[2].split()[:3]
            found[int(entry.name)] = (int(parent), int(group), state)
    return found
