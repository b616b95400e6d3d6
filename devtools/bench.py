"""`jiebang bench`: speed and memory of the matching engine at N listings, Q challenges.

The corpus is recombined from the real records in ../shared/data/real (real titles, real
abstract sentences, traditional-Chinese titles included), so text statistics stay realistic.
Matching is timed on the production path (`jiebang.matching_run`: prepare → batches → store,
against a warehouse holding the N listings and Q open challenges). Each phase runs in its own
process so that its peak RSS is its own:
  build  → load N listings and Q challenges into a warehouse, index them, save the index
  serve  → the nightly's matching: prepare (index verified), match Q in batches on 1 core and on
           2 forked worker processes, store                     (start-up, time, resident memory)
  firm   → what a firm waits for: post a challenge → its matches stored, in a fresh server
           process (cold: index load, dictionaries, JIT) and again (warm: index kept), per backend
  add    → add 10,000 new listings to the saved index
  compare→ the same work by bm25s alone, Tantivy, BM25 in DuckDB SQL, rapidfuzz cdist
Figures are printed, never asserted.
"""

from __future__ import annotations

import csv
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matching.engine import Challenge, Listing

ADD_COUNT = 10_000
NEED_OPENINGS = ("我公司主要生产", "我们厂目前在做", "企业现有产线做", "公司主营")
NEED_ASKS = ("，希望寻求成熟的技术方案，", "，急需合作单位攻关，", "，想找高校团队一起解决，")


@dataclass(frozen=True)
class Pools:
    titles: list[str]
    sentences: list[str]


