"""Bulk importers: public data dumps a broker downloads, read into the same items the spiders
yield, so they pass the same cleaning, validation and loader (jiebang.loading).

One module per format; each reader yields (record number, raw item) and keeps every record:
a row or document it cannot read becomes an item with the reason and the raw text, which
validation quarantines, so `loaded + quarantined == records in the file`.

    for number, item in read_items("patentsview", Path("baseball_patent_query.csv")):
        print(number, item["listing_id"], item["title"])    # 1 US5269177 Apparatus and …
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from itertools import chain
from pathlib import Path
from typing import Any

from crawlers.errors import ImportRefused, UnknownFormat
from crawlers.importers import cnipa_xml, google_patents_csv, patentsview, table, uspto_xml
from crawlers.pipelines import CleanTextPipeline, PublicationNumberPipeline

Reader = Callable[..., Iterator[tuple[int, dict[str, Any]]]]

FORMATS: dict[str, Reader] = {
    "google_patents_csv": google_patents_csv.read,  # Google Patents search "Download (CSV)"
    "patentsview": patentsview.read,  # PatentsView patent tables, CSV or TSV
    "cnipa_xml": cnipa_xml.read,  # CNIPA cn-patent-document full text
    "uspto_xml": uspto_xml.read,  # USPTO bulk full text, 2001 → (not APS text)
    "table": table.read,  # CSV/XLSX of achievements, needs or patents
}
_WITH_MAPPING = frozenset({"table"})  # the fixed formats know their columns


def read_items(
    format: str,
    path: Path,
    *,
    source: str | None = None,
    mapping: Mapping[str, str] | None = None,
    kind: str | None = None,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(record number, cleaned item) for every record of the file, cleaned by the same
    pipelines as crawled items; `source` defaults to the format's name.

    The file is opened and checked here, so an unknown format, a wrong option or a file
    of another format raise (UnknownFormat, ImportRefused …) before anything is yielded."""
    reader = FORMATS.get(format)
    if reader is None:
        raise UnknownFormat(f"unknown import format {format!r}; known formats: {', '.join(FORMATS)}")
    if format not in _WITH_MAPPING and (mapping is not None or kind is not None):
        raise ImportRefused(f"format {format} takes no mapping or kind (only {', '.join(sorted(_WITH_MAPPING))} does)")
    if not path.is_file():
        raise ImportRefused(f"{path} is not a file")
    options = {"mapping": mapping, "kind": kind} if format in _WITH_MAPPING else {}
    records = reader(path, source=source or format, **options)
    first = next(records, None)  # runs the reader's checks now, not half way through a load
    return _cleaned(records if first is None else chain([first], records))


def _cleaned(records: Iterator[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, dict[str, Any]]]:
    clean, identify = CleanTextPipeline(), PublicationNumberPipeline()
    for number, item in records:
        yield number, identify.process_item(clean.process_item(item))
