"""The file contract of `jiebang match-file` and `jiebang eval`: supply and challenges as JSON
lines, judgments (qrels) as TSV. Bad lines raise an error naming the file, line and field."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jiebang.errors import JiebangError
from matching.engine import Challenge, Listing


class InvalidFile(JiebangError):
    """A line of an input file breaks the contract."""


def _json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file") from None
    for number, line in enumerate(lines, start=1):
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


def read_supply(path: Path) -> list[Listing]:
    listings = []
    for number, record in _json_lines(path):
        _require(path, number, record, "id")
        if not (record.get("title") or record.get("abstract")):
            raise InvalidFile(f"{path}:{number}: a listing needs a title or an abstract")
        listings.append(Listing.from_record({**record, "listing_id": record["id"], "title": record.get("title") or ""}))
    return listings


def read_challenges(path: Path) -> list[Challenge]:
    challenges = []
    for number, record in _json_lines(path):
        _require(path, number, record, "id", "title")
        challenges.append(Challenge.from_record({**record, "challenge_id": record["id"]}))
    return challenges


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    try:
        rows = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file") from None
    for number, row in enumerate(csv.reader(rows, delimiter="\t"), start=1):
        if not row:
            continue
        if len(row) != 3 or not row[2].strip().lstrip("-").isdigit():
            raise InvalidFile(f"{path}:{number}: expected challenge_id<TAB>listing_id<TAB>grade")
        qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def read_judgments(path: Path) -> dict[str, dict[str, int]]:
    """Every judged pair, 0s included: a TSV with a header (challenge_id, listing_id, grade,
    reason) or JSON lines (challenge_id, listing_id or supply_id, grade)."""
    judgments: dict[str, dict[str, int]] = {}
    if Path(path).suffix == ".jsonl":
        for number, record in _json_lines(path):
            listing = record.get("listing_id") or record.get("supply_id")
            if not record.get("challenge_id") or not listing or not isinstance(record.get("grade"), int):
                raise InvalidFile(
                    f"{path}:{number}: expected challenge_id, listing_id (or supply_id) and an integer grade"
                )
            judgments.setdefault(record["challenge_id"], {})[listing] = record["grade"]
        return judgments
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidFile(f"{path}: no such file") from None
    for number, row in enumerate(csv.reader(lines, delimiter="\t"), start=1):
        if not row or (number == 1 and row[:3] == ["challenge_id", "listing_id", "grade"]):
            continue
        if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
            raise InvalidFile(f"{path}:{number}: expected challenge_id<TAB>listing_id<TAB>grade[<TAB>reason]")
        judgments.setdefault(row[0], {})[row[1]] = int(row[2])
    return judgments
