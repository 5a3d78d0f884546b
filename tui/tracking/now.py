"""What is running right now, in every experiment: the data behind the Now view and the
warning counts of experiments that are not open.

One Poller over every experiment id with the active-runs filter: its listing is one small
runs/search (running runs only, whatever the experiments hold), and between listings its light
ticks send the two probes that normally answer nothing (a status change of a known run, a run
started since); the judged series of running runs advance through history windows, as in the
monitor. Runs that end stay listed as *recent* for `recent_ms` (an hour) with their last
record; a search for runs ended within that hour runs at the first tick and every
`recent_every` s, and between those, every `ended_every` s (not every refresh: a refresh's
requests are the two probes and the windows), a search for runs ended since the last such
search (normally empty): a run too short to be seen running still shows within `ended_every`
s. A run seen running that ends is found by the light tick's status probe, at the next tick.

`look_back(ms)` makes the next tick's search for ended runs reach back to `ms` instead of an
hour (up to LOOK_BACK_MAX runs, the latest ended), once: the watcher's first pass after a
restart or with --since. Those runs are in that tick's `recent` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mlflow_tui.tracking.models import Point, Run, SeriesKey
from mlflow_tui.tracking.poller import ACTIVE, MAX_ACTIVE, Poller, TickResult
from mlflow_tui.tracking.source import TrackingSource, sort_newest_first

RECENT_MS = 3_600_000  # finished, failed and killed runs stay this long (ms since they ended)
RECENT_EVERY = 60.0  # s between searches for runs that ended (beside the transitions seen)
RECENT_MAX = 200  # ended runs kept (the latest ended): a busy server ends hundreds an hour
ID_CHUNK = 100  # experiment ids per search
ENDED_SLACK_MS = 10_000  # the "ended since" probe looks this far before its last search
ENDED_EVERY = 10.0  # s between "ended since" probes (runs too short to be seen running)
LOOK_BACK_MAX = 1000  # ended runs found by a one-off longer look-back (the latest ended)


@dataclass(frozen=True)
class NowResult:
    active: list[Run]  # RUNNING / SCHEDULED runs, newest first
    recent: list[Run]  # runs ended in the last `recent_ms`, the latest ended first
    ended: list[str]  # ids of runs seen ending at this tick
    tick: TickResult  # the poller's tick (updated series, requests)
    requests: int  # requests this tick sent, all told


class NowPoller:
    """Active runs across experiments, and the recently ended ones. Call tick() from one task
    at a time, like Poller."""

    def __init__(self, source: TrackingSource, *, recent_ms: int = RECENT_MS,
                 recent_every: float = RECENT_EVERY, ended_every: float = ENDED_EVERY,
                 first_load_points: int = 500,
                 clock: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.source = source
        self.poller = Poller(source, first_load_points=first_load_points, clock=clock,
                             max_runs=MAX_ACTIVE)
        self.recent_ms = recent_ms
        self.recent_every = recent_every
        self.ended_every = ended_every
        self.recent: dict[str, Run] = {}
        self._clock = clock
        self._wall_ms = wall_ms
        self._next_recent = 0.0
        self._ended_since: int | None = None  # the last search's time, less the slack
        self._next_ended = 0.0
        self._ids: tuple[str, ...] = ()
        self._look_back: int | None = None

    def look_back(self, since_ms: int) -> None:
        """The next tick also lists the runs that ended since `since_ms` (when it is more than
        `recent_ms` ago), once."""
        self._look_back = since_ms

    def points(self, key: SeriesKey) -> list[Point]:
        return self.poller.points(key)

    def refresh(self) -> None:
        self.poller.refresh()
        self._next_recent = 0.0

    async def tick(self, experiment_ids: Sequence[str],
                   tracked: Callable[[list[Run]], Iterable[SeriesKey]] | None = None
                   ) -> NowResult:
        ids = tuple(dict.fromkeys(experiment_ids))
        if ids != self._ids:
            self._ids = ids
            self._next_recent = 0.0
            self.recent = {rid: r for rid, r in self.recent.items() if r.experiment_id in ids}
        calls = self._calls()
        before = dict(self.poller.runs)

        def judged(runs: list[Run]) -> Iterable[SeriesKey]:
            active = [r for r in runs if r.status.is_active]
            return tracked(active) if tracked is not None else ()

        result = await self.poller.tick(ids, judged, filter_string=ACTIVE)
        now_ms = self._wall_ms()
        ended: list[str] = []
        for run in result.runs:
            if not run.status.is_active and run.run_id not in self.recent:
                self.recent[run.run_id] = run  # a light tick's probe saw it end
                ended.append(run.run_id)
        gone = [rid for rid in result.removed_runs if rid in before
                and rid not in self.recent]
        if gone:  # left the active listing: ended, or deleted (then not found)
            quoted = ", ".join(f"'{rid}'" for rid in gone)
            for run in await self.source.search_runs(
                    ids, filter_string=f"attributes.run_id IN ({quoted})", max_runs=len(gone)):
                if not run.status.is_active:
                    self.recent[run.run_id] = run
                    ended.append(run.run_id)
        cutoff = now_ms - self.recent_ms
        keep = RECENT_MAX
        searched = True
        if self._look_back is not None and self._look_back < cutoff and ids:
            cutoff, keep = self._look_back, LOOK_BACK_MAX
            await self._search_recent(ids, now_ms, since=cutoff, max_runs=keep)
            self._next_recent = self._clock() + self.recent_every
        elif self._clock() >= self._next_recent and ids:
            await self._search_recent(ids, now_ms)
            self._next_recent = self._clock() + self.recent_every
        elif ids and self._ended_since is not None and self._clock() >= self._next_ended:
            # Runs that ended since the last look without being seen running (a short run
            # between two ticks): a search that normally answers nothing.
            for i in range(0, len(ids), ID_CHUNK):
                for run in await self.source.search_runs(
                        ids[i:i + ID_CHUNK],
                        filter_string=f"attributes.end_time > {self._ended_since}",
                        max_runs=RECENT_MAX):
                    if not run.status.is_active and run.run_id not in self.recent:
                        self.recent[run.run_id] = run
                        ended.append(run.run_id)
        else:
            searched = False
        if searched:
            self._ended_since = now_ms - ENDED_SLACK_MS
            self._next_ended = self._clock() + self.ended_every
        if ids:
            self._look_back = None
        for rid in [rid for rid, r in self.recent.items()
                    if (r.end_time or r.start_time or 0) < cutoff]:
            del self.recent[rid]
        active = [r for r in result.runs if r.status.is_active]
        recent = sorted(self.recent.values(),
                        key=lambda r: -(r.end_time or r.start_time or 0))[:keep]
        if len(self.recent) > keep:
            self.recent = {r.run_id: r for r in recent}
        return NowResult(active=sort_newest_first(active), recent=recent, ended=ended,
                         tick=result, requests=self._calls() - calls)

    async def _search_recent(self, ids: tuple[str, ...], now_ms: int, *,
                             since: int | None = None, max_runs: int = RECENT_MAX) -> None:
        since = now_ms - self.recent_ms if since is None else since
        found: dict[str, Run] = {}
        for i in range(0, len(ids), ID_CHUNK):
            for run in await self.source.search_runs(
                    ids[i:i + ID_CHUNK], filter_string=f"attributes.end_time > {since}",
                    max_runs=max_runs):  # the newest: a busy server ends hundreds an hour
                if not run.status.is_active:
                    found[run.run_id] = run
        # A recent run no longer found was deleted (or restarted: it is active again).
        self.recent = found

    def _calls(self) -> int:
        return int(getattr(self.source, "requests", 0))


__all__ = ["ENDED_EVERY", "LOOK_BACK_MAX", "NowPoller", "NowResult", "RECENT_MS"]
