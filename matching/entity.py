"""Entity resolution's pure parts: the certain keys (patent numbers in any form) and the features
the probabilistic model compares (normalised title, owner, text shingles). No I/O, no DuckDB:
`warehouse.entity_links` runs the model, `jiebang.dedup` turns links into clusters.

A Chinese patent has two numbers. Its application number (申请号, ZL201720001285.X on a grant
certificate: year, type digit, serial, check digit) and its publication number (公开/公告号,
CN101551481B: serial and kind code). The key keeps either without prefix, separators, check digit
or kind code, "CN" + digits; the two never collide (application: 12 digits, or 8 before 2003;
publication: 9 digits). A listing whose source gives both has both keys, so it links to whatever
cites either.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import numpy as np

# Bumped whenever entity_features (or a key, a hash, a normalisation it uses) gives another value
# for the same listing: jiebang.dedup then makes a full pass, never comparing features across
# versions. 2: blocks by whole title stem (migration 0015); 3: pre-2003 docdb application numbers.
FEATURES_VERSION = 3

# Application numbers: 2003 on, YYYY + type (1 invention, 2 utility model, 3 design, 8/9 PCT) +
# 7-digit serial; before 2003, YY + type + 5-digit serial. The check digit (0-9 or X) follows,
# after a dot or not; databases add a kind letter (Google Patents CN2009101277538A, EPO's docdb
# CN200910127753A, and before 2003 CN98123456A: 8 digits after CN, no check digit, which no
# publication number has — those have 7 or 9).
_NEW_APPLICATION = re.compile(r"^(?:ZL|CN)?((?:19|20)\d{2}[12389]\d{7})(?:[0-9X])?[A-Z]?$")
_OLD_APPLICATION = re.compile(r"^(?:ZL|CN)?((?:8[5-9]|9\d|0[0-3])[12389]\d{5})(?:[0-9X])[A-Z]?$")
# Publication numbers: 9 digits (1… invention, 2… utility model, 3… design) + kind code.
_PUBLICATION = re.compile(r"^(?:CN)?([1-3]\d{8})(?:[A-Z]\d?)?$")
_SEPARATORS = re.compile(r"[\s.,/·-]")

# A number cited in free text: ZL/CN/专利号 prefixes, digits possibly split by spaces, a dot and
# check digit, or a kind code. A letter or digit right before it means it is part of something
# else (CNA20050658.7 is a plant variety right, not a patent).
_CITED = re.compile(
    r"(?<![A-Za-z0-9])((?:ZL|CN)?\s?\d[\d ]{7,14}\d(?:\s?\.\s?[\dXx]|[A-Z]\d?)?)(?![\dA-Za-z])",
    re.IGNORECASE,
)


def patent_key(raw: str | None) -> str | None:
    """One key for a Chinese application or publication number however it is written; None
    for text that is neither.

    >>> patent_key("ZL 2017 2 0001285.X"), patent_key("201720001285X"), patent_key("CN201720001285")
    ('CN201720001285', 'CN201720001285', 'CN201720001285')
    >>> patent_key("CN 101551481 B"), patent_key("101551481"), patent_key("ZL98123456.7")
    ('CN101551481', 'CN101551481', 'CN98123456')
    >>> patent_key("CN2009101277538A"), patent_key("CN98123456A"), patent_key("EP99203729A")
    ('CN200910127753', 'CN98123456', None)
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or "").upper())
    if text.startswith("ZL") and (m := re.match(r"^ZL(\d{8})([0-9X])$", text)):
        return _old(m[1])  # a ZL grant carries the application number: 9 characters is 8 + check
    if m := _NEW_APPLICATION.match(text):
        return "CN" + m[1]
    if not text.startswith("ZL") and (m := _PUBLICATION.match(text)):
        return "CN" + m[1]
    if m := _OLD_APPLICATION.match(text):
        return "CN" + m[1]
    if m := re.match(r"^CN(\d{8})[A-Z]?$", text):
        return _old(m[1])
    return None


