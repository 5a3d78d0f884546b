"""Which metrics a run's chart shows, and in which order the metric key cycles them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tui.analysis import MetricPair, find_pairs, loss_like, primary_pair
from tui.tracking.models import Point, Run, RunStatus

MAX_KEYS_PER_VIEW = 4


def chart_views(keys: Iterable[str]) -> list[tuple[str, ...]]:
    """Views in cycling order: the loss pair first (train_* with val_*), other pairs, then the
    run's loss-like metrics together when it has no pair, then every other metric alone.
    System metrics (system/...) are left to their own panel."""
    names = sorted({k for k in keys if not k.startswith("system/")})
    views: list[tuple[str, ...]] = []
    used: set[str] = set()
    for pair in find_pairs(names):
        if pair.train in used or pair.val in used:
            continue
        views.append((pair.train, pair.val))
        used |= {pair.train, pair.val}
    losses = [k for k in loss_like(names) if k not in used]
    if losses:
        group = tuple(losses[:MAX_KEYS_PER_VIEW])
        if views and find_pairs(views[0]) and find_pairs(views[0])[0].higher_is_better:
            views.insert(0, group)
        elif views:
            views.append(group)
        else:
            views.insert(0, group)
        used |= set(group)
    views += [(k,) for k in names if k not in used]
    return views


def warning_pair(keys: Iterable[str]) -> MetricPair | None:
    """The pair the overfitting detector watches for a run."""
    names = [k for k in keys if not k.startswith("system/")]
    return primary_pair(names)


_STATUS_ORDER = {RunStatus.RUNNING: 0, RunStatus.SCHEDULED: 1, RunStatus.FAILED: 2,
                 RunStatus.KILLED: 3, RunStatus.FINISHED: 4}


def best_point(points: Sequence[Point], higher_is_better: bool) -> Point | None:
    """The best finite point of a series (lowest loss, or highest accuracy)."""
    finite = [p for p in points if math.isfinite(p.value)]
    if not finite:
        return None
    pick = max if higher_is_better else min
    return pick(finite, key=lambda p: p.value)


def _best_key(run: Run, point: Point | None,
              pair: tuple[str, str, bool] | None) -> tuple[int, float]:
    """Best first when ascending: accuracy-like values are negated."""
    if point is None:
        return (1, 0.0)
    return (0, -point.value if pair and pair[2] else point.value)


def sort_key(column: str, pair_of: Callable[[Run], tuple[str, str, bool] | None],
             severity: Callable[[str], int], now_ms: int,
             best: Callable[[Run], Point | None] = lambda r: None) -> Callable[[Run], Any]:
    """A sort key for a run-table column. Missing and NaN values sort last ascending."""

    def metric(run: Run, index: int) -> tuple[int, float]:
        pair = pair_of(run)
        point = run.metrics.get(pair[index]) if pair else None
        if point is None or not math.isfinite(point.value):
            return (1, 0.0)
        return (0, point.value)

    keys: dict[str, Callable[[Run], Any]] = {
        "status": lambda r: _STATUS_ORDER[r.status],
        "name": lambda r: r.name.casefold(),
        "step": lambda r: -1 if r.latest_step is None else r.latest_step,
        "train": lambda r: metric(r, 0),
        "val": lambda r: metric(r, 1),
        "best": lambda r: _best_key(r, best(r), pair_of(r)),
        "warn": lambda r: severity(r.run_id),
        "duration": lambda r: r.duration_ms(now_ms) or 0,
        "start": lambda r: (r.start_time or 0, r.run_id),
    }
    return keys[column]


def xy(points: Iterable[Point], x_mode: str, start_ms: int | None) -> list[tuple[float, float]]:
    """Chart coordinates: x is the step, the seconds since the run started, or epoch seconds."""
    if x_mode == "relative":
        base = start_ms or 0
        return [((p.timestamp - base) / 1000, p.value) for p in points]
    if x_mode == "wall":
        return [(p.timestamp / 1000, p.value) for p in points]
    return [(p.step, p.value) for p in points]


def step_to_x(points: Sequence[Point], step: int | None, x_mode: str,
              start_ms: int | None) -> float | None:
    """Where `step` sits on the x axis of `x_mode` (its first point's time for time axes)."""
    if step is None:
        return None
    if x_mode == "step":
        return float(step)
    for p in points:
        if p.step == step:
            return xy([p], x_mode, start_ms)[0][0]
    return None
