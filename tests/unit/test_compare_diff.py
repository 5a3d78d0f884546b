"""The compare table reads like a diff (tui/analysis/compare.py): differing params first, metric
summaries with readable headers, identical columns dropped, a transposed layout."""

from __future__ import annotations

import math

import pytest

from mlflow_tui.analysis.compare import (
    compare_frame,
    header,
    only_differences,
    series_stats,
    transpose,
)
from mlflow_tui.tracking.models import Point, Run, RunStatus

NOW = 1_800_000_000_000


def _run(i: int, lr: str, seed: str, width: str = "64") -> Run:
    return Run(f"{i:032x}", "7", f"run-{i}", RunStatus.FINISHED, NOW - 3_600_000,
               NOW - 3_600_000 + 125_000 * (i + 1),
               metrics={"val_loss": Point(9, 0.5, 0)},
               params={"lr": lr, "seed": seed, "width": width, "optimizer": "adam"})


def _points(key):
    rid, metric = key
    i = int(rid, 16)
    # A U-shaped validation loss whose best point moves with the run.
    return [Point(s, 1 + (s - 3 - i) ** 2 / 10, s) for s in range(10)] if metric == \
        "val_loss" else []


def _frame():
    runs = [_run(0, "0.1", "1"), _run(1, "0.01", "1"), _run(2, "0.001", "2")]
    return compare_frame(runs, ["val_loss"], _points, NOW, {"7": "team/sweep"})


def test_differing_params_come_first_then_metrics_then_the_same():
    columns = list(_frame().columns)
    assert columns[:4] == ["run", "run_id", "params.lr", "params.seed"]
    assert columns[4:9] == ["val_loss.best", "val_loss.best_step", "val_loss.latest",
                            "val_loss.min", "val_loss.max"]
    assert columns[9:] == ["status", "duration_s", "params.optimizer", "params.width",
                           "experiment"]


def test_best_is_the_value_at_the_best_step():
    frame = _frame()
    assert list(frame["val_loss.best_step"]) == [3, 4, 5]
    assert list(frame["val_loss.best"]) == [1.0, 1.0, 1.0]
    assert series_stats([], better_high=False)["best"] is None
    nan_only = series_stats([Point(0, math.nan, 0)], better_high=False)
    assert nan_only["best"] is None and math.isnan(nan_only["latest"])


def test_only_differences_drops_every_identical_column():
    diff = only_differences(_frame())
    assert list(diff.columns) == ["run", "run_id", "params.lr", "params.seed",
                                  "val_loss.best_step", "val_loss.latest", "val_loss.max",
                                  "duration_s"]


@pytest.mark.parametrize("column,text", [
    ("val_loss.best", "val_loss best"), ("val_loss.best_step", "val_loss @ step"),
    ("val_loss.latest", "val_loss last"), ("eval/loss.min", "eval/loss min"),
    ("params.lr", "lr"), ("params.a.b", "a.b"), ("duration_s", "duration"),
    ("status", "status"), ("experiment", "experiment"), ("weird.name", "weird.name"),
])
def test_headers(column, text):
    assert header(column) == text


def test_transposed_runs_are_columns():
    frame = _frame()
    flipped = transpose(frame)
    assert list(flipped.columns) == ["field", *frame["run_id"]]
    assert list(flipped["field"][:3]) == ["lr", "seed", "val_loss best"]
    assert list(flipped.iloc[0][1:]) == ["0.1", "0.01", "0.001"]
