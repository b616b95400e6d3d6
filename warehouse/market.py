"""The market's own pages (a challenge's and a listing's detail page, the 成果库 search): reads only.

A challenge is known on a link by `ref` (the board's key: the first 16 hex digits of the sha256
of its id, see warehouse/board.py), a listing by its listing id. What the public may see of a
challenge is warehouse/board.py's `published_one`; these are the fuller reads for brokers and
for the firm that owns it, and the supply as firms and brokers search it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.domain import REJECT
from warehouse.gateway import Row, Warehouse, fetch_rows

_REF = "substr(sha256(c.challenge_id), 1, 16)"

# The 成果库's orders: a fixed clause per name, never text from the caller.
SUPPLY_ORDERS = {
    "newest": "l.published_on DESC NULLS LAST, l.last_changed DESC",
    "price_asc": "l.price_wan ASC NULLS LAST, l.last_changed DESC",
    "price_desc": "l.price_wan DESC NULLS LAST, l.last_changed DESC",
}
_FACETS = ("field", "maturity", "cooperation", "source", "kind")


def challenge_by_ref(warehouse: Warehouse, ref: str) -> Row | None:
    """Any challenge known by `ref`, every column, with its firm's English name and its number of
    matches and of 揭榜 applications (for a broker's or its own firm's eyes only)."""
    rows = warehouse.query(
        f"SELECT c.*, {_REF} AS ref, p.english_name,"
        " (SELECT count(*) FROM matches m WHERE m.challenge_id = c.challenge_id) AS n_matches,"
        " (SELECT count(*) FROM applications a WHERE a.challenge_id = c.challenge_id) AS n_applications"
        " FROM challenges c LEFT JOIN firm_profiles p ON p.firm = c.firm"
        f" WHERE {_REF} = ?",
        [ref],
    )
    return rows[0] if rows else None


def top_matches(warehouse: Warehouse, challenge_id: str, *, limit: int = 10) -> list[Row]:
    """A challenge's best proposed listings that no broker rejected (title, kind, score)."""
    return warehouse.query(
        "SELECT m.listing_id, m.score, l.title, l.kind, l.field, l.maturity FROM matches m"
        " JOIN listings l USING (listing_id)"
        " WHERE m.challenge_id = $cid AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.challenge_id = m.challenge_id"
        "  AND r.listing_id = m.listing_id AND r.decision = $rejected AND r.decided_at = (SELECT max(decided_at)"
        "  FROM reviews r2 WHERE r2.challenge_id = r.challenge_id AND r2.listing_id = r.listing_id))"
        " ORDER BY m.score DESC, m.rank, m.listing_id LIMIT $limit",
        {"cid": challenge_id, "rejected": REJECT, "limit": limit},
    )


def listing(warehouse: Warehouse, listing_id: str) -> Row | None:
    """One listing, every column but its content hash."""
    rows = warehouse.query("SELECT * EXCLUDE (content_hash) FROM listings WHERE listing_id = ?", [listing_id])
    return rows[0] if rows else None


def challenges_matching(warehouse: Warehouse, listing_id: str, *, limit: int = 20) -> list[Row]:
    """The challenges a listing was proposed for (a broker's view): ref, title, status, score."""
    return warehouse.query(
        f"SELECT {_REF} AS ref, c.title, c.status, m.score FROM matches m JOIN challenges c USING (challenge_id)"
        " WHERE m.listing_id = ? ORDER BY m.score DESC, c.challenge_id LIMIT ?",
        [listing_id, limit],
    )


def shared_with_firm(warehouse: Warehouse, listing_id: str, firm: str) -> bool:
    """Whether a broker shared this listing with `firm` for one of its challenges."""
    rows = warehouse.query(
        "SELECT count(*) AS n FROM match_shares s JOIN challenges c USING (challenge_id)"
        " WHERE s.listing_id = ? AND c.firm = ?",
        [listing_id, firm],
    )
    return bool(rows[0]["n"])


