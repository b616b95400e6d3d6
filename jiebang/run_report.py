"""The run report as Markdown: a pure function of a run's stats (the `runs.stats` JSON), shown
as a Prefect artifact and kept in the warehouse with the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jiebang.display import source_name

STATUS_LABELS = {
    "completed": "完成 (completed)",
    "partial": "部分完成 (partial: some sources failed)",
    "failed": "失败 (failed)",
    "running": "运行中 (running)",
    "interrupted": "中断 (interrupted)",
}
_SOURCE_COLUMNS = (
    "来源 source",
    "页面 pages",
    "入库 loaded",
    "隔离 quarantined",
    "受阻 blocked",
    "未变跳过 skipped",
    "耗时 duration (s)",
    "错误 error",
)


# Where a run's stats keep its per-source rows: crawled sources, and configured import files
# (`[[imports]]`, keyed by ImportSettings.name). A failed import counts like a failed source.
_SECTIONS = ("sources", "imports")


def run_status(stats: Mapping[str, Any]) -> str:
    """'completed' when every source and import loaded, 'partial' when some failed but others loaded,
    'failed' when the run's `error` says matching could not run (no verified index).

    >>> run_status({"sources": {}, "error": "IndexUnusable: ..."})
    'failed'
    """
    if stats.get("error"):
        return "failed"
    return "partial" if failed_sources(stats) else "completed"


def run_error(stats: Mapping[str, Any]) -> str | None:
    """The run's error in one line: each failed source and import with its error, then why
    matching could not run; None when nothing failed.

    >>> run_error({"sources": {"zju": {"error": "CrawlFailed: down"}, "fudan": {}}, "error": "IndexUnusable: x"})
    'zju: CrawlFailed: down; IndexUnusable: x'
    """
    errors = [f"{name}: {message}" for name, message in failed_sources(stats).items()]
    errors += [stats["error"]] if stats.get("error") else []
    return "; ".join(errors)[:2000] or None


def failed_sources(stats: Mapping[str, Any]) -> dict[str, str]:
    """{source or import: error} for the sources that could not be crawled or loaded and the
    import files that could not be imported."""
    return {name: s["error"] for _, name, s in _rows(stats) if s.get("error")}


def _rows(stats: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(section, name, stats) of every source, then every import, each section sorted by name."""
    return [(section, name, row) for section in _SECTIONS for name, row in sorted((stats.get(section) or {}).items())]


def _is_import(row: Mapping[str, Any]) -> bool:
    return "file" in row or "skipped_file" in row


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _source_line(label: str, source: Mapping[str, Any]) -> str:
    return (
        f"| {label} | {source.get('pages_fetched', 0)} | {source.get('loaded', 0)} |"
        f" {source.get('quarantined', 0)} | {source.get('blocked', 0)} | {source.get('skipped_unchanged', 0)} |"
        f" {float(source.get('duration_seconds', 0.0)):.1f} | |"
    )


def _import_line(label: str, source: Mapping[str, Any]) -> str:
    """A file has no pages and cannot be blocked; an unchanged file is said so, not just counted."""
    skipped = str(source.get("skipped_unchanged", 0)) + (
        " (文件未变 file unchanged)" if source.get("skipped_file") else ""
    )
    return (
        f"| {label} | – | {source.get('loaded', 0)} | {source.get('quarantined', 0)} | – | {skipped} |"
        f" {float(source.get('duration_seconds', 0.0)):.1f} | |"
    )


