"""Cutting an anonymous firm's name out of the text solvers see (pure functions, no I/O).

A firm is named in many ways: 嘉善氢途科技有限公司, 氢途科技, 嘉善氢途, 氢途, ＱＩＮＧＴＵ, Qing Tu,
Hydroway Technology (Jiashan) Co., Ltd. `name_variants` derives those forms from the names the
firm gave (Chinese and English) by taking off, one by one, the parts that are not the firm's own:
the place (浙江, 嘉善, Zhejiang …), the trade (科技, 新材料, Technology …) and the legal form
(有限公司, 股份, 集团, Co., Ltd. …). `redact` replaces every occurrence of every variant with a
placeholder. Both compare folded text — NFKC (full → half width), case folded, whitespace
removed — so case, width and spacing do not hide a name from it.

A variant must keep something of the firm's own (a trade name of 2+ characters, 3+ for Latin):
a name made only of place and trade words (浙江智能装备有限公司) is cut out whole, never as 智能装备
wherever that phrase appears.

>>> variants = name_variants("嘉善氢途科技有限公司", "Hydroway Technology (Jiashan) Co., Ltd.")
>>> sorted(v for v in variants if len(v) <= 4)
['嘉善氢途', '氢途', '氢途公司', '氢途科技']
>>> redact("嘉善氢途现有双极板；ＨＹＤＲＯＷＡＹ 的氢 途团队", variants)
'匿名企业现有双极板；匿名企业 的匿名企业团队'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from functools import lru_cache

PLACEHOLDER = "匿名企业"
# Used instead when a variant shares a character with the placeholder (a firm called 企业家…):
# a placeholder made of characters no variant has can never complete a variant with its neighbours.
_SPARE_PLACEHOLDERS = ("某企业", "＊＊＊", "□□□", "■■■", "○○○", "◆◆◆", "※※※")

MIN_CJK_CHARS = 2  # a trade name of one character (嘉善A科技) would cut that character everywhere
MIN_LATIN_CHARS = 3  # "ab" is too common inside other words

# Places a firm's name starts with, longest first so 浙江省 goes before 浙江.
CJK_PLACES = (
    "中华人民共和国",
    "中国",
    "浙江省",
    "浙江",
    "嘉兴市",
    "嘉兴",
    "嘉善县",
    "嘉善",
    "上海市",
    "上海",
    "江苏省",
    "江苏",
    "苏州市",
    "苏州",
    "杭州市",
    "杭州",
    "宁波市",
    "宁波",
    "北京市",
    "北京",
    "深圳市",
    "深圳",
    "平湖",
    "海宁",
    "桐乡",
    "海盐",
    "南湖",
    "秀洲",
    "西塘",
    "姚庄",
    "魏塘",
    "惠民",
    "大云",
    "干窑",
    "陶庄",
    "天凝",
    "罗星",
)
# 浙江省, 秀洲区, 姚庄镇 …: two or three characters and the unit, at the start of a name.
_CJK_PLACE_UNIT = re.compile(r"^[\u4e00-\u9fff]{2,3}?(?:省|市|县|区|镇|乡|开发区|新区)")
# The legal form and the trade, taken off the end; longest first.
CJK_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "分公司",
    "公司",
    "集团",
    "股份",
    "有限",
    "研究院",
    "研究所",
    "合作社",
    "工作室",
    "商行",
    "中心",
    "工厂",
    "厂",
)
CJK_TRADES = (
    "科技",
    "技术",
    "新材料",
    "材料",
    "实业",
    "工贸",
    "贸易",
    "电子",
    "机械",
    "电器",
    "电气",
    "智能",
    "装备",
    "制造",
    "纺织",
    "服饰",
    "服装",
    "针织",
    "织造",
    "印染",
    "化工",
    "化学",
    "环保",
    "新能源",
    "能源",
    "生物",
    "医药",
    "医疗",
    "信息",
    "网络",
    "软件",
    "工业",
    "控股",
    "发展",
    "精密",
    "光电",
    "汽车",
    "零部件",
    "配件",
    "五金",
    "塑业",
    "塑料",
    "金属",
    "建材",
    "家居",
    "家具",
    "食品",
    "农业",
    "光伏",
    "电池",
    "仪器",
    "设备",
    "自动化",
    "工程",
    "通信",
    "半导体",
    "照明",
    "模具",
    "轴承",
)
LATIN_PLACES = frozenset({"china", "zhejiang", "jiaxing", "jiashan", "shanghai", "jiangsu", "suzhou", "hangzhou"})
LATIN_FORMS = frozenset(
    {
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "group",
        "llc",
        "plc",
        "gmbh",
        "holding",
        "holdings",
    }
)
LATIN_TRADES = frozenset(
    {
        "technology",
        "technologies",
        "tech",
        "science",
        "new",
        "material",
        "materials",
        "industrial",
        "industry",
        "industries",
        "trading",
        "electronic",
        "electronics",
        "machinery",
        "equipment",
        "intelligent",
        "smart",
        "manufacturing",
        "textile",
        "textiles",
        "chemical",
        "chemicals",
        "environmental",
        "energy",
        "bio",
        "biotech",
        "pharmaceutical",
        "pharmaceuticals",
        "medical",
        "information",
        "software",
        "development",
        "precision",
        "optoelectronics",
        "auto",
        "parts",
        "hardware",
        "plastics",
        "metal",
        "metals",
        "food",
        "agriculture",
        "photovoltaic",
        "battery",
        "instruments",
        "engineering",
        "communication",
        "communications",
        "semiconductor",
        "lighting",
        "and",
        "&",
    }
)
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】|〔[^〔〕]*〕")
_TOKEN = re.compile(r"[^\W_]+|&")
_LATIN = re.compile(r"^[0-9a-z&]+$")


def fold(text: str) -> str:
    """The form names are compared in: NFKC (full → half width), case folded, no whitespace."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if not ch.isspace())


