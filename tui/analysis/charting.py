"""Which metrics a run's chart shows, and in which order the metric key cycles them."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, overload

from mlflow_tui.analysis import MetricPair, find_pairs, loss_like, primary_pair
from mlflow_tui.analysis.datasets import Split, split_series
from mlflow_tui.tracking.models import Point, Run, RunStatus

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


def split_by_dataset(series: Mapping[str, list[Point]], datasets: Sequence[tuple[str, str]],
                     known: Mapping[str, Split] | None = None,
                     ) -> tuple[dict[str, list[Point]], str]:
    """A chart's series with every key logged for several datasets (several values per step)
    drawn as one series per dataset instead of a zig-zag; and a note saying so ("" if none)."""
    out: dict[str, list[Point]] = {}
    notes = []
    for key, points in series.items():
        split = (known or {}).get(key) or split_series(key, points, datasets)
        if split is None:
            out[key] = points
            continue
        out.update(zip(split.keys(), split.parts, strict=True))
        how = "by dataset input" if split.named_from_inputs else "by logging order"
        notes.append(f"{key}: {len(split.parts)} values per step, one per dataset "
                     f"(split {how})")
    return out, "; ".join(notes)


def warning_pair(keys: Iterable[str]) -> MetricPair | None:
    """The pair the overfitting detector watches for a run."""
    names = [k for k in keys if not k.startswith("system/")]
    return primary_pair(names)


_STATUS_ORDER = {RunStatus.RUNNING: 0, RunStatus.SCHEDULED: 1, RunStatus.FAILED: 2,
                 RunStatus.KILLED: 3, RunStatus.FINISHED: 4}


def _best_key(run: Run, point: Point | None,
              pair: tuple[str, str, bool] | None) -> tuple[int, float]:
    """Best first when ascending: accuracy-like values are negated."""
    if point is None:
        return (1, 0.0)
    return (0, -point.value if pair and pair[2] else point.value)


def sort_key(column: str, pair_of: Callable[[Run], tuple[str, str, bool] | None],
             severity: Callable[[str], int], now_ms: int,
             best: Callable[[Run], Point | None] = lambda r: None,
             latest: Callable[[Run, str], Point | None] = lambda r, k: r.metrics.get(k),
             ) -> Callable[[Run], Any]:
    """A sort key for a run-table column. Missing and NaN values sort last ascending."""

    def metric(run: Run, index: int) -> tuple[int, float]:
        pair = pair_of(run)
        point = latest(run, pair[0] if index == 0 else pair[1]) if pair else None
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


class _XYBuffer:
    """The chart coordinates of one cached series; they change only at their end.

    `cuts[g]` is the length the points were cut back to when generation g ended.
    """

    __slots__ = ("cuts", "generation", "points")

    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.points = points
        self.generation = 0
        self.cuts: list[int] = []

    def cut(self, length: int) -> None:
        del self.points[length:]
        self.cuts.append(length)
        self.generation += 1


class XYSeries(Sequence[tuple[float, float]]):
    """The first `len(view)` chart points of a series that `XYCache` keeps converted.

    Views of the same state compare equal without reading their points, and
    `shared_prefix(earlier)` tells how many leading points an earlier view of the same
    series still shares with this one (without reading them either), so that the chart
    only processes what changed. A view reads the live buffer: it is valid until the next
    `XYCache.view` of its key (which may replace the last points).
    """

    __slots__ = ("_buffer", "_generation", "_length")

    def __init__(self, buffer: _XYBuffer) -> None:
        self._buffer = buffer
        self._generation = buffer.generation
        self._length = len(buffer.points)

    def shared_prefix(self, other: object) -> int:
        """How many leading points `other` (another view) is known to share with this one."""
        if not isinstance(other, XYSeries) or other._buffer is not self._buffer:
            return 0
        shared = min(self._length, other._length)
        g0, g1 = sorted((self._generation, other._generation))
        if g1 > g0:
            shared = min(shared, *self._buffer.cuts[g0:g1])
        return shared

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> tuple[float, float]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[float, float]]: ...

    def __getitem__(self, index: int | slice) -> tuple[float, float] | list[tuple[float, float]]:
        points = self._buffer.points
        if isinstance(index, slice):
            start, stop, stride = index.indices(self._length)
            if stride == 1:
                return points[start:stop]
            return [points[i] for i in range(start, stop, stride)]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError("XYSeries index out of range")
        return points[index]

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return islice(self._buffer.points, self._length)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, XYSeries) and other._buffer is self._buffer:
            # Same state: equal. Another generation: the older view may no longer read
            # what it was made of, so it counts as different (a repaint, never a stale one).
            return other._generation == self._generation and other._length == self._length
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(other) == self._length and all(
            a is b or a == b for a, b in zip(self, other, strict=False))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"XYSeries(<{self._length} points>)"


@dataclass
class _XYEntry:
    source: Sequence[Point]
    mode: tuple[str, int | None]
    refs: list[Point]  # the source points converted, to see which ones were replaced
    buffer: _XYBuffer
    view: XYSeries = field(init=False)

    def __post_init__(self) -> None:
        self.view = XYSeries(self.buffer)


class XYCache:
    """`xy()` for cached series that grow at their end, converting only what is new.

    `view(key, points, x_mode, start_ms)` returns the same coordinates as
    `xy(points, x_mode, start_ms)`, as an `XYSeries`. It relies on how the poller keeps a
    series: the same list object, changed only at its end (points appended, or the last
    ones replaced when re-logged at the same step). Points are compared by identity from the
    end back to the first unchanged one; those after it are converted again, and the
    coordinates are only cut back where they differ. Another list object, x mode or run
    start converts the whole series again.
    """

    def __init__(self) -> None:
        self._entries: dict[Hashable, _XYEntry] = {}

    def view(self, key: Hashable, points: Sequence[Point], x_mode: str,
             start_ms: int | None) -> XYSeries:
        mode = (x_mode, start_ms)
        entry = self._entries.get(key)
        if entry is None or entry.source is not points or entry.mode != mode:
            entry = _XYEntry(points, mode, list(points), _XYBuffer(xy(points, x_mode, start_ms)))
            self._entries[key] = entry
            return entry.view
        refs = entry.refs
        old, new = len(refs), len(points)
        same = min(old, new)
        while same and points[same - 1] is not refs[same - 1]:
            same -= 1
        if same == old == new:
            return entry.view
        changed = points[same:]
        fresh = xy(changed, x_mode, start_ms)
        buffer = entry.buffer
        coords = buffer.points
        keep = same
        for p in fresh:  # a replaced point often converts to the same coordinates
            if keep >= old or not (p == coords[keep]):
                break
            keep += 1
        if keep < len(coords):
            buffer.cut(keep)
        coords.extend(fresh[keep - same:])
        del refs[same:]
        refs.extend(changed)
        if entry.view._length != len(coords) or entry.view._generation != buffer.generation:
            entry.view = XYSeries(buffer)
        return entry.view

    def keep(self, keys: Iterable[Hashable]) -> None:
        """Forget the series whose key is not in `keys` (no longer shown)."""
        wanted = set(keys)
        for key in [k for k in self._entries if k not in wanted]:
            del self._entries[key]


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
