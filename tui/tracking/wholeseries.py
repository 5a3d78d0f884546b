"""History windows for servers that can only send a series whole (MLflow before 2.11, no
get-history-bulk-interval): each window is cut from the run's whole series, read through the
public metrics/get-history.

A whole read serves every window of that series asked within FULL_TTL s after it (the
poller's exact windows split a wide one in halves; two views may chart the same series),
unless a run listing reported a newer latest point since (`forget_older_than`). Concurrent
askers of the same series share one request; at most FULL_PARALLEL are in flight.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence

from mlflow_tui.tracking.capabilities import sample_window
from mlflow_tui.tracking.models import Point, Run
from mlflow_tui.tracking.source import MAX_RESULTS_PER_RUN, gather_all

FULL_TTL = 2.0  # s: a whole series fetched serves every window of it asked this long after
FULL_PARALLEL = 4  # whole-series requests in flight (the http client's pool)
SIZES_KEPT = 20_000  # series whose size at the last read is remembered
LOCKS_KEPT = 256  # idle per-series locks are forgotten beyond this many

Key = tuple[str, str]  # (run id, metric key)


class WholeSeries:
    """Windows of series cut from whole reads by `read(run_id, key)`."""

    def __init__(self, read: Callable[[str, str], Awaitable[list[Point]]]) -> None:
        self._read = read
        self._full: dict[Key, tuple[float, list[Point]]] = {}  # (read at, points)
        self._locks: dict[Key, asyncio.Lock] = {}
        self._slots = asyncio.Semaphore(FULL_PARALLEL)
        self._sizes: dict[Key, int] = {}

    def size(self, run_id: str, key: str) -> int | None:
        """Points in the series at its last whole read, or None: what reading it costs."""
        return self._sizes.get((run_id, key))

    def forget_older_than(self, runs: Iterable[Run]) -> None:
        """Drop recent reads that a listing shows to be behind: the run reports a newer
        latest point than the read holds."""
        if not self._full:
            return
        by_id = {r.run_id: r for r in runs}
        for k, (_, points) in list(self._full.items()):
            run = by_id.get(k[0])
            latest = run.metrics.get(k[1]) if run is not None else None
            if latest is not None and (not points or (latest.step, latest.timestamp) > (
                    points[-1].step, points[-1].timestamp)):
                del self._full[k]

    async def window(self, run_ids: Sequence[str], key: str, start_step: int | None,
                     end_step: int | None, max_results: int) -> dict[str, list[Point]]:
        """What get-history-bulk-interval would answer, computed from whole series."""
        limit = max(1, min(MAX_RESULTS_PER_RUN, max_results))
        ids = list(dict.fromkeys(run_ids))
        wholes = await gather_all([self.series(rid, key) for rid in ids])
        out: dict[str, list[Point]] = {}
        for rid, points in zip(ids, wholes, strict=True):
            rows = sample_window(points, start_step, end_step, limit)
            if rows:
                out[rid] = rows
        return out

    async def series(self, run_id: str, key: str) -> list[Point]:
        """Every point of one series: a recent read, else a new one."""
        k = (run_id, key)
        lock = self._locks.get(k)
        if lock is None:
            if len(self._locks) > LOCKS_KEPT:
                for idle in [o for o, lo in self._locks.items() if not lo.locked()]:
                    del self._locks[idle]
            lock = self._locks[k] = asyncio.Lock()
        async with lock:
            seen = self._full.get(k)
            if seen is not None and time.monotonic() - seen[0] <= FULL_TTL:
                return seen[1]
            async with self._slots:
                points = await self._read(run_id, key)
            done = time.monotonic()
            for old in [o for o, (at, _) in self._full.items() if done - at > FULL_TTL]:
                del self._full[old]
            self._full[k] = (done, points)
            self._sizes[k] = len(points)
            if len(self._sizes) > SIZES_KEPT:
                del self._sizes[next(iter(self._sizes))]
            return points
