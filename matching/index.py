"""The listing index: immutable BM25 segments (words + character bigrams), kept on disk.

New or changed listings go into a new segment; older copies of the same listing are masked,
never rewritten. So an unchanged listing is never segmented again, adding 10,000 listings
costs 10,000 listings' work, and a segment loads memory-mapped. `compact()` merges segments
when there are too many.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from matching.text import char_bigrams, normalise, tokenize_normalised

TITLE_REPEAT = 2  # title and keywords count twice in the word document
CLAIMS_CHARS = 2_000  # claims beyond this add little but cost segmentation time
BIGRAM_CHARS = 400  # the bigram recall net covers the title and the start of the abstract
EMPTY = "\u0000"  # bm25s needs at least one token per document


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
            listing_id=r["listing_id"], title=r.get("title") or "", abstract=r.get("abstract") or "",
            claims=r.get("claims") or "", keywords=tuple(r.get("keywords") or ()), field=r.get("field"),
            kind=r.get("kind") or "patent", ipc=tuple(r.get("ipc") or ()), maturity=r.get("maturity"),
            cooperation=r.get("cooperation"), price_wan=r.get("price_wan"),
            region=r.get("region") or _region_from_applicants(r.get("applicants")),
            legal_status=r.get("legal_status"), published_on=str(published)[:10] if published else None,
        )

    def text_fields(self) -> dict[str, str]:
        """The normalised text the engine matches against (claims cut at CLAIMS_CHARS)."""
        return {
            "title": normalise(self.title).replace("\n", " "), "abstract": normalise(self.abstract),
            "keywords": normalise(" ".join(self.keywords)), "claims": normalise(self.claims[:CLAIMS_CHARS]),
        }

    def facts(self) -> dict:
        return {k: v for k in ("field", "kind", "ipc", "maturity", "cooperation", "price_wan", "region",
                               "legal_status", "published_on") if (v := getattr(self, k))}


def _region_from_applicants(applicants) -> str | None:
    return " ".join(applicants) if applicants else None


def matching_text(fields: dict[str, str]) -> str:
    """One text for coverage checks; title and abstract come first, so a span in the first
    two lines points into `title + "\n" + abstract`."""
    return "\n".join((fields["title"], fields["abstract"], fields["keywords"], fields["claims"]))


def word_document(fields: dict[str, str]) -> list[str]:
    emphasised = tokenize_normalised(fields["title"] + "\n" + fields["keywords"])
    body = tokenize_normalised(fields["abstract"] + "\n" + fields["claims"])
    return emphasised * TITLE_REPEAT + body or [EMPTY]


def bigram_document(fields: dict[str, str]) -> list[str]:
    return char_bigrams(fields["title"] + " " + fields["abstract"][:BIGRAM_CHARS]) or [EMPTY]


class Blobs:
    """Variable-length byte records in one array + offsets (memory-mapped when loaded)."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray) -> None:
        self.data, self.offsets = data, offsets

    @classmethod
    def from_records(cls, records: Iterable[bytes]) -> Blobs:
        records = list(records)
        offsets = np.zeros(len(records) + 1, dtype=np.int64)
        np.cumsum([len(r) for r in records], out=offsets[1:])
        return cls(np.frombuffer(b"".join(records), dtype=np.uint8), offsets)

    def __getitem__(self, i: int) -> bytes:
        start, end = self.offsets[i:i + 2].tolist()
        return self.data[start:end].tobytes()

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.data.npy", self.data)
        np.save(folder / f"{name}.offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path, name: str, mmap: bool) -> Blobs:
        # Offsets are small (8 bytes a record) and read per candidate: keep them in memory.
        return cls(np.load(folder / f"{name}.data.npy", mmap_mode="r" if mmap else None),
                   np.load(folder / f"{name}.offsets.npy"))


@dataclass
class Segment:
    ids: list[str]
    words: bm25s.BM25
    bigrams: bm25s.BM25
    records: Blobs  # per listing: JSON [normalised text fields, facts]
    alive: np.ndarray  # 1.0, or 0.0 once a later segment holds a newer copy

    @classmethod
    def build(cls, listings: Sequence[Listing]) -> Segment:
        fields = [listing.text_fields() for listing in listings]
        words = bm25s.BM25()
        words.index([word_document(f) for f in fields], show_progress=False)
        bigrams = bm25s.BM25()
        bigrams.index([bigram_document(f) for f in fields], show_progress=False)
        records = Blobs.from_records(
            json.dumps([f, l.facts()], ensure_ascii=False).encode("utf-8") for l, f in zip(listings, fields)
        )
        return cls([l.listing_id for l in listings], words, bigrams, records,
                   np.ones(len(listings), dtype=np.float32))

    def record(self, i: int) -> tuple[dict[str, str], dict]:
        fields, facts = json.loads(self.records[i])
        return fields, facts

    def document_frequencies(self) -> dict[str, int]:
        indptr = np.asarray(self.words.scores["indptr"])
        counts = np.diff(indptr)
        return {term: int(counts[i]) for term, i in self.words.vocab_dict.items() if i < len(counts)}

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.words.save(folder / "words", show_progress=False)
        self.bigrams.save(folder / "bigrams", show_progress=False)
        self.records.save(folder, "records")
        (folder / "ids.json").write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, alive: np.ndarray, mmap: bool = True, backend: str = "numpy") -> Segment:
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        bm25 = {name: bm25s.BM25.load(folder / name, mmap=mmap, show_progress=False, backend=backend)
                for name in ("words", "bigrams")}
        return cls(ids, bm25["words"], bm25["bigrams"], Blobs.load(folder, "records", mmap), alive)


