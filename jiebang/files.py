"""The file contract of `jiebang match-file` and `jiebang eval`: supply and challenges as JSON
lines, judgments (qrels) as TSV, all UTF-8. Bad lines raise an error naming the file, line and
field: a wrong type, a grade outside 0–3, a line too long to be one record, a file that is not
UTF-8 text or not a file at all."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

from crawlers.validation import MAX_RECORD_CHARS
from jiebang.errors import FileAccessError, JiebangError, os_error_message
from matching.engine import Challenge, Listing

GRADES = range(0, 4)  # 0 not relevant … 3 exactly what was asked (../shared/data/eval/README.md)
# The types a field may have (None: left out); anything else is refused naming the field.
TEXT_FIELDS = (
    "title",
    "abstract",
    "claims",
    "description",
    "kind",
    "field",
    "region",
    "cooperation",
    "maturity",
    "legal_status",
    "published_on",
)
LIST_FIELDS = ("keywords", "ipc", "applicants")
NUMBER_FIELDS = ("price_wan", "budget_wan")


class InvalidFile(JiebangError):
    """A line of an input file breaks the contract."""


def write_output(path: Path, text: str) -> None:
    """Write an output file whole (UTF-8); a refused write (disk full, a directory, no
    permission) raises FileAccessError naming the file, with the system's reason."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise FileAccessError(os_error_message(exc, path)) from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of a UTF-8 file, read a line at a time: a line too long to be a
    record is refused after reading just past the limit, not after loading it whole."""
    path = Path(path)
    if path.is_dir():
        raise InvalidFile(f"{path}: 是目录，不是文件 (a directory, not a file)")
    limit = 4 * MAX_RECORD_CHARS  # bytes: a character is at most four
    try:
        with path.open("rb") as stream:
            for number, raw in enumerate(iter(partial(stream.readline, limit + 1), b""), start=1):
                too_long = InvalidFile(
                    f"{path}:{number}: 行过长 (line over {MAX_RECORD_CHARS:,} characters: not a record)"
                )
                if len(raw) > limit:  # before decoding: the cut may fall inside a character
                    raise too_long
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidFile(
                        f"{path}:{number}: 不是 UTF-8 文本 (not UTF-8 text; a GBK or binary file? save it as UTF-8)"
                    ) from None
                if len(text) > MAX_RECORD_CHARS:
                    raise too_long
                if number == 1:
                    text = text.removeprefix("\ufeff")  # a BOM, as Windows editors write UTF-8
                yield number, text.rstrip("\r\n")
    except OSError as exc:
        raise InvalidFile(os_error_message(exc)) from None


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidFile(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InvalidFile(f"{path}:{number}: expected a JSON object")
        yield number, record


def _require(path: Path, number: int, record: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if not record.get(key):
            raise InvalidFile(f"{path}:{number}: field {key!r} is missing or empty")
        if key == "id" and not isinstance(record[key], str):
            raise InvalidFile(f"{path}:{number}: field 'id' must be text, not {_json_type(record[key])}")


def _check_types(path: Path, number: int, record: dict[str, Any]) -> None:
    """Each known field has its type (or is null): a title that is a list is named, not matched."""
    for key in TEXT_FIELDS:
        if record.get(key) is not None and not isinstance(record[key], str):
            raise InvalidFile(f"{path}:{number}: field {key!r} must be text, not {_json_type(record[key])}")
    for key in LIST_FIELDS:
        value = record.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise InvalidFile(f"{path}:{number}: field {key!r} must be a list of text")
    for key in NUMBER_FIELDS:
        value = record.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise InvalidFile(f"{path}:{number}: field {key!r} must be a number, not {_json_type(value)}")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def read_supply(path: Path) -> list[Listing]:
    listings = []
    for number, record in _json_lines(path):
        _require(path, number, record, "id")
        _check_types(path, number, record)
        if not (record.get("title") or record.get("abstract")):
            raise InvalidFile(f"{path}:{number}: a listing needs a title or an abstract")
        listings.append(Listing.from_record({**record, "listing_id": record["id"], "title": record.get("title") or ""}))
    return listings


def read_challenges(path: Path) -> list[Challenge]:
    challenges = []
    for number, record in _json_lines(path):
        _require(path, number, record, "id", "title")
        _check_types(path, number, record)
        challenges.append(Challenge.from_record({**record, "challenge_id": record["id"]}))
    return challenges


def _grade(path: Path, number: int, text: str) -> int:
    """A grade of 0–3; InvalidFile naming the line for anything else (a typo of 22, a -1)."""
    text = text.strip()
    if not text.lstrip("-").isdigit() or int(text) not in GRADES:
        raise InvalidFile(f"{path}:{number}: grade {text[:20]!r} is not one of 0, 1, 2, 3 (评分只能是 0–3)")
    return int(text)


def _tsv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    for number, line in _lines(path):
        yield number, next(csv.reader([line], delimiter="\t"), [])


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for number, row in _tsv_rows(path):
        if not row:
            continue
        if len(row) != 3:
            raise InvalidFile(f"{path}:{number}: expected challenge_id<TAB>listing_id<TAB>grade")
        qrels.setdefault(row[0], {})[row[1]] = _grade(path, number, row[2])
    return qrels


def read_judgments(path: Path) -> dict[str, dict[str, int]]:
    """Every judged pair, 0s included: a TSV with a header (challenge_id, listing_id, grade,
    reason) or JSON lines (challenge_id, listing_id or supply_id, grade)."""
    judgments: dict[str, dict[str, int]] = {}
    if Path(path).suffix == ".jsonl":
        for number, record in _json_lines(path):
            listing = record.get("listing_id") or record.get("supply_id")
            grade = record.get("grade")
            if not record.get("challenge_id") or not listing or isinstance(grade, bool) or not isinstance(grade, int):
                raise InvalidFile(
                    f"{path}:{number}: expected challenge_id, listing_id (or supply_id) and an integer grade"
                )
            judgments.setdefault(record["challenge_id"], {})[listing] = _grade(path, number, str(grade))
        return judgments
    for number, row in _tsv_rows(path):
        if not row or (number == 1 and row[:3] == ["challenge_id", "listing_id", "grade"]):
            continue
        if len(row) < 3:
            raise InvalidFile(f"{path}:{number}: expected challenge_id<TAB>listing_id<TAB>grade[<TAB>reason]")
        judgments.setdefault(row[0], {})[row[1]] = _grade(path, number, row[2])
    return judgments
