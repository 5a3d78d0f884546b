"""The interface the rest of the app reads MLflow through, and helpers shared by the sources."""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus

# get-history-bulk-interval limits (mlflow/server/handlers.py)
MAX_RESULTS_PER_RUN = 2500
MAX_RUNS_PER_BULK = 100


class TrackingSource(Protocol):
    """Read-only access to a tracking store. All methods are coroutines; implementations raise
    only `mlflow_tui.tracking.errors.TrackingError` subclasses."""

    display_uri: str

    async def search_experiments(self) -> list[Experiment]:
        """Active experiments, all pages."""
        ...

    async def search_runs(
        self, experiment_ids: Sequence[str], *, filter_string: str = "", max_runs: int = 5000
    ) -> list[Run]:
        """Active runs of the experiments, newest first, with the latest point of each metric."""
        ...

    async def get_history_window(
        self,
        run_ids: Sequence[str],
        key: str,
        *,
        start_step: int | None,
        end_step: int | None,
        max_results: int,
    ) -> dict[str, list[Point]]:
        """History of `key` for up to 100 runs, like MLflow's get-history-bulk-interval: all
        points with start_step <= step <= end_step when there are at most `max_results` steps in
        that window, else a sample of steps that keeps the first and last. Both bounds or
        neither. Points sorted by (step, timestamp). Runs without points are absent."""
        ...

    async def aclose(self) -> None: ...


FLOAT_MAX = sys.float_info.max


def to_float(value: Any) -> float:
    """MLflow's JSON writes NaN and infinities as strings: "NaN", "Infinity", "-Infinity".
    MLflow's SQL stores keep +/-inf as +/-sys.float_info.max: those come back as infinities."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    if number in (FLOAT_MAX, -FLOAT_MAX):
        return math.copysign(math.inf, number)
    return number


def to_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def latest_points(metrics: Iterable[Mapping[str, Any]]) -> dict[str, Point]:
    """{key: Point} from runs/search metric entries, keeping the highest (step, timestamp)."""
    out: dict[str, Point] = {}
    for m in metrics:
        key = str(m.get("key", ""))
        point = Point(to_int(m.get("step"), 0) or 0, to_float(m.get("value")),
                      to_int(m.get("timestamp"), 0) or 0)
        old = out.get(key)
        if old is None or (point.step, point.timestamp) >= (old.step, old.timestamp):
            out[key] = point
    return out


def make_run(info: Mapping[str, Any], metrics: dict[str, Point], params: Mapping[str, str],
             tags: Mapping[str, str],
             datasets: tuple[tuple[str, str], ...] = ()) -> Run:
    run_id = str(info.get("run_id") or info.get("run_uuid") or "")
    name = info.get("run_name") or tags.get("mlflow.runName") or run_id[:8]
    end = to_int(info.get("end_time"))
    return Run(
        run_id=run_id,
        experiment_id=str(info.get("experiment_id", "")),
        name=str(name),
        status=RunStatus.parse(info.get("status", "FINISHED")),
        start_time=to_int(info.get("start_time")),
        end_time=end if end else None,
        metrics=metrics,
        params=dict(params),
        tags=dict(tags),
        datasets=datasets,
        artifact_uri=str(info.get("artifact_uri") or ""),
    )


def parse_datasets(inputs: Any) -> tuple[tuple[str, str], ...]:
    """(name, context) of a run's dataset inputs, from runs/search's `inputs` (REST JSON)."""
    out: list[tuple[str, str]] = []
    if not isinstance(inputs, Mapping):
        return ()
    for item in inputs.get("dataset_inputs") or []:
        if not isinstance(item, Mapping):
            continue
        dataset = item.get("dataset") or {}
        name = str(dataset.get("name", "")) if isinstance(dataset, Mapping) else ""
        context = ""
        for tag in item.get("tags") or []:
            if isinstance(tag, Mapping) and tag.get("key") == "mlflow.data.context":
                context = str(tag.get("value", ""))
        if name:
            out.append((name, context))
    return tuple(out)


def sort_newest_first(runs: list[Run]) -> list[Run]:
    return sorted(runs, key=lambda r: (r.start_time or 0, r.run_id), reverse=True)


async def gather_all(aws: list[Any]) -> list[Any]:
    """Run coroutines together and wait for all of them; then raise the first failure, if any
    (no task is left running behind a failed tick)."""
    results = await asyncio.gather(*aws, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
