"""Every known failure of the `jiebang` command is one line, never a traceback (issue 14, item 6).

One row per failure: the command exits non-zero, prints exactly one non-empty line, and that
line names the file or field at fault. The failures are real: truncated and wrong-shaped JSON,
a GBK file, a binary file, a directory, a zip with a bad CRC, a corrupt or empty DuckDB file,
and a write to /dev/full, which fails with the system's own "No space left on device".
"""

from __future__ import annotations

import errno
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jiebang.cli import app
from tests.conftest import SHARED

runner = CliRunner()
BULK_XML = SHARED / "data" / "real" / "pages" / "uspto" / "bulk_xml"
SUPPLY = '{"id": "S1", "kind": "patent", "title": "钛合金激光焊接方法", "abstract": "焊缝无气孔"}\n'
NEEDS = '{"id": "C1", "title": "钛合金焊接气孔多"}\n'
QRELS = "C1\tS1\t2\n"


def _files(tmp: Path) -> dict[str, Path]:
    """The inputs the rows use, written fresh in tmp."""
    files = {
        "supply": "supply.jsonl",
        "needs": "needs.jsonl",
        "qrels": "qrels.tsv",
        "truncated": "truncated.jsonl",
        "array": "array.jsonl",
        "gbk": "gbk.jsonl",
        "binary": "binary.jsonl",
        "title_list": "title_list.jsonl",
        "grade_7": "grade_7.tsv",
        "corrupt": "corrupt.duckdb",
        "empty": "empty.duckdb",
        "a_file": "a_file",
    }
    paths = {key: tmp / name for key, name in files.items()}
    paths["supply"].write_text(SUPPLY, encoding="utf-8")
    paths["needs"].write_text(NEEDS, encoding="utf-8")
    paths["qrels"].write_text(QRELS, encoding="utf-8")
    paths["truncated"].write_text(NEEDS[: len(NEEDS) // 2], encoding="utf-8")  # cut mid-string
    paths["array"].write_text('[{"id": "C1", "title": "钛合金"}]\n', encoding="utf-8")
    paths["gbk"].write_bytes(NEEDS.encode("gbk"))
    paths["binary"].write_bytes(bytes(range(256)) * 8)
    paths["title_list"].write_text('{"id": "C1", "title": ["钛合金", "焊接"]}\n', encoding="utf-8")
    paths["grade_7"].write_text("C1\tS1\t7\n", encoding="utf-8")
    paths["corrupt"].write_bytes(b"DUCK" + os.urandom(8192))
    paths["empty"].write_bytes(b"")
    paths["a_file"].write_text("not a directory", encoding="utf-8")
    (tmp / "a_dir").mkdir()
    paths["a_dir"] = tmp / "a_dir"
    paths["bad_crc"] = _bad_crc_zip(tmp / "ipa050106.zip")
    return paths


def _bad_crc_zip(path: Path) -> Path:
    """A real bulk file zipped (stored), with one byte of its second document flipped: the zip
    opens, and the CRC check fails only when that member has been read to its end."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for doc in sorted((BULK_XML / "xmlApp2004").glob("*.xml")):
            archive.write(doc, doc.name)
    data = bytearray(path.read_bytes())
    at = data.rindex(b"<invention-title")
    data[at + 20] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def _match(supply: str = "supply", needs: str = "needs", out: str | None = None) -> Callable[[dict], list[str]]:
    return lambda f: [
        "match-file",
        "--supply",
        str(f[supply]),
        "--challenges",
        str(f[needs]),
        "--out",
        out or str(f["a_dir"].parent / "out.jsonl"),
    ]


def _eval(supply: str = "supply", needs: str = "needs", qrels: str = "qrels") -> Callable[[dict], list[str]]:
    return lambda f: [
        "eval",
        "--supply",
        str(f[supply]),
        "--challenges",
        str(f[needs]),
        "--qrels",
        str(f[qrels]) if qrels in f else str(f["a_dir"].parent / qrels),
    ]


def _labels(f: dict) -> list[str]:
    return ["labels", "--out", str(f["a_dir"].parent / "labels.tsv")]


ROOT_IGNORES_PERMISSIONS = os.geteuid() == 0

# (id, the command's arguments, the warehouse file (key or path) or None, extra environment,
#  what the line must name)
ROWS = [
    ("parse: truncated JSON", lambda f: ["parse", "google_patents", str(f["truncated"])], None, {}, "truncated.jsonl"),
    ("parse: wrong-shaped JSON", lambda f: ["parse", "google_patents", str(f["array"])], None, {}, "array.jsonl"),
    ("parse: a directory", lambda f: ["parse", "google_patents", str(f["a_dir"])], None, {}, "a_dir"),
    ("match-file: truncated JSON", _match(needs="truncated"), None, {}, "truncated.jsonl:1"),
    ("match-file: wrong-shaped JSON", _match(needs="array"), None, {}, "array.jsonl:1"),
    ("match-file: GBK", _match(needs="gbk"), None, {}, "gbk.jsonl:1"),
    ("match-file: binary", _match(supply="binary"), None, {}, "binary.jsonl:1"),
    ("match-file: a directory", _match(supply="a_dir"), None, {}, "a_dir"),
    ("match-file: a title that is a list", _match(needs="title_list"), None, {}, "title_list.jsonl:1: field 'title'"),
    ("match-file: --top 0", lambda f: [*_match()(f), "--top", "0"], None, {}, "--top 0"),
    ("match-file: out is a directory", _match(out="{a_dir}"), None, {}, "a_dir"),
    ("match-file: disk full", _match(out="/dev/full"), None, {}, "/dev/full: No space left on device"),
    ("eval: GBK", _eval(supply="gbk"), None, {}, "gbk.jsonl:1"),
    ("eval: binary", _eval(qrels="binary"), None, {}, "binary.jsonl:"),
    ("eval: a directory", _eval(needs="a_dir"), None, {}, "a_dir"),
    ("eval: missing qrels", _eval(qrels="missing.tsv"), None, {}, "missing.tsv"),
    ("eval: a title that is a list", _eval(needs="title_list"), None, {}, "title_list.jsonl:1: field 'title'"),
    ("eval: a grade of 7", _eval(qrels="grade_7"), None, {}, "grade_7.tsv:1: grade '7'"),
    (
        "import: truncated JSON lines",
        lambda f: ["import", "table", str(f["truncated"]), "--kind", "need"],
        "w",
        {},
        "truncated.jsonl",
    ),
    ("import: bad CRC zip", lambda f: ["import", "uspto_xml", str(f["bad_crc"])], "w", {}, "ipa050106.zip"),
    ("warehouse: corrupt", _labels, "corrupt", {}, "corrupt.duckdb"),
    ("warehouse: empty file", _labels, "empty", {}, "empty.duckdb"),
    ("warehouse: a directory", _labels, "a_dir", {}, "a_dir"),
    ("warehouse: under a file", _labels, "a_file/w.duckdb", {}, "a_file"),
    ("warehouse: disk full", _labels, "/dev/full", {}, '/dev/full": No space left on device'),
    ("setting: negative match_top_k", _labels, "w", {"JIEBANG_MATCH_TOP_K": "-3"}, "match_top_k='-3'"),
    ("setting: negative lock timeout", _labels, "w", {"JIEBANG_LOCK_TIMEOUT_SECONDS": "-1"}, "lock_timeout_seconds"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("args", "warehouse", "env", "names"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_known_failure_is_one_line(tmp_path, monkeypatch, args, warehouse, env, names):
    files = _files(tmp_path)
    argv = [a.format(a_dir=files["a_dir"]) for a in args(files)]
    if warehouse is not None:
        path = files.get(warehouse) or (Path(warehouse) if warehouse.startswith("/") else tmp_path / warehouse)
        monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = runner.invoke(app, argv)
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert isinstance(result.exception, SystemExit), f"{type(result.exception).__name__}: {result.exception}"
    assert result.exit_code != 0
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert lines[0].startswith("错误 ")
    assert names in lines[0]


@pytest.mark.integration
@pytest.mark.skipif(ROOT_IGNORES_PERMISSIONS, reason="root writes into a read-only directory")
def test_a_warehouse_in_a_read_only_directory_is_one_line(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(locked / "w.duckdb"))
    result = runner.invoke(app, ["labels", "--out", str(tmp_path / "l.tsv")])
    locked.chmod(0o755)
    lines = result.output.strip().splitlines()
    assert isinstance(result.exception, SystemExit) and result.exit_code != 0
    assert len(lines) == 1 and "w.duckdb" in lines[0] and "Permission denied" in lines[0]


@pytest.mark.integration
@pytest.mark.parametrize(
    "command",
    [
        lambda big, tmp: ["match-file", "--supply", str(big), "--challenges", str(big), "--out", str(tmp / "o")],
        lambda big, tmp: ["import", "table", str(big), "--kind", "need"],
        lambda big, tmp: ["import", "patentsview", str(big)],
        lambda big, tmp: ["eval", "--supply", str(tmp / "s"), "--challenges", str(tmp / "s"), "--qrels", str(big)],
    ],
    ids=["match-file", "import table", "import patentsview", "eval qrels"],
)
def test_a_50_mb_one_line_file_is_refused_in_one_short_line(tmp_path, monkeypatch, command):
    """Refused after reading just past the record cap, not after matching or loading 50 MB."""
    big = tmp_path / "big.jsonl"
    with big.open("w", encoding="utf-8") as out:
        out.write('{"id": "C1", "title": "x' + "钛" * (50_000_000 // 3) + '"}')  # the cap cuts a character
    (tmp_path / "s").write_text(SUPPLY, encoding="utf-8")
    monkeypatch.setenv("JIEBANG_WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    result = runner.invoke(app, command(big, tmp_path))
    lines = result.output.strip().splitlines()
    assert isinstance(result.exception, SystemExit) and result.exit_code != 0
    assert len(lines) == 1 and "big.jsonl" in lines[0]
    assert "1,000,000" in lines[0]  # says why: longer than any record can be
    assert len(lines[0]) < 200, lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.unit
def test_a_full_disk_is_named_by_the_systems_own_words():
    """The error mapping, on a real ENOSPC: a write to /dev/full (refused at close, so the
    error itself names no file: the writer says which)."""
    from jiebang.errors import FileAccessError, known_errors, os_error_message

    with pytest.raises(OSError) as full:
        Path("/dev/full").write_text("x", encoding="utf-8")
    assert full.value.errno == errno.ENOSPC
    said = "/dev/full: No space left on device; 磁盘已满，请腾出空间后重试 (disk full)"
    assert os_error_message(full.value, "/dev/full") == said
    with pytest.raises(FileAccessError) as mapped:
        known_errors(Path("/dev/full").write_text, "x", encoding="utf-8")
    assert str(mapped.value) == said.removeprefix("/dev/full: ")


@pytest.mark.integration
def test_the_real_cause_of_a_failed_write_survives_the_rollback(tmp_path):
    from jiebang.pipeline import open_warehouse
    from warehouse.errors import WarehouseUnavailable

    wh = open_warehouse(tmp_path / "w.duckdb", 1)
    with pytest.raises(WarehouseUnavailable) as full, wh.transaction() as con:
        con.execute("COPY (SELECT 1 AS a) TO '/dev/full' (FORMAT csv)")  # DuckDB's own write, refused
    assert "No space left on device" in str(full.value)
    assert str(wh.path) in str(full.value) and "rolled back" in str(full.value)
    # A failure once the transaction has ended (a failed commit ends it): the rollback that
    # follows has nothing to roll back, and its complaint must not replace the cause.
    with pytest.raises(OSError) as cause, wh.transaction() as con:
        con.commit()
        Path("/dev/full").write_text("x", encoding="utf-8")
    assert cause.value.errno == errno.ENOSPC
    assert wh.query("SELECT count(*) AS n FROM runs") == [{"n": 0}]  # and the file still works
