"""The listing index: immutable BM25 segments (words + character bigrams), kept on disk.

New or changed listings go into a new segment; older copies of the same listing are masked,
never rewritten. So an unchanged listing is never segmented again, adding 10,000 listings
costs 10,000 listings' work, and a segment loads memory-mapped. `compact()` merges segments
when there are too many.
"""

from __future__ import annotations

import json
import mmap
import shutil
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import bm25s
import numpy as np
import orjson

from matching.errors import IndexCorrupt, IndexFormatChanged
from matching.text import is_content_token, normalise, raw_tokens, tokenize_normalised

COMMON_FLOOR = 1_000  # a term in fewer documents is never "common", however small the segment
TITLE_REPEAT = 2  # title and keywords count twice in the word document
CLAIMS_CHARS = 2_000  # claims beyond this add little but cost segmentation time
BIGRAM_CHARS = 400  # the bigram recall net covers the title and the start of the abstract
# BM25 length normalisation: listings range from a bare title to a long abstract with claims, and
# the usual b = 0.75 let short title-only records crowd out the listings that explain a solution.
WORD_BM25 = {"k1": 1.2, "b": 0.5}
BIGRAM_BM25 = {"k1": 1.5, "b": 0.75}  # as the bigram baseline: its evidence must not be weaker
FORMAT = 4  # of the files on disk; an index in another format is rebuilt, not read


@dataclass(frozen=True)
class Listing:
    """A patent or achievement as the engine sees it (plain data, from any source)."""

    listing_id: str
    title: str
    abstract: str = ""
    claims: str = ""
    keywords: tuple[str, ...] = ()
    field: str | None = None
    kind: str = "patent"
    ipc: tuple[str, ...] = ()
    maturity: str | None = None
    cooperation: str | None = None
    price_wan: float | None = None
    region: str | None = None
    legal_status: str | None = None
    published_on: str | None = None  # ISO date

    @classmethod
    def from_record(cls, r: dict) -> Listing:
        published = r.get("published_on")
        return cls(
            listing_id=r["listing_id"],
            title=r.get("title") or "",
            abstract=r.get("abstract") or "",
            claims=r.get("claims") or "",
            keywords=tuple(r.get("keywords") or ()),
            field=r.get("field"),
            kind=r.get("kind") or "patent",
            ipc=tuple(r.get("ipc") or ()),
            maturity=r.get("maturity"),
            cooperation=r.get("cooperation"),
            price_wan=r.get("price_wan"),
            region=r.get("region") or _region_from_applicants(r.get("applicants")),
            legal_status=r.get("legal_status"),
            published_on=str(published)[:10] if published else None,
        )

    def text_fields(self) -> dict[str, str]:
        """The normalised text the engine matches against (claims cut at CLAIMS_CHARS)."""
        # One normalise call for the four fields: per-call overhead dominates on short texts.
        parts = (self.title, self.abstract, " ".join(self.keywords), self.claims[:CLAIMS_CHARS])
        title, abstract, keywords, claims = normalise("\x1f".join(p.replace("\x1f", " ") for p in parts)).split("\x1f")
        return {"title": title.replace("\n", " "), "abstract": abstract, "keywords": keywords, "claims": claims}

    def facts(self) -> dict:
        return {
            k: v
            for k in (
                "field",
                "kind",
                "ipc",
                "maturity",
                "cooperation",
                "price_wan",
                "region",
                "legal_status",
                "published_on",
            )
            if (v := getattr(self, k))
        }


def _region_from_applicants(applicants) -> str | None:
    return " ".join(applicants) if applicants else None


def matching_text(fields: dict[str, str]) -> str:
    """One text for coverage checks; title and abstract come first, so a span in the first
    two lines points into `title + "\n" + abstract`."""
    return "\n".join((fields["title"], fields["abstract"], fields["keywords"], fields["claims"]))


