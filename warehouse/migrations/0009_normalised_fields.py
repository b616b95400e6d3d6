"""Schema v9: listings' IPC codes in the one form of crawlers.fields.ipc_codes.

Before, crawled listings kept the main group as the page wrote it (G06F015/00) and imported
ones dropped its zeros (G06F15/00), so the same patent had two sets of codes and the industry
lookup (which reads G06F15 …) missed the first. Now every code is canonical: section, class,
subclass, main group without leading zeros, subgroup as written; distinct, in order; text
that holds no code is dropped, as the crawlers always did. Dates need no rewrite: published_on
and deadline are DATE columns, the other dates are not stored.

The rule is written out here rather than imported: a migration must go on doing what it did
when it shipped, whatever the normaliser becomes (tests/test_migrations.py checks that the two
agree). A rewritten listing's content hash is recomputed as the loader computes it, so the
next crawl of the same patent finds it unchanged; its last_changed moves to now because its
codes did change, and the matching index re-reads listings changed after its watermark.
Listings already canonical are not touched, so running this again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.gateway import fetch_rows
from warehouse.store import LISTING_COLUMNS, content_hash, now_utc

_IPC = re.compile(r"([A-HY])\s*(\d{2})\s*([A-Z])\s*0*(\d{1,4})\s*/\s*(\d{1,6})")
# A code already canonical: only lists holding something else are read into Python.
_CANONICAL = "[A-HY][0-9]{2}[A-Z](0|[1-9][0-9]{0,3})/[0-9]{1,6}"
_REWRITE = pa.schema([("listing_id", pa.string()), ("ipc", pa.list_(pa.string())), ("content_hash", pa.string())])


def canonical_ipc(codes: list[str]) -> list[str]:
    found = (
        f"{m[1]}{m[2]}{m[3]}{int(m[4])}/{m[5]}"
        for code in codes
        for m in _IPC.finditer(unicodedata.normalize("NFKC", code or "").strip().upper())
    )
    return list(dict.fromkeys(found))


def apply(con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite the listings whose codes are not canonical; returns how many were rewritten."""
    rows = fetch_rows(
        con,
        "SELECT * FROM listings"
        " WHERE len(list_filter(ipc, lambda c: NOT regexp_full_match(c, $canonical))) > 0"
        " OR len(list_distinct(ipc)) <> len(ipc)",
        {"canonical": _CANONICAL},
    )
    changes: list[dict[str, Any]] = []
    for row in rows:
        codes = canonical_ipc(row["ipc"])
        if codes == row["ipc"]:
            continue
        record = {c: row.get(c) for c in LISTING_COLUMNS} | {"ipc": codes}
        changes.append({"listing_id": row["listing_id"], "ipc": codes, "content_hash": content_hash(record)})
    if not changes:
        return 0
    con.register("ipc_rewrite", pa.Table.from_pylist(changes, schema=_REWRITE))
    con.execute(
        "UPDATE listings SET ipc = r.ipc, content_hash = r.content_hash, last_changed = $now"
        " FROM ipc_rewrite r WHERE listings.listing_id = r.listing_id",
        {"now": now_utc()},
    )
    con.unregister("ipc_rewrite")
    return len(changes)