@dataclass(frozen=True)
class SupplyQuery:
    """What a 成果库 search asks for; every part optional. `keywords` must all occur in the
    title, the abstract or the keywords (case and width folded by the caller)."""

    keywords: tuple[str, ...] = ()  # case folded: each is looked for as typed, upper and capitalised
    field: str | None = None
    maturity: str | None = None
    cooperation: str | None = None
    source: str | None = None
    kind: str | None = None
    price_min: float | None = None
    price_max: float | None = None
    order: str = "newest"


def search_listings(warehouse: Warehouse, q: SupplyQuery, *, limit: int, offset: int) -> tuple[list[Row], int]:
    """One page of active listings passing `q`, and how many pass. The count is its own query: a
    count(*) OVER () would carry every passing row's text (a million) to number a page of twenty."""
    params = _params(q)
    words = ""
    for n, word in enumerate(q.keywords):  # fixed conditions per word, its forms parameters
        # Latin words in the spellings text has them in (bms, BMS, Bms): folding every abstract
        # with lower() or ILIKE costs ten times a plain search, at a million listings seconds.
        forms = list(dict.fromkeys((word, word.upper(), word.capitalize())))
        test = [f"contains({column}, $k{n}_{f})" for column in _TEXT_COLUMNS for f in range(len(forms))]
        params.update({f"k{n}_{f}": form for f, form in enumerate(forms)})
        words += f" AND ({' OR '.join(test)})"
    where = f"l.active{words}{_FILTERS}"
    with warehouse.transaction() as con:
        total = fetch_rows(con, f"SELECT count(*) AS n FROM listings l WHERE {where}", params)[0]["n"]
        rows = fetch_rows(
            con,
            "SELECT l.listing_id, l.kind, l.title, left(l.abstract, 200) AS summary, l.field, l.maturity,"
            " l.cooperation, l.price_wan, l.price_text, l.region, l.source, l.published_on"
            f" FROM listings l WHERE {where}"
            f" ORDER BY {SUPPLY_ORDERS[q.order]}, l.listing_id LIMIT $limit OFFSET $offset",
            params | {"limit": limit, "offset": offset},
        )
    return rows, int(total)


_TEXT_COLUMNS = ("l.title", "l.abstract", "array_to_string(l.keywords, ' ')")
_FILTERS = (
    " AND ($field IS NULL OR l.field = $field)"
    " AND ($maturity IS NULL OR l.maturity = $maturity)"
    " AND ($cooperation IS NULL OR contains(l.cooperation, $cooperation))"
    " AND ($source IS NULL OR list_contains(l.sources, $source))"
    " AND ($kind IS NULL OR l.kind = $kind)"
    " AND ($price_min IS NULL OR l.price_wan >= $price_min)"
    " AND ($price_max IS NULL OR l.price_wan <= $price_max)"
)


def _params(q: SupplyQuery) -> dict[str, Any]:
    return {
        "field": q.field,
        "maturity": q.maturity,
        "cooperation": q.cooperation,
        "source": q.source,
        "kind": q.kind,
        "price_min": q.price_min,
        "price_max": q.price_max,
    }


def supply_facets(warehouse: Warehouse, facets: Sequence[str] = _FACETS) -> dict[str, list[str]]:
    """The values each filter of the 成果库 offers (of the active listings), most common first."""
    out: dict[str, list[str]] = {}
    for facet in facets:
        if facet not in _FACETS:
            raise ValueError(f"unknown facet {facet!r}")
        rows = warehouse.query(
            f"SELECT {facet} AS v, count(*) AS n FROM listings WHERE active AND {facet} IS NOT NULL"
            f" AND {facet} <> '' GROUP BY 1 ORDER BY n DESC, v LIMIT 60"
        )
        out[facet] = [r["v"] for r in rows]
    return out
