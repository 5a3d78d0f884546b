"""The series half of polling: the cached history of each tracked (run, metric), loaded once
(downsampled to what a chart shows) and then advanced with only the new points. The poller
(tui/tracking/poller.py) decides which runs and series; this reads them. See the poller's
docstring for the invariant and for servers without windows.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field

from mlflow_tui.tracking.errors import NotFound
from mlflow_tui.tracking.models import Point, Run, SeriesKey
from mlflow_tui.tracking.source import (
    MAX_RESULTS_PER_RUN,
    MAX_RUNS_PER_BULK,
    TrackingSource,
    gather_all,
)

FIRST_LOAD_BATCH = 10  # runs per first-load request
OPEN_END = 2**62  # end_step of an open-ended history window
# Servers without windows (see tui/tracking/poller.py): a series of N points is read again at
# most N * OLD_SECONDS_PER_POINT s after its last read (about 130 bytes a point: ~2.6 KB/s per
# series), never later than OLD_MAX_STALE s, and at most OLD_REFRESH_POINTS points (estimated)
# are read again per tick (at least one series).
OLD_SECONDS_PER_POINT = 0.05
OLD_MAX_STALE = 300.0
OLD_REFRESH_POINTS = 5000


@dataclass
class SeriesCache:
    """Cached history of one (run, metric). Steps >= exact_from hold every logged point, up
    to the last exact one: `exact_len` is None, or (servers without windows) the number of
    points before the provisional ones, latest points runs/search reported since the last
    read, which the next read replaces. `verified_at`: when it was last read (poller clock)."""

    points: list[Point] = field(default_factory=list)
    exact_from: int = 0
    sampled: bool = False
    exact_len: int | None = None
    verified_at: float = 0.0

    @property
    def last_step(self) -> int:
        return self.points[-1].step if self.points else -1

    @property
    def exact_last_step(self) -> int:
        """The step of the last point known exact (provisional points come after it)."""
        n = len(self.points) if self.exact_len is None else self.exact_len
        return self.points[n - 1].step if n else -1

    @property
    def last_timestamp(self) -> int:
        return self.points[-1].timestamp if self.points else -1


class SeriesReader:
    """Owns the series caches {(run id, key): SeriesCache} and the history requests."""

    def __init__(self, source: TrackingSource, *, first_load_points: int = 500,
                 max_parallel: int = 4, clock: Callable[[], float] = time.monotonic,
                 seconds_per_point: float = OLD_SECONDS_PER_POINT,
                 max_stale: float = OLD_MAX_STALE,
                 refresh_points: int = OLD_REFRESH_POINTS) -> None:
        self.source = source
        self.first_load_points = first_load_points
        self.seconds_per_point = seconds_per_point
        self.max_stale = max_stale
        self.refresh_points = refresh_points
        self.series: dict[SeriesKey, SeriesCache] = {}
        self.missing: set[str] = set()  # runs whose history answered "not found"
        self.refresh_all = False  # the next fetch reads every provisional series again
        self._clock = clock
        # Requests in flight at once: the http client's pool holds 4 connections, and more
        # would queue there and time out as if the server were slow.
        self._slots = asyncio.Semaphore(max_parallel)

    def points(self, key: SeriesKey) -> list[Point]:
        cache = self.series.get(key)
        return cache.points if cache else []

    async def fetch(self, runs: dict[str, Run], tracked: Iterable[SeriesKey], *,
                    light: bool = False, fresh: Set[str] = frozenset(),
                    old: bool = False) -> set[SeriesKey]:
        """Load or advance the `tracked` series of `runs`; the keys of those that changed.
        `light`: the runs' records are not fresh (a light tick), except those in `fresh`, so
        the series of active runs are asked open-ended. `old`: the server has no windows."""
        first: dict[str, list[str]] = defaultdict(list)
        # (key, from_step) -> [(run_id, to_step)]. The window starts AT the last cached step
        # (not after it): a point re-logged at that step with a newer time is then not lost.
        # (After provisional points: at the last exact step, so the read replaces them.)
        advance: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
        # Servers without windows: series that advanced or hold provisional points,
        # (run active, last read, run_id, key, latest point if it advanced).
        due: list[tuple[bool, float, str, str, Point | None]] = []
        # Light ticks: an active run's record is not fresh, so its tracked series are asked
        # open-ended, from the last cached step: (key, from_step) -> [run_id].
        open_ended: dict[tuple[str, int], list[str]] = defaultdict(list)
        for run_id, key in dict.fromkeys(tracked):
            run = runs.get(run_id)
            latest = run.metrics.get(key) if run else None
            cache = self.series.get((run_id, key))
            if (light and run is not None and run.status.is_active
                    and run_id not in fresh):
                if cache is not None:
                    open_ended[(key, max(cache.last_step, 0))].append(run_id)
                else:  # not logged yet when the run was last listed: maybe now
                    first[key].append(run_id)
                continue
            if latest is None:
                continue
            if cache is None:
                first[key].append(run_id)
                continue
            advanced = latest.step > cache.last_step or (
                latest.step == cache.last_step and latest.timestamp > cache.last_timestamp)
            if old and (advanced or cache.exact_len is not None):
                assert run is not None
                due.append((run.status.is_active, cache.verified_at, run_id, key,
                            latest if advanced else None))
            elif advanced:
                advance[(key, max(cache.last_step, 0))].append((run_id, latest.step))

        updated: set[SeriesKey] = set()
        refresh_all, self.refresh_all = self.refresh_all, False
        if due:
            self._plan_refreshes(due, open_ended, updated, refresh_all)
        limit = min(self.first_load_points, MAX_RESULTS_PER_RUN)

        async def first_load(key: str, batch: list[str]) -> None:
            read_at = self._clock()
            got = await self._window(batch, key, None, None, limit)
            # MLflow 3 samples each run's rows; older servers sample the union of the batch's
            # steps. Either way a full answer may have been thinned: such a cache is exact
            # only from after its last point.
            union_full = len({p.step for pts in got.values() for p in pts}) >= limit
            for rid in batch:
                pts = got.get(rid, [])
                if not pts and light:
                    continue  # nothing logged yet: asked again next tick
                sampled = union_full or len(pts) >= limit
                cache = SeriesCache(pts, 0, sampled, verified_at=read_at)
                if sampled:
                    cache.exact_from = cache.last_step + 1
                self.series[(rid, key)] = cache
                updated.add((rid, key))

        # First loads of different metrics go out together (a sweep opening in the compare
        # view, or a run first charted): the server answers them in parallel.
        # In batches of a few runs: the server reads every point of a history to sample it,
        # so smaller requests answer sooner, in parallel, and never one huge one at a time.
        await gather_all([
            first_load(key, run_ids[i:i + FIRST_LOAD_BATCH])
            for key, run_ids in first.items()
            for i in range(0, len(run_ids), FIRST_LOAD_BATCH)
        ])
        async def extend(key: str, start: int, ids: list[str], end: int | None) -> None:
            read_at = self._clock()
            if end is None:  # open-ended: split (for exactness) only if the answer is full
                window = await self._window(ids, key, start, OPEN_END, MAX_RESULTS_PER_RUN)
                if any(len(pts) >= MAX_RESULTS_PER_RUN for pts in window.values()):
                    end = max(p.step for pts in window.values() for p in pts)
                    window = await self._exact_window(ids, key, start, end)
            else:
                window = await self._exact_window(ids, key, start, end)
            for rid in ids:
                new = window.get(rid)
                cache = self.series.get((rid, key))
                if not new or cache is None:
                    continue
                last = cache.exact_last_step
                if cache.exact_len is not None:
                    cache.exact_len = None  # the read replaces the provisional points
                    updated.add((rid, key))
                cache.verified_at = read_at
                tail = [p for p in new if p.step >= last]
                kept = len(cache.points)
                while kept and cache.points[kept - 1].step >= last:
                    kept -= 1
                if cache.points[kept:] == tail:
                    continue  # the window brought back only what is cached
                del cache.points[kept:]
                cache.points.extend(tail)
                updated.add((rid, key))

        jobs = []
        for (key, start), members in advance.items():
            for i in range(0, len(members), MAX_RUNS_PER_BULK):
                chunk = members[i:i + MAX_RUNS_PER_BULK]
                jobs.append(extend(key, start, [r for r, _ in chunk], max(e for _, e in chunk)))
        for (key, start), ids in open_ended.items():
            for i in range(0, len(ids), MAX_RUNS_PER_BULK):
                jobs.append(extend(key, start, ids[i:i + MAX_RUNS_PER_BULK], None))
        await gather_all(jobs)
        return updated

    def _plan_refreshes(self, due: list[tuple[bool, float, str, str, Point | None]],
                        open_ended: dict[tuple[str, int], list[str]],
                        updated: set[SeriesKey], refresh_all: bool) -> None:
        """Servers without windows: which of the series that advanced (or hold provisional
        points) are read again this tick, into `open_ended` (from the last exact step: the
        read is whole anyway, so the cache takes every point it brings, not just those up to
        the latest runs/search reported); the others that advanced get runs/search's latest
        point appended, provisional. See the module docstring."""
        now = self._clock()
        size_of = getattr(self.source, "history_size", None)
        ready: list[tuple[bool, float, str, str, Point | None, int]] = []
        later: list[tuple[str, str, Point | None]] = []
        for active, verified_at, rid, key, latest in due:
            cache = self.series[(rid, key)]
            size = size_of(rid, key) if size_of is not None else None
            if size is None:  # not read whole yet: as long as what is cached, at least
                size = len(cache.points)
                if cache.sampled and latest is not None:
                    size = max(size, latest.step + 1 - cache.points[0].step)
            stale = min(self.max_stale, size * self.seconds_per_point)
            if (refresh_all or not active or cache.exact_last_step < 0
                    or now - verified_at >= stale):
                ready.append((active, verified_at, rid, key, latest, size))
            else:
                later.append((rid, key, latest))
        ready.sort(key=lambda item: (item[0], item[1]))  # finished runs, then the oldest reads
        budget = self.refresh_points
        for i, (active, _at, rid, key, latest, size) in enumerate(ready):
            if i and active and not refresh_all and size > budget:
                later.append((rid, key, latest))
                continue
            budget -= size
            cache = self.series[(rid, key)]
            open_ended[(key, max(cache.exact_last_step, 0))].append(rid)
        for rid, key, latest in later:
            if latest is None:
                continue  # provisional, not advanced: it waits for its refresh
            cache = self.series[(rid, key)]
            if cache.exact_len is None:
                cache.exact_len = len(cache.points)
            cache.points.append(latest)
            updated.add((rid, key))

    async def _window(self, run_ids: list[str], key: str, start: int | None, end: int | None,
                      max_results: int) -> dict[str, list[Point]]:
        try:
            async with self._slots:
                return await self.source.get_history_window(
                    run_ids, key, start_step=start, end_step=end, max_results=max_results
                )
        except NotFound:
            # A run deleted between runs/search and this call: the next tick (a full
            # listing) drops it.
            if len(run_ids) == 1:
                self.missing.update(run_ids)
                return {}
            out: dict[str, list[Point]] = {}
            for rid in run_ids:
                out.update(await self._window([rid], key, start, end, max_results))
            return out

    async def _exact_window(self, run_ids: list[str], key: str, start: int, end: int
                            ) -> dict[str, list[Point]]:
        """Every point with start <= step <= end. The server samples a window that has more
        than max_results steps, so a full answer is split in halves until none is full."""
        got = await self._window(run_ids, key, start, end, MAX_RESULTS_PER_RUN)
        steps = {p.step for pts in got.values() for p in pts}
        full = len(steps) >= MAX_RESULTS_PER_RUN or any(
            len(pts) >= MAX_RESULTS_PER_RUN for pts in got.values())
        if not full or start >= end:
            return got
        mid = (start + end) // 2
        left = await self._exact_window(run_ids, key, start, mid)
        right = await self._exact_window(run_ids, key, mid + 1, end)
        for rid, pts in right.items():
            left.setdefault(rid, []).extend(pts)
        return left
