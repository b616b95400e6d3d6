"""Normalisation and tokenisation of mixed Chinese / Latin technical text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jieba

from matching.vocabulary import DOMAIN_WORDS, STOP_WORDS

_CJK = re.compile(r"[\u4e00-\u9fff]")
_KEEP = re.compile(r"[\w.+%-]+")  # a jieba token worth keeping has a word character


def normalise(text: str) -> str:
    """Full-width → half-width (NFKC) and Latin lower-case; the original is kept elsewhere.

    >>> normalise("ＢＭＳ电池管理")
    'bms电池管理'
    """
    return unicodedata.normalize("NFKC", text or "").lower()


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    # Built on first use, not at import: loading jieba's dictionary takes about a second.
    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    for word in DOMAIN_WORDS:
        tokenizer.add_word(normalise(word), freq=50_000)
    for word in STOP_WORDS:  # as words of their own, so jieba cuts them off neighbours (急需|解决)
        if len(word) >= 2:
            tokenizer.add_word(word, freq=100_000)
    return tokenizer


def _is_content_token(token: str) -> bool:
    if token in STOP_WORDS or not _KEEP.fullmatch(token):
        return False
    return len(token) >= 2  # single characters (CJK or Latin) carry too little meaning alone


def tokenize(text: str) -> list[str]:
    """Content words of a text, in order (duplicates kept for term frequency).

    >>> tokenize("我公司急需锂电池BMS方案")
    ['锂电池', 'bms', '方案']
    """
    tokens = _tokenizer().lcut(normalise(text), HMM=True)
    return [t for t in (tok.strip() for tok in tokens) if t and _is_content_token(t)]
