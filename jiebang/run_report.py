"""The run report as Markdown: a pure function of a run's stats (the `runs.stats` JSON), shown
as a Prefect artifact and kept in the warehouse with the run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STATUS_LABELS = {
    "completed": "完成 (completed)",
    "partial": "部分完成 (partial: some sources failed)",
    "failed": "失败 (failed)",
    "running": "运行中 (running)",
    "interrupted": "中断 (interrupted)",
}
_SOURCE_COLUMNS = ("来源 source", "页面 pages", "入库 loaded", "隔离 quarantined", "受阻 blocked",
                   "未变跳过 skipped", "耗时 duration (s)", "错误 error")


def run_status(stats: Mapping[str, Any]) -> str:
    """'completed' when every source loaded, 'partial' when some failed but others loaded."""
    return "partial" if failed_sources(stats) else "completed"


def failed_sources(stats: Mapping[str, Any]) -> dict[str, str]:
    """{source: error} for the sources that could not be crawled or loaded."""
    return {name: s["error"] for name, s in stats.get("sources", {}).items() if s.get("error")}


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def report_markdown(run_id: str, status: str, stats: Mapping[str, Any]) -> str:
    """The report of one run: a table per source, the matching figures, and the errors.

    >>> print(report_markdown("r1", "completed", {"sources": {}, "matching": {"matches": 0}}))  # doctest: +ELLIPSIS
    # 夜间刷新 run r1: 完成 (completed)
    ...
    """
    lines = [f"# 夜间刷新 run {run_id}: {STATUS_LABELS.get(status, status)}", "",
             "| " + " | ".join(_SOURCE_COLUMNS) + " |", "|" + "---|" * len(_SOURCE_COLUMNS)]
    totals = dict.fromkeys(("pages_fetched", "loaded", "quarantined", "blocked", "skipped_unchanged"), 0)
    for name, source in sorted(stats.get("sources", {}).items()):
        if source.get("error"):
            lines.append(f"| {_cell(name)} | – | – | – | – | – | – | ❌ {_cell(source['error'])[:200]} |")
            continue
        for key in totals:
            totals[key] += int(source.get(key, 0))
        lines.append(
            f"| {_cell(name)} | {source.get('pages_fetched', 0)} | {source.get('loaded', 0)} |"
            f" {source.get('quarantined', 0)} | {source.get('blocked', 0)} | {source.get('skipped_unchanged', 0)} |"
            f" {float(source.get('duration_seconds', 0.0)):.1f} | |"
        )
    lines.append(f"| **合计 total** | {totals['pages_fetched']} | {totals['loaded']} | {totals['quarantined']} |"
                 f" {totals['blocked']} | {totals['skipped_unchanged']} | | |")
    matching = stats.get("matching")
    lines += ["", "## 匹配 matching", ""]
    if matching:
        weak = matching.get("no_good_match", [])
        lines += [
            f"- 需求 challenges matched: {matching.get('challenges', 0)} against {matching.get('listings', 0)} listings",
            f"- 匹配 matches stored: {matching.get('matches', 0)}"
            f" (新 new {matching.get('new', 0)}, 更新 updated {matching.get('updated', 0)})",
            f"- 无合适匹配 no good match: {len(weak)}" + (f" ({', '.join(map(_cell, weak[:20]))}"
                                                        f"{' …' if len(weak) > 20 else ''})" if weak else ""),
        ]
    else:
        lines.append("- 未运行 (matching did not run)")
    errors = failed_sources(stats)
    if stats.get("error"):
        errors = {**errors, "run": stats["error"]}
    lines += ["", "## 错误 errors", ""]
    lines += [f"- **{_cell(name)}**: {_cell(error)}" for name, error in errors.items()] or ["- 无 (none)"]
    return "\n".join(lines) + "\n"
