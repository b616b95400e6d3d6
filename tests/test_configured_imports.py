"""Configured imports (`[[imports]]`): the settings that name them, and the nightly step that
loads a file once and then skips it while its bytes and options stay the same. Real warehouse
files, real importers, files written here."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from crawlers.errors import ImportRefused
from jiebang import pipeline, run_report
from jiebang.errors import ConfigError
from jiebang.settings import ImportSettings, Settings
from warehouse import queries

FORMATS = "google_patents_csv, patentsview, cnipa_xml, uspto_xml, table"

# --- settings -------------------------------------------------------------------------------


def _load(tmp_path: Path, toml: str, env: dict[str, str] | None = None) -> Settings:
    config = tmp_path / "conf" / "jiebang.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(toml, encoding="utf-8")
    return Settings.load(env or {}, config)


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, toml, expected",
    [
        (
            "a table import: relative path beside the config file, map as pairs",
            (
                '[[imports]]\nformat = "table"\npath = "dumps/成果.csv"\nkind = "achievement"\nsource = "zju_table"\n'
                '[imports.map]\n"项目名称" = "title"\n"完成单位" = "applicants"\n'
            ),
            lambda conf: (
                ImportSettings(
                    "table",
                    conf / "dumps/成果.csv",
                    source="zju_table",
                    kind="achievement",
                    mapping=(("项目名称", "title"), ("完成单位", "applicants")),
                ),
            ),
        ),
        (
            "an absolute path is kept; source, kind and map are optional",
            '[[imports]]\nformat = "patentsview"\npath = "/srv/dumps/g_patent.tsv"\n',
            lambda conf: (ImportSettings("patentsview", Path("/srv/dumps/g_patent.tsv")),),
        ),
        (
            "several imports keep their order",
            '[[imports]]\nformat = "cnipa_xml"\npath = "a.xml"\n[[imports]]\nformat = "uspto_xml"\npath = "b.zip"\n',
            lambda conf: (ImportSettings("cnipa_xml", conf / "a.xml"), ImportSettings("uspto_xml", conf / "b.zip")),
        ),
        ("no [[imports]]: none", "ui_port = 9000\n", lambda conf: ()),
    ],
)
def test_imports_are_read_from_the_toml_file(tmp_path, description, toml, expected):
    settings = _load(tmp_path, toml)
    assert settings.imports == expected((tmp_path / "conf").absolute()), description
    assert all(spec.path.is_absolute() for spec in settings.imports), description


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, toml, problems",
    [
        ("missing path", '[[imports]]\nformat = "table"\n', ["imports[0] is missing path"]),
        (
            "the entry is named by its position",
            '[[imports]]\nformat = "table"\npath = "a.csv"\n[[imports]]\nformat = "table"\n',
            ["imports[1] is missing path"],
        ),
        ("missing both", '[[imports]]\nkind = "need"\n', ["imports[0] is missing format, path"]),
        (
            "unknown format, with the valid ones",
            '[[imports]]\nformat = "epo_ops"\npath = "a.xml"\n',
            [f"imports[0] format 'epo_ops' is unknown; use one of {FORMATS}"],
        ),
        (
            "map that is not a table",
            '[[imports]]\nformat = "table"\npath = "a.csv"\nmap = "项目名称=title"\n',
            ["imports[0] map='项目名称=title' is not a table of header = field names"],
        ),
        (
            "map with a value that is not a field name",
            '[[imports]]\nformat = "table"\npath = "a.csv"\nmap = { "项目名称" = 3 }\n',
            ["imports[0] map={'项目名称': 3} is not a table of header = field names"],
        ),
        (
            "a misspelt key",
            '[[imports]]\nformat = "table"\npath = "a.csv"\nmaping = { "a" = "title" }\n',
            ["imports[0] has unknown key 'maping'; use format, path, source, kind, map"],
        ),
        (
            "empty path and a kind that is not a string",
            '[[imports]]\nformat = "table"\npath = ""\nkind = 1\n',
            ["imports[0] path='' is not a file path", "imports[0] kind=1 is not a non-empty string"],
        ),
        (
            "the same file twice",
            (
                '[[imports]]\nformat = "table"\npath = "a.csv"\n'
                '[[imports]]\nformat = "table"\npath = "./a.csv"\nkind = "need"\n'
            ),
            ["imports[1] repeats imports[0] (same format and path)"],
        ),
        ("not an array of tables", 'imports = "a.csv"\n', ["imports must be a list of [[imports]] tables"]),
        (
            "collected with the other problems",
            'ui_port = "eighty"\n[[imports]]\nformat = "table"\n',
            ["ui_port", "imports[0] is missing path"],
        ),
    ],
)
def test_bad_imports_are_all_reported(tmp_path, description, toml, problems):
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, toml)
    message = str(error.value)
    assert "\n" not in message, description
    for problem in problems:
        assert problem in message, description


@pytest.mark.unit
def test_the_environment_does_not_set_imports(tmp_path):
    settings = _load(
        tmp_path,
        '[[imports]]\nformat = "table"\npath = "a.csv"\nkind = "need"\n',
        env={"JIEBANG_IMPORTS": "patentsview=/tmp/x.csv"},
    )
    assert [spec.format for spec in settings.imports] == ["table"]
    assert Settings.load({"JIEBANG_IMPORTS": "patentsview=/tmp/x.csv"}).imports == ()


@pytest.mark.unit
def test_import_settings_stay_hashable_and_name_their_file():
    spec = ImportSettings("table", Path("/d/成果.csv"), kind="achievement", mapping=(("项目名称", "title"),))
    assert hash(spec) == hash(
        ImportSettings("table", Path("/d/成果.csv"), kind="achievement", mapping=(("项目名称", "title"),))
    )
    assert spec.name == "table:/d/成果.csv"
    assert spec.mapping_dict() == {"项目名称": "title"}
    assert ImportSettings("table", Path("x.csv")).mapping_dict() is None


# --- the nightly step on a real warehouse ---------------------------------------------------

ACHIEVEMENTS = [
    ["成果名称", "单位", "所属领域", "成果简介", "技术成熟度", "合作方式", "价格", "发布日期"],
    [
        "高导热氮化铝陶瓷基板",
        "浙江大学",
        "新能源新材料",
        "采用流延成型与无压烧结，热导率大于170W/mK。",
        "中试",
        "技术转让",
        "80万元",
        "2024/3/5",
    ],
    [
        "纺织品数码印花废水回用",
        "东华大学",
        "时尚纺织",
        "膜分离与高级氧化组合工艺，回用率70%。",
        "产业化",
        "技术许可",
        "面议",
        "2024年11月2日",
    ],
    [
        "镁合金微弧氧化防腐涂层",
        "上海大学",
        "高端装备",
        "陶瓷膜层耐盐雾1000小时，适用于轻量化结构件。",
        "小试",
        "合作开发",
        "30万元",
        "2025-01-20",
    ],
]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def _listings(warehouse) -> list[dict]:
    """Everything a load would touch: an unchanged upsert still moves last_seen."""
    return warehouse.query(
        "SELECT listing_id, content_hash, sources, first_seen, last_seen, last_changed"
        " FROM listings ORDER BY listing_id"
    )


@pytest.fixture
def spec(tmp_path) -> ImportSettings:
    path = _write_csv(tmp_path / "成果.csv", ACHIEVEMENTS)
    return ImportSettings("table", path, source="zju_table", kind="achievement")


@pytest.mark.integration
def test_a_file_is_loaded_and_recorded_then_skipped_until_it_changes(warehouse, spec, monkeypatch):
    first = pipeline.run_configured_import(warehouse, spec, "run-1")
    assert (first["loaded"], first["quarantined"], first["skipped_unchanged"], first["total"]) == (3, 0, 0, 3)
    assert first["listings"]["inserted"] == 3 and first["skipped_file"] is False
    assert (first["file"], first["format"], first["source"]) == (str(spec.path), "table", "zju_table")
    content = spec.path.read_bytes()
    recorded = queries.imported_file(warehouse, str(spec.path), "table")
    assert {k: recorded[k] for k in ("path", "format", "sha256", "size_bytes", "records", "run_id")} == {
        "path": str(spec.path),
        "format": "table",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size_bytes": len(content),
        "records": 3,
        "run_id": "run-1",
    }
    assert recorded["imported_at"] is not None
    before = _listings(warehouse)
    assert len(before) == 3

    # The same file the next night: only hashed; nothing read by an importer, nothing written.
    def no_load(*args, **kwargs):
        raise AssertionError("an unchanged file was loaded")

    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "load_file", no_load)
        second = pipeline.run_configured_import(warehouse, spec, "run-2")
    assert second["skipped_file"] is True
    assert (second["loaded"], second["quarantined"], second["skipped_unchanged"], second["total"]) == (0, 0, 3, 3)
    assert second["listings"] == {"inserted": 0, "updated": 0, "unchanged": 0, "superseded": 0}
    assert _listings(warehouse) == before
    assert queries.imported_file(warehouse, str(spec.path), "table")["run_id"] == "run-1"

    # The next download changes one achievement and adds one: loaded again, and recorded anew.
    changed = [row[:] for row in ACHIEVEMENTS]
    changed[1][6] = "60万元"
    changed.append(
        [
            "低温等离子体VOCs处理装置",
            "复旦大学",
            "节能环保",
            "去除率95%以上，适用于喷涂车间废气。",
            "中试",
            "技术转让",
            "120万元",
            "2025-03-01",
        ]
    )
    _write_csv(spec.path, changed)
    third = pipeline.run_configured_import(warehouse, spec, "run-3")
    assert third["skipped_file"] is False
    assert (third["listings"]["inserted"], third["listings"]["updated"], third["listings"]["unchanged"]) == (1, 1, 2)
    recorded = queries.imported_file(warehouse, str(spec.path), "table")
    assert (recorded["run_id"], recorded["records"]) == ("run-3", 4)
    assert recorded["sha256"] == hashlib.sha256(spec.path.read_bytes()).hexdigest()
    assert len(_listings(warehouse)) == 4


@pytest.mark.integration
def test_new_options_for_the_same_bytes_load_the_file_again(warehouse, spec):
    pipeline.run_configured_import(warehouse, spec, "run-1")
    remapped = ImportSettings(
        spec.format, spec.path, source=spec.source, kind=spec.kind, mapping=(("单位", "applicants"),)
    )
    again = pipeline.run_configured_import(warehouse, remapped, "run-2")
    assert again["skipped_file"] is False and again["listings"]["unchanged"] == 3
    assert pipeline.run_configured_import(warehouse, remapped, "run-3")["skipped_file"] is True


@pytest.mark.integration
def test_a_missing_file_raises_import_refused_naming_it(warehouse, tmp_path):
    missing = tmp_path / "gone" / "成果.csv"
    with pytest.raises(ImportRefused) as error:
        pipeline.run_configured_import(warehouse, ImportSettings("table", missing, kind="achievement"), "run-1")
    message = str(error.value)
    assert str(missing) in message and "\n" not in message
    assert queries.imported_file(warehouse, str(missing), "table") is None


@pytest.mark.integration
def test_a_file_the_importer_refuses_is_named_and_not_recorded(warehouse, spec):
    without_kind = ImportSettings("table", spec.path)  # a table import needs kind=
    with pytest.raises(ImportRefused) as error:
        pipeline.run_configured_import(warehouse, without_kind, "run-1")
    message = str(error.value)
    assert message.startswith(f"{spec.path}: ") and "kind= one of achievement, need, patent" in message
    assert queries.imported_file(warehouse, str(spec.path), "table") is None  # so the next run tries again
    assert _listings(warehouse) == []


@pytest.mark.integration
def test_a_configured_import_end_to_end_from_the_toml_file(warehouse, tmp_path):
    (tmp_path / "conf").mkdir()
    _write_csv(tmp_path / "conf" / "成果.csv", ACHIEVEMENTS)
    settings = _load(
        tmp_path, '[[imports]]\nformat = "table"\npath = "成果.csv"\nkind = "achievement"\nsource = "zju_table"\n'
    )
    (spec,) = settings.imports
    stats = pipeline.run_configured_import(warehouse, spec, "run-1")
    assert stats["loaded"] == 3 and stats["file"] == str((tmp_path / "conf" / "成果.csv").absolute())


# --- the run report -------------------------------------------------------------------------

LOADED = {
    "listings": {"inserted": 3, "updated": 0, "unchanged": 0, "superseded": 0},
    "challenges": {"inserted": 0, "updated": 0, "unchanged": 0, "superseded": 0},
    "loaded": 3,
    "quarantined": 1,
    "skipped_unchanged": 0,
    "total": 4,
    "file": "/d/成果.csv",
    "format": "table",
    "skipped_file": False,
    "duration_seconds": 0.42,
}
SKIPPED = {
    **LOADED,
    "loaded": 0,
    "quarantined": 0,
    "skipped_unchanged": 4,
    "skipped_file": True,
    "duration_seconds": 0.01,
}
SOURCE = {
    "pages_fetched": 12,
    "loaded": 10,
    "quarantined": 1,
    "blocked": 0,
    "skipped_unchanged": 3,
    "duration_seconds": 2.3,
}


@pytest.mark.unit
@pytest.mark.parametrize(
    "description, stats, status, fragments",
    [
        (
            "a loaded import has its row, without pages",
            {"sources": {"zju": SOURCE}, "imports": {"table:/d/成果.csv": LOADED}},
            "completed",
            [
                "| 导入 import table:/d/成果.csv | – | 3 | 1 | – | 0 | 0.4 | |",
                "| **合计 total** | 12 | 13 | 2 | 0 | 3 |",
            ],
        ),
        (
            "an unchanged file says so",
            {"sources": {}, "imports": {"table:/d/成果.csv": SKIPPED}},
            "completed",
            ["| 导入 import table:/d/成果.csv | – | 0 | 0 | – | 4 (文件未变 file unchanged) | 0.0 | |"],
        ),
        (
            "a failed import makes the run partial and is named",
            {
                "sources": {"zju": SOURCE},
                "imports": {"table:/d/gone.csv": {"error": "ImportRefused: 导入文件不存在 /d/gone.csv"}},
            },
            "partial",
            [
                "| 导入 import table:/d/gone.csv | – | – | – | – | – | – |"
                " ❌ ImportRefused: 导入文件不存在 /d/gone.csv |",
                "- **table:/d/gone.csv**: ImportRefused: 导入文件不存在 /d/gone.csv",
            ],
        ),
        (
            "an import kept among the sources still renders as a file",
            {"sources": {"table:/d/成果.csv": SKIPPED}},
            "completed",
            ["| table:/d/成果.csv | – | 0 | 0 | – | 4 (文件未变 file unchanged) |"],
        ),
    ],
)
def test_imports_in_the_run_report(description, stats, status, fragments):
    assert run_report.run_status(stats) == status, description
    markdown = run_report.report_markdown("run-1", status, stats)
    for fragment in fragments:
        assert fragment in markdown, description


@pytest.mark.unit
def test_failed_sources_names_failed_imports_beside_failed_sources():
    stats = {
        "sources": {"zju": {"error": "CrawlFailed: down"}, "fudan": SOURCE},
        "imports": {"table:/d/gone.csv": {"error": "ImportRefused: gone"}, "table:/d/成果.csv": LOADED},
    }
    assert run_report.failed_sources(stats) == {"zju": "CrawlFailed: down", "table:/d/gone.csv": "ImportRefused: gone"}