def _long_enough(variant: str) -> bool:
    return len(variant) >= (MIN_LATIN_CHARS if _LATIN.match(variant) else MIN_CJK_CHARS)


_GENERIC_WORDS = frozenset(
    {*CJK_PLACES, *CJK_FORMS, *CJK_TRADES, *LATIN_PLACES, *LATIN_FORMS, *LATIN_TRADES, "省", "市", "县", "区", "镇"}
)
# How a firm is called for short, by the word taken off its name: 华辰股份 for 华辰…股份有限公司.
_SHORT = {
    "股份有限公司": ("股份", "公司"),
    "有限责任公司": ("公司",),
    "有限公司": ("公司",),
    "股份公司": ("股份", "公司"),
    "集团公司": ("集团", "公司"),
    "technology": ("tech",),
    "technologies": ("tech",),
}


def _generic(text: str) -> bool:
    """Whether `text` (folded) is made only of place, trade and legal-form words."""
    ends = {0}
    for i in range(len(text)):
        if i in ends:
            ends.update(i + len(w) for w in _GENERIC_WORDS if text.startswith(w, i))
    return len(text) in ends


def _strip_place(head: list[str]) -> tuple[list[str], str] | None:
    """`head` without the place it starts with, and the place; None when it starts with none."""
    first = head[0]
    if len(head) > 1 and (first in LATIN_PLACES or _generic(first)):
        return head[1:], first
    for place in CJK_PLACES:
        if first.startswith(place) and len(first) > len(place):
            return [first[len(place) :], *head[1:]], place
    unit = _CJK_PLACE_UNIT.match(first)
    if unit and len(first) > unit.end():
        return [first[unit.end() :], *head[1:]], unit.group()
    return None


def _strip_end(current: list[str]) -> tuple[list[str], str] | None:
    """`current` without the trade or legal-form word it ends with, and the word."""
    last = current[-1]
    if len(current) > 1 and _generic(last):
        return current[:-1], last
    for word in (*CJK_FORMS, *CJK_TRADES):  # forms first: 科技有限公司 loses 有限公司, then 科技
        if last.endswith(word) and len(last) > len(word):
            return [*current[:-1], last[: -len(word)]], word
    return None