def _old(digits: str) -> str | None:
    return "CN" + digits if _OLD_APPLICATION.match(digits + "0") else None


def cited_patent_keys(text: str | None) -> list[str]:
    """The patent keys cited in a listing's text, distinct, in order of appearance.

    >>> cited_patent_keys("根据专利技术（ZL201720001285.X），申请号：201510383840.5；CNA20050658.7")
    ['CN201720001285', 'CN201510383840']
    """
    found = (patent_key(m[1]) for m in _CITED.finditer(unicodedata.normalize("NFKC", text or "")))
    return list(dict.fromkeys(k for k in found if k))


def listing_keys(publication_number: str | None, application_number: str | None, *texts: str | None) -> list[str]:
    """Every certain key of a listing: its own numbers (publication, then application), then the
    numbers its text cites.

    >>> listing_keys("CN101551481B", "CN200910127753.8", "根据专利ZL201720001285.X")
    ['CN101551481', 'CN200910127753', 'CN201720001285']
    """
    own = [k for k in (patent_key(publication_number), patent_key(application_number)) if k]
    return list(dict.fromkeys(own + [k for t in texts for k in cited_patent_keys(t)]))


_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
# Words that begin half of all patent titles: a prefix made of them blocks everything together.
_GENERIC_START = re.compile(r"^(?:一种|一类|基于|关于|新型|新的|高效|智能)+")


def normalise_title(title: str | None) -> str:
    """Lower case, full-width folded, punctuation and spaces dropped.

    >>> normalise_title(" 一种 “智能”温室-控制系统（V2） ")
    '一种智能温室控制系统v2'
    """
    return _PUNCT.sub("", unicodedata.normalize("NFKC", title or "").lower())


def title_stem(title: str | None) -> str:
    """The normalised title after its generic opening words: its prefixes are the title's
    blocking keys (warehouse.entity_links picks how many characters, by block size).

    >>> title_stem("一种基于机器视觉的尺寸测量系统")
    '机器视觉的尺寸测量系统'
    """
    text = normalise_title(title)
    return _GENERIC_START.sub("", text) or text


_OWNER_END = re.compile(r"大学|学院|研究院|研究所|科学院|研究中心|医院|公司|集团|实验室|工作站")
_HAN_RUN = re.compile(r"[\u4e00-\u9fa5]{2,16}$")
# What stands before a name in a sentence: the name is what follows the last of them.
_OWNER_CUT = re.compile(r"根据|依托|联合|项目|成果|技术|产品|本|该|由|是|与|和|及|为|在|经|以|同|的|对|向|从|了|于|被")


def owner_of(*texts: str | None) -> str:
    """The first institution a listing's text names (the owner where the source has no field
    for it), without the verbs before it; '' when none is named.

    >>> owner_of("本产品根据泉州师范学院专利技术，利用光来听呼吸率")
    '泉州师范学院'
    >>> owner_of("项目由青海省畜牧兽医科学院、甘肃农业大学共同完成")
    '青海省畜牧兽医科学院'
    """
    # Found from the kind of institution back (a regex scanning for the name itself first
    # backtracks at every character of the text: most of the time of a million listings' features).
    for text in texts:
        text = unicodedata.normalize("NFKC", text or "")
        for end in _OWNER_END.finditer(text):
            head = _HAN_RUN.search(text, max(0, end.start() - 16), end.start())
            name = _OWNER_CUT.split(head[0] + end[0])[-1] if head else ""
            if len(name) >= 4:
                return name
    return ""


def shingles(text: str | None, size: int = 2, limit: int = 400) -> list[str]:
    """Distinct character n-grams of the text's first `limit` characters (punctuation dropped):
    what two descriptions of one technology share even when reworded.

    >>> shingles("锂电池，隔膜", limit=10)
    ['锂电', '电池', '池隔', '隔膜']
    """
    core = normalise_title((text or "")[:limit])
    return list(dict.fromkeys(core[i : i + size] for i in range(max(0, len(core) - size + 1))))