def load_pools(real: Path) -> Pools:
    """Real titles and abstract sentences to recombine."""
    titles, sentences = [], []
    with (real / "patents_cn_kppatent" / "kppatent_zh_records.csv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if row["title"]:
                titles.append(row["title"])
            sentences += [s for s in re.split(r"(?<=[。；])", row["abstract"]) if len(s) > 12]
    with (real / "patents_cn_cnki_company" / "cnki_company_patents.csv").open(encoding="utf-8") as rows:
        reader = csv.reader(rows)
        header = next(reader)
        title_col = next(i for i, name in enumerate(header) if "title" in name.lower() or "名称" in name)
        titles += [row[title_col] for row in reader if len(row) > title_col and row[title_col]]
    with (real / "patents_tw_titles" / "node" / "patent.csv").open(encoding="utf-8") as rows:
        reader = csv.reader(rows)
        header = next(reader)
        title_col = next(i for i, name in enumerate(header) if "title" in name.lower() or "name" in name.lower())
        titles += [row[title_col] for row in reader if len(row) > title_col and row[title_col]]
    return Pools(titles, sentences)


def synthetic_listings(pools: Pools, n: int, seed: int, prefix: str = "L") -> list[Listing]:
    rng = random.Random(seed)
    listings = []
    for i in range(n):
        abstract = ""
        while len(abstract) < 260:
            abstract += rng.choice(pools.sentences)
        listings.append(Listing(f"{prefix}{i}", rng.choice(pools.titles), abstract))
    return listings


def synthetic_challenges(pools: Pools, q: int, seed: int) -> list[Challenge]:
    rng = random.Random(seed)
    return [
        Challenge(
            f"Q{i}",
            rng.choice(pools.titles),
            rng.choice(NEED_OPENINGS)
            + rng.choice(pools.sentences)
            + rng.choice(NEED_ASKS)
            + rng.choice(pools.sentences)
            + rng.choice(pools.sentences),
        )
        for i in range(q)
    ]


def anonymous_rss_mb() -> float:
    """Resident memory that is the process's own (heap), without memory-mapped file pages."""
    return _status_mb("RssAnon")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def rss_mb() -> float:
    return _status_mb("VmRSS")


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- phases (each runs in its own process: python -m devtools.bench PHASE JSON) ----


BENCH_TODAY = "2026-06-01"  # the day the benchmark's challenges are matched on (none has a deadline)
FIRM_TOP_K = 20  # the match_top_k default: what a firm's page stores
FIRM_POSTS = 5  # warm posts after the first (cold) one


def _listing_record(listing: Listing) -> dict:
    return {
        "listing_id": listing.listing_id,
        "kind": "patent",
        "title": listing.title,
        "abstract": listing.abstract,
        "claims": "",
        "url": f"https://bench.invalid/{listing.listing_id}",
    }


def _load_warehouse(path: Path, listings: list[Listing], challenges: list[Challenge], chunk: int = 100_000):
    """A fresh warehouse with the listings (active) and the challenges (published, so open)."""
    from jiebang.pipeline import open_warehouse
    from warehouse import store

    path.unlink(missing_ok=True)
    warehouse = open_warehouse(path, 60)
    for start in range(0, len(listings), chunk):
        records = [{**_listing_record(item), "source": "bench"} for item in listings[start : start + chunk]]
        store.upsert_listings(warehouse, records)
    store.upsert_challenges(
        warehouse,
        [
            {"challenge_id": c.challenge_id, "title": c.title, "description": c.description, "source": "bench"}
            for c in challenges
        ],
    )
    return warehouse


def phase_build(args: dict) -> dict:
    from matching.index import ListingIndex
    from warehouse import queries

    pools = load_pools(Path(args["real"]))
    listings = synthetic_listings(pools, args["n"], seed=1)
    started = time.perf_counter()
    warehouse = _load_warehouse(Path(args["warehouse"]), listings, synthetic_challenges(pools, args["q"], seed=2))
    load_seconds = time.perf_counter() - started
    before = rss_mb()
    started = time.perf_counter()
    # What the first nightly refresh indexes (Listing.from_record of these records gives the same
    # listings), with its segments built by 2 processes; watermarked like a refresh.
    index = ListingIndex()
    index.add(listings, segment_size=args["segment_size"], workers=args["workers"], folder=Path(args["dir"]))
    index.watermark = queries.index_figures(warehouse)["newest_change"].isoformat()
    index.save(Path(args["dir"]))
    return {
        "seconds": time.perf_counter() - started,
        "warehouse_load_seconds": load_seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": before,
        "workers_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def _match_batch_in_worker(plan, batch: list[Challenge]) -> list:
    from jiebang import matching_run

    return matching_run.match_batch(plan, batch)


def phase_serve(args: dict) -> dict:
    """The nightly's matching steps, as `flows.nightly` maps them to tasks."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from datetime import date

    from jiebang import matching_run
    from warehouse import store
    from warehouse.gateway import Warehouse

    warehouse = Warehouse(Path(args["warehouse"]), 60)
    today = date.fromisoformat(BENCH_TODAY)
    started = time.perf_counter()
    plan = matching_run.prepare(warehouse, Path(args["dir"]), today=today, top_k=50, backend=args["backend"])
    prepare_seconds = time.perf_counter() - started
    matching_run.match_batch(plan, plan.challenges[:1])  # first call: imports, caches, dictionaries, JIT
    startup = time.perf_counter() - started
    loaded_rss = rss_mb()
    started = time.perf_counter()
    matches = matching_run.run(plan, batch_size=50)
    seconds = time.perf_counter() - started
    serving_rss, serving_anon = rss_mb(), anonymous_rss_mb()  # with the Q × 50 explained results held
    ranked = [(m.challenge_id, m.listing_id) for m in matches]
    # The same batches on 2 worker processes (task_runner = processes); forked, so each starts
    # with the index and the compiled code this process already has.
    batches = matching_run.challenge_batches(plan.challenges, 50)
    started = time.perf_counter()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        parallel = matching_run.merge_batches(pool.map(_match_batch_in_worker, [plan] * len(batches), batches))
    parallel_seconds = time.perf_counter() - started
    assert [(m.challenge_id, m.listing_id) for m in parallel] == ranked
    started = time.perf_counter()
    stats = matching_run.store_matches(warehouse, store.start_run(warehouse, "bench"), plan, matches)
    return {
        "prepare_seconds": prepare_seconds,
        "startup_seconds": startup,
        "seconds": seconds,
        "parallel_seconds": parallel_seconds,
        "store_seconds": time.perf_counter() - started,
        "matches": len(ranked),
        "stored": stats["matches"],
        "rss_loaded_mb": loaded_rss,
        "rss_serving_mb": serving_rss,
        "anon_rss_serving_mb": serving_anon,
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_firm(args: dict) -> dict:
    """A firm's wait in a server process: post a challenge, match it, its matches stored (what
    ui/pages/firm_post.py does). The first post is cold (the process has not loaded the index,
    dictionaries or compiled code); the next ones find the index kept."""
    from datetime import date

    from jiebang import matching_run
    from warehouse import challenge_store
    from warehouse.gateway import Warehouse

    warehouse = Warehouse(Path(args["warehouse"]), 60)
    needs = synthetic_challenges(load_pools(Path(args["real"])), FIRM_POSTS + 1, seed=4)
    waits = []
    for i, need in enumerate(needs):
        started = time.perf_counter()
        posted = challenge_store.insert_posted(
            warehouse,
            {
                "challenge_id": f"firm:bench{args['backend']}{i}",
                "title": need.title,
                "description": need.description,
                "firm": "bench",
                "posted_by": "bench",
                "source": "firm",
                "status": "待审核",
                "anonymous": True,
            },
            actor="bench",
            role="firm",
        )
        outcome = matching_run.match_one_challenge(
            warehouse,
            posted["challenge_id"],
            today=date.fromisoformat(BENCH_TODAY),
            top_k=FIRM_TOP_K,
            index_dir=Path(args["dir"]),
            backend=args["backend"],
        )
        waits.append(time.perf_counter() - started)
        assert outcome["matches"] == FIRM_TOP_K
    warm = sorted(waits[1:])
    return {
        "backend": args["backend"],
        "cold_seconds": waits[0],
        "warm_seconds": warm[len(warm) // 2],
        "warm_max_seconds": warm[-1],
        "rss_mb": rss_mb(),
    }


def phase_add(args: dict) -> dict:
    from matching.index import ListingIndex

    new = synthetic_listings(load_pools(Path(args["real"])), ADD_COUNT, seed=3, prefix="NEW")
    index = ListingIndex.load(Path(args["dir"]), mmap=True)
    started = time.perf_counter()
    index.add(new)
    index.save(Path(args["dir"]))
    return {"seconds": time.perf_counter() - started, "listings": len(index)}


def phase_compare(args: dict) -> dict:
    """Retrieval alone (top 50, no rescoring) by other tools over the same tokens."""
    import bm25s
    import numpy as np
    from rapidfuzz import fuzz, process

    from matching.index import word_document
    from matching.text import tokenize

    pools = load_pools(Path(args["real"]))
    listings = synthetic_listings(pools, args["n"], seed=1)
    challenges = synthetic_challenges(pools, args["q"], seed=2)
    queries = [list(dict.fromkeys(tokenize(c.title + " " + c.description))) or ["x"] for c in challenges]
    started = time.perf_counter()
    documents = [word_document(listing.text_fields()) for listing in listings]
    results: dict[str, Any] = {"segment_seconds": time.perf_counter() - started}

    for backend in ("numpy", "numba"):
        retriever = bm25s.BM25(backend=backend)
        started = time.perf_counter()
        retriever.index(documents, show_progress=False)
        results[f"bm25s_{backend}_index_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        retriever.retrieve(queries[:1], k=50, show_progress=False)
        results[f"bm25s_{backend}_startup_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        retriever.retrieve(queries, k=50, show_progress=False)
        results[f"bm25s_{backend}_query_seconds"] = time.perf_counter() - started
        del retriever

    results.update(_tantivy(documents, queries, Path(args["dir"]) / "tantivy"))
    sql_n = min(args["n"], args["sql_n"])
    results.update(_duckdb_bm25(documents[:sql_n], queries[: args["sql_q"]]))
    results["duckdb_n"], results["duckdb_q"] = sql_n, min(args["q"], args["sql_q"])

    fuzz_n, fuzz_q = min(args["n"], 20_000), min(args["q"], 100)
    texts = [" ".join(d) for d in documents[:fuzz_n]]
    started = time.perf_counter()
    process.cdist([" ".join(q) for q in queries[:fuzz_q]], texts, scorer=fuzz.token_set_ratio, workers=-1)
    elapsed = time.perf_counter() - started
    results["rapidfuzz_measured"] = f"{fuzz_q} x {fuzz_n} in {elapsed:.1f}s"
    results["rapidfuzz_extrapolated_seconds"] = elapsed * (args["q"] / fuzz_q) * (args["n"] / fuzz_n)
    results["peak_rss_mb"] = peak_rss_mb()
    del np
    return results


def _tantivy(documents: list[list[str]], queries: list[list[str]], folder: Path) -> dict:
    import tantivy

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace")
    builder.add_integer_field("row", stored=True, indexed=False)
    schema = builder.build()
    index = tantivy.Index(schema, path=str(folder))
    started = time.perf_counter()
    writer = index.writer(heap_size=500_000_000, num_threads=2)
    for row, tokens in enumerate(documents):
        writer.add_document(tantivy.Document(body=" ".join(tokens), row=row))
    writer.commit()
    writer.wait_merging_threads()
    index_seconds = time.perf_counter() - started
    index.reload()
    searcher = index.searcher()
    started = time.perf_counter()
    for tokens in queries:
        terms = [t for t in tokens if not re.search(r'[+\-&|!(){}\[\]^"~*?:\\/ ]', t)] or ["x"]
        query = index.parse_query(" OR ".join(terms), ["body"])
        searcher.search(query, 50)
    return {"tantivy_index_seconds": index_seconds, "tantivy_query_seconds": time.perf_counter() - started}


def _duckdb_bm25(documents: list[list[str]], queries: list[list[str]], k1: float = 1.5, b: float = 0.75) -> dict:
    import duckdb
    import pyarrow as pa

    con = duckdb.connect(":memory:")
    started = time.perf_counter()
    postings = pa.table(
        {
            "doc": [i for i, d in enumerate(documents) for _ in d],
            "term": [t for d in documents for t in d],
        }
    )
    con.register("postings", postings)
    con.execute("CREATE TABLE tf AS SELECT doc, term, count(*) AS tf FROM postings GROUP BY ALL")
    con.execute("CREATE TABLE len AS SELECT doc, count(*) AS dl FROM postings GROUP BY doc")
    con.execute("CREATE TABLE df AS SELECT term, count(*) AS df FROM tf GROUP BY term")
    index_seconds = time.perf_counter() - started
    n = len(documents)
    avgdl = con.execute("SELECT avg(dl) FROM len").fetchall()[0][0]
    started = time.perf_counter()
    for tokens in queries:
        con.execute(
            """
            SELECT tf.doc, sum(ln(1 + ($n - df.df + 0.5) / (df.df + 0.5))
                   * tf.tf * ($k1 + 1) / (tf.tf + $k1 * (1 - $b + $b * len.dl / $avgdl))) AS score
            FROM tf JOIN df USING (term) JOIN len USING (doc)
            WHERE list_contains($terms, tf.term)
            GROUP BY tf.doc ORDER BY score DESC LIMIT 50
            """,
            {"n": n, "k1": k1, "b": b, "avgdl": avgdl, "terms": tokens},
        ).fetchall()
    return {"duckdb_index_seconds": index_seconds, "duckdb_query_seconds": time.perf_counter() - started}


PHASES = {"build": phase_build, "serve": phase_serve, "firm": phase_firm, "add": phase_add, "compare": phase_compare}


def run_phase(name: str, args: dict) -> dict:
    """Run one phase in a fresh Python process and return its figures."""
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench", name, json.dumps(args)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench phase {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_bench(
    n: int, q: int, workdir: Path, real: Path, segment_size: int = 100_000, compare: bool = True, backend: str = "numpy"
) -> dict:
    workdir = Path(workdir) / f"n{n}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    args = {
        "n": n,
        "q": q,
        "dir": str(workdir / "index"),
        "warehouse": str(workdir / "bench.duckdb"),
        "real": str(real),
        "segment_size": segment_size,
        "sql_n": 100_000,
        "sql_q": 100,
        "backend": backend,
        "workers": 2,
    }
    figures = {"n": n, "q": q, "backend": backend, "build": run_phase("build", args), "serve": run_phase("serve", args)}
    # The other backend too: the configured one is a choice between start-up and per-query speed.
    figures["firm"] = {b: run_phase("firm", {**args, "backend": b}) for b in dict.fromkeys([backend, "numpy", "numba"])}
    figures["add"] = run_phase("add", args)
    if compare:
        figures["compare"] = run_phase("compare", {**args, "dir": str(workdir)})
    return figures


if __name__ == "__main__":
    phase, raw = sys.argv[1], sys.argv[2]
    print(json.dumps(PHASES[phase](json.loads(raw))))
