"""The App assembles: the settings, the session, the screen stack, the keys of every view.

The session (tui/session/monitor.py) polls and judges, with no UI; its loop runs here as a
worker, and its results come back as messages that the screens draw from. Each screen owns
its keys (tui/screens/); the app keeps what spans screens: quitting, help, the everywhere-feed
behind the Now view and the tree's counts, going to an experiment or a run, the compare view's
opening and closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding

from mlflow_tui import __version__
from mlflow_tui.screens.base import ChartScreen, bindings, state_line
from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.help import HelpScreen
from mlflow_tui.screens.monitor import MonitorScreen
from mlflow_tui.screens.now import NowScreen
from mlflow_tui.screens.start import StartScreen
from mlflow_tui.session.monitor import MonitorSession
from mlflow_tui.settings.config import Settings
from mlflow_tui.text.format import one_toast_per_run, toast_title
from mlflow_tui.tracking import TrackingError, classify, open_source
from mlflow_tui.tracking.source import TrackingSource
from mlflow_tui.ui.commands import BindingCommands
from mlflow_tui.ui.goto import GoToExperiment, GoToRun, RunRef
from mlflow_tui.ui.messages import CompareDone, DemoReady, FilterFailed, TickDone, TickFailed
from mlflow_tui.ui.now_controller import NowController, NowDone
from mlflow_tui.ui.relay import NOW_GROUP, Relay
from mlflow_tui.widgets import ChartOptions

POLL_GROUP = "poll"  # the worker groups that read the source, besides the Now feed's
SKETCH_GROUP = "compare-sketch"


async def _end_readers(app: App[int]) -> None:
    """The workers that read the source end before it closes (Textual has asked them to; one
    may still be between two requests), or one would send on the closed client."""
    for group in (POLL_GROUP, NOW_GROUP, SKETCH_GROUP):
        for worker in app.workers.cancel_group(app, group):
            with contextlib.suppress(Exception):  # cancelled, failed or never started
                await asyncio.wait_for(worker.wait(), 2)


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
        self.session = MonitorSession(
            settings, source, clock=clock,
            wants_system=lambda: self.size.width >= MonitorScreen.SYSTEM_MIN_WIDTH)
        self.chart_options = ChartOptions()  # x axis, log y, smoothing, zoom: both views
        self.demo: Any = None
        self.ticks = 0  # results applied to the screens (tests wait on it)
        # Every running run, anywhere: the tree's ⚠/✘ counts and the Now view (n).
        self.now: NowController | None = None
        self.relay = Relay(self, None)  # the session's results, as messages to the screens

    @property
    def source(self) -> TrackingSource | None:
        return self.session.source

    @property
    def clock(self) -> Callable[[], float]:
        """The wall clock every view reads (the session's: tests freeze it)."""
        return self.session.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.session.clock = clock

    # ------------------------------------------------------------------ start-up
    def on_mount(self) -> None:
        exit_on_signals(self)
        if self.settings.theme:
            self.theme = self.settings.theme
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        # Run colours depend on the theme being dark or light: every chart screen redraws.
        self.theme_changed_signal.subscribe(self, lambda _theme: ChartScreen.redraw_all(self))
        self.sub_title = "" if self.source is None else self.source.display_uri
        if self.settings.demo:
            self.push_screen(MonitorScreen())
            self.start_demo()
        elif self.source is None:
            self.push_screen(StartScreen())
        else:
            self.push_screen(MonitorScreen())
            self._start_polling(self.source)
            if self.settings.now and self.now is not None:
                self.now.open()
        self.set_interval(1.0, self._every_second)

    def _start_polling(self, source: TrackingSource) -> None:
        self.now = NowController(self, source)
        self.relay = Relay(self, self.now)
        self.session.start(source, self.relay)
        self.show_state()
        self._poll_loop()

    def _poll_loop(self) -> None:
        # exclusive: a new loop replaces the running one (see _switch_round)
        self.run_worker(self.session.run(), group=POLL_GROUP, exclusive=True)

    def start_demo(self) -> None:
        """The built-in demo: a local store filled, then trained in a thread, and watched."""
        from mlflow_tui.demo import DemoSession

        self.settings.demo = True
        self.demo = DemoSession(speed=self.settings.demo_speed)
        self.session.state, self.session.state_detail = "connecting", "preparing the demo store…"
        self.run_worker(self._prepare_demo, thread=True, group="demo", exclusive=True)

    def _prepare_demo(self) -> None:
        try:
            uri = self.demo.prepare()
            self.demo.start()
        except Exception as exc:  # noqa: BLE001 - shown on the state line, app stays up
            self.post_message(TickFailed(TrackingError(f"the demo could not start: {exc}")))
            return
        self.post_message(DemoReady(uri))

    def on_demo_ready(self, message: DemoReady) -> None:
        from mlflow_tui.tracking.local import LocalSource

        source = LocalSource(message.uri)
        self.sub_title = "demo · " + source.display_uri
        self._start_polling(source)

    async def on_unmount(self) -> None:
        await _end_readers(self)
        if self.demo is not None:
            await asyncio.to_thread(self.demo.stop)
        if self.source is not None:
            try:
                await self.source.aclose()
            except Exception:  # noqa: BLE001 - closing must not fail the exit
                pass

    # ------------------------------------------------------------------ results
    _heap_frozen = False  # for the whole process: see on_tick_done

    def on_tick_done(self, message: TickDone) -> None:
        self.ticks += 1
        session = self.session
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
        if monitor is None or session.poller is None:
            return
        shown, lost = session.apply_tick(message.result, message.summary, message.watched,
                                         message.partial)
        if lost:
            self.notify("The watched experiment was deleted or renamed.", severity="warning")
        if not shown:
            self.show_state()
            return
        gone = session.forget_deleted(message.result.removed_runs)
        if gone:
            self.notify(f"{gone} marked run(s) were deleted on the server.", severity="warning")
        was_highlighted = session.highlighted
        if not message.partial:  # judged once the series are in, not on the bare listing
            self.judge()
        monitor.redraw()
        if was_highlighted in message.result.removed_runs:
            self.notify("The highlighted run was deleted on the server.", severity="warning")
        self.show_state()

    def on_tick_failed(self, message: TickFailed) -> None:
        self.session.failed(message.error)
        self.show_state()

    def on_filter_failed(self, message: FilterFailed) -> None:
        monitor = self.monitor
        if monitor is not None:
            monitor.filter_refused(message.reason)

    def judge(self) -> None:
        """Judge the listed runs again; a toast (and the bell) for each new warning."""
        fresh = self.session.judge()
        for run, warnings in one_toast_per_run(fresh, lambda r: r.run_id):
            self.notify(f"{run.name}: " + "; ".join(w.reason for w in warnings),
                        title=toast_title(warnings), markup=False,
                        severity="error" if max(w.severity for w in warnings) >= 3
                        else "warning")
        if fresh and self.settings.bell:
            self.bell()

    @property
    def monitor(self) -> MonitorScreen | None:
        """The monitor screen, also while another screen is on top of it."""
        for screen in self.screen_stack:
            if isinstance(screen, MonitorScreen) and screen.ready and screen.is_attached:
                return screen
        return None

    def show_state(self) -> None:
        """The state line of the monitor and compare views, and the marks' count."""
        if not self.is_running:
            return
        monitor = self.monitor
        if monitor is not None:
            monitor.show_header()
        compare = self.compare_screen
        if compare is not None:
            compare.show_state(state_line(self.session))

    def _every_second(self) -> None:
        self.show_state()
        monitor = self.monitor
        if monitor is not None and self.compare_screen is None:
            monitor.show_live_durations()

    # ------------------------------------------------------------------ compare
    @property
    def compare_screen(self) -> CompareScreen | None:
        screen = self.screen
        return screen if isinstance(screen, CompareScreen) and screen.ready else None

    def open_compare(self) -> None:
        session = self.session
        if self.source is None or len(session.marked) < 2:
            return
        session.compare.open(self.source, session.active_every())
        self.push_screen(CompareScreen())
        self.run_worker(session.compare.opening_sketch(
            list(session.marked.values()), self.relay.compared, self.relay.warn),
            group=SKETCH_GROUP, exclusive=True)
        session.force_tick = True
        self._switch_round()

    def close_compare(self) -> None:
        if isinstance(self.screen, CompareScreen):
            self.workers.cancel_group(self, SKETCH_GROUP)
            self.session.compare.close()
            self.pop_screen()
            self.session.force_tick = True
            self._switch_round()

    def _switch_round(self) -> None:
        """Entering or leaving the compare view: a round of the other view still in flight
        (the monitor's first loads, or the compare view's, can take many seconds on long
        histories) is abandoned, not waited for, and the new view's round starts now."""
        if self.session.busy_since is not None and self.session.poller is not None:
            self._poll_loop()  # exclusive: cancels the running loop, starts a fresh one
        else:
            self.session.wake()

    def on_compare_done(self, message: CompareDone) -> None:
        self.ticks += 1
        gone = self.session.apply_compare(message.result)
        if gone:
            self.notify(f"{gone} marked run(s) were deleted on the server.", severity="warning")
        if len(self.session.marked) < 2 and isinstance(self.screen, CompareScreen):
            self.notify("Fewer than two marked runs are left: back to the monitor.",
                        severity="warning")
            self.close_compare()
            return
        compare = self.compare_screen
        if compare is not None:
            compare.redraw()

    # ------------------------------------------------------------------ everywhere, Now, go to
    def on_now_done(self, message: NowDone) -> None:
        if self.now is not None:
            self.now.apply(message.update)

    def open_now(self) -> None:
        if self.now is not None:
            self.now.open()

    def on_now_screen_jump(self, message: NowScreen.Jump) -> None:
        if self.now is not None:
            self.now.jump(message)

    def on_now_screen_refresh_asked(self, _message: NowScreen.RefreshAsked) -> None:
        if self.now is not None:
            self.now.refresh()

    def open_experiment(self, experiment_id: str, run_id: str | None = None) -> None:
        """Watch this experiment in the monitor (the tree's enter, Go to, the Now view); with
        `run_id`, the cursor on that run, charted."""
        while not isinstance(self.screen, MonitorScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        monitor = self.monitor
        if monitor is not None:
            monitor.show_experiment(experiment_id, run_id)
        else:
            self.session.pending_run = run_id
            self.session.watch(experiment_id)

    def open_run(self, experiment_id: str, run_id: str) -> None:
        self.open_experiment(experiment_id, run_id)

    def loaded_runs(self) -> list[RunRef]:
        """The runs the app has: the open experiment's and every running one."""
        names = self.session.experiment_names()
        poller = self.session.poller
        runs = list(poller.runs.values()) if poller is not None else []
        if self.now is not None and self.now.feed.last is not None:
            runs += [row.run for row in self.now.feed.last.rows]
        refs: dict[str, RunRef] = {}
        for run in runs:
            refs.setdefault(run.run_id, RunRef(run.experiment_id, run.run_id, run.name,
                                               names.get(run.experiment_id, "")))
        return list(refs.values())

    # ------------------------------------------------------------------ help
    def action_help(self) -> None:
        screen = self.screen
        if isinstance(screen, HelpScreen):
            return
        sections: list[tuple[str, list[Binding]]] = [("Everywhere", bindings(self.BINDINGS))]
        own = getattr(screen, "help_sections", None)
        if callable(own):
            sections += own()
        elif type(screen).BINDINGS:
            sections.append((getattr(screen, "HELP_TITLE", "This view"),
                             bindings(type(screen).BINDINGS)))
        self.push_screen(HelpScreen(sections))


def make_app(settings: Settings, source: TrackingSource | None = None, *,
             clock: Callable[[], float] = time.time) -> MlflowTui:
    """The one way to build the app, for the CLI and for every test."""
    if source is None and settings.uri and not settings.demo:
        source = open_source(classify(settings.uri), token_command=settings.token_command,
                             headers=settings.headers, workspace=settings.workspace)
    return MlflowTui(settings, source, clock=clock)


__all__ = ["MlflowTui", "make_app", "__version__"]


if TYPE_CHECKING:
    from mlflow_tui.screens.base import Host

    def _is_a_host(app: MlflowTui) -> Host:  # checked by mypy: the App is what screens ask
        return app


# After a hang-up the app still tries to end as `q` does; if that has not happened within this
# many seconds (an exit blocked on the dead terminal or a request that will not return), the
# process ends anyway: nobody is left to see it, and it must not linger on a shared machine.
HANGUP_GRACE = 30.0


def exit_on_signals(app: App[Any]) -> None:
    """`kill` (SIGTERM) and a closed terminal or SSH session (SIGHUP) end the app the way `q`
    does: the terminal restored, the demo's temporary store removed. By default Python dies on
    the spot and leaves both behind.

    The handlers are plain signal handlers, run at once in the main thread: a hang-up comes
    with a SIGCONT (the kernel sends both to the terminal's session leader, as tmux's
    kill-server and a dropped SSH connection do), and Textual's own SIGCONT handler would
    restart application mode on the dead terminal before an asyncio callback could run."""
    if app.is_headless:  # tests: the test runner's process keeps its own handlers
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None:
            continue
        try:
            signal.signal(sig, functools.partial(_leave, app, loop))
        except (ValueError, OSError):  # not the main thread; a platform without it
            pass


def _leave(app: App[Any], loop: asyncio.AbstractEventLoop, signum: int, _frame: object) -> None:
    # On the way out, a SIGCONT (the one that comes with a hang-up) must not restart
    # application mode: Textual's handler would start a second writer thread on a terminal
    # that may be gone, and end up blocked on it (see detach_from_terminal).
    if hasattr(signal, "SIGCONT"):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGCONT, signal.SIG_DFL)
    if signum == getattr(signal, "SIGHUP", None):
        if terminal_gone():
            detach_from_terminal()
        _end_anyway_after(app, HANGUP_GRACE, 128 + signum)
    with contextlib.suppress(RuntimeError):  # the loop is closed: the app is ending already
        loop.call_soon_threadsafe(app.exit)


def terminal_gone(fd: int = 2) -> bool:
    """The terminal behind ``fd`` has hung up (its ioctls fail with EIO), as it has when the
    kernel's SIGHUP comes; a SIGHUP sent by a program (`kill -HUP`) may find it still there."""
    import termios  # POSIX only, as SIGHUP is

    try:
        termios.tcgetattr(fd)
    except termios.error as error:
        return bool(error.args) and error.args[0] == errno.EIO
    return False


def detach_from_terminal() -> None:
    """The terminal has hung up: writing to it fails (EIO). Textual's writer thread dies on
    the first such write, and the app's next writes (restoring the terminal on the way out)
    fill its bounded queue and block the exit for ever. So the output goes to the null
    device from now on."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            for fd in (1, 2):  # Textual writes to stderr; print() and warnings to stdout
                os.dup2(null, fd)
        finally:
            os.close(null)


_ending: list[threading.Timer] = []


def _end_anyway_after(app: App[Any], seconds: float, status: int) -> None:
    """Once: after ``seconds``, remove the demo's temporary store and end the process, if the
    orderly exit has not done both by then."""
    if _ending:
        return

    def end() -> None:
        demo = getattr(app, "demo", None)
        if demo is not None:
            demo.remove_store()
        os._exit(status)

    timer = threading.Timer(seconds, end)
    timer.daemon = True  # an orderly exit does not wait for it
    _ending.append(timer)
    with contextlib.suppress(RuntimeError):  # the interpreter is ending already
        timer.start()