def word_document(fields: dict[str, str]) -> list[str]:
    """The word tokens BM25 indexes for a listing (title and keywords TITLE_REPEAT times): the
    reference for `WordTable`, which computes the same for a whole segment at once."""
    emphasised = tokenize_normalised(fields["title"] + "\n" + fields["keywords"])
    return emphasised * TITLE_REPEAT + tokenize_normalised(fields["abstract"]) + tokenize_normalised(fields["claims"])


def bigram_text(fields: dict[str, str]) -> str:
    return fields["title"] + " " + fields["abstract"][:BIGRAM_CHARS]


@lru_cache(maxsize=1)
def _alnum_table() -> np.ndarray:
    # The same test as `char_bigrams` (str.isalnum), for every code point, built once.
    return np.fromiter((chr(c).isalnum() for c in range(0x110000)), dtype=bool, count=0x110000)


def bigram_key(bigram: str) -> int:
    """A character bigram as one integer (two 21-bit code points), the bigram index's term."""
    return ord(bigram[0]) << 21 | ord(bigram[1])


def code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(code point, document number) of every letter, digit or CJK character of the texts (the
    characters `char_bigrams` keeps), as arrays rather than one Python string per character."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    documents = np.repeat(np.arange(len(texts), dtype=np.int32), lengths)
    kept = _alnum_table()[points]
    return points[kept], documents[kept]


def bigram_postings(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(bigram keys, document numbers) of `char_bigrams(text)` for every text."""
    points, documents = code_points(texts)
    points = points.astype(np.uint64)
    same = documents[:-1] == documents[1:]
    return ((points[:-1] << np.uint64(21)) | points[1:])[same], documents[:-1][same]


def release_pages(array: np.ndarray) -> None:
    """Unmap the pages of a memory-mapped array that reading has mapped in. They stay in the OS
    page cache (the next read maps them back cheaply), but not in this process's resident set:
    on this kernel a read maps whole large folios, so a few thousand queries would otherwise
    keep gigabytes of the index resident."""
    if (mapped := getattr(array, "_mmap", None)) is not None:
        mapped.madvise(mmap.MADV_DONTNEED)


def distinct_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and how often each occurs: `np.unique(..., return_counts=True)`,
    which is ten times slower here than a plain sort."""
    ordered = np.sort(values)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, np.int64)
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])


def bm25_matrix(
    terms: np.ndarray, docs: np.ndarray, tf: np.ndarray, n_terms: int, n_docs: int, k1: float = 1.5, b: float = 0.75
) -> dict[str, np.ndarray | int]:
    """Lucene BM25 weights as a term-major (CSC) matrix, the layout bm25s retrieves from, from
    the distinct (term, doc) pairs in term-major order and their term frequencies: one
    vectorised pass instead of a Python loop per token."""
    lengths = np.bincount(docs, weights=tf, minlength=n_docs)
    df = np.bincount(terms, minlength=n_terms)
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths[docs] / max(lengths.mean(), 1.0))
    indptr = np.zeros(n_terms + 2, dtype=np.int64)  # one more, empty column: the "no known term" query
    np.cumsum(df, out=indptr[1 : n_terms + 1])
    indptr[-1] = indptr[-2]
    return {
        "data": (idf[terms] * tf / (tf + norm)).astype(np.float32),
        "indices": docs.astype(np.int32),
        "indptr": indptr,
        "num_docs": n_docs,
    }


