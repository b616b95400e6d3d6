"""Two processes on one DuckDB file: a refresh writing while a broker records decisions.

DuckDB locks a file to one read-write process at a time; the gateway opens the file per
transaction and retries a held lock, so both finish and no decision is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from jiebang.accounts import User
from tests.conftest import ROOT
from tests.workspace_data import register
from warehouse import queries

pytestmark = pytest.mark.system

DECIDER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from jiebang import broker
    from jiebang.accounts import User
    from warehouse.gateway import Warehouse

    path, pairs_file, stop_file = sys.argv[1:4]
    wh = Warehouse(Path(path), lock_timeout_seconds=60)
    pairs = json.loads(Path(pairs_file).read_text())
    me = User("li", "李经纪", "broker")
    done = []
    while not Path(stop_file).exists() or len(done) < 20:
        challenge_id, listing_id = pairs[len(done) % len(pairs)]
        done.append(broker.decide(wh, me, challenge_id, listing_id, "shortlist", note=f"n{len(done)}"))
        time.sleep(0.01)
    print(json.dumps(done))
    """
)


def test_refresh_and_broker_decisions_in_two_processes(loaded_warehouse, settings, tmp_path):
    wh = loaded_warehouse
    register(wh, User("li", "李经纪", "broker"))  # the decider's account, which each decision re-reads
    pairs = [
        [m["challenge_id"], m["listing_id"]] for m in wh.query("SELECT challenge_id, listing_id FROM matches LIMIT 50")
    ]
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    stop = tmp_path / "stop"
    env = {
        **os.environ,
        "JIEBANG_WAREHOUSE_PATH": str(wh.path),
        "JIEBANG_DATA_DIR": str(tmp_path / "runs"),
        "JIEBANG_INDEX_DIR": str(tmp_path / "index"),
        "JIEBANG_SOURCE_BASE_URL": settings.sources[0].base_url,
        "PREFECT_HOME": str(tmp_path / "prefect"),
    }
    decider = subprocess.Popen(
        [sys.executable, "-c", DECIDER, str(wh.path), str(tmp_path / "pairs.json"), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    refresh = subprocess.run(
        [sys.executable, "-m", "jiebang.cli", "refresh"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    stop.touch()
    out, err = decider.communicate(timeout=300)

    assert refresh.returncode == 0, refresh.stdout[-2000:] + refresh.stderr[-2000:]
    assert decider.returncode == 0, err[-2000:]
    review_ids = json.loads(out)
    assert len(review_ids) >= 20
    stored = [r["review_id"] for r in wh.query("SELECT review_id FROM reviews ORDER BY review_id")]
    assert stored == sorted(review_ids)  # every decision the broker made is in the file
    runs = wh.query("SELECT status FROM runs WHERE flow = 'nightly-refresh'")
    assert [r["status"] for r in runs] == ["completed"]
    assert queries.table_counts(wh)["matches"] > 0