@dataclass
class ListingIndex:
    """All segments, the live position of every listing, and global term statistics."""

    segments: list[Segment] = field(default_factory=list)
    where: dict[str, tuple[int, int]] = field(default_factory=dict)  # listing_id → (segment, row)
    doc_freq: dict[str, int] = field(default_factory=dict)
    watermark: str | None = None  # the caller's "indexed up to" marker (e.g. last_changed), kept on save

    def __len__(self) -> int:
        return len(self.where)

    def idf(self, term: str) -> float:
        n = max(len(self), 1)
        df = self.doc_freq.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def add(self, listings: Iterable[Listing], segment_size: int = 100_000, workers: int = 1,
            folder: Path | None = None) -> int:
        """Index new or changed listings in new segments; older copies are masked. Returns how many.

        With `workers` > 1 and a `folder`, segments are built in parallel forked processes, each
        saved into the folder and then loaded memory-mapped."""
        batch = list({l.listing_id: l for l in listings}.values())
        chunks = [batch[start:start + segment_size] for start in range(0, len(batch), segment_size)]
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
        self._count_terms(segment, +1)

    def _count_terms(self, segment: Segment, sign: int) -> None:
        # Masked copies keep counting until compaction: a small, temporary overestimate of df.
        for term, df in segment.document_frequencies().items():
            self.doc_freq[term] = self.doc_freq.get(term, 0) + sign * df

    def remove(self, listing_ids: Iterable[str]) -> None:
        """Mask listings that left the supply (inactive); compaction drops them for good."""
        for listing_id in listing_ids:
            if (at := self.where.pop(listing_id, None)) is not None:
                self.segments[at[0]].alive[at[1]] = 0.0

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        saved = {p.name for p in folder.glob("segment-*")}
        for number, segment in enumerate(self.segments):
            name = f"segment-{number:04d}"
            if name not in saved:
                segment.save(folder / name)
            np.save(folder / f"{name}.alive.npy", segment.alive)
        manifest = {"segments": len(self.segments), "watermark": self.watermark, "doc_freq": self.doc_freq}
        (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, mmap: bool = True, backend: str = "numpy") -> ListingIndex:
        """Load a saved index; backend "numba" retrieves ~5x faster after a one-time JIT compile."""
        folder = Path(folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        index = cls(doc_freq=manifest["doc_freq"], watermark=manifest.get("watermark"))
        for number in range(manifest["segments"]):
            name = f"segment-{number:04d}"
            alive = np.load(folder / f"{name}.alive.npy")
            segment = Segment.load(folder / name, alive, mmap, backend)
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
        return Listing(listing_id, fields["title"], fields["abstract"], fields["claims"],
                       tuple(fields["keywords"].split()), **facts)


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
    return [Segment.load(Path(path), np.ones(len(chunk), dtype=np.float32)) for path, chunk in zip(built, chunks)]


def build_index(listings: Iterable[Listing]) -> ListingIndex:
    """An in-memory index of the given listings."""
    index = ListingIndex()
    index.add(listings)
    return index
