"""The compare view's data, without any UI: the marked runs' poller, the sketch of the charted
curves shown until their histories load, and what the user chose to see (the metric, only the
differences, the sort, runs as columns).

One round per polling tick (`round`): at opening, the table at once, then a sketch of the
charted curves (cheap probes, wave by wave), then the histories behind the chart and the
table; the other compared metrics' histories follow without waiting for the next tick. Each
step hands a TickResult to `post`; the screen redraws from this object.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from mlflow_tui.analysis.charting import XYCache, chart_views
from mlflow_tui.tracking import TrackingError
from mlflow_tui.tracking.models import Point, Run, SeriesKey
from mlflow_tui.tracking.poller import Poller, TickResult
from mlflow_tui.tracking.sketch import sketch, windows_are_cheap
from mlflow_tui.tracking.source import TrackingSource

SKETCH_WAIT = 10.0  # s: the history requests wait this long at most for the opening sketch
MAX_KEYS = 24  # metrics compared (the table's columns)

Post = Callable[[TickResult], None]
Warn = Callable[[str], None]


def snapshot(runs: list[Run]) -> TickResult:
    """A result that only carries the runs (what a redraw needs)."""
    return TickResult(runs, [], {}, [], set(), 0, time.time())


class CompareSession:
    """Lives as long as the app: the choices (differences, sort, transposed) carry over from
    one compare view to the next; the poller and the sketch exist while a view is open."""

    def __init__(self) -> None:
        self.poller: Poller | None = None  # None: no compare view open
        self.view = 0  # the charted metric's index in chart_views (m)
        self.differences = False  # d: only the columns whose values differ
        self.sort: str | None = None  # o: the table's sort column, None: marking order
        self.descending = False  # O
        self.transposed = False  # t: runs as columns, fields as rows
        self.frame: Any = None  # the table as shown (a pandas frame), for export
        # Sketched curves (a few probe points each) shown until the poller has the series:
        # never in the poller's cache, which holds only exact histories.
        self.preview: dict[SeriesKey, list[Point]] = {}
        self.xy = XYCache()  # the chart's (x, y) series, extended per tick
        self.sketch_done: asyncio.Event | None = None  # set when the opening sketch is over
        self._opened = False

    # ------------------------------------------------------------------ open / close
    def open(self, source: TrackingSource, active_every: float) -> Poller:
        self.poller = Poller(source, first_load_points=2500, active_every=active_every)
        self._opened = False
        self.view = 0
        self.preview = {}
        self.sketch_done = asyncio.Event()
        return self.poller

    def close(self) -> None:
        self.poller = None
        self.frame = None
        self.preview = {}
        if self.sketch_done is not None:
            self.sketch_done.set()

    # ------------------------------------------------------------------ what is compared
    @staticmethod
    def keys(runs: Iterable[Run]) -> list[str]:
        """The metrics compared: the chart views' order (loss pair first), at most 24."""
        keys = sorted({k for r in runs for k in r.metrics if not k.startswith("system/")})
        ordered = [k for view in chart_views(keys) for k in view]
        return list(dict.fromkeys(ordered + keys))[:MAX_KEYS]

    def views(self, runs: Iterable[Run]) -> list[tuple[str, ...]]:
        return [tuple(v) for v in chart_views(self.keys(runs))]

    def charted(self, runs: Iterable[Run]) -> tuple[str, ...]:
        """The metrics charted (the view m cycles through)."""
        views = self.views(runs)
        return views[self.view % len(views)] if views else ()

    def points(self, key: SeriesKey) -> list[Point]:
        """A charted series: its history once loaded, else its sketch."""
        assert self.poller is not None
        return self.poller.points(key) or self.preview.get(key, [])

    def tracked(self, runs: list[Run], every_key: bool = False) -> list[SeriesKey]:
        """Series kept fresh: the charted metric's, and every compared metric's once loaded
        (so the table's statistics follow the runs live)."""
        keys = self.keys(runs)
        shown = set(self.charted(runs))
        poller = self.poller
        wanted = [k for k in keys if every_key or k in shown or (
            poller is not None and any((r.run_id, k) in poller.series for r in runs))]
        return [(r.run_id, k) for r in runs for k in wanted if k in r.metrics]

    def sketch_state(self, runs: list[Run], view: Sequence[str]) -> tuple[int, bool]:
        """(most points of a charted curve drawn from the sketch, 0 if none; whether a
        charted curve has neither its history nor a sketch yet)."""
        poller = self.poller
        sketched, loading = 0, False
        for run in runs:
            for key in view:
                if key not in run.metrics or poller is None or poller.points((run.run_id, key)):
                    continue
                points = self.preview.get((run.run_id, key))
                if points:
                    sketched = max(sketched, len(points))
                else:
                    loading = True
        return sketched, loading

    def unloaded(self, runs: Sequence[Run], key: str) -> list[str]:
        """Runs whose `key` history is not loaded yet (their statistics are not known)."""
        series = self.poller.series if self.poller is not None else {}
        return [r.run_id for r in runs if key in r.metrics and (r.run_id, key) not in series]

    # ------------------------------------------------------------------ polling
    async def round(self, marked: dict[str, Run], post: Post, warn: Warn) -> None:
        """One tick of the open view (see the module's docstring)."""
        poller = self.poller
        assert poller is not None
        if not self._opened:
            self._opened = True
            poller.runs = dict(marked)
            runs = poller.ordered_runs()
            post(snapshot(runs))  # the table, at once
            if self.sketch_done is not None:
                # The history requests would slow the sketch (one server): after it, then.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.sketch_done.wait(), SKETCH_WAIT)
            await poller.fetch(self.tracked(runs))
            self._drop_sketch()
            post(snapshot(runs))
        else:
            await self.sketch(poller.ordered_runs(), post, warn)  # a new metric charted
        ids = [rid for rid in marked if rid.isalnum()]  # MLflow run ids are hex
        experiments = sorted({r.experiment_id for r in marked.values()})
        in_list = ", ".join(f"'{rid}'" for rid in ids)
        result = await poller.tick(experiments, self.tracked, watch_new=False,
                                   filter_string=f"attributes.run_id IN ({in_list})")
        self._drop_sketch()
        post(result)
        rest = self.tracked(poller.ordered_runs(), every_key=True)
        if any(k not in poller.series for k in rest):
            await poller.fetch(rest)
            post(snapshot(poller.ordered_runs()))

    async def sketch(self, runs: list[Run], post: Post, warn: Warn) -> None:
        """Sketch the charted curves the poller has not loaded: a few cheap windowed requests
        (tui/tracking/sketch.py; ~0.3 s for 20 runs x 2 metrics x 100,000 steps, where MLflow's
        sampling takes ~12 s), shown wave by wave and labelled until the real sample replaces
        them. A failed sketch costs only itself: the real data follows anyway."""
        poller = self.poller
        if poller is None:
            return
        view = self.charted(runs)
        latest = {(r.run_id, k): r.metrics[k] for r in runs for k in view
                  if k in r.metrics and (r.run_id, k) not in poller.series
                  and (r.run_id, k) not in self.preview}
        if not latest or not windows_are_cheap(poller.source):
            return
        try:
            async for wave in sketch(poller.source, latest):
                if self.poller is not poller:
                    return  # the view was closed meanwhile
                self.preview.update(
                    (k, pts) for k, pts in wave.points.items() if k not in poller.series)
                post(snapshot(runs))
        except TrackingError:
            pass  # the sketch is a courtesy: the history requests that follow report errors
        except Exception as exc:  # noqa: BLE001 - a bug: said, and the real data still loads
            warn(f"No sketch of the curves (internal error: {type(exc).__name__}: {exc})")

    async def opening_sketch(self, marked: Sequence[Run], post: Post, warn: Warn) -> None:
        """The opening sketch, run beside the polling loop (which may still be finishing the
        monitor's round when the view opens); sets `sketch_done` whatever happens."""
        done = self.sketch_done
        try:
            await self.sketch(list(marked), post, warn)
        finally:
            if done is not None:
                done.set()

    def _drop_sketch(self) -> None:
        if self.poller is None:
            return
        for key in [k for k in self.preview if self.poller.points(k)]:
            del self.preview[key]


__all__ = ["CompareSession", "SKETCH_WAIT", "snapshot"]