def _stripped_forms(tokens: list[str]) -> tuple[list[str], str | None]:
    """Every form of the name with places taken off its start and trades and legal forms off its
    end, and the core left when all are off (None: nothing of the firm's own is left)."""
    starts, places = [tokens], []
    while (cut := _strip_place(starts[-1])) is not None:  # 浙江省 → 嘉善县 → 氢途科技有限公司
        starts.append(cut[0])
        places.append(cut[1])
    forms, words = [], []
    current: list[str] = []
    for start in starts:
        current = list(start)
        forms.append("".join(current))
        while (cut := _strip_end(current)) is not None:
            current = cut[0]
            words.append(cut[1])
            forms.append("".join(current))
    core = "".join(current)  # of the last start: every place off
    if not _long_enough(core) or _generic(core):
        return forms, None
    # The usual short names: the core with one of its words (氢途科技, 氢途股份, 嘉善氢途, 嘉善县氢途).
    short = {*words, *(s for w in words for s in _SHORT.get(w, ()))}
    forms += [core + w for w in short]
    forms += [p + core for p in places] + [p[:-1] + core for p in places if p[-1] in "省市县区镇"]
    return forms, core


@lru_cache(maxsize=4096)  # the board cuts the same few firms' names on every page
def name_variants(*names: str | None) -> frozenset[str]:
    """The folded forms (see `fold`) in which text may name a firm called `names` (its Chinese and
    English names; None and empty are skipped). Every variant has 2+ characters (3+ if Latin)."""
    variants: set[str] = set()
    for name in names:
        if not name or not name.strip():
            continue
        folded = fold(name)
        if len(folded) >= MIN_CJK_CHARS:
            variants.add(folded)  # the name as given is always cut, however generic
        spaced = unicodedata.normalize("NFKC", name).casefold()
        for text in {spaced, _BRACKETED.sub(" ", spaced)}:
            tokens = _TOKEN.findall(text)
            if not tokens:
                continue
            forms, core = _stripped_forms(tokens)
            if core is None:  # nothing of its own: only the whole name, and it without its legal form
                forms = forms[:1] + [f for f in forms[1:2] if not _generic(f)]
            variants.update(v for v in map(fold, forms) if _long_enough(v))
    return frozenset(variants)


def placeholder_for(variants: Collection[str]) -> str:
    """PLACEHOLDER, or a spare one when a variant shares a character with it."""
    used = set("".join(variants))
    for candidate in (PLACEHOLDER, *_SPARE_PLACEHOLDERS):
        if not used & set(fold(candidate)):
            return candidate
    spare = next(chr(c) for c in range(0xE000, 0xF900) if chr(c) not in used)  # private use: never in a name
    return spare * 3


def _chunks(text: str) -> list[str]:
    """`text` cut before every character that starts a new character cell (combining marks stay
    with their base), so that folding the chunks one by one folds the text."""
    chunks: list[str] = []
    for ch in text:
        if chunks and unicodedata.combining(ch):
            chunks[-1] += ch
        else:
            chunks.append(ch)
    return chunks


def _contains_any(folded: str, variants: Iterable[str]) -> bool:
    return any(v in folded for v in variants)


def redact(text: str | None, variants: Collection[str], placeholder: str | None = None) -> str | None:
    """`text` with every stretch that folds to one of `variants` replaced by the placeholder
    (adjacent stretches become one). Afterwards no variant occurs in fold(result); in the rare
    text where that cannot be had by cutting stretches (characters that compose across the cut)
    the whole text is replaced."""
    if not text or not variants:
        return text
    placeholder = placeholder or placeholder_for(variants)
    if not _contains_any(fold(text), variants):
        return text
    chunks = _chunks(text)
    owner: list[int] = []  # folded position → chunk
    folded_parts = []
    for i, chunk in enumerate(chunks):
        part = fold(chunk)
        folded_parts.append(part)
        owner.extend([i] * len(part))
    folded = "".join(folded_parts)
    cut = [False] * len(chunks)
    for variant in variants:
        at = folded.find(variant)
        while at >= 0:
            for i in range(owner[at], owner[at + len(variant) - 1] + 1):  # the spaces inside go too
                cut[i] = True
            at = folded.find(variant, at + 1)
    out: list[str] = []
    for i, chunk in enumerate(chunks):
        if not cut[i]:
            out.append(chunk)
        elif i == 0 or not cut[i - 1]:
            out.append(placeholder)
    result = "".join(out)
    if _contains_any(fold(result), variants):
        return placeholder
    return result
