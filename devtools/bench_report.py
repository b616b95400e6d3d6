"""Render `jiebang bench` figures as a plain-text table (also pasted into the README)."""

from __future__ import annotations


def _ratio(other: float | None, ours: float) -> str:
    return f"{other / ours:.1f}x" if other and ours else "—"


def _firm_lines(firm: dict) -> list[str]:
    return [
        f"a firm waits ({name}): post → 20 matches stored  cold {w['cold_seconds']:5.1f} s"
        f" (new server process)   warm {w['warm_seconds']:5.2f} s (median, max {w['warm_max_seconds']:.2f} s;"
        f" index kept)   resident {w['rss_mb']:,.0f} MB"
        for name, w in firm.items()
    ]


def render(f: dict) -> str:
    build, serve, add = f["build"], f["serve"], f["add"]
    lines = [
        f"## N = {f['n']:,} listings, Q = {f['q']:,} challenges",
        f"index build            {build['seconds']:8.1f} s   peak RSS {build['peak_rss_mb']:,.0f} MB"
        + (
            f" (each of 2 segment builders: {build['workers_peak_rss_mb']:,.0f} MB)"
            if build.get("workers_peak_rss_mb")
            else ""
        ),
        f"warehouse load of N and Q {build.get('warehouse_load_seconds', float('nan')):6.1f} s",
        f"serving ({f.get('backend', 'numpy')}): start-up {serve['startup_seconds']:6.1f} s"
        f" (of which prepare: index verified {serve.get('prepare_seconds', float('nan')):.1f} s)"
        f"   resident {serve['rss_serving_mb']:,.0f} MB after matching Q, its {serve['matches']:,} explained results"
        f" held (after load {serve['rss_loaded_mb']:,.0f} MB"
        + (
            f"; own heap {serve['anon_rss_serving_mb']:,.0f} MB, the rest memory-mapped index pages)"
            if "anon_rss_serving_mb" in serve
            else ")"
        ),
        f"match Q (top 50, rescored, explained) {serve['seconds']:6.1f} s on 1 core,"
        f" {serve.get('parallel_seconds', float('nan')):.1f} s on 2 worker processes;"
        f" stored in {serve.get('store_seconds', float('nan')):.1f} s   (jiebang.matching_run, as the nightly)",
        *_firm_lines(f.get("firm", {})),
        f"add {10_000:,} listings     {add['seconds']:8.1f} s",
    ]
    if c := f.get("compare"):
        ours = serve["seconds"]

        def timed(label: str, key: str, digits: int = 1) -> str:
            return f"  {label:<20} {c[key]:8.{digits}f} s  {_ratio(c[key], ours)}"

        lines += [
            "retrieval of the same Q, top 50 (ratio = their time / ours, ours includes rescoring):",
            timed("bm25s numpy", "bm25s_numpy_query_seconds") + f"  (index {c['bm25s_numpy_index_seconds']:.1f} s)",
            timed("bm25s numba", "bm25s_numba_query_seconds")
            + f"  (+{c['bm25s_numba_startup_seconds']:.1f} s JIT once)",
            timed("Tantivy", "tantivy_query_seconds")
            + f"  (index {c['tantivy_index_seconds']:.1f} s over pre-segmented text)",
            f"  DuckDB SQL BM25      {c['duckdb_query_seconds']:8.1f} s  for {c['duckdb_q']} queries over"
            f" {c['duckdb_n']:,} docs (index {c['duckdb_index_seconds']:.1f} s)",
            timed("rapidfuzz cdist", "rapidfuzz_extrapolated_seconds", digits=0)
            + f"  (extrapolated from {c['rapidfuzz_measured']})",
            f"  segmentation of N (rjieba) {c['segment_seconds']:.1f} s",
        ]
    return "\n".join(lines)
