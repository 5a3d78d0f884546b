"""The monitor's session, without any UI: which experiment is watched, the polling loop and
its back-off, the runs' verdicts, the marks, the highlighted run's system metrics.

`MonitorSession.run()` is the one loop that talks to the server for the open view: a tick
every `interval`, sooner when woken (a key asked for data), backing off on failures. Results
go to a `Listener` (the app turns them into messages for the screens); the screens read the
session's state to draw and change it through its methods, then `wake()` the loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from mlflow_tui.analysis.charting import chart_views
from mlflow_tui.analysis.filtering import name_search
from mlflow_tui.analysis.health import HealthWarning
from mlflow_tui.analysis.healthbook import HealthBook
from mlflow_tui.analysis.judge import Choices, primary, series_keys
from mlflow_tui.analysis.system_metrics import WINDOW_STEPS, advance, fetch_window, panel_metrics
from mlflow_tui.session.compare import CompareSession, snapshot
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking import TrackingError
from mlflow_tui.tracking.errors import AuthError, BadRequest, NotFound
from mlflow_tui.tracking.models import (
    Experiment,
    Point,
    Run,
    SeriesKey,
    find_experiment,
    several_named,
)
from mlflow_tui.tracking.poller import ExperimentSummary, Poller, TickResult, gather_all
from mlflow_tui.tracking.source import TrackingSource

Told = tuple[str, Any, tuple[str, str] | None]


class Listener(Protocol):
    """Where the loop's results go (called on the loop's task)."""

    def ticked(self, result: TickResult, summary: ExperimentSummary | None,
               watched: tuple[str, ...], partial: bool = False) -> None: ...
    def compared(self, result: TickResult) -> None: ...
    def failed(self, error: TrackingError) -> None: ...
    def filter_failed(self, reason: str) -> None: ...
    def warn(self, text: str) -> None: ...
    def feed(self, experiments: list[Experiment]) -> None:
        """After a tick of the open experiment: time for the everywhere-feed, if it is due."""


class MonitorSession:
    def __init__(self, settings: Settings, source: TrackingSource | None, *,
                 clock: Callable[[], float] = time.time,
                 wants_system: Callable[[], bool] = lambda: True) -> None:
        self.settings = settings
        self.source = source
        self.clock = clock
        self.wants_system = wants_system  # False: the system panel is not shown, not read
        self.poller: Poller | None = None
        self.listener: Listener | None = None
        self.watched: tuple[str, ...] = ()
        self.experiments: list[Experiment] = []
        self.running: dict[str, int] = {}
        self.highlighted: str | None = None
        self.view_keys: tuple[str, ...] = ()  # the metric view the user chose (m)
        self.health = HealthBook(settings.health(), Choices(default=settings.pair))
        self.name_filter = ""  # plain text: matched against run names here
        self.server_filter = ""  # MLflow search syntax: applied by the server
        self._good_filter = ""  # the last server filter the server accepted
        # Marked runs (space), across experiments, in marking order: that order gives each
        # run its colour in the compare view.
        self.marked: dict[str, Run] = {}
        self.compare = CompareSession()
        self.paused = False
        self.state = "connecting"
        self.state_detail = ""
        self.retry_at = 0.0
        self.last_ok: float | None = None
        self.busy_since: float | None = None  # monotonic start of the request round in flight
        self.loop_rounds = 0  # turns of the polling loop (a test checks it never spins)
        self.force_tick = True
        self.force_experiments = True
        self.chart_dirty = False
        # The highlighted run's system metrics: the last WINDOW_STEPS samples of each.
        self.system_points: dict[SeriesKey, list[Point]] = {}
        self.user_chose = bool(settings.experiments)  # else follow where the runs are
        # -e names not on the server yet (the training script has not created them): looked
        # for at every tick until they appear or the user picks an experiment in the tree.
        self.pending_names: set[str] = set(settings.experiments)
        self._told_missing: set[str] = set()
        self.pending_run: str | None = None  # a run to put the cursor on once it is listed
        self.trouble: dict[str, tuple[int, int]] = {}  # the everywhere-feed's counts
        self._health_started = False  # the first judgement: one summary, not a toast each
        self._told: set[Told] = set()  # warnings announced
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ the loop
    def active_every(self) -> float:
        """Active runs are listed whole every 5th tick (new metric keys, renames; at 2 s, every
        10 s); the ticks between only probe (see Poller)."""
        return 5 * self.settings.interval

    def start(self, source: TrackingSource, listener: Listener) -> None:
        self.source = source
        self.listener = listener
        self.poller = Poller(source, active_every=self.active_every())

    def wake(self, *, tick: bool = False) -> None:
        """Run the loop now (`tick`: a whole tick, not only the chart's series)."""
        if tick:
            self.force_tick = True
        self._wake.set()

    async def run(self) -> None:
        """One tick at a time, every interval; failures back off, capped. All I/O is here."""
        assert self.poller is not None and self.listener is not None
        poller, settings, out = self.poller, self.settings, self.listener
        failures = 0
        next_tick = time.monotonic()
        next_experiments = time.monotonic()
        while True:
            self._wake.clear()
            self.loop_rounds += 1
            now = time.monotonic()
            tick_due = self.force_tick or now >= next_tick
            flt = self.server_filter  # the filter this tick sends, whatever the UI does meanwhile
            self.busy_since = now
            try:
                if self.paused and not self.force_tick:
                    next_tick = now + settings.interval  # idle while paused; no busy loop
                elif tick_due:
                    summary = None
                    # Until the user picks an experiment, an empty view keeps looking for the
                    # one a training script is about to create (each tick, not every 30 s).
                    waiting = (not self.user_chose and not poller.runs) or bool(
                        self.pending_names)
                    if (self.force_experiments or now >= next_experiments or waiting
                            or not self.watched):
                        summary = await poller.refresh_experiments()
                        self.force_experiments = False
                        next_experiments = now + settings.experiments_interval
                        # Decided after the await: the user may have chosen meanwhile.
                        if (not self.watched or (not self.user_chose and not poller.runs)
                                or self.pending_names):
                            self.watched = self._choose_watched(summary)
                    self.force_tick = False
                    self.chart_dirty = False
                    if self.compare.poller is not None:
                        await self.compare.round(self.marked, out.compared, out.warn)
                    else:
                        watched = self.watched

                        def listed(r: TickResult, s: ExperimentSummary | None = summary,
                                   w: tuple[str, ...] = watched) -> None:
                            out.ticked(r, s, w, partial=True)  # the rows, before the series

                        result = await poller.tick(watched, self.tracked, filter_string=flt,
                                                   on_listed=listed)
                        self._good_filter = flt
                        await self.fetch_system(poller.ordered_runs())
                        # The new-experiment probe, last: an experiment created while this
                        # tick was underway is in the tree when it ends, not one tick later.
                        # It serves the tree: not while the compare view covers it (this
                        # branch; the first tick back probes).
                        if (summary is None and self.experiments
                                and await poller.new_experiment(self.experiments)):
                            summary = await poller.refresh_experiments()
                            next_experiments = now + settings.experiments_interval
                        out.ticked(result, summary, watched)
                        out.feed(summary.experiments if summary is not None
                                 else self.experiments)
                    failures = 0
                    next_tick = now + settings.interval
                elif self.chart_dirty:
                    self.chart_dirty = False
                    runs = poller.ordered_runs()
                    fetched = await poller.fetch(self.tracked(runs))
                    if await self.fetch_system(runs) or fetched:
                        out.ticked(snapshot(runs), None, self.watched)
            except BadRequest as exc:
                if flt and flt != self._good_filter:
                    # A bad search expression: say so once, keep showing the last good view.
                    if self.server_filter == flt:
                        self.server_filter = self._good_filter
                    out.filter_failed(exc.message)
                    self.force_tick = True
                    continue
                failures += 1
                next_tick = time.monotonic() + settings.max_backoff
                self.retry_at = time.time() + settings.max_backoff
                out.failed(exc)
            except Exception as exc:  # noqa: BLE001 - the loop must survive anything
                if not isinstance(exc, TrackingError):
                    # A bug, not the network: say so plainly, keep the screen, try again later.
                    exc = TrackingError(f"internal error: {type(exc).__name__}: {exc}")
                failures += 1
                delay = min(settings.max_backoff, max(1.0, settings.interval) * 2 ** (failures - 1))
                if isinstance(exc, AuthError):
                    delay = settings.max_backoff
                self.force_tick = False
                next_tick = time.monotonic() + delay
                self.retry_at = time.time() + delay
                out.failed(exc)
            self.busy_since = None
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _choose_watched(self, summary: ExperimentSummary) -> tuple[str, ...]:
        chosen, self.pending_names = choose_watched(summary, self.settings.experiments,
                                                    self.watched)
        new = sorted(self.pending_names - self._told_missing)
        if new and self.listener is not None:
            self._told_missing.update(new)
            for text in missing_warnings(summary.experiments, new):
                self.listener.warn(text)
        return chosen

    def tracked(self, runs: list[Run]) -> Iterable[SeriesKey]:
        """Series to keep fresh: the chart of the highlighted run, and the warning pair of every
        active run and of the newest rows."""
        out: list[SeriesKey] = []
        run = self.focus_run(runs)
        if run is not None:
            out += [(run.run_id, key) for key in self.view_for(run)]
        choices = self.health.choices
        for i, r in enumerate(runs):
            if r.status.is_active or i < self.settings.warn_rows:
                out += series_keys(r, choices)
        return out

    def focus_run(self, runs: list[Run]) -> Run | None:
        """The highlighted run, else the first listed."""
        by_id = {r.run_id: r for r in runs}
        return by_id.get(self.highlighted or "") or (runs[0] if runs else None)

    async def fetch_system(self, runs: list[Run]) -> bool:
        """The highlighted run's system metrics, kept fresh (nothing read while the panel is
        not shown: a terminal too narrow)."""
        run = self.focus_run(runs) if self.wants_system() else None
        return await refresh_system(self.source, run, self.system_points)

    # ------------------------------------------------------------------ derived state
    def pair(self, run: Run) -> tuple[str, str, bool] | None:
        """(train key, validation key, higher is better) of the run's primary pair: its table
        columns and first chart (the judge's choice: tui/analysis/judge.py)."""
        pair = self.health.judgement(run.run_id).primary or primary(run, self.health.choices)
        return (pair.train, pair.val, pair.higher_is_better) if pair else None

    def latest(self, run: Run, key: str) -> Point | None:
        """A key's latest point, also of a series split by dataset ("loss [eval]")."""
        return self.health.judgement(run.run_id).latest(run, key)

    def best_val(self, run: Run) -> Point | None:
        """Best validation value of the run's cached series (known for the runs whose pair
        is tracked: the active ones and the newest rows)."""
        pair = self.pair(run)
        return None if pair is None else self.health.best(run.run_id, pair[1])

    def score(self, run: Run) -> float | None:
        """A child's quality for "best child": its validation metric, lower is better."""
        pair = self.pair(run)
        # The best validation value (what Best val shows), else the latest known.
        point = (self.best_val(run) or self.latest(run, pair[1])) if pair else None
        if point is None:
            return None
        return -point.value if pair and pair[2] else point.value

    def update_choices(self) -> None:
        self.health.choices = Choices.build(self.settings.pair, self.settings.pairs,
                                            self.experiments)

    def view_for(self, run: Run) -> tuple[str, ...]:
        views = chart_views(run.metrics)
        if not views:
            return ()
        if self.view_keys in views:
            return self.view_keys
        return views[0]

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ------------------------------------------------------------------ results
    def apply_tick(self, result: TickResult, summary: ExperimentSummary | None,
                   watched: tuple[str, ...], partial: bool) -> tuple[bool, bool]:
        """A tick's result into the state. Returns (whether it is for the experiment shown,
        whether the watched experiment disappeared from the server)."""
        self.last_ok = self.clock()
        self.state, self.state_detail = "live", ""
        lost = False
        if summary is not None:
            self.experiments = summary.experiments
            self.running = summary.running
            self.update_choices()
            known = {e.experiment_id for e in self.experiments}
            if self.watched and not set(self.watched) & known:
                # Watch another one (or the start-up choice again).
                self.watched = ()
                self.user_chose = False
                lost = True
                self.wake(tick=True)
        if watched != self.watched:
            return False, lost  # a tick of the experiment the user just left: not shown
        for eid in self.watched:  # the tick's own runs are fresher than the 30 s summary
            self.running[eid] = sum(1 for r in result.runs if r.experiment_id == eid
                                    and r.status.value == "RUNNING")
        return True, lost

    def failed(self, error: TrackingError) -> None:
        self.state = "error" if isinstance(error, AuthError) else "reconnecting"
        self.state_detail = str(error)

    def judge(self) -> list[tuple[Run, HealthWarning]]:
        """Judge the listed runs again; the warnings to announce now (each once: see tell)."""
        assert self.poller is not None
        fresh = self.health.update(self.poller.runs.values(), self.poller.points, self.now_ms())
        if not self._health_started:
            # Warnings already there at start: one summary line (the Now feed's), not a toast
            # each covering the chart.
            self._health_started = True
            for run, w in fresh:
                self.tell(run.run_id, w.kind, w.pair)
            return []
        return [(run, w) for run, w in fresh if self.tell(run.run_id, w.kind, w.pair)]

    def tell(self, run_id: str, kind: Any, pair: tuple[str, str] | None) -> bool:
        """True the first time a warning is to be announced (by the monitor or the Now feed,
        whichever sees it first): one toast per run and warning."""
        key = (run_id, kind, pair)
        if key in self._told:
            return False
        self._told.add(key)
        return True

    def forget_deleted(self, run_ids: Iterable[str]) -> int:
        """Unmark runs deleted on the server; how many were marked."""
        gone = [rid for rid in run_ids if rid in self.marked]
        for rid in gone:
            del self.marked[rid]
        return len(gone)

    def apply_compare(self, result: TickResult) -> int:
        """A compare round's result: the marked runs refreshed; how many were deleted."""
        self.last_ok = self.clock()
        self.state, self.state_detail = "live", ""
        for run in result.runs:
            if run.run_id in self.marked:
                self.marked[run.run_id] = run
        return self.forget_deleted(result.removed_runs)

    # ------------------------------------------------------------------ the user's choices
    def watch(self, experiment_id: str) -> bool:
        """Watch this experiment (the user's choice wins over -e names still missing); False
        if it was already watched."""
        if (experiment_id,) == self.watched:
            return False
        self.watched = (experiment_id,)
        self.user_chose = True
        self.pending_names = set()
        self.highlighted = None
        self.wake(tick=True)
        return True

    def highlight(self, run_id: str | None) -> bool:
        """The run under the cursor changed: chart it. False if it did not change."""
        if run_id == self.highlighted:
            return False
        self.highlighted = run_id
        self.chart_dirty = True
        self.wake()
        return True

    def set_filter(self, text: str, server: bool) -> None:
        """The run filter: MLflow search syntax (`server`) or text matched against names."""
        if server:
            self.name_filter, self.server_filter = "", text
            self.wake(tick=True)
            return
        # Names are matched here; in an experiment larger than what is loaded, the server is
        # asked too (run_name ILIKE), so the filter reaches every run.
        wanted = name_search(text) if text and self.poller is not None and (
            self.poller.truncated) else None
        changed = self.server_filter != (wanted or "")
        self.name_filter, self.server_filter = text, wanted or ""
        if changed:
            self.wake(tick=True)

    def set_pair(self, experiment: str, pair: tuple[str, str] | None) -> None:
        if pair is None:
            self.settings.pairs.pop(experiment, None)
        else:
            self.settings.pairs[experiment] = pair
        self.update_choices()
        self.wake(tick=True)  # load the newly judged series

    def refresh(self) -> None:
        """r: forget the caches, read everything again now."""
        for poller in (self.poller, self.compare.poller):
            if poller is not None:
                poller.refresh()
        self.force_experiments = True
        self.wake(tick=True)

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self.wake(tick=True)

    def toggle_mark(self, run: Run) -> bool:
        """Mark or unmark; True if now marked."""
        if run.run_id in self.marked:
            del self.marked[run.run_id]
            return False
        self.marked[run.run_id] = run
        return True

    def waiting_for_server(self) -> int:
        """Whole seconds the current request round has taken, once it is overdue (0 if not)."""
        if self.busy_since is None:
            return 0
        waited = time.monotonic() - self.busy_since
        return int(waited) if waited >= max(3.0, self.settings.interval) else 0

    def experiment_names(self) -> dict[str, str]:
        return {e.experiment_id: e.name for e in self.experiments}

    async def find_runs(self, text: str) -> list[Run]:
        """Runs of any experiment whose name contains `text`, asked of the server."""
        if self.source is None or not self.experiments:
            return []
        search = name_search(text)
        if search is None:
            return []
        try:
            return await self.source.search_runs(list(self.experiment_names()),
                                                 filter_string=search, max_runs=20)
        except TrackingError:
            return []

    def pair_keys(self, experiment_id: str) -> list[str]:
        """Every metric logged by the experiment's listed runs (the pair picker's choices)."""
        runs = self.poller.runs.values() if self.poller is not None else ()
        return sorted({k for r in runs if r.experiment_id == experiment_id
                       for k in r.metrics if not k.startswith("system/")})



async def refresh_system(source: TrackingSource | None, run: Run | None,
                         cache: dict[SeriesKey, list[Point]]) -> bool:
    """Keep `run`'s system metrics in `cache` fresh, cheaply: the last WINDOW_STEPS samples
    are read once, then each runs/search's latest point extends them (no request); history is
    read again only to fill a gap. Other runs' windows are dropped. True if any changed."""
    for key in [k for k in cache if run is None or k[0] != run.run_id]:
        del cache[key]
    if run is None or source is None:
        return False
    rid, metrics = run.run_id, run.metrics
    slots = asyncio.Semaphore(4)  # the http client's pool size, as the poller's

    async def one(key: str) -> bool:
        latest, cached = metrics[key], cache.get((rid, key), [])
        if cached and cached[-1] == latest:
            return False
        window = fetch_window(cached, latest)
        fetched: list[Point] = []
        if window is not None:
            try:
                async with slots:
                    got = await source.get_history_window(
                        [rid], key, start_step=window[0], end_step=window[1],
                        max_results=2 * WINDOW_STEPS)
            except NotFound:  # deleted meanwhile: the next tick drops the run
                return False
            except TrackingError:  # the panel waits for the next tick; the tick stands
                return False
            fetched = got.get(rid, [])
        cache[(rid, key)] = advance(cached, latest, fetched)
        return True

    return any(await gather_all([one(m.key) for m in panel_metrics(metrics)]))


def missing_warnings(experiments: Sequence[Experiment], names: Sequence[str]) -> list[str]:
    """What to say of names given (-e) that find no experiment: each name that ends several
    experiments' names on its own line, the others together."""
    out: list[str] = []
    absent: list[str] = []
    for name in names:
        several = find_experiment(experiments, name)[1]
        if several:
            out.append(several_named(name, several))
        else:
            absent.append(name)
    if absent:
        out.append("No experiment named " + ", ".join(map(repr, absent)) +
                   " yet: watching for it")
    return out


def choose_watched(summary: ExperimentSummary, names: Sequence[str],
                   watched: tuple[str, ...]) -> tuple[tuple[str, ...], set[str]]:
    """The experiments to watch, and the names given (-e) that are not on the server yet
    (:func:`find_experiment`: a whole name, an id, or the end of one path). Names given win;
    while none exists yet, what is watched stays; with none given, the experiment with running
    runs updated last."""
    exps = summary.experiments
    missing: set[str] = set()
    if names:
        chosen: list[str] = []
        for name in names:
            exp = find_experiment(exps, name)[0]
            if exp is None:
                missing.add(name)
            elif exp.experiment_id not in chosen:
                chosen.append(exp.experiment_id)
        if chosen:
            return tuple(chosen), missing
        if watched:
            return watched, missing  # keep showing something steady while waiting
    if not exps:
        return (), missing
    best = max(exps, key=lambda e: (summary.running.get(e.experiment_id, 0) > 0,
                                    e.last_update_time or 0, e.experiment_id))
    return (best.experiment_id,), missing

__all__ = ["Listener", "MonitorSession", "choose_watched", "refresh_system"]