def table_rows(stats: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per source and import file for the run page (运行状态): counts, or the error of one
    that failed; sources by their Chinese names, columns in Chinese.

    >>> table_rows({"sources": {"zju": {"error": "down"}}})[0]["错误"]
    'down'
    >>> table_rows({"sources": {"zju": {"error": "down"}}})[0]["来源"]
    '浙江大学'
    """
    rows = []
    for section, name, row in _rows(stats):
        counts = [row.get(kind) or {} for kind in ("listings", "challenges")]
        rows.append(
            {
                "来源": source_name(name) if section == "sources" else _import_name(name, row),
                "页面": row.get("pages_fetched"),
                "新增": _total(counts, "inserted", row),
                "更新": _total(counts, "updated", row),
                "未变": _total(counts, "unchanged", row),
                "隔离": row.get("quarantined"),
                "受阻": row.get("blocked"),
                "错误": row.get("error", ""),
            }
        )
    return rows


def _import_name(name: str, row: Mapping[str, Any]) -> str:
    """An import file as 导入文件 path（format）: its key is format:path (ImportSettings.name)."""
    format_, _, path = name.partition(":")
    return f"导入文件 {row.get('file') or path or name}（{source_name(format_)}）"


def _total(counts: list[Mapping[str, int]], key: str, row: Mapping[str, Any]) -> int | None:
    return None if row.get("error") else sum(int(c.get(key, 0)) for c in counts)


def report_markdown(run_id: str, status: str, stats: Mapping[str, Any]) -> str:
    """The report of one run: a row per source and per import file, the matching figures, and
    the errors.

    >>> print(report_markdown("r1", "completed", {"sources": {}, "matching": {"matches": 0}}))  # doctest: +ELLIPSIS
    # 夜间刷新 run r1: 完成 (completed)
    ...
    """
    lines = [
        f"# 夜间刷新 run {run_id}: {STATUS_LABELS.get(status, status)}",
        "",
        "| " + " | ".join(_SOURCE_COLUMNS) + " |",
        "|" + "---|" * len(_SOURCE_COLUMNS),
    ]
    totals = dict.fromkeys(("pages_fetched", "loaded", "quarantined", "blocked", "skipped_unchanged"), 0)
    for section, name, source in _rows(stats):
        label = _cell(name) if section == "sources" else f"导入 import {_cell(name)}"
        if source.get("error"):
            lines.append(f"| {label} | – | – | – | – | – | – | ❌ {_cell(source['error'])[:200]} |")
            continue
        for key in totals:
            totals[key] += int(source.get(key, 0))
        lines.append(_import_line(label, source) if _is_import(source) else _source_line(label, source))
    lines.append(
        f"| **合计 total** | {totals['pages_fetched']} | {totals['loaded']} | {totals['quarantined']} |"
        f" {totals['blocked']} | {totals['skipped_unchanged']} | | |"
    )
    matching = stats.get("matching")
    lines += ["", "## 匹配 matching", ""]
    if matching:
        weak = matching.get("no_good_match", [])
        lines += [
            f"- 需求 challenges matched: {matching.get('challenges', 0)}"
            f" against {matching.get('listings', 0)} listings",
            f"- 匹配 matches stored: {matching.get('matches', 0)}"
            f" (新 new {matching.get('new', 0)}, 更新 updated {matching.get('updated', 0)})",
            f"- 无合适匹配 no good match: {len(weak)}"
            + (f" ({', '.join(map(_cell, weak[:20]))}{' …' if len(weak) > 20 else ''})" if weak else ""),
        ]
        if matching.get("index_rebuilt"):
            lines.append(f"- 索引已重建 index rebuilt first: {_cell(matching['index_rebuilt'])}")
        if sharding := stats.get("sharding"):
            lines.append(
                f"- 分片 sharding: {sharding['batches']} batches × {sharding['partitions']} listing partitions"
                f" on {sharding['task_runner']}"
            )
    else:
        lines.append("- 未运行 (matching did not run)")
    errors = failed_sources(stats)
    if stats.get("error"):
        errors = {**errors, "run": stats["error"]}
    lines += ["", "## 错误 errors", ""]
    lines += [f"- **{_cell(name)}**: {_cell(error)}" for name, error in errors.items()] or ["- 无 (none)"]
    return "\n".join(lines) + "\n"
