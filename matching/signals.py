"""Structured signals: how well a listing's facts fit a challenge, beyond the text.

Each signal is a share in [0, 1] of its weight; a signal with nothing to compare is neutral
(it gives nothing and takes nothing), so listings without structured data are not punished
twice.
"""

from __future__ import annotations

from datetime import date

# IPC prefixes of the six priority industries (longest prefix wins).
IPC_INDUSTRIES = {
    "H04": "新一代信息技术",
    "G06": "新一代信息技术",
    "H01L": "新一代信息技术",
    "H05K": "新一代信息技术",
    "H03": "新一代信息技术",
    "G09": "新一代信息技术",
    "G08": "新一代信息技术",
    "G01S": "新一代信息技术",
    "A61": "生命健康",
    "C12": "生命健康",
    "C07K": "生命健康",
    "G01N33": "生命健康",
    "G16H": "生命健康",
    "H01M": "新能源新材料",
    "C01": "新能源新材料",
    "C08": "新能源新材料",
    "C22": "新能源新材料",
    "H01F": "新能源新材料",
    "C25B": "新能源新材料",
    "C04B": "新能源新材料",
    "H02J": "新能源新材料",
    "C23": "新能源新材料",
    "H02S": "新能源新材料",
    "B23": "高端装备制造",
    "B22": "高端装备制造",
    "F16": "高端装备制造",
    "B25": "高端装备制造",
    "G01B": "高端装备制造",
    "B33Y": "高端装备制造",
    "B21": "高端装备制造",
    "B24": "高端装备制造",
    "G05B": "高端装备制造",
    "H01S": "高端装备制造",
    "A47": "绿色智能家居",
    "B27": "绿色智能家居",
    "C09J": "绿色智能家居",
    "C09D": "绿色智能家居",
    "D01": "时尚纺织",
    "D02": "时尚纺织",
    "D03": "时尚纺织",
    "D04": "时尚纺织",
    "D06": "时尚纺织",
    "A41": "时尚纺织",
    "A44B": "时尚纺织",
    "C02F": "时尚纺织",
}
MATURITY = {"产业化": 1.0, "中试": 0.75, "小试": 0.5, "实验室": 0.25}
YANGTZE_DELTA = ("嘉善", "嘉兴", "浙江", "上海", "江苏", "苏州", "吴江", "青浦", "安徽", "杭州", "宁波", "长三角")
# Legal-status words of a right that can no longer be licensed (CNIPR shows 无效 for a patent
# invalidated or lapsed; USPTO ODP says Abandoned). "无效宣告" is a pending request, not an outcome.
INACTIVE_STATUS = (
    "expired",
    "withdrawn",
    "ceased",
    "abandoned",
    "lapsed",
    "revoked",
    "失效",
    "撤回",
    "终止",
    "放弃",
    "驳回",
    "无效",
)
PENDING_STATUS = ("无效宣告",)


def industry_of_ipc(codes: tuple[str, ...] | list[str]) -> str | None:
    """The priority industry most of a listing's IPC codes fall in, or None."""
    votes: dict[str, int] = {}
    for code in codes:
        compact = code.replace(" ", "").upper()
        for length in (6, 4, 3):
            if industry := IPC_INDUSTRIES.get(compact[:length]):
                votes[industry] = votes.get(industry, 0) + 1
                break
    return max(votes, key=votes.__getitem__) if votes else None


def field_fit(challenge_field: str | None, listing_field: str | None, ipc: tuple[str, ...]) -> float | None:
    """1 when the listing's industry (stated, else from its IPC codes) is the challenge's."""
    listing_industry = listing_field or industry_of_ipc(ipc)
    if not challenge_field or not listing_industry:
        return None
    return 1.0 if challenge_field == listing_industry else 0.0


def maturity_fit(maturity: str | None) -> float | None:
    """Firms need technology they can deploy: 产业化 fits best, 实验室 least."""
    return MATURITY.get(maturity or "")


def price_fit(budget_wan: float | None, price_wan: float | None) -> float | None:
    """1 within the budget, ½ up to twice the budget, 0 beyond."""
    if budget_wan is None or price_wan is None or budget_wan <= 0:
        return None
    return 1.0 if price_wan <= budget_wan else 0.5 if price_wan <= 2 * budget_wan else 0.0


def region_fit(challenge_region: str | None, listing_region: str | None) -> float | None:
    """1 when both sides are in the Yangtze River Delta (嘉善's demonstration zone), else 0."""
    if not challenge_region or not listing_region:
        return None
    both = all(any(place in text for place in YANGTZE_DELTA) for text in (challenge_region, listing_region))
    return 1.0 if both else 0.0


def status_fit(legal_status: str | None, published_on: date | None, today: date) -> float | None:
    """0 for an expired or withdrawn patent; otherwise fresher is better (full marks within 10 years)."""
    status = (legal_status or "").lower()
    for pending in PENDING_STATUS:
        status = status.replace(pending, "")
    if any(word in status for word in INACTIVE_STATUS):
        return 0.0
    if published_on is None:
        return None if not legal_status else 1.0
    age_years = (today - published_on).days / 365.25
    return max(0.0, min(1.0, 1.5 - age_years / 20))


def cooperation_fit(wanted: str | None, offered: str | None) -> float | None:
    if not wanted or not offered:
        return None
    return 1.0 if wanted == offered else 0.0
