"""The Prefect task runner a flow's mapped tasks run on, chosen by `Settings.task_runner`.

    threads    ThreadPoolTaskRunner (the default: crawls wait on the network, not the CPU)
    processes  ProcessPoolTaskRunner with `dask_workers` processes, on this machine
    dask       prefect-dask's DaskTaskRunner: the scheduler at `dask_address`, or else a
               LocalCluster of `dask_workers` single-threaded worker processes

Use: `some_flow.with_options(task_runner=task_runner_for(settings))`. Dask workers open the
warehouse and the index by path, so on a real cluster those paths must be shared storage.
"""

from __future__ import annotations

from typing import Any

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from jiebang.settings import Settings


def task_runner_for(settings: Settings) -> TaskRunner[Any]:
    """A fresh task runner for `settings` (a runner is started once per flow run).

    >>> type(task_runner_for(Settings())).__name__
    'ThreadPoolTaskRunner'
    """
    if settings.task_runner == "processes":
        return ProcessPoolTaskRunner(max_workers=settings.dask_workers)
    if settings.task_runner == "dask":
        from prefect_dask import DaskTaskRunner  # imported only when chosen: distributed is heavy

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(
            cluster_class="distributed.LocalCluster",
            cluster_kwargs={
                "n_workers": settings.dask_workers,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": ":0",
            },
        )
    return ThreadPoolTaskRunner()  # Prefect's default pool size, as when no runner is given
