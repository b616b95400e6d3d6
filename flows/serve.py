"""The deployments `jiebang serve` runs on one machine with `prefect.serve` (no work pool):
the same three `prefect.yaml` declares for teams with a Prefect server and workers."""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.nightly import nightly_refresh
from flows.on_demand import match_challenge, rebuild_index
from jiebang.settings import Settings


def deployments(settings: Settings, config_file: str | None = None) -> list:
    """nightly (cron + timezone from settings), match-challenge and rebuild-index (on demand).
    The flows read their settings from `config_file` and the environment at run time."""
    parameters = {"config_file": config_file}
    return [
        nightly_refresh.to_deployment(
            name="nightly",
            parameters=parameters,
            schedules=[Cron(settings.schedule_cron, timezone=settings.schedule_timezone)],
            description="每晚刷新：爬取 → 入库 → 匹配 (crawl, load and match every night)",
        ),
        match_challenge.to_deployment(
            name="match-challenge", parameters=parameters, description="立即匹配一个需求 (match one challenge now)"
        ),
        rebuild_index.to_deployment(
            name="rebuild-index", parameters=parameters, description="重建匹配索引 (rebuild the matching index)"
        ),
    ]


def serve_deployments(settings: Settings, config_file: str | None = None) -> None:
    """Register the deployments with the configured Prefect server and run their flow runs
    here until interrupted (Ctrl-C, SIGTERM)."""
    serve(*deployments(settings, config_file), print_starting_message=False)