@dataclass
class Postings:
    """A BM25 matrix over one segment, its vocabulary sorted (strings or bigram keys), searched
    with bm25s. Queries are looked up by binary search, so no vocabulary dict is held in memory."""

    terms: np.ndarray
    matrix: dict
    backend: str = "numpy"
    _model: bm25s.BM25 | None = None

    @classmethod
    def build(
        cls, terms: np.ndarray, term_ids: np.ndarray, doc_ids: np.ndarray, n_docs: int, **bm25: float
    ) -> Postings:
        """From one (term number, doc) entry per token occurrence; `terms` is the sorted vocabulary."""
        pairs, tf = distinct_counts(term_ids.astype(np.int64) * n_docs + doc_ids)
        pair_terms, pair_docs = np.divmod(pairs, n_docs)
        return cls(terms, bm25_matrix(pair_terms, pair_docs, tf, len(terms), n_docs, **bm25))

    def _positions(self, terms: Sequence) -> np.ndarray:
        """Column of each term, or -1 where this segment does not know it."""
        if not len(terms) or not len(self.terms):
            return np.full(len(terms), -1, dtype=np.int64)
        wanted = np.asarray(terms, dtype=self.terms.dtype if self.terms.dtype.kind == "u" else None)
        at = np.minimum(np.searchsorted(self.terms, wanted), len(self.terms) - 1)
        return np.where(self.terms[at] == wanted, at, -1)

    def frequencies(self, terms: Sequence) -> np.ndarray:
        """How many of the segment's documents contain each term."""
        at = self._positions(terms)
        indptr = self.matrix["indptr"]
        return np.where(at >= 0, indptr[at + 1] - indptr[at], 0)

    def lookup(self, terms: Sequence, max_share: float = 1.0) -> list[int]:
        """Column numbers of the terms this segment knows (the empty column if none).

        Terms in more than `max_share` of the segment's documents (and in more than COMMON_FLOOR)
        are left out, the rarest one kept if that leaves none: they barely move BM25 ranks but
        are its longest posting lists, so most of its time and memory."""
        found = self._positions(terms)
        found = found[found >= 0]
        if not len(found):
            return [len(self.terms)]
        if max_share < 1.0:
            indptr = self.matrix["indptr"]
            df = indptr[found + 1] - indptr[found]
            common = df > max(max_share * self.matrix["num_docs"], COMMON_FLOOR)
            found = found[~common] if not common.all() else found[[np.argmin(df)]]
        return found.tolist()

    def retrieve(self, queries: list[list[int]], k: int, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._model is None:
            model = bm25s.BM25(backend=self.backend)
            model.scores, model.vocab_dict = self.matrix, {"": len(self.terms)}
            model.nonoccurrence_array = None  # only BM25L/BM25+ use it
            model.unique_token_ids_set = range(len(self.terms) + 1)  # O(1) membership, no set of ids
            self._model = model
        return self._model.retrieve(queries, k=k, show_progress=False, weight_mask=mask, n_threads=0)

    def release(self) -> None:
        for part in (self.terms, self.matrix["data"], self.matrix["indices"]):
            release_pages(part)

    def problem(self, name: str, n_docs: int, terms_kind: str) -> str | None:
        """What makes these arrays unusable as one segment's BM25 matrix over `n_docs` listings
        (None if nothing): checks of types and shapes only, so the large arrays are not read."""
        data, indices, indptr = self.matrix["data"], self.matrix["indices"], self.matrix["indptr"]
        if self.terms.ndim != 1 or self.terms.dtype.kind != terms_kind:
            return f"{name}.terms holds {self.terms.dtype} {self.terms.shape}, not terms of kind {terms_kind!r}"
        expected = (("data", data, np.float32), ("indices", indices, np.int32), ("indptr", indptr, np.int64))
        for part, values, dtype in expected:
            if values.ndim != 1 or values.dtype != dtype:
                return f"{name}.{part} holds {values.dtype} {values.shape}, not {np.dtype(dtype)}"
        if len(indptr) != len(self.terms) + 2 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            return f"{name}.indptr does not fit {len(self.terms)} terms"
        if not indptr[-1] == len(data) == len(indices):
            return f"{name}.data and .indices hold {len(data)} and {len(indices)} entries, indptr says {indptr[-1]}"
        if self.matrix["num_docs"] != n_docs:
            return f"{name} counts {self.matrix['num_docs']} listings, not {n_docs}"
        return None

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.terms.npy", self.terms)
        for part in ("data", "indices", "indptr"):
            np.save(folder / f"{name}.{part}.npy", self.matrix[part])

    @classmethod
    def load(cls, folder: Path, name: str, n_docs: int, mmap: bool, backend: str) -> Postings:
        mode: Literal["r"] | None = "r" if mmap else None
        matrix = {part: np.load(folder / f"{name}.{part}.npy", mmap_mode=mode) for part in ("data", "indices")}
        # indptr is read for every query term: small enough to keep in memory.
        matrix["indptr"], matrix["num_docs"] = np.load(folder / f"{name}.indptr.npy"), n_docs
        return cls(np.load(folder / f"{name}.terms.npy", mmap_mode=mode), matrix, backend)


@dataclass
class WordTable:
    """Every content word of a segment's listings as arrays: its term number (in the sorted
    vocabulary), listing row, and part (0 title + keywords, 1 abstract, 2 claims).

    Segmenting is the one step done per listing; vocabulary, stop-word filtering and counting
    run once per distinct word or as array operations."""

    vocabulary: np.ndarray
    term: np.ndarray
    row: np.ndarray
    part: np.ndarray

    @classmethod
    def of(cls, fields: Sequence[dict[str, str]]) -> WordTable:
        # Tokens become numbers text by text, so only one copy of each distinct word is kept.
        # A dict, not polars or Arrow: segments are built in forked processes, and their
        # thread pools do not survive a fork.
        numbers: dict[str, int] = {}

        def number(token: str) -> int:
            return numbers.setdefault(token, len(numbers))

        flat = array("q")
        lengths = []
        for f in fields:
            for text in (f["title"] + "\n" + f["keywords"], f["abstract"], f["claims"]):
                before = len(flat)
                flat.extend(map(number, raw_tokens(text)))
                lengths.append(len(flat) - before)
        ids = np.frombuffer(flat, dtype=np.int64) if flat else np.zeros(0, np.int64)
        first_seen = list(numbers)
        order = sorted(range(len(first_seen)), key=first_seen.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        ids, distinct = rank[ids], [first_seen[i] for i in order]
        content = np.fromiter(map(is_content_token, distinct), dtype=bool, count=len(distinct))
        renumber = np.cumsum(content) - 1
        del flat
        counts = np.asarray(lengths, dtype=np.int64)
        row = np.repeat(np.repeat(np.arange(len(fields), dtype=np.int32), 3), counts)
        part = np.repeat(np.tile(np.arange(3, dtype=np.int8), len(fields)), counts)
        kept = content[ids]
        vocabulary = np.array([w for w, c in zip(distinct, content, strict=True) if c], dtype=str)
        return cls(vocabulary, renumber[ids[kept]].astype(np.int32), row[kept], part[kept])

    def postings(self, n_docs: int) -> Postings:
        emphasised = self.part == 0
        term = np.concatenate([self.term[emphasised]] * (TITLE_REPEAT - 1) + [self.term])
        row = np.concatenate([self.row[emphasised]] * (TITLE_REPEAT - 1) + [self.row])
        return Postings.build(self.vocabulary, term, row, n_docs, **WORD_BM25)

    def shown_words(self, n_docs: int) -> Blobs:
        """Per listing, the term numbers of its distinct words in title, keywords and abstract:
        kept with the listing so that fuzzy rescoring never segments a candidate again."""
        shown = self.part < 2
        pairs, _ = distinct_counts(self.row[shown].astype(np.int64) * len(self.vocabulary) + self.term[shown])
        rows, terms = np.divmod(pairs, max(len(self.vocabulary), 1))
        return Blobs(terms.astype(np.int32), np.searchsorted(rows, np.arange(n_docs + 1)).astype(np.int64))


def _bigram_postings(texts: list[str], chunk: int = 10_000) -> tuple[Postings, Characters]:
    """The bigram index of the texts, and how many texts contain each character."""
    # One sort of (key, row) gives the term-major order directly (42 + 20 bits). Packed chunk by
    # chunk, so the intermediate arrays stay small next to the packed ones.
    packed = []
    df = np.zeros(0x110000, dtype=np.int64)
    for start in range(0, len(texts), chunk):
        keys, rows = bigram_postings(texts[start : start + chunk])
        packed.append(keys << np.uint64(20) | (rows + start).astype(np.uint64))
        df += character_counts(texts[start : start + chunk])
    pairs, tf = distinct_counts(np.concatenate(packed) if packed else np.zeros(0, np.uint64))
    del packed
    keys, pairs_per_key = distinct_counts(pairs >> np.uint64(20))
    term = np.repeat(np.arange(len(keys)), pairs_per_key)
    rows = (pairs & np.uint64(0xFFFFF)).astype(np.int64)
    points = np.flatnonzero(df)
    return (
        Postings(keys, bm25_matrix(term, rows, tf, len(keys), len(texts), **BIGRAM_BM25)),
        Characters(points.astype(np.uint32), df[points]),
    )


def character_counts(texts: Sequence[str]) -> np.ndarray:
    """For every code point, how many of the texts contain it: a texts × characters-present
    table of flags, summed per column (a sort of the (character, text) pairs is 8x slower)."""
    points, documents = code_points(texts)
    present = np.zeros(0x110000, dtype=bool)
    present[points] = True
    column = np.cumsum(present) - 1
    width = int(column[-1]) + 1
    flags = np.zeros((len(texts), max(width, 1)), dtype=bool)
    flags[documents, column[points]] = True
    counts = np.zeros(0x110000, dtype=np.int64)
    counts[present] = flags.sum(axis=0)[:width]
    return counts


@dataclass
class Characters:
    """How many of a segment's listings contain each character (in the bigram text)."""

    points: np.ndarray  # sorted code points
    df: np.ndarray

    def frequencies(self, characters: Sequence[str]) -> np.ndarray:
        if not len(self.points):
            return np.zeros(len(characters), dtype=np.int64)
        wanted = np.fromiter(map(ord, characters), dtype=np.uint32, count=len(characters))
        at = np.minimum(np.searchsorted(self.points, wanted), len(self.points) - 1)
        return np.where(self.points[at] == wanted, self.df[at], 0)

    def save(self, folder: Path) -> None:
        np.save(folder / "characters.npy", np.stack([self.points.astype(np.int64), self.df]))

    @classmethod
    def load(cls, folder: Path) -> Characters:
        points, df = np.load(folder / "characters.npy")
        return cls(points.astype(np.uint32), df)


class Blobs:
    """Variable-length records (bytes, or numbers) in one array + offsets (memory-mapped when loaded)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data, self.offsets = data, offsets

    @classmethod
    def from_records(cls, records: Iterable[bytes]) -> Blobs:
        records = list(records)
        offsets = np.zeros(len(records) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in records], out=offsets[1:])
        return cls(np.frombuffer(b"".join(records), dtype=np.uint8), offsets)

    def __getitem__(self, i: int) -> bytes:
        return self.rows(i).tobytes()

    def rows(self, i: int) -> np.ndarray:
        start, end = self.offsets[i : i + 2].tolist()
        return self.data[start:end]

    def problem(self, name: str, records: int, dtype: type) -> str | None:
        """What makes these arrays unusable as `records` records of `dtype` (None if nothing)."""
        data, offsets = self.data, self.offsets
        if data.ndim != 1 or data.dtype != dtype:
            return f"{name}.data holds {data.dtype} {data.shape}, not {np.dtype(dtype)}"
        if offsets.dtype != np.int64 or offsets.shape != (records + 1,):
            return f"{name}.offsets holds {offsets.dtype} {offsets.shape}, not {records + 1} int64 offsets"
        if offsets[0] != 0 or offsets[-1] != len(data) or np.any(np.diff(offsets) < 0):
            return f"{name}.offsets do not fit its {len(data)} data entries"
        return None

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.data.npy", self.data)
        np.save(folder / f"{name}.offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path, name: str, mmap: bool) -> Blobs:
        # Offsets are small (8 bytes a record) and read per candidate: keep them in memory.
        return cls(
            np.load(folder / f"{name}.data.npy", mmap_mode="r" if mmap else None),
            np.load(folder / f"{name}.offsets.npy"),
        )


@dataclass
class Segment:
    ids: list[str]
    words: Postings
    bigrams: Postings
    records: Blobs  # per listing: JSON [normalised text fields, facts]
    shown: Blobs  # per listing: term numbers (in `words`) of its title, keywords and abstract
    characters: Characters
    alive: np.ndarray  # 1.0, or 0.0 once a later segment holds a newer copy

    @classmethod
    def build(cls, listings: Sequence[Listing]) -> Segment:
        fields = [listing.text_fields() for listing in listings]
        table = WordTable.of(fields)
        records = Blobs.from_records(
            orjson.dumps([f, listing.facts()]) for listing, f in zip(listings, fields, strict=True)
        )
        bigrams, characters = _bigram_postings([bigram_text(f) for f in fields])
        return cls(
            [listing.listing_id for listing in listings],
            table.postings(len(listings)),
            bigrams,
            records,
            table.shown_words(len(listings)),
            characters,
            np.ones(len(listings), dtype=np.float32),
        )

    def record(self, i: int) -> tuple[dict[str, str], dict]:
        fields, facts = orjson.loads(self.records[i])  # read for every rescored candidate: 3x json's speed
        return fields, facts

    def release_pages(self) -> None:
        self.words.release()
        self.bigrams.release()
        release_pages(self.records.data)
        release_pages(self.shown.data)

    def words_of(self, i: int) -> list[str]:
        """The distinct words of the listing's title, keywords and abstract."""
        return self.words.terms[self.shown.rows(i)].tolist()

    def problem(self) -> str | None:
        """What makes this loaded segment inconsistent with itself (None if nothing): a file cut
        short or replaced, arrays of another format, a mask of another length."""
        n = len(self.ids)
        if not all(isinstance(i, str) for i in self.ids):
            return "ids.json is not a list of listing ids"
        if self.alive.shape != (n,) or self.alive.dtype != np.float32 or np.any((self.alive != 0) & (self.alive != 1)):
            return f"alive mask holds {self.alive.dtype} {self.alive.shape}, not {n} flags of 0 or 1"
        return (
            self.words.problem("words", n, "U")
            or self.bigrams.problem("bigrams", n, "u")
            or self.records.problem("records", n, np.uint8)
            or self.shown.problem("shown", n, np.int32)
            or (None if self.characters.points.ndim == 1 else "characters.npy is not two rows of counts")
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.words.save(folder, "words")
        self.bigrams.save(folder, "bigrams")
        self.records.save(folder, "records")
        self.shown.save(folder, "shown")
        self.characters.save(folder)
        (folder / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, alive: np.ndarray, mmap: bool = True, backend: str = "numpy") -> Segment:
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        if not isinstance(ids, list):
            raise ValueError("ids.json is not a list")
        words, bigrams = (Postings.load(folder, name, len(ids), mmap, backend) for name in ("words", "bigrams"))
        return cls(
            ids,
            words,
            bigrams,
            Blobs.load(folder, "records", mmap),
            Blobs.load(folder, "shown", mmap),
            Characters.load(folder),
            alive,
        )


@dataclass
class ListingIndex:
    """All segments, the live position of every listing, and global term statistics."""

    segments: list[Segment] = field(default_factory=list)
    where: dict[str, tuple[int, int]] = field(default_factory=dict)  # listing_id → (segment, row)
    watermark: str | None = None  # the caller's "indexed up to" marker (e.g. last_changed), kept on save

    def __len__(self) -> int:
        return len(self.where)

    def release_pages(self) -> None:
        """Give back the memory-mapped pages read so far (see `release_pages`)."""
        for segment in self.segments:
            segment.release_pages()

    def idf(self, terms: Sequence[str]) -> list[float]:
        """Inverse document frequency of each term over all segments (masked copies count until
        compaction: a small, temporary overestimate).

        A single Chinese character is counted wherever it occurs, also inside longer words:
        coverage credits it so (槽 in 凹槽), and as a segmented word it looks rare (words hold
        it), which gave such characters the most weight in a query and all its recall slots."""
        single = np.fromiter((len(t) == 1 and "\u4e00" <= t <= "\u9fff" for t in terms), dtype=bool, count=len(terms))
        firsts = [t[0] for t in terms]
        df = sum(
            (
                np.where(single, segment.characters.frequencies(firsts), segment.words.frequencies(terms))
                for segment in self.segments
            ),
            np.zeros(len(terms)),
        )
        n = max(len(self), 1)
        return np.log(1 + (n - df + 0.5) / (df + 0.5)).tolist()

    def add(
        self, listings: Iterable[Listing], segment_size: int = 100_000, workers: int = 1, folder: Path | None = None
    ) -> int:
        """Index new or changed listings in new segments; older copies are masked. Returns how many.

        With `workers` > 1 and a `folder`, segments are built in parallel forked processes, each
        saved into the folder and then loaded memory-mapped."""
        batch = list({listing.listing_id: listing for listing in listings}.values())
        chunks = [batch[start : start + segment_size] for start in range(0, len(batch), segment_size)]
        if workers > 1 and folder is not None and len(chunks) > 1:
            for segment in _build_in_parallel(chunks, Path(folder), len(self.segments), workers):
                self._append(segment)
        else:
            for chunk in chunks:
                self._append(Segment.build(chunk))
        return len(batch)

    def _append(self, segment: Segment) -> None:
        number = len(self.segments)
        self.segments.append(segment)
        for row, listing_id in enumerate(segment.ids):
            if (old := self.where.get(listing_id)) is not None:
                self.segments[old[0]].alive[old[1]] = 0.0
            self.where[listing_id] = (number, row)

    def remove(self, listing_ids: Iterable[str]) -> None:
        """Mask listings that left the supply (inactive); compaction drops them for good."""
        for listing_id in listing_ids:
            if (at := self.where.pop(listing_id, None)) is not None:
                self.segments[at[0]].alive[at[1]] = 0.0

    def save(self, folder: Path) -> None:
        """Write new segments and the masks, then the manifest. Crash-safe (kill -9 at any
        point): a segment is written to a temporary folder and renamed into place, every file
        is replaced atomically, and only segments the manifest lists count as saved, so a
        segment left by an interrupted save is written again."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest_path = folder / "manifest.json"
        listed = (
            json.loads(manifest_path.read_text(encoding="utf-8")).get("segments", 0) if manifest_path.exists() else 0
        )
        for number, segment in enumerate(self.segments):
            name = f"segment-{number:04d}"
            if number >= listed or not (folder / name).is_dir():
                partial = folder / f"{name}.partial"
                shutil.rmtree(partial, ignore_errors=True)
                segment.save(partial)
                shutil.rmtree(folder / name, ignore_errors=True)
                partial.rename(folder / name)
            with open(folder / f"{name}.alive.npy.partial", "wb") as handle:
                np.save(handle, segment.alive)
            (folder / f"{name}.alive.npy.partial").replace(folder / f"{name}.alive.npy")
        manifest = {"format": FORMAT, "segments": len(self.segments), "watermark": self.watermark}
        (folder / "manifest.json.partial").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        (folder / "manifest.json.partial").replace(manifest_path)

    @classmethod
    def open(cls, folder: Path, mmap: bool = True, backend: str = "numpy") -> ListingIndex:
        """The index saved in `folder`, or an empty one where none was saved yet."""
        folder = Path(folder)
        _check_folder(folder)
        return cls.load(folder, mmap, backend) if (folder / "manifest.json").exists() else cls()

    @classmethod
    def load(cls, folder: Path, mmap: bool = True, backend: str = "numpy") -> ListingIndex:
        """Load a saved index; backend "numba" retrieves ~5x faster after a one-time JIT compile.

        IndexCorrupt (IndexFormatChanged for another version's index) when any file the manifest
        implies is missing, unreadable or inconsistent with the others: an index is used whole
        or not at all, never with a part silently left out."""
        folder = Path(folder)
        manifest = _read_manifest(folder)
        index = cls(watermark=manifest["watermark"])
        for number in range(manifest["segments"]):
            name = f"segment-{number:04d}"
            try:
                alive = np.load(folder / f"{name}.alive.npy")
                segment = Segment.load(folder / name, alive, mmap, backend)
            except (OSError, ValueError, EOFError, TypeError) as exc:  # what numpy and json raise for a bad file
                raise IndexCorrupt(f"{folder / name}: {_reason(exc)}") from exc
            if (problem := segment.problem()) is not None:
                raise IndexCorrupt(f"{folder / name}: {problem}")
            index.segments.append(segment)
            for row in np.flatnonzero(alive):
                index.where[segment.ids[row]] = (number, int(row))
        return index

    def compact(self, folder: Path | None = None) -> ListingIndex:
        """One segment with only live listings (rebuilds: run it off-peak)."""
        live = [self.listing(listing_id) for listing_id in self.where]
        fresh = ListingIndex()
        fresh.add(live)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            fresh.save(folder)
        return fresh

    def listing(self, listing_id: str) -> Listing:
        """A listing rebuilt from its stored record (its text normalised)."""
        number, row = self.where[listing_id]
        fields, facts = self.segments[number].record(row)
        facts = {**facts, "ipc": tuple(facts.get("ipc", ()))}
        return Listing(
            listing_id,
            fields["title"],
            fields["abstract"],
            fields["claims"],
            tuple(fields["keywords"].split()),
            **facts,
        )


def _reason(exc: BaseException) -> str:
    """An exception as one short line (OSError's strerror and file name, not its repr)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def _check_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise IndexCorrupt(f"{folder} is a file, not an index folder")


def _read_manifest(folder: Path) -> dict:
    """The manifest's format, segment count and watermark, checked."""
    _check_folder(folder)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path}: {_reason(exc)}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{path}: not a manifest (a JSON object with format, segments, watermark)")
    if manifest.get("format") != FORMAT:
        raise IndexFormatChanged(f"{folder} holds index format {manifest.get('format')}, this version reads {FORMAT}")
    segments, watermark = manifest.get("segments"), manifest.get("watermark")
    if type(segments) is not int or segments < 0 or not (watermark is None or isinstance(watermark, str)):
        raise IndexCorrupt(f"{path}: segments {segments!r} or watermark {watermark!r} is not what a manifest holds")
    return manifest


def remove_index(folder: Path) -> None:
    """Delete a saved index: its manifest, segments and masks (also partial ones), and nothing
    else, so an index path set to a folder that holds other files never costs them."""
    folder = Path(folder)
    _check_folder(folder)
    for entry in [*folder.glob("manifest.json*"), *folder.glob("segment-*")]:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


_CHUNKS: list[list[Listing]] = []  # set in the parent, inherited by forked builders


def _build_and_save(job: tuple[int, str]) -> str:
    number, folder = job
    Segment.build(_CHUNKS[number]).save(Path(folder))
    return folder


def _build_in_parallel(chunks: list[list[Listing]], folder: Path, first: int, workers: int) -> list[Segment]:
    import multiprocessing

    global _CHUNKS
    _CHUNKS = chunks
    jobs = [(i, str(folder / f"segment-{first + i:04d}")) for i in range(len(chunks))]
    try:
        with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
            built = pool.map(_build_and_save, jobs, chunksize=1)
    finally:
        _CHUNKS = []
    return [
        Segment.load(Path(path), np.ones(len(chunk), dtype=np.float32))
        for path, chunk in zip(built, chunks, strict=True)
    ]


def build_index(listings: Iterable[Listing]) -> ListingIndex:
    """An in-memory index of the given listings."""
    index = ListingIndex()
    index.add(listings)
    return index
