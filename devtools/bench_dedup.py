"""Speed and memory of entity resolution (`jiebang.dedup`) at N listings: a full pass (model
trained by EM on the warehouse, every block scored, clusters written) and a nightly pass where
1% of the listings changed (only they are linked again).

Listings are recombined from ../shared/data/real like `devtools.bench` does, each title the first
half of one real title and the second half of another: there are 22,650 distinct real titles, and
a million listings drawn from them would repeat each 44 times with unrelated texts, which no real
source does, while their openings (机器视觉…, 电动汽车…) repeat as real titles' do, which is what
blocking must cope with. 15% of the listings are copies of an earlier one as another source would
list it (一种 dropped or added, a different opening, the end of the text cut), so there is
something to find. Each pass runs in its own
process so its peak RSS is its own. Figures are printed, never asserted.

    python -m devtools.bench_dedup --n 100000
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from devtools.bench import load_pools, peak_rss_mb, synthetic_listings

COPY_SHARE = 0.15
CHANGED_SHARE = 0.01
OPENINGS = ("", "项目简介：", "应用领域：见摘要。", "技术简介 ")


def _records(real: Path, n: int) -> tuple[list[dict], list[tuple[str, str]]]:
    """The listings, and the (copy, original) pairs among them: what a run should put together."""
    rng = random.Random(7)
    copies: list[tuple[str, str]] = []
    base = synthetic_listings(load_pools(real), n, seed=1, prefix="D")
    records: list[dict] = []
    titles = sorted({listing.title for listing in base})
    for i, listing in enumerate(base):
        other = titles[rng.randrange(len(titles))]
        title = listing.title[: len(listing.title) // 2] + other[len(other) // 2 :]
        abstract, source = listing.abstract, "market"
        if i > 10 and rng.random() < COPY_SHARE:
            original = records[rng.randrange(i)]
            title = original["title"][2:] if original["title"].startswith("一种") else "一种" + original["title"]
            cut = rng.randint(0, 40)
            abstract = rng.choice(OPENINGS) + original["abstract"][: len(original["abstract"]) - cut]
            source = "university"
            copies.append((listing.listing_id, original["listing_id"]))
        records.append(
            {
                "listing_id": listing.listing_id,
                "kind": "achievement",
                "title": title,
                "abstract": abstract,
                "claims": "",
                "field": rng.choice(("新材料-复合材料", "装备制造-智能装备", "电子信息-人工智能", "现代农业-种植")),
                "url": f"https://bench.invalid/{listing.listing_id}",
                "source": source,
            }
        )
    return records, copies


def phase_load(args: dict) -> dict:
    from jiebang.pipeline import open_warehouse
    from warehouse import store

    path = Path(args["warehouse"])
    path.unlink(missing_ok=True)
    warehouse = open_warehouse(path, 60)
    records, _ = _records(Path(args["real"]), args["n"])
    for start in range(0, len(records), 100_000):
        store.upsert_listings(warehouse, records[start : start + 100_000])
    return {"listings": len(records)}


def phase_change(args: dict) -> dict:
    from jiebang.pipeline import open_warehouse
    from warehouse import store

    records, _ = _records(Path(args["real"]), args["n"])
    rng = random.Random(11)
    changed = [
        {**r, "abstract": r["abstract"] + "（更新）"} for r in rng.sample(records, int(len(records) * CHANGED_SHARE))
    ]
    store.upsert_listings(open_warehouse(Path(args["warehouse"]), 60), changed)
    return {"changed": len(changed)}


def _timed_run(args: dict, *, full: bool) -> dict:
    """One dedup run, alone in its process (the listings were stored by another), so the peak
    memory printed is the run's own."""
    from jiebang import dedup
    from jiebang.pipeline import open_warehouse
    from warehouse import entity_store

    warehouse = open_warehouse(Path(args["warehouse"]), 60)
    started = time.perf_counter()
    stats = dedup.run(warehouse, full=full)
    figures = {"total_seconds": round(time.perf_counter() - started, 1), "peak_rss_mb": round(peak_rss_mb())}
    _, copies = _records(Path(args["real"]), args["n"])  # after the run: its memory is measured above
    cluster = entity_store.cluster_ids(warehouse, {i for pair in copies for i in pair})
    together = sum(cluster[a] == cluster[b] for a, b in copies)
    return {
        **figures,
        "copies_found": f"{together}/{len(copies)} ({together / max(1, len(copies)):.3f})",
        **{k: v for k, v in stats.items() if k != "run_id"},
    }


PHASES = {
    "load": phase_load,
    "full": lambda args: _timed_run(args, full=True),
    "change": phase_change,
    "nightly": lambda args: _timed_run(args, full=False),
}
REPORTED = ("full", "nightly")


def run_phase(name: str, args: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench_dedup", "--phase", name, json.dumps(args)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench_dedup phase {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    parser.add_argument("--workdir", type=Path, default=Path("var/bench_dedup"))
    parser.add_argument("--phase", nargs=2, metavar=("NAME", "JSON"), help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.phase:
        print(json.dumps(PHASES[ns.phase[0]](json.loads(ns.phase[1])), default=str))
        return
    ns.workdir.mkdir(parents=True, exist_ok=True)
    args = {"n": ns.n, "real": str(ns.real.resolve()), "warehouse": str((ns.workdir / f"n{ns.n}.duckdb").resolve())}
    for name in PHASES:
        figures = run_phase(name, args)
        if name in REPORTED:
            print(f"{name:8} N={ns.n:,}: {json.dumps(figures, ensure_ascii=False)}", flush=True)


if __name__ == "__main__":
    main()
