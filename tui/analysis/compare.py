"""The compare table: marked runs x (params, best/best step/latest/min/max of each metric,
status, duration), as a pandas DataFrame, laid out to read like a diff: the params that differ
between the runs first, then the metrics, then what is the same. Column names stay machine
names (`val_loss.best_step`, `params.lr`: the CSV export); `header` gives what the screen shows.
pandas is imported when a comparison is built, not at start-up. No UI here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow_tui.analysis import higher_is_better
from mlflow_tui.analysis.datasets import split_series
from mlflow_tui.analysis.overfit import best_point
from mlflow_tui.tracking.models import Point, Run, SeriesKey

if TYPE_CHECKING:
    import pandas as pd

ID_COLUMNS = ("run", "run_id")
STAT_SUFFIXES = ("best", "best_step", "latest", "min", "max")
STAT_HEADERS = {"best": "best", "best_step": "@ step", "latest": "last", "min": "min",
                "max": "max"}


def series_stats(points: Sequence[Point], better_high: bool) -> dict[str, float | int | None]:
    best = best_point(points, better_high)
    if best is None:
        latest = points[-1].value if points else None
        return {"best": None, "best_step": None, "latest": latest, "min": None, "max": None}
    finite = [p.value for p in points if math.isfinite(p.value)]
    return {"best": best.value, "best_step": best.step, "latest": points[-1].value,
            "min": min(finite), "max": max(finite)}


def compare_frame(
    runs: Sequence[Run],
    keys: Sequence[str],
    points: Callable[[SeriesKey], list[Point]],
    now_ms: int,
    experiment_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per run, in the given order."""
    import pandas as pd

    names = experiment_names or {}
    param_keys = sorted({k for r in runs for k in r.params})
    rows = []
    for run in runs:
        row: dict[str, object] = {
            "run": run.name,
            "run_id": run.run_id,
            "experiment": names.get(run.experiment_id, run.experiment_id),
            "status": run.status.value,
            "duration_s": _seconds(run.duration_ms(now_ms)),
        }
        for key in param_keys:
            row[f"params.{key}"] = run.params.get(key)
        for key in keys:
            pts = points((run.run_id, key))
            if not pts and key in run.metrics:
                pts = [run.metrics[key]]
            split = split_series(key, pts, run.datasets)
            parts = dict(zip(split.keys(), split.parts, strict=True)) if split else {key: pts}
            for name, part in parts.items():
                stats = series_stats(part, higher_is_better(key))
                for suffix in STAT_SUFFIXES:
                    row[f"{name}.{suffix}"] = stats[suffix]
        rows.append(row)
    frame = pd.DataFrame(rows)
    # Read like a diff: the run, the params that differ, the metrics, then what is the same.
    metric_columns = [c for c in frame.columns if c.rsplit(".", 1)[-1] in STAT_SUFFIXES
                      and not c.startswith("params.")]
    params = [f"params.{k}" for k in param_keys]
    differing = [c for c in params if _differs(frame[c])]
    same = [c for c in params if c not in differing]
    order = ["run", "run_id", *differing, *metric_columns, "status", "duration_s", *same,
             "experiment"]
    frame = frame[[c for c in order if c in frame.columns]]
    for column in metric_columns:
        if column.endswith(".best_step"):
            frame[column] = frame[column].astype("Int64")
    return frame


def _differs(column: pd.Series) -> bool:
    return bool(column.astype(str).nunique(dropna=False) > 1)


def only_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """The run (name and id) plus every column whose values are not all the same (the
    experiment too, when every run is in the same one)."""
    keep = [c for c in frame.columns if c in ID_COLUMNS or _differs(frame[c])]
    return frame[keep]


def header(column: str) -> str:
    """What the screen shows for a column: `val_loss best`, `val_loss @ step`, `lr`,
    `duration` (the frame keeps machine names for the CSV)."""
    if column.startswith("params."):
        return column[len("params."):]
    if column == "duration_s":
        return "duration"
    name, _, suffix = column.rpartition(".")
    if name and suffix in STAT_HEADERS:
        return f"{name} {STAT_HEADERS[suffix]}"
    return column


def transpose(frame: pd.DataFrame) -> pd.DataFrame:
    """Runs as columns, fields as rows (MLflow's compare page): a `field` column with the
    header of each field, then one column a run, named by its run id."""
    import pandas as pd

    fields = [c for c in frame.columns if c not in ID_COLUMNS]
    out = pd.DataFrame({"field": [header(c) for c in fields]})
    for record in frame.to_dict("records"):
        out[str(record["run_id"])] = [record.get(c) for c in fields]
    return out


def sort_frame(frame: pd.DataFrame, column: str | None, descending: bool) -> pd.DataFrame:
    if not column or column not in frame:
        return frame
    return frame.sort_values(column, ascending=not descending, na_position="last",
                             kind="stable")


def export_csv(frame: pd.DataFrame, folder: Path, now: float) -> Path:
    """Write the table; returns the path. Never overwrites an existing file."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    path = folder / f"mlflow-tui-compare-{stamp}.csv"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"mlflow-tui-compare-{stamp}-{n}.csv"
    frame.to_csv(path, index=False)
    return path


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)
