"""Normalisation and tokenisation of mixed Chinese / Latin technical text.

Matching sees normalised text (full width folded, traditional → simplified, Latin lower-cased);
the original text is kept by the caller for display.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import opencc
import rjieba

from matching.vocabulary import DOMAIN_WORDS, REMEDIES, STOP_WORDS

_LATIN = re.compile(r"[a-z0-9][a-z0-9_+-]*")  # codes and words: bms, 5g, igbt, h01m8, 20crmnti
# Bare numbers and units say how much, not what: a firm's "0.5mm" rarely meets a patent's
# "0.5mm" on the same quantity. Codes with letters stay (5g, igbt, 20crmnti, h01m8).
_MEASURE = re.compile(
    r"[0-9.]+%?|(?:[0-9.]*)(?:mm|cm|um|nm|m|mg|kg|ml|l|db|hz|khz|mhz|ghz|kw|mw|w|kv|v|wh|kwh|mah|ppm|min|h|s|mpa|gpa|pa|k)"
)
_NUMBER_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿|千)")
_MULTIPLIERS = {"千": 1e3, "万": 1e4, "亿": 1e8}


@lru_cache(maxsize=1)
def _compatibility_table() -> dict[int, str]:
    """Every BMP character that NFKC changes on its own (，→, ℃→°c ₂→2 Ⅱ→ii …), and into what."""
    table = {}
    for code in range(0xA0, 0x10000):
        if not 0xD800 <= code < 0xE000 and (folded := unicodedata.normalize("NFKC", chr(code))) != chr(code):
            table[code] = folded
    return table


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    """Full-width → half-width (NFKC), traditional → simplified, Latin lower-case.

    >>> normalise("ＢＭＳ鋰離子電池")
    'bms锂离子电池'
    """
    # Folding each character by a table first gives the same result (NFKC decomposes the folded
    # characters the same way) and the text then usually passes the quick check: 2x faster.
    folded = (text or "").translate(_compatibility_table())
    if not unicodedata.is_normalized("NFKC", folded):
        folded = unicodedata.normalize("NFKC", folded)
    if not folded.isascii():
        folded = _t2s().convert(folded)
    return folded.lower()


def chinese_number(text: str) -> float | None:
    """The first number with a Chinese magnitude in a text: '50万' → 500000.0, '2亿元' → 2e8.

    >>> chinese_number("榜额50万元")
    500000.0
    """
    m = _NUMBER_UNIT.search(text or "")
    return float(m.group(1)) * _MULTIPLIERS[m.group(2)] if m else None


@lru_cache(maxsize=1)
def _segmenter() -> rjieba.Jieba:
    # Built on first use, not at import. Domain words stay whole (质子交换膜); stop words are
    # added as words so that the segmenter cuts them off their neighbours (急需|解决).
    segmenter = rjieba.Jieba()
    for word in DOMAIN_WORDS | {w for w in REMEDIES if len(w) >= 2}:
        segmenter.add_word(normalise(word), 50_000, None)
    for word in STOP_WORDS:
        if len(word) >= 2:
            segmenter.add_word(word, 100_000, None)
    return segmenter


def add_user_words(words: Iterable[str]) -> int:
    """Extend the domain dictionary (one word per entry); returns how many were added."""
    segmenter, added = _segmenter(), 0
    for word in words:
        if word := normalise(word.split()[0] if word.split() else ""):
            segmenter.add_word(word, 50_000, None)
            added += 1
    return added


def load_user_dictionary(path: Path) -> int:
    """Words from a jieba-style user dictionary file (`word [freq] [tag]` per line)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return add_user_words(line for line in lines if line.strip() and not line.startswith("#"))


def tokenize_normalised(text: str) -> list[str]:
    """Tokens of already-normalised text.

    A single Chinese character can be a whole technical term (钛, 镀, 筘) and is kept; a single
    Latin letter or digit is noise and is dropped.
    """
    return [token for token in raw_tokens(text) if is_content_token(token)]


def raw_tokens(text: str) -> list[str]:
    """Everything the segmenter cuts, stop words and punctuation included (the index filters
    these per distinct token with `is_content_token`, not per occurrence)."""
    return _segmenter().cut(text, False)


# Whether a token is a content token, memoised: the vocabulary is small next to the number of
# tokens, and this check ran for every token of a million listings.
_KEEP: dict[str, bool] = {}
_KEEP_LIMIT = 2_000_000
MAX_TOKEN_CHARS = 24  # longer "words" are run-together codes or garbage, never matched


def is_content_token(token: str) -> bool:
    decision = _KEEP.get(token)
    if decision is None:
        if len(_KEEP) > _KEEP_LIMIT:
            _KEEP.clear()
        decision = _KEEP[token] = _is_content_token(token)
    return decision


def _is_content_token(token: str) -> bool:
    if token in STOP_WORDS or len(token) > MAX_TOKEN_CHARS:
        return False
    if "\u4e00" <= token[0] <= "\u9fff":
        return True
    return len(token) >= 2 and bool(_LATIN.fullmatch(token)) and not _MEASURE.fullmatch(token)


def tokenize(text: str) -> list[str]:
    """Content words of a text, in order (duplicates kept for term frequency).

    >>> tokenize("我公司急需锂电池BMS方案")
    ['锂电池', 'bms']
    """
    return tokenize_normalised(normalise(text))


def char_bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of normalised text, without spaces or punctuation: the
    recall net for words the segmenter splits differently on the two sides."""
    chars = [c for c in text if c.isalnum()]
    return [a + b for a, b in pairwise(chars)]


@lru_cache(maxsize=65_536)
def _normalised_char(char: str) -> str:
    return normalise(char)


def normalise_aligned(text: str) -> tuple[str, list[int], list[int]]:
    """`normalise(text)` with, for each of its characters, the [start, end) of the original
    characters it came from, so that a span found in the normalised text can be shown on the
    original one ("℃" → "°c": both characters map to the one "℃").

    >>> normalise_aligned("-20℃")
    ('-20°c', [0, 1, 2, 3, 3], [1, 2, 3, 4, 4])
    """
    text = text or ""
    target = normalise(text)
    if text.isascii():  # lower-casing ASCII keeps every position
        return target, list(range(len(text))), list(range(1, len(text) + 1))
    folded, starts, ends = [], [], []
    for i, char in enumerate(text):
        piece = _normalised_char(char)
        folded.append(piece)
        starts += [i] * len(piece)
        ends += [i + 1] * len(piece)
    joined = "".join(folded)
    if joined == target:
        return target, starts, ends
    # Whole-text normalisation differs from per-character only where characters combine (a base
    # letter and its accent, an OpenCC phrase): align the two and give each changed stretch of
    # the result the whole stretch of the original it replaced.
    out_starts, out_ends = [], []
    matcher = SequenceMatcher(None, joined, target, autojunk=False)
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and a2 - a1 == b2 - b1):
            out_starts += starts[a1:a2]
            out_ends += ends[a1:a2]
        elif b2 > b1:  # replaced or inserted: the whole original stretch (empty for an insert)
            start = starts[a1] if a1 < len(starts) else len(text)
            end = ends[a2 - 1] if a2 > a1 else start
            out_starts += [start] * (b2 - b1)
            out_ends += [end] * (b2 - b1)
    return target, out_starts, out_ends
