"""PatentsView tables, CSV or TSV (the delimiter is read off the header line): US grants with
number, title, abstract and grant date.

Both column sets are read: the API query exports (patent_number, patent_title,
patent_abstract, patent_date) and the bulk `g_patent.tsv` (patent_id, …, wipo_kind).
Optional: an assignee organisation column. Numbers carry no country (5269177, D808321,
RE43255): they are US numbers; designs and reissues have no id the warehouse can normalise
and are quarantined with that reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawlers.errors import ImportRefused
from crawlers.fields import iso_date
from crawlers.importers.common import (
    Row,
    csv_lines,
    file_ref,
    google_patents_url,
    open_text,
    patent_item,
    rows_under_header,
    unreadable_item,
)

COLUMNS = {  # item field → the column names it is read from, first present wins
    "number": ("patent_number", "patent_id"),
    "title": ("patent_title",),
    "abstract": ("patent_abstract",),
    "date": ("patent_date",),
    "kind": ("wipo_kind", "patent_kind"),
    "assignee": ("assignee_organization", "disambig_assignee_organization"),
}


def read(path: Path, *, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number after the header, raw item) for every row of the table."""
    with open_text(path) as stream:
        lines = csv_lines(stream)
        header = next(lines, None)
        names = [h.strip() for h in header] if isinstance(header, list) else []
        has_columns = any(c in names for c in COLUMNS["number"]) and any(c in names for c in COLUMNS["title"])
        if not isinstance(header, list) or not has_columns:
            raise ImportRefused(
                f"{path.name} is not a PatentsView table: its header needs patent_number (or patent_id) "
                f"and patent_title; it has {', '.join(names[:12]) or 'no header'}"
            )
        for row in rows_under_header(header, lines):
            yield row.number, row_item(row, source=source, ref=file_ref(path, row.number))


def row_item(row: Row, *, source: str, ref: str) -> dict[str, Any]:
    """The listing of one PatentsView row (pure)."""
    if row.problem:
        return unreadable_item(
            {"record_type": "listing", "kind": "patent", "url": ref, "source": source}, row.problem, row.raw
        )
    cell = lambda key: next((row.cells[c] for c in COLUMNS[key] if row.cells.get(c)), None)  # noqa: E731
    number = (cell("number") or "").strip()
    publication_number = f"US{number}{(cell('kind') or '').strip()}" if number else None
    return patent_item(
        source,
        publication_number=publication_number,
        title=unquote(cell("title")),
        abstract=unquote(cell("abstract")),
        applicants=[cell("assignee")] if cell("assignee") else [],
        published_on=iso_date(cell("date")),
        language="en",
        url=google_patents_url(publication_number) or ref,
    )


def unquote(text: str | None) -> str | None:
    """A value quoted twice by the export that wrote it, '"A ""sweet spot"" bat"', read once.

    The query exports wrap a title or abstract that contains quotes in quotes of its own and
    double the inner ones, which the CSV reader then hands over as text.

    >>> unquote('"Apparatus for the ""sweet spot"" of bats"')
    'Apparatus for the "sweet spot" of bats'
    """
    if text and len(text) > 1 and text.startswith('"') and text.endswith('"'):
        return text[1:-1].replace('""', '"')
    return text
