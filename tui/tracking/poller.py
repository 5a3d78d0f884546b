"""One tick of polling: what to fetch, what changed. Plain data in, plain data out.

A listing tick asks runs/search (it carries the latest value, step and time of every metric of
every run) and then history only for tracked series whose latest step advanced; a light tick
(most of them: see Poller.__init__) sends two probes that normally answer nothing and asks the
tracked series of running runs open-ended. Either way history comes incrementally from
get-history-bulk-interval, from the last cached step on. A series seen for the first time gets
one downsampled load sized to the chart.

Invariant (tests/unit/test_poller_unit.py, tests/integration/test_rest_server.py): for every
cached series, the points at steps >= `exact_from` equal the server's history at those steps, up
to the last cached step: nothing lost, nothing duplicated, whatever the sequence of ticks and
failures.

Servers without windows (MLflow before 2.11; tui/tracking/capabilities.py) can only send a
series whole, so there every tick lists the active runs (runs/search: a few KB that carry the
latest point of every series) instead of asking open-ended windows, and a series that advanced
is read again (whole, by the source) only when its refresh is due; in between, the latest point
runs/search reported is appended as a *provisional* point (SeriesCache.exact_len). Bounded
staleness: a series of N points on the server is read again at most
min(N * OLD_SECONDS_PER_POINT, OLD_MAX_STALE) s after its last read (2,000 points: 100 s; from
6,000 points on: 5 min), later only when more than OLD_REFRESH_POINTS points are due in one tick
(then the oldest first, the others at the next ticks); at once when its run stopped (a finished
run's curves are exact) and when refresh() is called. So the latest value of every charted
series is at most one tick old; what a provisional stretch lacks is the points logged between
two ticks, for at most that long. The invariant holds for the points before `exact_len`, and
for the whole cache after every refresh (tests/integration/test_old_server.py checks it against
a real MLflow 2.9.2).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from mlflow_tui.tracking.capabilities import MODERN, Capabilities, capabilities_of
from mlflow_tui.tracking.history import (
    OLD_MAX_STALE,
    OLD_REFRESH_POINTS,
    OLD_SECONDS_PER_POINT,
    OPEN_END,
    SeriesCache,
    SeriesReader,
)
from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus, SeriesKey
from mlflow_tui.tracking.source import TrackingSource, gather_all, sort_newest_first

# Runs that can still change: RUNNING or SCHEDULED (MLflow's search has no IN for status).
ACTIVE = ("attributes.status != 'FINISHED' and attributes.status != 'FAILED' "
          "and attributes.status != 'KILLED'")
MAX_ACTIVE = 5000  # active runs listed per tick, whatever the page size
# Light ticks probe at most this many active runs by id; with more, every tick lists them.
LIGHT_MAX_ACTIVE = 100


@dataclass(frozen=True)
class TickResult:
    runs: list[Run]
    new_runs: list[str]
    status_changes: dict[str, tuple[RunStatus, RunStatus]]
    removed_runs: list[str]
    updated_series: set[SeriesKey]
    requests: int
    at: float


@dataclass(frozen=True)
class ExperimentSummary:
    experiments: list[Experiment]
    running: dict[str, int]  # experiment_id -> number of RUNNING runs
    at: float


class Poller:
    """Owns the cache of runs and series for the watched experiments. Not thread-safe: call
    tick() from one task at a time (the app guarantees ticks never overlap)."""

    def __init__(self, source: TrackingSource, *, first_load_points: int = 500,
                 max_parallel: int = 4, max_runs: int = 500, full_every: float = 30.0,
                 active_every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic,
                 seconds_per_point: float = OLD_SECONDS_PER_POINT,
                 max_stale: float = OLD_MAX_STALE,
                 refresh_points: int = OLD_REFRESH_POINTS) -> None:
        self.source = source
        # What the server answers (found by the source at the first tick): without windows
        # or without run_id IN, no light ticks (see the module docstring).
        self.capabilities: Capabilities = MODERN
        # The series caches and history requests (tui/tracking/history.py).
        self.history = SeriesReader(source, first_load_points=first_load_points,
                                    max_parallel=max_parallel, clock=clock,
                                    seconds_per_point=seconds_per_point, max_stale=max_stale,
                                    refresh_points=refresh_points)
        # Only active (running or scheduled) runs change from tick to tick. Three kinds of
        # tick, from the dearest:
        # - full listing: every `full_every` s, on a new view, after a failure, on refresh();
        # - active listing: every `active_every` s, the active runs alone (new metric keys,
        #   tags, renames of running runs). An active run missing from it (deleted, or no
        #   longer matching the filter) brings the full listing forward to the same tick;
        # - light tick, in between: two probes that normally answer nothing (active runs
        #   whose status changed; runs started after the newest one known) and open-ended
        #   history windows for the tracked series of active runs. Latest values come from
        #   those windows, so MLflow's bulky run records are not sent again every tick.
        self.full_every = full_every
        self.active_every = active_every
        self._clock = clock
        self._next_full = 0.0
        self._next_active = 0.0
        self._light = False  # the current tick is a light one
        self._fresh: set[str] = set()  # runs a light tick's probes brought whole
        self._probe_new = True
        # Runs listed per tick: the newest `max_runs`, plus every active run when there are
        # more (an experiment of 10,000 runs costs one page per tick, not ten).
        self.max_runs = max_runs
        self.truncated = False  # the last tick's listing stopped at max_runs
        self._page_oldest = 0  # start time of the oldest run of a truncated listing
        self.runs: dict[str, Run] = {}
        self.run_counts: dict[str, int] = {}
        self._watched: tuple[str, ...] = ()
        self._filter = ""

    # ------------------------------------------------------------------ reading
    @property
    def series(self) -> dict[SeriesKey, SeriesCache]:
        return self.history.series

    def points(self, key: SeriesKey) -> list[Point]:
        return self.history.points(key)

    def ordered_runs(self) -> list[Run]:
        return sort_newest_first(list(self.runs.values()))

    # ------------------------------------------------------------------ experiments
    async def refresh_experiments(self) -> ExperimentSummary:
        experiments = await self.source.search_experiments()
        running: dict[str, int] = defaultdict(int)
        ids = [e.experiment_id for e in experiments]
        for i in range(0, len(ids), 100):
            active = await self.source.search_runs(
                ids[i:i + 100], filter_string="attributes.status = 'RUNNING'", max_runs=2000
            )
            for run in active:
                running[run.experiment_id] += 1
        known = set(ids)
        for stale in [k for k in self.run_counts if k not in known]:
            del self.run_counts[stale]
        return ExperimentSummary(experiments, dict(running), time.time())

    async def new_experiment(self, known: Sequence[Experiment]) -> bool:
        """Whether an experiment was created since `known` was listed (one small request where
        the source can tell; False where it cannot, the periodic listing then finds it)."""
        probe = getattr(self.source, "newest_experiment_id", None)
        if probe is None:
            return False
        newest = await probe()
        return newest is not None and newest not in {e.experiment_id for e in known}

    # ------------------------------------------------------------------ tick
    async def tick(
        self,
        experiment_ids: Sequence[str],
        tracked: Iterable[SeriesKey] | Callable[[list[Run]], Iterable[SeriesKey]] = (),
        *,
        filter_string: str = "",
        on_listed: Callable[[TickResult], None] | None = None,
        watch_new: bool = True,
    ) -> TickResult:
        """Refresh the runs of `experiment_ids`, then the tracked series that advanced.
        `tracked` may be a function of the fresh runs (newest first). When series are loaded
        for the first time (slow for long histories), `on_listed` gets the runs first.
        `watch_new=False`: the filter admits no run that is not known yet (it names the runs),
        so light ticks do not probe for new ones."""
        self._probe_new = watch_new
        calls_before = self._source_calls()
        watched = tuple(experiment_ids)
        same_view = watched == self._watched and filter_string == self._filter
        try:
            self.capabilities = await capabilities_of(self.source)
            runs, truncated = await self._list_runs(watched, filter_string, same_view)
        except BaseException:
            self._next_full = 0.0  # after a failure, start again from a full listing
            raise
        previous = self.runs if same_view else {}
        current = {r.run_id: r for r in runs}
        new_runs = [r.run_id for r in runs if same_view and r.run_id not in previous]
        changes = {
            rid: (previous[rid].status, run.status)
            for rid, run in current.items()
            if rid in previous and previous[rid].status != run.status
        }
        # A run missing from a complete listing was deleted; from a truncated one, only if it
        # would have been listed (active, or newer than the page's oldest run): else it was
        # pushed past the page by newer runs.
        removed = [rid for rid, r in previous.items() if rid not in current and (
            not truncated or r.status.is_active or (r.start_time or 0) > self._page_oldest)
        ] if same_view else []
        self.truncated = truncated
        self.runs = current
        self._watched, self._filter = watched, filter_string
        # A count is only known while its experiment is listed: an unwatched one's would go
        # stale (runs created since), so it is dropped rather than shown wrong.
        for eid in [e for e in self.run_counts if e not in watched]:
            del self.run_counts[eid]
        if not filter_string:
            for eid in watched:
                if truncated:  # not known: more runs than one page
                    self.run_counts.pop(eid, None)
                else:
                    self.run_counts[eid] = sum(1 for r in runs if r.experiment_id == eid)
        # Drop caches of runs that left the view (deleted, or another experiment selected).
        for key in [k for k in self.series if k[0] not in current]:
            del self.series[key]

        keys = list(tracked(runs) if callable(tracked) else tracked)
        if on_listed is not None and any(
                k not in self.series and k[0] in current and k[1] in current[k[0]].metrics
                for k in keys):
            on_listed(TickResult(runs=runs, new_runs=new_runs, status_changes=changes,
                                 removed_runs=removed, updated_series=set(),
                                 requests=self._source_calls() - calls_before,
                                 at=time.time()))
        updated = await self.history.fetch(current, keys, light=self._light,
                                           fresh=self._fresh, old=self._old)
        if self._light and updated:
            runs = self._note_latest(runs, updated)
        return TickResult(
            runs=runs, new_runs=new_runs, status_changes=changes, removed_runs=removed,
            updated_series=updated, requests=self._source_calls() - calls_before, at=time.time(),
        )

    def _note_latest(self, runs: list[Run], updated: set[SeriesKey]) -> list[Run]:
        """After a light tick: the latest point of each advanced series into its run's
        metrics (runs/search was not asked, so the records still hold the older values)."""
        latest: dict[str, dict[str, Point]] = defaultdict(dict)
        for rid, key in updated:
            cache = self.series.get((rid, key))
            run = self.runs.get(rid)
            if cache and cache.points and run is not None and rid not in self._fresh:
                last = cache.points[-1]
                if run.metrics.get(key) != last:
                    latest[rid][key] = last
        if not latest:
            return runs
        for rid, points in latest.items():
            run = self.runs[rid]
            self.runs[rid] = replace(run, metrics={**run.metrics, **points})
        return [self.runs[r.run_id] for r in runs]

    def refresh(self) -> None:
        """Make the next tick a full listing (the user asked for a refresh); on a server
        without windows, also read again every series holding provisional points."""
        self._next_full = 0.0
        self.history.refresh_all = True

    @property
    def _old(self) -> bool:
        return not self.capabilities.windows

    @property
    def _light_ok(self) -> bool:
        """Light ticks ask open-ended windows (cheap only with windows) and probe by run id
        (`attributes.run_id IN`, refused by 2.0-2.3.0): else every tick lists active runs,
        which every version accepts and which carries the latest point of every series."""
        return self.capabilities.windows and self.capabilities.run_id_in

    async def _list_runs(self, watched: tuple[str, ...], filter_string: str,
                         same_view: bool) -> tuple[list[Run], bool]:
        """(runs newest first, whether the listing stopped at max_runs)."""
        if not watched:
            return [], False
        active_filter = ACTIVE + (f" and {filter_string}"
                                  if filter_string and filter_string != ACTIVE else "")
        now = self._clock()
        self._light = False
        self._fresh.clear()
        if same_view and now < self._next_full and self.history.missing:
            self._next_full = 0.0  # a history request said a run is gone: list everything
        self.history.missing.clear()
        if same_view and now < self._next_full:
            active_ids = [rid for rid, r in self.runs.items() if r.status.is_active]
            if (self._light_ok and now < self._next_active
                    and len(active_ids) <= LIGHT_MAX_ACTIVE):
                self._light = True
                return await self._probe(watched, filter_string, active_ids), self.truncated
            active = await self.source.search_runs(watched, filter_string=active_filter,
                                                   max_runs=MAX_ACTIVE)
            current = {r.run_id for r in active}
            if all(rid in current for rid in active_ids):
                self._next_active = now + self.active_every
                merged = {rid: r for rid, r in self.runs.items() if not r.status.is_active}
                merged.update((r.run_id, r) for r in active)
                return sort_newest_first(list(merged.values())), self.truncated
            # A run stopped running (or was deleted): list everything now.
        runs = await self.source.search_runs(watched, filter_string=filter_string,
                                             max_runs=self.max_runs + 1)
        truncated = len(runs) > self.max_runs
        if truncated:
            runs = runs[:self.max_runs]
            self._page_oldest = min((r.start_time or 0) for r in runs)
            # Older runs still training must not drop out of view behind newer ones.
            active = await self.source.search_runs(watched, filter_string=active_filter,
                                                   max_runs=MAX_ACTIVE)
            listed = {r.run_id for r in runs}
            runs += [r for r in active if r.run_id not in listed]
        self._next_full = now + self.full_every
        self._next_active = now + self.active_every
        return runs, truncated

    async def _probe(self, watched: tuple[str, ...], filter_string: str,
                     active_ids: list[str]) -> list[Run]:
        """A light tick's listing: the known runs, updated by two searches that normally
        answer nothing: active runs whose status changed, and runs started after the newest
        run known. (A run started with an older clock shows at the next active listing.)"""
        probes = []
        if self._probe_new:
            extra = f" and {filter_string}" if filter_string else ""
            newest = max((r.start_time or 0 for r in self.runs.values()), default=0)
            probes.append(self.source.search_runs(
                watched, filter_string=f"attributes.start_time > {newest}{extra}",
                max_runs=MAX_ACTIVE))
        # The next two ask only for runs already in the view, so without the user's filter
        # (a run that stops matching it leaves at the next listing, as before).
        if active_ids:
            ids = ", ".join(f"'{rid}'" for rid in active_ids)
            probes.append(self.source.search_runs(
                watched, max_runs=MAX_ACTIVE, filter_string=(
                    f"attributes.run_id IN ({ids}) and attributes.status != 'RUNNING'")))
        # Active runs that had logged no metric yet are asked whole until they have: their
        # first keys show at once (later new keys wait for the next active listing).
        bare = [rid for rid in active_ids if not self.runs[rid].metrics]
        if bare:
            ids = ", ".join(f"'{rid}'" for rid in bare)
            probes.append(self.source.search_runs(
                watched, max_runs=MAX_ACTIVE, filter_string=f"attributes.run_id IN ({ids})"))
        merged = dict(self.runs)
        for found in await gather_all(probes):
            merged.update((r.run_id, r) for r in found)
            self._fresh.update(r.run_id for r in found)
        return sort_newest_first(list(merged.values()))

    async def fetch(self, tracked: Iterable[SeriesKey]) -> set[SeriesKey]:
        """Load or advance series of the runs already known, without a runs/search."""
        self.capabilities = await capabilities_of(self.source)
        updated = await self.history.fetch(self.runs, tracked, light=self._light, fresh=self._fresh,
                                             old=self._old)
        if self._light and updated:
            self._note_latest(list(self.runs.values()), updated)
        return updated

    def _source_calls(self) -> int:
        return int(getattr(self.source, "requests", 0))


__all__ = ["ACTIVE", "OLD_MAX_STALE", "OLD_REFRESH_POINTS", "OLD_SECONDS_PER_POINT", "OPEN_END",
           "ExperimentSummary", "Poller", "SeriesCache", "TickResult", "gather_all"]
