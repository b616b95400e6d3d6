"""Tables to Excel (.xlsx) and CSV bytes, with Chinese headers.

CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. Crawled and posted
text is data, never a formula: in the .xlsx every text cell is typed as a string, and in the CSV
a text cell starting with = + - @ (or a tab / carriage return) gets a leading apostrophe
(OWASP's advice on CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMATS = ("xlsx", "csv")
MIME_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "csv": "text/csv"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_bytes(fmt: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """The table as .xlsx or .csv bytes (fmt "xlsx" or "csv")."""
    if fmt == "xlsx":
        return to_xlsx(sheet, headers, rows)
    if fmt == "csv":
        return to_csv(headers, rows)
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")


def to_xlsx(sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A one-sheet workbook (write-only: rows stream to the file, not held as cell objects)."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    ws.append([_cell(ws, h, font=bold) for h in headers])
    for row in rows:
        ws.append([_cell(ws, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(ws, value: Any, font: Font | None = None) -> Any:
    """The value as written: lists joined; text that openpyxl would take for a formula ("=…")
    wrapped in a cell typed as a string. Plain values stay plain (much faster to write)."""
    if isinstance(value, (list, tuple)):
        value = "、".join(map(str, value))
    if font is None and not (isinstance(value, str) and value.startswith("=")):
        return value
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "、".join(map(str, value))
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
