"""The App: bindings, the polling loop, wiring results to the monitor screen."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.widgets import DataTable, Input
from textual.worker import Worker

from tui import __version__
from tui import format as fmt
from tui.analysis import find_pairs
from tui.analysis.judge import Choices, primary, series_keys
from tui.charting import XYCache, chart_views, sort_key, split_by_dataset
from tui.commands import BindingCommands
from tui.config import Settings
from tui.filtering import is_search_expression, name_matches, name_search
from tui.goto import GoToExperiment, GoToRun, RunRef
from tui.messages import CompareDone, DemoReady, FilterFailed, TickDone, TickFailed
from tui.nesting import PARENT_TAG, Row, nest
from tui.now_controller import NowController, NowDone
from tui.screens.compare import CompareScreen
from tui.screens.details import RunDetailsScreen
from tui.screens.help import HelpScreen
from tui.screens.monitor import RUN_COLUMNS, MonitorScreen
from tui.screens.now import NowScreen
from tui.screens.picker import PickerScreen
from tui.screens.start import StartScreen
from tui.system_metrics import WINDOW_STEPS, advance, fetch_window, panel_metrics, panel_rows
from tui.tracking import TrackingError, classify, open_source
from tui.tracking.errors import AuthError, BadRequest, NotFound
from tui.tracking.models import Experiment, Point, Run, SeriesKey
from tui.tracking.poller import ExperimentSummary, Poller, TickResult, gather_all
from tui.tracking.sketch import sketch, windows_are_cheap
from tui.tracking.source import TrackingSource
from tui.watch import HealthBook
from widgets import X_MODES, ChartOptions, ExperimentTree, RunTable, safe_text


class MlflowTui(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "mlflow-tui"
    # ctrl+p: every action of the view, go to an experiment or a run by name, themes
    COMMANDS = App.COMMANDS | {BindingCommands, GoToExperiment, GoToRun}
    # Responsive classes on every screen (app.tcss): narrow terminals fold the experiment
    # tree, short ones give the chart's spare rows to the run table.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-normal"), (160, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="app.focus_next"),
        Binding("shift+tab", "app.focus_previous", "Previous pane", show=False,
                id="app.focus_previous"),
    ]

    def __init__(self, settings: Settings, source: TrackingSource | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.settings = settings
        self.source = source
        self.clock = clock
        self.poller: Poller | None = None
        self.demo = None
        self.watched: tuple[str, ...] = ()
        self.experiments: list[Experiment] = []
        self.running: dict[str, int] = {}
        self.highlighted: str | None = None
        self.view_keys: tuple[str, ...] = ()  # the metric view the user chose (m)
        self.health = HealthBook(settings.health(), Choices(default=settings.pair))
        self.warnings_only = False
        self.ticks = 0  # results applied to the screen (tests wait on it)
        self.chart_options = ChartOptions()  # x axis, log y, smoothing, zoom: both views
        self.expanded: set[str] = set()  # parent runs whose children are shown (z)
        self.name_filter = ""  # plain text: matched against run names here
        self.server_filter = ""  # MLflow search syntax: applied by the server
        self._good_filter = ""  # the last server filter the server accepted
        # Marked runs (space), across experiments, in marking order: that order gives each
        # run its colour in the compare view.
        self.marked: dict[str, Run] = {}
        self.compare_poller: Poller | None = None
        self.compare_view = 0
        self.compare_differences = False
        self.compare_sort: str | None = None
        self.compare_descending = False
        self.compare_transposed = False  # t: runs as columns, fields as rows
        self.compare_frame: Any = None  # the table as shown, for export
        # Sketched curves (a few probe points each) shown until the poller has the series:
        # never in the poller's cache, which holds only exact histories.
        self.compare_preview: dict[SeriesKey, list[Point]] = {}
        self._compare_xy = XYCache()  # the compare chart's (x, y) series, extended per tick
        self._sketch_done: asyncio.Event | None = None  # set when the opening sketch is over
        self._compare_opened = False
        self._loop_rounds = 0  # turns of the polling loop (a test checks it never spins)
        self.sort_column = "start"  # newest first
        self.sort_reverse = True
        self.paused = False
        self.state = "connecting"
        self.state_detail = ""
        self.retry_at = 0.0
        self.last_ok: float | None = None
        self.busy_since: float | None = None  # monotonic start of the request round in flight
        self._wake: asyncio.Event | None = None
        self._force_tick = True
        self._force_experiments = True
        self._chart_dirty = False
        # The highlighted run's system metrics: the last WINDOW_STEPS samples of each.
        self.system_points: dict[SeriesKey, list[Point]] = {}
        self._user_chose = bool(settings.experiments)  # else follow where the runs are
        # -e names not on the server yet (the training script has not created them): looked
        # for at every tick until they appear or the user picks an experiment in the tree.
        self._pending_names: set[str] = set(settings.experiments)
        self._told_missing: set[str] = set()
        # Every running run, anywhere: the tree's ⚠/✘ counts and the Now view (n).
        self.now: NowController | None = None
        self._now_worker: Worker[None] | None = None
        self.trouble: dict[str, tuple[int, int]] = {}
        self._pending_run: str | None = None  # a run to put the cursor on once it is listed
        self._health_started = False  # the first judgement: one summary, not a toast each
        self._told: set[tuple[str, Any, tuple[str, str] | None]] = set()  # warnings announced

    # ------------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        if self.settings.theme:
            self.theme = self.settings.theme
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.sub_title = "" if self.source is None else self.source.display_uri
        if self.settings.demo:
            self.push_screen(MonitorScreen())
            self.state, self.state_detail = "connecting", "preparing the demo store…"
            self._start_demo()
        elif self.source is None:
            self.push_screen(StartScreen())
        else:
            self.push_screen(MonitorScreen())
            self._start_polling()
            if self.settings.now and self.now is not None:
                self.now.open()
        self.set_interval(1.0, self._every_second)

    def _theme_changed(self, _theme: object) -> None:
        """Run colours depend on the theme being dark or light: redraw what shows them."""
        self._show_all()
        self._show_compare()

    def _active_every(self) -> float:
        """Active runs are listed whole every 5th tick (new metric keys, renames; at 2 s, every
        10 s); the ticks between only probe (see Poller)."""
        return 5 * self.settings.interval

    def _start_polling(self) -> None:
        assert self.source is not None
        self.poller = Poller(self.source, active_every=self._active_every())
        self.now = NowController(self)
        self._wake = asyncio.Event()
        self._render_state()
        self._poll_loop()

    @work(thread=True, group="demo", exclusive=True)
    def _start_demo(self) -> None:
        from tui.demo import DemoSession

        demo = DemoSession(speed=self.settings.demo_speed)
        self.demo = demo
        try:
            uri = demo.prepare()
            demo.start()
        except Exception as exc:  # noqa: BLE001 - shown on the state line, app stays up
            if self.is_running:
                self.call_from_thread(self._demo_failed, exc)
            return
        self.post_message(DemoReady(uri))

    def _demo_failed(self, exc: Exception) -> None:
        self.state, self.state_detail = "error", f"the demo could not start: {exc}"
        self._render_state()

    def on_demo_ready(self, message: DemoReady) -> None:
        from tui.tracking.local import LocalSource

        self.source = LocalSource(message.uri)
        self.sub_title = "demo · " + self.source.display_uri
        self._start_polling()

    def action_start_demo(self) -> None:
        if self.settings.demo:
            return
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            self.notify("The demo needs MLflow's client: pip install 'mlflow-tui[local]'",
                        severity="error", markup=False, timeout=10)
            return
        self.settings.demo = True
        self.switch_screen(MonitorScreen())
        self.state, self.state_detail = "connecting", "preparing the demo store…"
        self._start_demo()

    async def on_unmount(self) -> None:
        if self.demo is not None:
            await asyncio.to_thread(self.demo.stop)
        if self.source is not None:
            try:
                await self.source.aclose()
            except Exception:  # noqa: BLE001 - closing must not fail the exit
                pass

    # ------------------------------------------------------------------ polling loop
    @work(group="poll", exclusive=True)
    async def _poll_loop(self) -> None:
        """One tick at a time, every interval; failures back off, capped. All I/O is here."""
        assert self.poller is not None and self._wake is not None
        poller, settings = self.poller, self.settings
        failures = 0
        next_tick = time.monotonic()
        next_experiments = time.monotonic()
        while True:
            self._wake.clear()
            self._loop_rounds += 1
            now = time.monotonic()
            tick_due = self._force_tick or now >= next_tick
            flt = self.server_filter  # the filter this tick sends, whatever the UI does meanwhile
            self.busy_since = now
            try:
                if self.paused and not self._force_tick:
                    next_tick = now + settings.interval  # idle while paused; no busy loop
                elif tick_due:
                    summary = None
                    # Until the user picks an experiment, an empty view keeps looking for the
                    # one a training script is about to create (each tick, not every 30 s).
                    waiting = (not self._user_chose and not poller.runs) or bool(
                        self._pending_names)
                    if (not self._force_experiments and self.experiments
                            and await poller.new_experiment(self.experiments)):
                        self._force_experiments = True  # a new one: in the tree this tick
                    if (self._force_experiments or now >= next_experiments or waiting
                            or not self.watched):
                        summary = await poller.refresh_experiments()
                        self._force_experiments = False
                        next_experiments = now + settings.experiments_interval
                        # Decided after the await: the user may have chosen meanwhile.
                        if (not self.watched or (not self._user_chose and not poller.runs)
                                or self._pending_names):
                            self.watched = self._choose_watched(summary)
                    self._force_tick = False
                    self._chart_dirty = False
                    if self.compare_poller is not None:
                        await self._compare_round(self.compare_poller)
                    else:
                        watched = self.watched
                        result = await poller.tick(
                            watched, self._tracked, filter_string=flt,
                            on_listed=lambda r, s=summary, w=watched: self.post_message(
                                TickDone(r, s, w, partial=True)))
                        self._good_filter = flt
                        await self._fetch_system(poller.ordered_runs())
                        self.post_message(TickDone(result, summary, watched))
                        if (self.now is not None and self._now_worker_idle()
                                and self.now.due()):
                            # Beside the loop, not in it: a slow or failing feed never
                            # delays the open experiment's ticks. One at a time, never
                            # cancelled: on a big server one refresh can outlast a tick.
                            self._now_worker = self._now_tick(
                                summary.experiments if summary is not None
                                else self.experiments)
                    failures = 0
                    next_tick = now + settings.interval
                elif self._chart_dirty:
                    self._chart_dirty = False
                    runs = poller.ordered_runs()
                    fetched = await poller.fetch(self._tracked(runs))
                    if await self._fetch_system(runs) or fetched:
                        self.post_message(TickDone(self._snapshot(runs), None, self.watched))
            except BadRequest as exc:
                if flt and flt != self._good_filter:
                    # A bad search expression: say so once, keep showing the last good view.
                    if self.server_filter == flt:
                        self.server_filter = self._good_filter
                    self.post_message(FilterFailed(exc.message))
                    self._force_tick = True
                    continue
                failures += 1
                next_tick = time.monotonic() + settings.max_backoff
                self.retry_at = time.time() + settings.max_backoff
                self.post_message(TickFailed(exc))
            except Exception as exc:  # noqa: BLE001 - the loop must survive anything
                self.workers.cancel_group(self, "now")  # the server is failing: no feed now
                if not isinstance(exc, TrackingError):
                    # A bug, not the network: say so plainly, keep the screen, try again later.
                    exc = TrackingError(f"internal error: {type(exc).__name__}: {exc}")
                failures += 1
                delay = min(settings.max_backoff, max(1.0, settings.interval) * 2 ** (failures - 1))
                if isinstance(exc, AuthError):
                    delay = settings.max_backoff
                self._force_tick = False
                next_tick = time.monotonic() + delay
                self.retry_at = time.time() + delay
                self.post_message(TickFailed(exc))
            self.busy_since = None
            timeout = max(0.0, next_tick - time.monotonic())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                pass

    def _now_worker_idle(self) -> bool:
        return self._now_worker is None or self._now_worker.is_finished

    @work(group="now")
    async def _now_tick(self, experiments: list[Experiment]) -> None:
        if self.now is not None:
            with contextlib.suppress(TrackingError):  # the next tick tries again
                await self.now.tick(experiments)

    async def _compare_round(self, cpoller: Poller) -> None:
        """One compare-view tick. Opening: a sketch of the charted curves first (cheap probes,
        wave by wave), then the histories behind the chart and the table, then the refresh;
        the other metrics' histories follow at once, without waiting for the next tick."""
        if not self._compare_opened:
            self._compare_opened = True
            cpoller.runs = dict(self.marked)
            runs = cpoller.ordered_runs()
            self.post_message(CompareDone(self._snapshot(runs)))  # the table, at once
            if self._sketch_done is not None:
                # The history requests would slow the sketch (one server): after it, then.
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._sketch_done.wait(), SKETCH_WAIT)
            await cpoller.fetch(self._compare_tracked(runs))
            self._drop_sketch(cpoller)
            self.post_message(CompareDone(self._snapshot(runs)))
        else:
            await self._compare_sketch(cpoller, cpoller.ordered_runs())  # a new metric charted
        result = await self._compare_tick(cpoller)
        self._drop_sketch(cpoller)
        self.post_message(CompareDone(result))
        rest = self._compare_tracked(cpoller.ordered_runs(), every_key=True)
        if any(k not in cpoller.series for k in rest):
            await cpoller.fetch(rest)
            self.post_message(CompareDone(self._snapshot(cpoller.ordered_runs())))

    async def _compare_tick(self, poller: Poller) -> TickResult:
        ids = [rid for rid in self.marked if rid.isalnum()]  # MLflow run ids are hex
        experiments = sorted({r.experiment_id for r in self.marked.values()})
        in_list = ", ".join(f"'{rid}'" for rid in ids)
        return await poller.tick(experiments, self._compare_tracked, watch_new=False,
                                 filter_string=f"attributes.run_id IN ({in_list})")

    async def _compare_sketch(self, poller: Poller, runs: list[Run]) -> None:
        """Sketch the charted curves the poller has not loaded: a few cheap windowed requests
        (tui/tracking/sketch.py; ~0.3 s for 20 runs x 2 metrics x 100,000 steps, where MLflow's
        sampling takes ~12 s), shown wave by wave and labelled until the real sample replaces
        them. A failed sketch costs only itself: the real data follows anyway."""
        view = self._compare_view(runs)
        latest = {(r.run_id, k): r.metrics[k] for r in runs for k in view
                  if k in r.metrics and (r.run_id, k) not in poller.series
                  and (r.run_id, k) not in self.compare_preview}
        if not latest or not windows_are_cheap(poller.source):
            return
        try:
            async for wave in sketch(poller.source, latest):
                if self.compare_poller is not poller:
                    return  # the view was closed meanwhile
                self.compare_preview.update(
                    (k, pts) for k, pts in wave.points.items() if k not in poller.series)
                self.post_message(CompareDone(self._snapshot(runs)))
        except TrackingError:
            pass  # the sketch is a courtesy: the history requests that follow report errors
        except Exception as exc:  # noqa: BLE001 - a bug: said, and the real data still loads
            self.notify(f"No sketch of the curves (internal error: {type(exc).__name__}: "
                        f"{exc})", severity="warning", markup=False)

    @work(group="compare-sketch", exclusive=True)
    async def _open_sketch(self, poller: Poller, done: asyncio.Event) -> None:
        """The opening sketch, at once: beside the polling loop, which may still be leaving
        the monitor's round when the compare view opens."""
        try:
            await self._compare_sketch(poller, list(self.marked.values()))
        finally:
            done.set()

    def _drop_sketch(self, poller: Poller) -> None:
        for key in [k for k in self.compare_preview if poller.points(k)]:
            del self.compare_preview[key]

    def _sketch_state(self, runs: list[Run], view: Sequence[str]) -> tuple[int, bool]:
        """(most points of a charted curve drawn from the sketch, 0 if none; whether a
        charted curve has neither its history nor a sketch yet)."""
        poller = self.compare_poller
        sketched, loading = 0, False
        for run in runs:
            for key in view:
                if key not in run.metrics or poller is None or poller.points((run.run_id, key)):
                    continue
                points = self.compare_preview.get((run.run_id, key))
                if points:
                    sketched = max(sketched, len(points))
                else:
                    loading = True
        return sketched, loading

    def _compare_view(self, runs: Iterable[Run]) -> tuple[str, ...]:
        """The metrics charted in the compare view (the view m cycles through)."""
        views = chart_views(self._compare_keys(runs))
        return tuple(views[self.compare_view % len(views)]) if views else ()

    def _compare_points(self, key: SeriesKey) -> list[Point]:
        assert self.compare_poller is not None
        return self.compare_poller.points(key) or self.compare_preview.get(key, [])

    def _compare_keys(self, runs: Iterable[Run]) -> list[str]:
        """The metrics compared: the chart views' order (loss pair first), at most 24."""
        keys = sorted({k for r in runs for k in r.metrics if not k.startswith("system/")})
        ordered = [k for view in chart_views(keys) for k in view]
        return list(dict.fromkeys(ordered + keys))[:24]

    def _compare_tracked(self, runs: list[Run], every_key: bool = False) -> list[SeriesKey]:
        """Series the compare view keeps fresh: the charted metric's, and every compared
        metric's once loaded (so the table's statistics follow the runs live)."""
        keys = self._compare_keys(runs)
        views = chart_views(keys)
        shown = set(views[self.compare_view % len(views)]) if views else set()
        poller = self.compare_poller
        wanted = [k for k in keys if every_key or k in shown or (
            poller is not None and any((r.run_id, k) in poller.series for r in runs))]
        return [(r.run_id, k) for r in runs for k in wanted if k in r.metrics]

    @work(thread=True, group="warm", exclusive=True)
    def _warm_imports(self) -> None:
        """Import pandas off the event loop when runs are marked, so that the first compare
        view does not pay for it."""
        import pandas  # noqa: F401

    def _snapshot(self, runs: list[Run]) -> TickResult:
        return TickResult(runs, [], {}, [], set(), 0, time.time())

    def _wake_loop(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _choose_watched(self, summary: ExperimentSummary) -> tuple[str, ...]:
        exps = summary.experiments
        if self.settings.experiments:
            by_name = {e.name: e.experiment_id for e in exps}
            by_id = {e.experiment_id for e in exps}
            chosen, missing = [], []
            for name in self.settings.experiments:
                if name in by_name:
                    chosen.append(by_name[name])
                elif name in by_id:
                    chosen.append(name)
                else:
                    missing.append(name)
            self._pending_names = set(missing)
            new = [m for m in missing if m not in self._told_missing]
            if new:
                self._told_missing.update(new)
                self.call_later(self.notify, "No experiment named " + ", ".join(
                    repr(m) for m in new) + " yet: watching for it", severity="warning",
                    markup=False)
            if chosen:
                return tuple(chosen)
            if self.watched:
                return self.watched  # keep showing something steady while waiting
        if not exps:
            return ()
        best = max(exps, key=lambda e: (summary.running.get(e.experiment_id, 0) > 0,
                                        e.last_update_time or 0, e.experiment_id))
        return (best.experiment_id,)

    def _tracked(self, runs: list[Run]) -> Iterable[SeriesKey]:
        """Series to keep fresh: the chart of the highlighted run, and the warning pair of every
        active run and of the newest rows."""
        out: list[SeriesKey] = []
        by_id = {r.run_id: r for r in runs}
        run = by_id.get(self.highlighted or "") or (runs[0] if runs else None)
        if run is not None:
            out += [(run.run_id, key) for key in self._view_for(run)]
        choices = self.health.choices
        for i, r in enumerate(runs):
            if r.status.is_active or i < self.settings.warn_rows:
                out += series_keys(r, choices)
        return out

    async def _fetch_system(self, runs: list[Run]) -> bool:
        """Keep the highlighted run's system metrics fresh, cheaply: the last WINDOW_STEPS
        samples are read once, then each runs/search's latest point extends them (no request);
        history is read again only to fill a gap. Other runs' windows are dropped, and nothing
        is read while the terminal is too narrow to show the panel."""
        by_id = {r.run_id: r for r in runs}
        run = by_id.get(self.highlighted or "") or (runs[0] if runs else None)
        if self.size.width < MonitorScreen.SYSTEM_MIN_WIDTH:
            run = None
        cache = self.system_points
        for key in [k for k in cache if run is None or k[0] != run.run_id]:
            del cache[key]
        if run is None or self.source is None:
            return False
        source, rid, metrics = self.source, run.run_id, run.metrics
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

    def _pair(self, run: Run) -> tuple[str, str, bool] | None:
        """(train key, validation key, higher is better) of the run's primary pair: its table
        columns and first chart (the judge's choice: tui/analysis/judge.py)."""
        pair = self.health.judgement(run.run_id).primary or primary(run, self.health.choices)
        return (pair.train, pair.val, pair.higher_is_better) if pair else None

    def _latest(self, run: Run, key: str) -> Point | None:
        """A key's latest point, also of a series split by dataset ("loss [eval]")."""
        return self.health.judgement(run.run_id).latest(run, key)

    def _update_choices(self) -> None:
        self.health.choices = Choices.build(self.settings.pair, self.settings.pairs,
                                            self.experiments)

    def _view_for(self, run: Run) -> tuple[str, ...]:
        views = chart_views(run.metrics)
        if not views:
            return ()
        if self.view_keys in views:
            return self.view_keys
        return views[0]

    # ------------------------------------------------------------------ results
    @property
    def monitor(self) -> MonitorScreen | None:
        """The monitor screen, also while a modal (help) is on top of it."""
        for screen in self.screen_stack:
            if isinstance(screen, MonitorScreen) and self._can_update(screen):
                return screen
        return None

    def _can_update(self, screen: Any) -> bool:
        """A composed screen that is not being torn down (the app exiting, or the screen
        closing): results arriving then are dropped instead of querying removed widgets."""
        return bool(screen.ready and screen.is_attached and not self._exit
                    and not screen._closing and not screen._closed)

    _heap_frozen = False  # for the whole process: see on_tick_done

    def on_tick_done(self, message: TickDone) -> None:
        result, summary = message.result, message.summary
        self.ticks += 1
        self.last_ok = self.clock()
        self.state, self.state_detail = "live", ""
        if not message.partial and not MlflowTui._heap_frozen and not self.is_headless:
            MlflowTui._heap_frozen = True
            # The first page is up: what exists now (modules, widgets, styles) lives as long
            # as the process. Frozen, it is out of the collector's way: a full collection
            # (every ~20 s while keys move through 10,000 runs) scans only what came later,
            # ~10-50 ms instead of 100-170 ms, a pause any key pressed meanwhile waits for.
            # Once per process; not in headless runs (tests: many apps, one process).
            gc.collect()
            gc.freeze()
        monitor = self.monitor
        if monitor is None or self.poller is None:
            return
        if summary is not None:
            self.experiments = summary.experiments
            self.running = summary.running
            self._update_choices()
            known = {e.experiment_id for e in self.experiments}
            if self.watched and not set(self.watched) & known:
                # Say it once, then watch another one (or the start-up choice again).
                self.notify("The watched experiment was deleted or renamed.",
                            severity="warning")
                self.watched = ()
                self._user_chose = False
                self._force_tick = True
                self._wake_loop()
        if message.watched != self.watched:
            self._render_state()  # a tick of the experiment the user just left: not shown
            return
        for eid in self.watched:  # the tick's own runs are fresher than the 30 s summary
            self.running[eid] = sum(1 for r in result.runs if r.experiment_id == eid
                                    and r.status.value == "RUNNING")
        self._forget_deleted(result.removed_runs)
        was_highlighted = self.highlighted
        if not message.partial:  # judged once the series are in, not on the bare listing
            self._update_health()
        self._show_all()
        if was_highlighted in result.removed_runs:
            self.notify("The highlighted run was deleted on the server.", severity="warning")
        self._render_state()

    def on_tick_failed(self, message: TickFailed) -> None:
        exc = message.error
        self.state = "error" if isinstance(exc, AuthError) else "reconnecting"
        self.state_detail = str(exc)
        self._render_state()

    def _update_health(self) -> None:
        assert self.poller is not None
        now_ms = int(self.clock() * 1000)
        fresh = self.health.update(self.poller.runs.values(), self.poller.points, now_ms)
        if not self._health_started:
            # Warnings already there at start: one summary line (the Now feed's), not a toast
            # each covering the chart.
            self._health_started = True
            for run, w in fresh:
                self.tell(run.run_id, w.kind, w.pair)
            return
        fresh = [(run, w) for run, w in fresh if self.tell(run.run_id, w.kind, w.pair)]
        for run, warning in fresh:
            self.notify(f"{run.name}: {warning.reason}", title=warning.kind.value.capitalize(),
                        severity="error" if warning.severity >= 3 else "warning", markup=False)
        if fresh and self.settings.bell:
            self.bell()

    def _visible_rows(self) -> list[Row]:
        """The visible runs with children under their parents (z folds and unfolds)."""
        return nest(self._visible_runs(), self.expanded, self._score)

    def _score(self, run: Run) -> float | None:
        """A child's quality for "best child": its validation metric, lower is better."""
        pair = self._pair(run)
        # The best validation value (what Best val shows), else the latest known.
        point = (self._best_val(run) or self._latest(run, pair[1])) if pair else None
        if point is None:
            return None
        return -point.value if pair and pair[2] else point.value

    def _best_val(self, run: Run) -> Point | None:
        """Best validation value of the run's cached series (known for the runs whose pair
        is tracked: the active ones and the newest rows)."""
        pair = self._pair(run)
        return None if pair is None else self.health.best(run.run_id, pair[1])

    def _visible_runs(self) -> list[Run]:
        """The watched runs, filtered (w) and sorted (o / O / a click on a header)."""
        assert self.poller is not None
        runs = self.poller.ordered_runs()
        if self.name_filter:
            runs = [r for r in runs if name_matches(r, self.name_filter)]
        if self.warnings_only:
            runs = [r for r in runs if self.health.of(r.run_id)]
        if self.sort_column != "start" or not self.sort_reverse:
            now_ms = int(self.clock() * 1000)
            key = sort_key(self.sort_column, self._pair, self.health.severity, now_ms,
                           self._best_val, self._latest)
            runs.sort(key=key, reverse=self.sort_reverse)
        return runs

    def _show_all(self) -> None:
        """Tree, run table and chart, after new data."""
        monitor = self.monitor
        if monitor is None or self.poller is None:
            return
        counts = dict(self.poller.run_counts)
        monitor.show_experiments(self.experiments, self.running, counts, self.watched,
                                 self.trouble)
        self._show_runs(monitor)
        self._show_chart()

    def _show_runs(self, monitor: MonitorScreen) -> None:
        assert self.poller is not None
        rows = self._visible_rows()
        runs = [row.run for row in rows]
        pairs = {r.run_id: self._pair(r) for r in runs}
        now_ms = int(self.clock() * 1000)
        names = [e.name for e in self.experiments if e.experiment_id in self.watched]
        title = f"Runs · {', '.join(names) or '—'} · {len(self.poller.runs)}"
        if self.poller.truncated:
            title += (f" (the newest {self.poller.max_runs} and all running; / searches them "
                      "all)")
        active = self.name_filter or self.server_filter
        if active:
            title += f" · filter: {active[:60]} · {len(runs)} shown"
        if self.warnings_only:
            title += f" · {len(runs)} with warnings (w)"
        if self.sort_column != "start" or not self.sort_reverse:
            label = dict(RUN_COLUMNS)[self.sort_column]
            title += f" · sorted by {label} {'↓' if self.sort_reverse else '↑'}"
        best = {r.run_id: self._best_val(r) for r in runs}
        values = {r.run_id: (self._latest(r, p[0]), self._latest(r, p[1])) if p else (None, None)
                  for r in runs for p in (pairs[r.run_id],)}
        monitor.show_runs(rows, pairs, self.health, now_ms, title, self._mark_styles(), best,
                          values)
        table = monitor.query_one(RunTable)
        pending = self._pending_run
        if pending is not None and pending in self.poller.runs and pending in {
                r.run_id for r in runs}:
            self._pending_run = None
            table.move_cursor(row=table.get_row_index(pending), animate=False)
            self._highlight(pending)
        if self.highlighted not in self.poller.runs:
            self.highlighted = table.current_row_key or (runs[0].run_id if runs else None)

    def _show_chart(self) -> None:
        monitor = self.monitor
        if monitor is None or self.poller is None:
            return
        run = self.poller.runs.get(self.highlighted or "")
        if run is None:
            monitor.show_chart(None, {}, None, 0, 0)
            monitor.show_system([])
            return
        views = chart_views(run.metrics)
        keys = self._view_for(run)
        view = views.index(keys) if keys in views else 0
        judgement = self.health.judgement(run.run_id)
        series, note = split_by_dataset({k: self.poller.points((run.run_id, k)) for k in keys},
                                        run.datasets, judgement.splits)
        best = next(((p.val, judgement.best[p.val]) for p in judgement.pairs
                     if p.val in series and p.val in judgement.best), None)
        monitor.show_chart(run, series, list(judgement.warnings), view, len(views),
                           self.chart_options, best, note)

        def system(key: str) -> list[Point]:  # the latest point alone until the window loads
            return self.system_points.get((run.run_id, key)) or [run.metrics[key]]

        monitor.show_system(panel_rows(run.metrics, system, run.status.value == "RUNNING"))

    def _every_second(self) -> None:
        self._render_state()
        if self.compare_screen is not None:
            return
        monitor = self.monitor
        if monitor is not None and self.poller is not None:
            active = [r for r in self.poller.runs.values() if r.status.is_active]
            if active:  # live durations: one cell each, not the whole table
                monitor.show_durations(active, int(self.clock() * 1000))

    def waiting_for_server(self) -> int:
        """Whole seconds the current request round has taken, once it is overdue (0 if not)."""
        if self.busy_since is None:
            return 0
        waited = time.monotonic() - self.busy_since
        return int(waited) if waited >= max(3.0, self.settings.interval) else 0

    def _render_state(self) -> None:
        if not self.is_running:
            return
        monitor, compare = self.monitor, self.compare_screen
        if monitor is None and compare is None:
            return
        text = Text()
        text.append(" mlflow-tui ", style="bold reverse")
        text.append(f" {self.source.display_uri if self.source else '—'} ")
        if self.paused:
            text.append(" ⏸ paused ", style="bold yellow")
        elif self.state == "live":
            text.append(" ● live ", style="bold green")
        elif self.state == "connecting":
            text.append(" ◌ connecting ", style="bold cyan")
        elif self.state == "reconnecting":
            wait = max(0, int(round(self.retry_at - time.time())))
            text.append(f" ⟳ reconnecting in {wait} s ", style="bold yellow")
        else:
            wait = max(0, int(round(self.retry_at - time.time())))
            text.append(f" ✘ error, retry in {wait} s ", style="bold red")
        waiting = self.waiting_for_server()
        if waiting:
            text.append(f" ⌛ server slow: waiting {waiting} s ", style="bold yellow")
        if self.last_ok:
            text.append(f" refreshed {fmt.clock(self.last_ok)} ", style="dim")
        caps = getattr(self.source, "known_capabilities", None)
        if caps is not None and caps.note:
            # The whole note is in the connection details (e); here only what it means.
            if caps.old:
                version = caps.version or "2.0"
                text.append(f" old server (MLflow {version}): slower charts · e ",
                            style="yellow")
            else:
                text.append(" server refuses some filters: runs filtered here · e ",
                            style="yellow")
        if self.state_detail and self.state != "live":
            text.append(" " + self.state_detail, style="italic")
        for screen in (monitor, compare):
            if screen is not None:
                screen.show_state(text)
        if monitor is not None:
            monitor.show_marks(len(self.marked))

    # ------------------------------------------------------------------ UI events
    @on(ExperimentTree.ExperimentSelected)
    def _experiment_selected(self, event: ExperimentTree.ExperimentSelected) -> None:
        if (event.experiment_id,) == self.watched:
            return
        self.watched = (event.experiment_id,)
        self._user_chose = True
        self._pending_names = set()  # the user's pick wins over the -e names still missing
        self.highlighted = None
        monitor = self.monitor
        if monitor is not None:
            monitor.clear_runs("Runs · loading…")
            monitor.query_one(RunTable).focus()
        self._force_tick = True
        self._wake_loop()

    @on(DataTable.RowHighlighted, "#runs")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._highlight(event.row_key.value if event.row_key is not None else None)

    def _highlight(self, run_id: str | None) -> None:
        if run_id == self.highlighted:
            return
        self.highlighted = run_id
        self._show_chart()
        self._chart_dirty = True
        self._wake_loop()

    def _cursor_run(self) -> Run | None:
        """The run under the table's cursor now. Keys typed fast ("j space") reach an action
        before the table's RowHighlighted message has bubbled up: read the cursor itself."""
        if self.poller is None:
            return None
        monitor = self.monitor
        if monitor is not None and self.screen is monitor:
            key = monitor.query_one(RunTable).current_row_key
            if key is not None:
                self._highlight(key)
        return self.poller.runs.get(self.highlighted or "")

    @on(DataTable.RowSelected, "#runs")
    def _run_selected(self, event: DataTable.RowSelected) -> None:
        monitor = self.monitor
        if monitor is not None:
            monitor.query_one("#chart").focus()

    # ------------------------------------------------------------------ everywhere, Now, go to
    def on_now_done(self, message: NowDone) -> None:
        if self.now is not None:
            self.now.apply(message.update)

    def show_trouble(self, counts: dict[str, tuple[int, int]]) -> None:
        """Runs in trouble per experiment (the Now feed's), on the tree."""
        if counts != self.trouble:
            self.trouble = counts
            monitor = self.monitor
            if monitor is not None and self.poller is not None:
                monitor.show_experiments(self.experiments, self.running,
                                         dict(self.poller.run_counts), self.watched, counts)

    def action_artifacts(self) -> None:
        """The highlighted run's artifacts (a)."""
        run = self._cursor_run()
        if run is None or self.source is None:
            return
        from tui.screens.artifacts import ArtifactsScreen
        from tui.tracking.artifacts import LocalArtifacts, RestArtifacts
        from tui.tracking.rest import RestSource

        if isinstance(self.source, RestSource):
            store: Any = RestArtifacts(self.source)
            url = (f"{self.source.base_url}/#/experiments/{run.experiment_id}/runs/"
                   f"{run.run_id}")
        else:
            store, url = LocalArtifacts(), None
        self.push_screen(ArtifactsScreen(run, store, web_url=url,
                                         save_dir=self.settings.export_dir))

    def action_now_view(self) -> None:
        if self.now is not None:
            self.now.open()

    def on_now_screen_jump(self, message: NowScreen.Jump) -> None:
        if self.now is not None:
            self.now.jump(message)

    def on_now_screen_refresh_asked(self, _message: NowScreen.RefreshAsked) -> None:
        if self.now is not None:
            self.now.refresh()

    def tell(self, run_id: str, kind: Any, pair: tuple[str, str] | None) -> bool:
        """True the first time a warning is to be announced (by the monitor or the Now feed,
        whichever sees it first): one toast per run and warning."""
        key = (run_id, kind, pair)
        if key in self._told:
            return False
        self._told.add(key)
        return True

    def wake_polling(self) -> None:
        """Refresh now instead of at the next interval."""
        self._force_tick = True
        self._wake_loop()

    def write_terminal(self, text: str) -> None:
        """Send escape sequences (desktop notifications) to the terminal."""
        from tui.terminal import write_raw

        write_raw(self, text)

    def open_experiment(self, experiment_id: str) -> None:
        """Watch this experiment in the monitor (the tree's enter, Go to, the Now view)."""
        while not isinstance(self.screen, MonitorScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        monitor = self.monitor
        if monitor is not None:
            monitor.query_one(ExperimentTree).select_experiment(experiment_id)
        if (experiment_id,) == self.watched:
            return
        self.watched = (experiment_id,)
        self._user_chose = True
        self._pending_names = set()
        self.highlighted = None
        if monitor is not None:
            monitor.clear_runs("Runs · loading…")
            monitor.query_one(RunTable).focus()
        self.wake_polling()

    def open_run(self, experiment_id: str, run_id: str) -> None:
        """Watch the run's experiment with the cursor on the run, charted."""
        self._pending_run = run_id
        self.open_experiment(experiment_id)
        if self.poller is not None and run_id in self.poller.runs:
            self._show_all()

    def loaded_runs(self) -> list[RunRef]:
        """The runs the app has: the open experiment's and every running one."""
        names = {e.experiment_id: e.name for e in self.experiments}
        refs: dict[str, RunRef] = {}
        runs = list(self.poller.runs.values()) if self.poller is not None else []
        if self.now is not None and self.now.feed.last is not None:
            runs += [row.run for row in self.now.feed.last.rows]
        for run in runs:
            refs.setdefault(run.run_id, RunRef(run.experiment_id, run.run_id, run.name,
                                               names.get(run.experiment_id, "")))
        return list(refs.values())

    async def find_runs(self, text: str) -> list[RunRef]:
        """Runs of any experiment whose name contains `text`, asked of the server."""
        if self.source is None or not self.experiments:
            return []
        names = {e.experiment_id: e.name for e in self.experiments}
        search = name_search(text)
        if search is None:
            return []
        try:
            found = await self.source.search_runs(list(names), filter_string=search,
                                                  max_runs=20)
        except TrackingError:
            return []
        return [RunRef(r.experiment_id, r.run_id, r.name, names.get(r.experiment_id, ""))
                for r in found]

    # ------------------------------------------------------------------ actions
    def action_help(self) -> None:
        sections: list[tuple[str, list[Binding]]] = [("Everywhere", list(self.BINDINGS))]
        screen = self.screen
        if isinstance(screen, MonitorScreen):
            sections.append(("Monitor", list(MonitorScreen.BINDINGS)))
            sections.append(("Experiment tree", [
                Binding("enter", "", "Watch the experiment"),
                *ExperimentTree.BINDINGS,
            ]))
            sections.append(("Run table", [
                Binding("enter", "", "Chart the run and focus the chart"),
                *RunTable.BINDINGS,
            ]))
        elif isinstance(screen, CompareScreen):
            sections.append(("Compare", list(CompareScreen.BINDINGS)))
            sections.append(("Table", list(RunTable.BINDINGS)))
        elif isinstance(screen, StartScreen):
            sections.append(("Start", list(StartScreen.BINDINGS)))
        elif isinstance(screen, RunDetailsScreen):
            sections.append(("Run details", list(RunDetailsScreen.BINDINGS)))
        elif type(screen).__name__ == "ConnectionScreen":
            sections.append(("Connection", list(type(screen).BINDINGS)))
        elif isinstance(screen, PickerScreen):
            sections.append(("Pick", [Binding("enter", "", "Choose"),
                                      Binding("j,down", "", "Down"), Binding("k,up", "", "Up"),
                                      *PickerScreen.BINDINGS]))
        if isinstance(screen, HelpScreen):
            return
        self.push_screen(HelpScreen(sections))

    def action_run_details(self) -> None:
        if self.poller is None or self.monitor is None or self.screen is not self.monitor:
            return
        run = self._cursor_run()
        if run is None:
            self.notify("No run highlighted.", severity="warning")
            return
        names = {e.experiment_id: e.name for e in self.experiments}
        self.push_screen(RunDetailsScreen(run, names.get(run.experiment_id, run.experiment_id),
                                          int(self.clock() * 1000),
                                          self.health.judgement(run.run_id)))

    def action_cycle_metric(self) -> None:
        if self.poller is None:
            return
        run = self._cursor_run()
        if run is None:
            return
        views = chart_views(run.metrics)
        if not views:
            return
        current = self._view_for(run)
        index = views.index(current) if current in views else -1
        self.view_keys = views[(index + 1) % len(views)]
        self._show_chart()
        self._chart_dirty = True
        self._wake_loop()

    def action_pick_pair(self) -> None:
        """P: choose the train/validation pair that judges the watched experiment's runs (or
        go back to the automatic choice); remembered per experiment in the config file."""
        if self.poller is None or self.screen is not self.monitor:
            return
        names = {e.experiment_id: e.name for e in self.experiments}
        if len(self.watched) != 1 or self.watched[0] not in names:
            self.notify("Open one experiment first.", severity="warning")
            return
        eid = self.watched[0]
        name = names[eid]
        keys = sorted({k for r in self.poller.runs.values() if r.experiment_id == eid
                       for k in r.metrics if not k.startswith("system/")})
        if not keys:
            self.notify("No metrics logged in this experiment yet.", severity="warning")
            return
        auto = find_pairs(keys)
        current = self.settings.pairs.get(name)
        OTHER = ("", "")
        options: list[tuple[str, tuple[str, str] | None]] = [(
            (f"automatic: {auto[0].train} vs {auto[0].val}" + (
                f" (+{len(auto) - 1} judged too)" if len(auto) > 1 else "")) if auto
            else "automatic: no pair found by name", None)]
        pairs = [(p.train, p.val) for p in auto]
        if current is not None and current not in pairs:
            pairs.insert(0, current)
        options += [(f"{t} vs {v}" + (" (chosen)" if (t, v) == current else ""), (t, v))
                    for t, v in pairs]
        options.append(("other: pick the train metric, then the validation metric…", OTHER))
        index = next((i for i, (_, p) in enumerate(options) if p == current), 0)

        def chosen(i: int | None) -> None:
            if i is None:
                return
            pair = options[i][1]
            if pair == OTHER:
                self.push_screen(PickerScreen("Train metric?", keys), train_chosen)
            elif pair != current:
                self._set_pair(name, pair)

        def train_chosen(i: int | None) -> None:
            if i is None:
                return
            train = keys[i]
            others = [k for k in keys if k != train]

            def val_chosen(j: int | None) -> None:
                if j is not None:
                    self._set_pair(name, (train, others[j]))

            self.push_screen(PickerScreen(f"Judge {train} against which validation metric?",
                                          others), val_chosen)

        self.push_screen(PickerScreen(f"Judge {name} on which pair?",
                                      [label for label, _ in options], index), chosen)

    def _set_pair(self, experiment: str, pair: tuple[str, str] | None) -> None:
        if pair is None:
            self.settings.pairs.pop(experiment, None)
        else:
            self.settings.pairs[experiment] = pair
        self._update_choices()
        saved = ""
        path = self.settings.config_path
        if path is not None:
            from tui.configfile import ConfigError, save_pair

            try:
                save_pair(path, experiment, pair)
                saved = f" (saved in {path})"
            except (ConfigError, OSError) as exc:
                self.notify(f"Not saved: {exc}", severity="warning", markup=False)
        what = "automatic pairing" if pair is None else f"{pair[0]} vs {pair[1]}"
        self.notify(f"{experiment}: {what}{saved}", title="Pair", markup=False)
        self._update_health()
        self._show_all()
        self._force_tick = True  # load the newly judged series
        self._wake_loop()

    def action_connection_details(self) -> None:
        """e: where and how the app connects, and the last error in full."""
        from tui.screens.connection import ConnectionScreen

        describe = getattr(self.source, "describe", None)
        facts = describe() if callable(describe) else []
        if self.last_ok:
            facts.append(("last refreshed", fmt.clock(self.last_ok)))
        error = self.state_detail if self.state != "live" else ""
        self.push_screen(ConnectionScreen(facts, self.state, error))

    def action_refresh(self) -> None:
        for poller in (self.poller, self.compare_poller):
            if poller is not None:
                poller.refresh()
        self._force_tick = True
        self._force_experiments = True
        self._wake_loop()
        self.notify("Refreshing…", timeout=1.5)

    # ------------------------------------------------------------------ marks and compare
    def _mark_styles(self) -> dict[str, str]:
        dark = self.current_theme.dark
        return {rid: fmt.run_colour(i, dark)[1] for i, rid in enumerate(self.marked)}

    def action_toggle_mark(self) -> None:
        if self.poller is None:
            return
        run = self._cursor_run()
        if run is None:
            return
        if run.run_id in self.marked:
            del self.marked[run.run_id]
        else:
            self.marked[run.run_id] = run
            # pandas (~80 MB) is needed by the compare view only: load it, off the event loop,
            # once the user starts marking runs to compare, not in every session.
            self._warm_imports()
        self._show_all()
        self._render_state()

    def action_clear_marks(self) -> None:
        self.marked.clear()
        self._show_all()
        self._render_state()

    def action_compare(self) -> None:
        if self.source is None:
            return
        if len(self.marked) < 2:
            self.notify("Mark at least two runs with space, then press c.", timeout=3)
            return
        self.compare_poller = Poller(self.source, first_load_points=2500,
                                     active_every=self._active_every())
        self._compare_opened = False
        self.compare_view = 0
        self.compare_preview = {}
        self._sketch_done = asyncio.Event()
        self.push_screen(CompareScreen())
        self._open_sketch(self.compare_poller, self._sketch_done)
        self._force_tick = True
        self._switch_round()

    def action_close_compare(self) -> None:
        if isinstance(self.screen, CompareScreen):
            self.compare_poller = None
            self.compare_frame = None
            self.compare_preview = {}
            self.workers.cancel_group(self, "compare-sketch")
            if self._sketch_done is not None:
                self._sketch_done.set()
            self.pop_screen()
            self._force_tick = True
            self._switch_round()

    def _switch_round(self) -> None:
        """Entering or leaving the compare view: a round of the other view still in flight
        (the monitor's first loads, or the compare view's, can take many seconds on long
        histories) is abandoned, not waited for, and the new view's round starts now."""
        if self.busy_since is not None and self.poller is not None and self._wake is not None:
            self._poll_loop()  # exclusive: cancels the running loop, starts a fresh one
        else:
            self._wake_loop()

    @property
    def compare_screen(self) -> CompareScreen | None:
        screen = self.screen
        return screen if isinstance(screen, CompareScreen) and self._can_update(screen) else None

    def on_compare_done(self, message: CompareDone) -> None:
        self.ticks += 1
        self.last_ok = self.clock()
        self.state, self.state_detail = "live", ""
        for run in message.result.runs:
            if run.run_id in self.marked:
                self.marked[run.run_id] = run
        self._forget_deleted(message.result.removed_runs)
        if len(self.marked) < 2 and isinstance(self.screen, CompareScreen):
            self.notify("Fewer than two marked runs are left: back to the monitor.",
                        severity="warning")
            self.action_close_compare()
            return
        self._show_compare()
        self._render_state()

    def _forget_deleted(self, run_ids: Iterable[str]) -> None:
        gone = [rid for rid in run_ids if rid in self.marked]
        for rid in gone:
            del self.marked[rid]
        if gone:
            self.notify(f"{len(gone)} marked run(s) were deleted on the server.",
                        severity="warning")

    def _compare_runs(self) -> list[Run]:
        return list(self.marked.values())

    def _show_compare(self) -> None:
        screen = self.compare_screen
        poller = self.compare_poller
        if screen is None or poller is None:
            return
        from tui.compare import compare_frame, only_differences, sort_frame

        runs = self._compare_runs()
        keys = self._compare_keys(runs)
        views = chart_views(keys)
        view = views[self.compare_view % len(views)] if views else ()
        names = _unique_names(runs)
        series: dict[str, Sequence[tuple[float, float]]] = {}
        colors: dict[str, str] = {}
        markers: dict[str, str] = {}
        # Converted incrementally: a tick converts the new points only, not whole histories.
        xy_cache = self._compare_xy
        split_notes: list[str] = []
        for i, run in enumerate(runs):
            colour = fmt.run_colour(i, self.current_theme.dark)[0]
            shown, note = split_by_dataset(
                {key: self._compare_points((run.run_id, key)) for key in view}, run.datasets)
            if note:
                split_notes.append(f"{names[run.run_id]}: {note}")
            keys_shown = list(shown)
            for j, key in enumerate(keys_shown):
                role = (("train", "val")[j] if len(keys_shown) == 2 and find_pairs(keys_shown)
                        else key)
                label = (f"{names[run.run_id]} · {role}" if len(keys_shown) > 1
                         else names[run.run_id])
                series[label] = xy_cache.view(label, shown[key], self.chart_options.x_mode,
                                              run.start_time)
                colors[label] = colour
                markers[label] = "braille" if j == 0 else "dot"  # train: line, val: dots
        xy_cache.keep(series)
        title = " vs ".join(view) if view else "no metrics"
        position = self.compare_view % max(len(views), 1) + 1
        subtitle = f"Compare {len(runs)} runs · metric {position}/{len(views)} (m)"
        sketched, loading = self._sketch_state(runs, view)
        notes = split_notes[:1]
        if sketched:
            subtitle += " · sketch, full curves loading…"
            notes.append(f"sketch: {sketched} points per curve, full curves loading…")
        elif loading:
            notes.append("curves loading…")
        screen.show_chart(series, colors, markers, title, subtitle, self.chart_options)
        experiments = {e.experiment_id: e.name for e in self.experiments}
        frame = compare_frame(runs, keys, poller.points, int(self.clock() * 1000), experiments)
        pending = _hide_unloaded_stats(frame, runs, keys, poller)
        if pending:
            notes.append("statistics loading…")
        screen.show_note(" · ".join(notes))
        if self.compare_differences:
            frame = only_differences(frame)
        frame = sort_frame(frame, self.compare_sort, self.compare_descending)
        self.compare_frame = frame
        title = f"Marked runs · {len(runs)}"
        if pending:
            title += " · statistics loading…"
        if self.compare_differences:
            title += " · only what differs (d)"
        if self.compare_sort:
            from tui.compare import header

            title += (f" · sorted by {header(self.compare_sort)} "
                      f"{'↓' if self.compare_descending else '↑'}")
        if self.compare_transposed:
            title += " · runs as columns (t)"
        screen.show_table(frame, self._mark_styles(), title, transposed=self.compare_transposed,
                          names=names)

    def action_compare_metric(self) -> None:
        self.compare_view += 1
        self._show_compare()
        self._force_tick = True  # load the newly charted metric if it is not yet
        self._wake_loop()

    def action_compare_differences(self) -> None:
        self.compare_differences = not self.compare_differences
        self._show_compare()

    def action_compare_sort(self) -> None:
        """Sort the table by a column chosen from a list (enter), or back to marking order."""
        frame = self.compare_frame
        if frame is None:
            return
        from tui.compare import header

        columns = [c for c in frame.columns if c != "run_id"]
        labels = ["marking order (no sort)", *[header(c) for c in columns]]
        current = columns.index(self.compare_sort) + 1 if self.compare_sort in columns else 0

        def chosen(index: int | None) -> None:
            if index is None:
                return
            self.compare_sort = columns[index - 1] if index > 0 else None
            self._show_compare()

        self.push_screen(PickerScreen("Sort the runs by", labels, current), chosen)

    def action_compare_transpose(self) -> None:
        self.compare_transposed = not self.compare_transposed
        self._show_compare()

    def action_compare_reverse(self) -> None:
        self.compare_descending = not self.compare_descending
        self._show_compare()

    def action_compare_export(self) -> None:
        if self.compare_frame is None:
            return
        from tui.compare import export_csv

        try:
            path = export_csv(self.compare_frame, Path(self.settings.export_dir), self.clock())
        except OSError as exc:
            self.notify(f"Could not write the CSV: {exc}", severity="error", markup=False)
            return
        self.notify(f"Exported {len(self.compare_frame)} runs to {path}", title="CSV",
                    markup=False, timeout=8)

    # ------------------------------------------------------------------ chart controls
    def _set_chart_options(self, **changes: Any) -> None:
        self.chart_options = replace(self.chart_options, **changes)
        self._show_chart()
        self._show_compare()

    def action_pick_metric(self) -> None:
        """M: a list of the metric views (the same that m cycles) to pick one from."""
        if isinstance(self.screen, CompareScreen) and self.compare_poller is not None:
            views = chart_views(self._compare_keys(self._compare_runs()))
            current = self.compare_view % max(len(views), 1)
        else:
            run = self._cursor_run()
            if run is None:
                return
            views = chart_views(run.metrics)
            current = views.index(self._view_for(run)) if self._view_for(run) in views else 0
        if not views:
            return
        compare = isinstance(self.screen, CompareScreen)

        def chosen(index: int | None) -> None:
            if index is None:
                return
            if compare:
                self.compare_view = index
                self._show_compare()
            else:
                self.view_keys = views[index]
                self._show_chart()
                self._chart_dirty = True
            if compare:
                self._force_tick = True  # load the newly charted metric
            self._wake_loop()

        labels = [" vs ".join(view) for view in views]
        self.push_screen(PickerScreen("Chart which metric?", labels, current), chosen)

    def action_chart_x(self) -> None:
        modes = list(X_MODES)
        index = (modes.index(self.chart_options.x_mode) + 1) % len(modes)
        self._set_chart_options(x_mode=modes[index])

    def action_chart_log(self) -> None:
        self._set_chart_options(log_y=not self.chart_options.log_y)

    def action_chart_smooth(self) -> None:
        steps = SMOOTHING_STEPS
        current = self.chart_options.smoothing
        later = [w for w in steps if w > current + 1e-9]
        self._set_chart_options(smoothing=later[0] if later else 0.0)

    def action_chart_zoom(self) -> None:
        steps = ZOOM_STEPS
        current = self.chart_options.last_n
        index = steps.index(current) if current in steps else 0
        self._set_chart_options(last_n=steps[(index + 1) % len(steps)])

    # ------------------------------------------------------------------ filter
    def action_open_filter(self) -> None:
        monitor = self.monitor
        if monitor is not None and self.screen is monitor:
            monitor.open_filter(self.server_filter or self.name_filter)

    def action_close_filter(self) -> None:
        monitor = self.monitor
        if monitor is not None:
            monitor.close_filter()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        monitor = self.monitor
        if monitor is not None:
            monitor.show_filter_error(None)
            monitor.close_filter()
        if is_search_expression(text):
            self.name_filter, self.server_filter = "", text
            self._force_tick = True
            self._wake_loop()
        else:
            # Names are matched here; in an experiment larger than what is loaded, the server
            # is asked too (run_name ILIKE), so the filter reaches every run.
            wanted = name_search(text) if text and self.poller is not None and (
                self.poller.truncated) else None
            changed = self.server_filter != (wanted or "")
            self.name_filter, self.server_filter = text, wanted or ""
            if changed:
                self._force_tick = True
                self._wake_loop()
        self._show_all()

    def on_filter_failed(self, message: FilterFailed) -> None:
        monitor = self.monitor
        if monitor is not None:
            monitor.show_filter_error(message.reason)
        self._show_all()

    def action_toggle_children(self) -> None:
        """Fold or unfold the children of the highlighted run (or of its parent)."""
        if self.poller is None:
            return
        run = self._cursor_run()
        if run is None:
            return
        rows = {row.run.run_id: row for row in self._visible_rows()}
        row = rows.get(run.run_id)
        target = run.run_id
        if row is not None and row.children == 0:
            parent = run.tags.get(PARENT_TAG)
            if not parent or parent not in self.poller.runs:
                return
            target = parent
        if target in self.expanded:
            self.expanded.discard(target)
            monitor = self.monitor
            if target != run.run_id and monitor is not None:
                self._show_all()
                table = monitor.query_one(RunTable)
                if target in table.rows:  # the parent may be filtered out of the table
                    self.highlighted = target
                    table.move_cursor(row=table.get_row_index(target))
                return
        else:
            self.expanded.add(target)
        self._show_all()

    def action_toggle_warnings(self) -> None:
        self.warnings_only = not self.warnings_only
        self._show_all()

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in RUN_COLUMNS if k != "mark"]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = self.sort_column in ("start", "warn", "step", "duration")
        if self.sort_column == "best":  # best first: lowest loss (or highest accuracy) first
            self.sort_reverse = False
        self._show_all()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._show_all()

    @on(DataTable.HeaderSelected, "#runs")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == "mark":
            return
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column in ("start", "warn", "step", "duration")
        self._show_all()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._render_state()
        if not self.paused:
            self._force_tick = True
            self._wake_loop()


SMOOTHING_STEPS = (0.6, 0.8, 0.9, 0.95)  # s cycles through these, then off
SKETCH_WAIT = 10.0  # s: the compare view's history requests wait this long at most for its sketch
ZOOM_STEPS: tuple[int | None, ...] = (None, 500, 100, 50)  # n: all, then the last N points


def _hide_unloaded_stats(frame: Any, runs: Sequence[Run], keys: Sequence[str],
                         poller: Poller) -> bool:
    """Blank the min, max and best step of every series whose history is not loaded yet
    (compare_frame would take them from the latest point alone): shown as not known, never
    as if exact. The latest value is exact (runs/search): it stays. True if any was blanked."""
    blanked = False
    for key in keys:
        waiting = [r.run_id for r in runs
                   if key in r.metrics and (r.run_id, key) not in poller.series]
        if not waiting:
            continue
        blanked = True
        rows = frame["run_id"].isin(waiting)
        for suffix in ("best", "min", "max", "best_step"):
            column = f"{key}.{suffix}"
            if column in frame:
                frame.loc[rows, column] = None
    return blanked


def _unique_names(runs: Sequence[Run], width: int = 40) -> dict[str, str]:
    """Run names for legends, at most `width` cells; names that are (or shorten to) the same
    get the run's short id."""
    short = {r.run_id: safe_text(r.name, width) for r in runs}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {rid: name if counts[name] == 1 else f"{safe_text(name, width - 9)} [{rid[:6]}]"
            for rid, name in short.items()}


def make_app(settings: Settings, source: TrackingSource | None = None, *,
             clock: Callable[[], float] = time.time) -> MlflowTui:
    """The one way to build the app, for the CLI and for every test."""
    if source is None and settings.uri and not settings.demo:
        source = open_source(classify(settings.uri), token_command=settings.token_command,
                             headers=settings.headers, workspace=settings.workspace)
    return MlflowTui(settings, source, clock=clock)


__all__ = ["MlflowTui", "make_app", "__version__"]
