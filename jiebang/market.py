"""The pages a market has: a detail page per challenge and per listing (with a link to share) and
the 成果库 search of the supply, each with its role check made here.

A challenge's link names it by `ref` (the board's key, never its id: a posted id could carry the
firm's name). Whoever may open the board sees a challenge exactly as its board row shows it —
published, open, and anonymised where the firm asked; a broker or an admin sees every challenge
with its firm, source link, status, best matches and number of applications; a firm sees its
own challenge in full. A listing's page and the 成果库 are for signed-in firms, brokers and admins.
An unknown link and one the caller may not open get the same NotFound.

>>> view = challenge_page(wh, None, "3f2a9c1b7d4e0a11", today=date.today())  # doctest: +SKIP
>>> view.full, view.row["issuer"]                                            # doctest: +SKIP
(False, '匿名企业')
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jiebang.accounts import User, ensure_permission
from jiebang.broker import Page
from jiebang.errors import InvalidValue, NotFound
from jiebang.permissions import may
from jiebang.solver import _public_texts
from warehouse import board as board_store
from warehouse import market as market_store
from warehouse.gateway import Row, Warehouse
from warehouse.market import SUPPLY_ORDERS, SupplyQuery

CHALLENGE_NOT_FOUND = "未找到该需求：链接可能有误，或需求已截止、尚未发布 (no such published challenge)"
LISTING_NOT_FOUND = "未找到该成果：链接可能有误，或成果已下架 (no such listing)"
SUPPLY_PAGE_SIZE = 20
KEYWORDS_MAX = 8  # words in one search: more is a pasted paragraph, not a query
PRICE_MAX_WAN = 1_000_000.0
SUPPLY_ORDER_LABELS = {"newest": "最新发布", "price_asc": "价格从低到高", "price_desc": "价格从高到低"}
_REF = re.compile(r"^[0-9a-f]{16}$")
_WORD_BREAKS = re.compile(r"[\s,，;；、。/|]+")


def challenge_ref(challenge_id: str) -> str:
    """The key a challenge's link carries: the board's ref (sha256 of the id, 16 hex digits)."""
    return board_store.ref_of(challenge_id)


@dataclass(frozen=True)
class ChallengeView:
    row: Row  # as the caller may see it
    full: bool  # a broker's or its own firm's view: every column, not the board's
    own: bool = False  # the signed-in firm's own challenge
    matches: list[Row] = field(default_factory=list)  # best unrejected matches (brokers only)


def challenge_page(warehouse: Warehouse, user: User | None, ref: str | None, *, today: date) -> ChallengeView:
    """The challenge known by `ref` as `user` may see it; NotFound when there is none to show."""
    viewer = None if user is None else ensure_permission(warehouse, user, "view_challenge_detail")
    ref = (ref or "").strip().lower()
    if not _REF.match(ref):
        raise NotFound(CHALLENGE_NOT_FOUND)
    if viewer is not None and (may(viewer, "curate_challenges") or viewer.firm):
        row = market_store.challenge_by_ref(warehouse, ref)
        if row is not None and may(viewer, "curate_challenges"):
            return ChallengeView(row, full=True, matches=market_store.top_matches(warehouse, row["challenge_id"]))
        if row is not None and viewer.firm and row["firm"] == viewer.firm:
            return ChallengeView(row, full=True, own=True)
    public = board_store.published_one(warehouse, ref, today=today, redact=_public_texts)
    if public is None:
        raise NotFound(CHALLENGE_NOT_FOUND)
    return ChallengeView(public, full=False)


@dataclass(frozen=True)
class ListingView:
    row: Row
    challenges: list[Row] = field(default_factory=list)  # what it was proposed for (brokers only)
    shared_with_me: bool = False  # a broker shared it with the signed-in firm


def listing_page(warehouse: Warehouse, user: User | None, listing_id: str | None) -> ListingView:
    """One listing for a signed-in firm, broker or admin; NotFound for an unknown id."""
    viewer = ensure_permission(warehouse, user, "view_supply")
    row = market_store.listing(warehouse, str(listing_id or "").strip()) if listing_id else None
    if row is None:
        raise NotFound(LISTING_NOT_FOUND)
    if may(viewer, "review_matches"):
        return ListingView(row, challenges=market_store.challenges_matching(warehouse, row["listing_id"]))
    shared = bool(viewer.firm) and market_store.shared_with_firm(warehouse, row["listing_id"], viewer.firm or "")
    return ListingView(row, shared_with_me=shared)


def keywords(text: str | None) -> tuple[str, ...]:
    """The words of a search box, folded as the stored text is compared (full → half width, case
    folded); words split on spaces and Chinese or Latin punctuation.

    >>> keywords("  锂电池，隔膜  ＢＭＳ ")
    ('锂电池', '隔膜', 'bms')
    """
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    words = tuple(dict.fromkeys(w for w in _WORD_BREAKS.split(folded) if w))
    if len(words) > KEYWORDS_MAX:
        raise InvalidValue(f"关键词最多 {KEYWORDS_MAX} 个（现为 {len(words)} 个），请精简后再搜索")
    return words


def _price(value: Any, label: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{label}须为数字（万元）") from None
    if not 0 <= number <= PRICE_MAX_WAN:
        raise InvalidValue(f"{label}须在 0 到 {PRICE_MAX_WAN:,.0f} 万元之间")
    return number


def search_supply(
    warehouse: Warehouse,
    user: User | None,
    *,
    keyword: str | None = None,
    field: str | None = None,
    maturity: str | None = None,
    cooperation: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    price_min: Any = None,
    price_max: Any = None,
    order: str = "newest",
    page: int = 0,
    page_size: int = SUPPLY_PAGE_SIZE,
) -> Page:
    """One page of the 成果库: active listings whose title, abstract or keywords hold every word of
    `keyword`, passing the filters (None or "" = any). A price bound drops listings with no price
    (面议). InvalidValue for a bound that is not a number or a low bound above the high one."""
    ensure_permission(warehouse, user, "view_supply")
    low, high = _price(price_min, "最低价格"), _price(price_max, "最高价格")
    if low is not None and high is not None and low > high:
        raise InvalidValue(f"最低价格（{low:g} 万元）高于最高价格（{high:g} 万元）")
    if order not in SUPPLY_ORDERS:
        raise InvalidValue(f"未知排序「{order}」")
    query = SupplyQuery(
        keywords=keywords(keyword),
        field=field or None,
        maturity=maturity or None,
        cooperation=cooperation or None,
        source=source or None,
        kind=kind or None,
        price_min=low,
        price_max=high,
        order=order,
    )
    page = max(int(page), 0)
    rows, total = market_store.search_listings(warehouse, query, limit=page_size, offset=page * page_size)
    return Page(rows, total, page, page_size)


FACETS_TTL_SECONDS = 300.0  # the filters' values change with a nightly, not between two clicks
_facets: dict[str, tuple[float, dict[str, list[str]]]] = {}


def supply_options(
    warehouse: Warehouse, user: User | None, *, max_age: float = FACETS_TTL_SECONDS
) -> dict[str, list[str]]:
    """The values each 成果库 filter offers: field, maturity, cooperation, source, kind. Kept for
    `max_age` seconds per warehouse file: at a million listings they are five full scans."""
    ensure_permission(warehouse, user, "view_supply")
    key = str(warehouse.path)
    cached = _facets.get(key)
    if cached is None or time.monotonic() - cached[0] > max_age:
        cached = (time.monotonic(), market_store.supply_facets(warehouse))
        _facets[key] = cached
    return cached[1]