def sampled_shingles(text: str | None, rate: int = 4, limit: int = 400) -> list[int]:
    """The text's character bigrams (as `shingles`) hashed to 32 bits, keeping only those whose
    hash is 0 modulo `rate`: the same shingle is kept in every text, so the overlap of two samples
    estimates the overlap of the texts, at a fraction of the memory (a million listings' shingles
    must fit in RAM). Hashed with numpy, not per shingle: this runs for every listing of a full pass.

    >>> len(sampled_shingles("锂电池隔膜", rate=1)) == len(shingles("锂电池隔膜"))
    True
    >>> sampled_shingles("锂电池，隔膜!") == sampled_shingles("锂电池隔膜")
    True
    """
    core = normalise_title((text or "")[:limit])
    if len(core) < 2:
        return []
    points = np.frombuffer(core.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    hashes = _mix((points[:-1] << np.uint64(21)) | points[1:])
    return np.unique(hashes[hashes % np.uint64(rate) == 0]).tolist()


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, cut to 32 bits: bigrams that differ in one character hash apart."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return x & np.uint64(0xFFFFFFFF)


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Overlap coefficient of two sets: shared / the smaller (a short text inside a long one is 1).

    >>> overlap(["a", "b"], ["a", "b", "c"])
    1.0
    """
    left, right = set(a), set(b)
    return len(left & right) / min(len(left), len(right)) if left and right else 0.0


_MARKS = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+|[一二三四五六七八九十百]")


def title_core(title: str | None) -> str:
    """The normalised title without its generic opening (一种, 一类 …): what two copies of one
    listing share even when one source drops 一种.

    >>> title_core("一种拉杆箱包的按钮控制式刹车装置") == title_core("拉杆箱包的按钮控制式刹车装置")
    True
    """
    text = normalise_title(title)
    return re.sub(r"^(?:一种|一类)", "", text)


def title_marks(title: str | None) -> str:
    """The numbers, Latin words and Chinese numerals of a title, in order: what tells variety
    兰天33号 from 兰天35号 and a four-blade pump from an eight-blade one ('' when none).

    >>> title_marks("小麦品种兰天33号"), title_marks("一种椭圆非圆齿轮驱动的四叶片差速泵")
    ('33', '四')
    """
    return " ".join(_MARKS.findall(_GENERIC_START.sub("", normalise_title(title))))


def entity_features(listing: dict) -> dict:
    """What the probabilistic model compares for one listing (None: unknown, which Splink
    treats as neither for nor against). `listing` has the warehouse's listing columns."""
    # Normalised once here: every helper below normalises again, which costs nothing on text
    # already in NFKC (CPython checks first) and most of a listing's time otherwise.
    text = unicodedata.normalize("NFKC", " ".join(t for t in (listing.get("abstract"), listing.get("claims")) if t))
    title = unicodedata.normalize("NFKC", listing.get("title") or "")
    owners = [a for a in listing.get("applicants") or [] if a]
    owner = normalise_title(owners[0]) if owners else normalise_title(owner_of(text))
    keys = listing_keys(listing.get("publication_number"), listing.get("application_number"), title, text)
    field = (listing.get("field") or "").strip()
    published = listing.get("published_on")
    return {
        "unique_id": listing["listing_id"],
        "title_core": title_core(title) or None,
        "title_stem": title_stem(title) or None,
        "title_marks": title_marks(title),
        "text": sampled_shingles(text) or None,
        "owner": owner or None,
        "field": field or None,
        "field_group": field.split("-")[0] or None,
        "published": str(published)[:7] if published else None,  # the month: re-listings drift by days
        "price": listing.get("price_wan"),
        "patent_key": keys[0] if keys else None,  # what Splink compares and blocks on
        "patent_keys": keys,  # all of them: a certain link is any key shared
    }


def shipped_model() -> dict:
    """The Splink model the project ships (matching/models/entity-v1.json: m and u estimated on
    the 2,810 real achievements of Zhejiang's market), for a warehouse too small to train on."""
    import json
    from importlib import resources

    return json.loads(resources.files("matching").joinpath("models", "entity-v1.json").read_text(encoding="utf-8"))
