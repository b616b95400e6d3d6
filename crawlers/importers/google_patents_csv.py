"""Google Patents search results, "Download (CSV)": one patent per row.

Line 1 is `search URL:,https://patents.google.com/?q=…`, line 2 the header: id, title,
assignee, inventor/author, priority date, filing/creation date, publication date, grant date,
result link, representative figure link. There is no abstract or IPC in the export.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawlers.errors import ImportRefused
from crawlers.fields import iso_date, split_names
from crawlers.importers.common import (
    Row,
    csv_lines,
    file_ref,
    open_text,
    patent_item,
    rows_under_header,
    unreadable_item,
)

REQUIRED = ("id", "title")
_PATENT_LINK = re.compile(r"/patent/([^/?#]+)(?:/([a-z]{2}))?")


def read(path: Path, *, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number after the header, raw item) for every row of the export."""
    with open_text(path) as stream:
        lines = csv_lines(stream)
        header = next((line for line in lines if not _is_preamble(line)), None)
        if not isinstance(header, list) or any(name not in [h.strip() for h in header] for name in REQUIRED):
            raise ImportRefused(
                f"{path.name} is not a Google Patents CSV export: no header with columns {', '.join(REQUIRED)} "
                "on its first two lines"
            )
        for row in rows_under_header(header, lines):
            yield row.number, row_item(row, source=source, ref=file_ref(path, row.number))


def _is_preamble(line: Any) -> bool:
    """The export's first line is the search URL, not data."""
    return isinstance(line, list) and bool(line) and line[0].strip().lower().startswith("search url")


def row_item(row: Row, *, source: str, ref: str) -> dict[str, Any]:
    """The listing of one export row (pure: row in, item out)."""
    if row.problem:
        return unreadable_item(
            {"record_type": "listing", "kind": "patent", "url": ref, "source": source}, row.problem, row.raw
        )
    cells = row.cells
    link = cells.get("result link", "").strip()
    linked = _PATENT_LINK.search(link)
    # The link's number is the one Google shows on the page (US20150112182A1); the id column
    # drops a zero from US application numbers (US-2015112182-A1), which would make another id.
    number = linked[1] if linked else cells.get("id", "").replace("-", "")
    return patent_item(
        source,
        publication_number=number or None,
        title=cells.get("title"),
        applicants=split_names(cells.get("assignee")),
        inventors=split_names(cells.get("inventor/author")),
        priority_date=iso_date(cells.get("priority date")),
        filing_date=iso_date(cells.get("filing/creation date")),
        published_on=iso_date(cells.get("publication date")),
        # The title is in the language of the page the link opens (…/US4999833A/en).
        language=linked[2] if linked and linked[2] else None,
        url=link or ref,
    )
