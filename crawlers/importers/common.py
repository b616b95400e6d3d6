"""What every importer needs: text files in whatever encoding brokers download, CSV rows
numbered as records, the item a row becomes when it cannot be read, and small normalisers
(US publication numbers and their Google Patents URL). The field normalisers (dates, names,
IPC codes) are crawlers.fields, shared with the spiders."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from crawlers.errors import ImportRefused
from crawlers.identity import compact_number
from crawlers.validation import MAX_RECORD_CHARS

# Chinese exports from Excel or WPS are often GBK; GB18030 is its superset, so it reads both.
ENCODINGS = ("utf-8-sig", "gb18030")
_CHUNK = 1 << 20


def detect_encoding(path: Path) -> str:
    """'utf-8-sig' when the whole file is UTF-8, else 'gb18030'; ImportRefused when neither.

    The whole file is checked (in chunks): a dump can be UTF-8 for megabytes and then hold
    one GBK row, and finding that out half way through a load would leave half a load."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as stream:
                while chunk := stream.read(_CHUNK):
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ImportRefused(f"{path.name} is neither UTF-8 nor GB18030/GBK text; save it as UTF-8 CSV and import it again")


def open_text(path: Path) -> TextIO:
    return path.open(encoding=detect_encoding(path), newline="")


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based record number after the header, and its cells by column name.

    `problem` says why the row cannot be trusted (it does not line up with the header, or the
    CSV parser gave up on it); such a row is still yielded, as an unreadable item."""

    number: int
    cells: dict[str, str]
    raw: list[str]
    problem: str | None = None


def csv_lines(stream: TextIO) -> Iterator[list[str] | csv.Error]:
    """Rows of a CSV or TSV text (the delimiter is read off the first line); blank lines are
    not rows. A row the csv module cannot parse comes out as the csv.Error, in its place."""
    # A field past the record cap makes its row a csv.Error (quarantined), instead of a cell of
    # many megabytes; full claims (past the module's default 128 KB) still fit.
    csv.field_size_limit(MAX_RECORD_CHARS)
    first = stream.readline(MAX_RECORD_CHARS + 1)
    if len(first) > MAX_RECORD_CHARS:  # read no further: a one-line 50 MB file is no table
        name = Path(getattr(stream, "name", "the file")).name
        raise ImportRefused(
            f"{name}: 第 1 行超过 {MAX_RECORD_CHARS:,} 个字符，不是表头 (first line too long for a header)"
        )
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    reader = csv.reader(_chain_line(first, stream), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield exc
            continue
        if any(cell.strip() for cell in row):
            yield row


def _chain_line(first: str, rest: Iterable[str]) -> Iterator[str]:
    yield first
    yield from rest


def rows_under_header(header: list[str], lines: Iterable[list[str] | csv.Error]) -> Iterator[Row]:
    """Number the data rows and name their cells; a ragged row keeps its cells but is flagged,
    because once a delimiter is missing or extra no cell can be trusted to be in its column."""
    names = [name.strip() for name in header]
    for number, line in enumerate(lines, start=1):
        if isinstance(line, csv.Error):
            yield Row(number, {}, [], f"CSV row could not be parsed: {line}")
            continue
        problem = None
        extra = [cell for cell in line[len(names) :] if cell.strip()]  # empty trailing cells are harmless
        if extra or len(line) < len(names):
            problem = f"row has {len(line)} cells, the header has {len(names)}"
        yield Row(number, dict(zip(names, line, strict=False)), line, problem)


def unreadable_item(base: dict[str, Any], problem: str, raw: Any) -> dict[str, Any]:
    """The item for a row or document that could not be read: what is known, the reason and
    the raw text, so that validation quarantines it and every record of the file is counted.

    `raw` goes in a dict because CleanTextPipeline leaves dicts as they are (a list of cells
    would lose its empty cells, and with them the columns)."""
    return {**base, "parse_error": problem, "raw": {"record": raw}}


def file_ref(path: Path, number: int) -> str:
    """A stable reference for a record with no public URL: `file:<name>#<record number>`."""
    return f"file:{path.name}#{number}"


def google_patents_url(number: str | None) -> str | None:
    """Where a patent can be read: Google Patents resolves a number with or without kind code."""
    compact = compact_number(number)
    return f"https://patents.google.com/patent/{compact}" if compact else None


def us_publication_number(doc_number: str | None, kind: str | None, country: str = "US") -> str | None:
    """'06859910' + 'B2' → 'US6859910B2'.

    Bulk files zero-pad grant numbers to eight characters (06859910, D0435854); Google Patents
    and the crawled listings do not, and the listing id must be the same from every source.
    Application numbers (2005/0004437 → 20050004437) keep their zeros."""
    number = (doc_number or "").strip().replace("/", "")
    if not number:
        return None
    if len(number) < 11:
        number = re.sub(r"^([A-Z]*)0+(?=\d)", r"\1", number)
    return f"{country}{number}{(kind or '').strip()}"


def patent_item(source: str, **fields: Any) -> dict[str, Any]:
    """A patent listing with every key a crawled Google Patents item has, in the same order."""
    item: dict[str, Any] = {
        "record_type": "listing",
        "kind": "patent",
        "publication_number": None,
        "application_number": None,
        "title": None,
        "abstract": None,
        "claims": None,
        "applicants": [],
        "inventors": [],
        "ipc": [],
        "priority_date": None,
        "filing_date": None,
        "published_on": None,
        "legal_status": None,
        "language": None,
        "url": None,
        "source": source,
    }
    unknown = set(fields) - set(item)
    if unknown:
        raise TypeError(f"not patent item fields: {', '.join(sorted(unknown))}")
    return {**item, **fields}
