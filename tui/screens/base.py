"""What the screens share: the few things they may ask of the app (`Host`), and the chart
controls of every screen with a chart (`ChartScreen`), the same keys in the monitor and the
compare view.

Screens own their keys and actions; they read and change the session (tui/session) and ask
the app only for what spans screens: opening another view, the chart options both views use.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol, cast

from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from mlflow_tui.text import format as fmt
from mlflow_tui.widgets import X_MODES, ChartOptions

if TYPE_CHECKING:
    from mlflow_tui.session.monitor import MonitorSession
    from mlflow_tui.ui.goto import RunRef

SMOOTHING_STEPS = (0.6, 0.8, 0.9, 0.95)  # s cycles through these, then off
ZOOM_STEPS: tuple[int | None, ...] = (None, 500, 100, 50)  # L: all, then the last N points

CHART_BINDINGS = [
    Binding("M", "pick_metric", "Pick metric", show=False, id="chart.pick_metric"),
    Binding("x", "chart_x", "x axis", show=False, id="chart.x_mode"),
    Binding("y", "chart_log", "log y", show=False, id="chart.log_y"),
    Binding("s", "chart_smooth", "Smoothing", show=False, id="chart.smoothing"),
    Binding("L", "chart_zoom", "Last N points", show=False, id="chart.last_n"),
]


class Host(Protocol):
    """The app, as the screens see it."""

    session: MonitorSession
    chart_options: ChartOptions

    def open_experiment(self, experiment_id: str) -> None: ...
    def open_run(self, experiment_id: str, run_id: str) -> None: ...
    def loaded_runs(self) -> list[RunRef]: ...
    def open_compare(self) -> None: ...
    def close_compare(self) -> None: ...
    def open_now(self) -> None: ...
    def show_state(self) -> None: ...
    def start_demo(self) -> None: ...
    def judge(self) -> None:
        """Judge the runs again now, and announce new warnings."""


def bindings(items: Sequence[object]) -> list[Binding]:
    """The Binding objects of a BINDINGS list (for help)."""
    return [b for b in items if isinstance(b, Binding)]


def mark_styles(marked: Sequence[str], dark: bool) -> dict[str, str]:
    """run id -> the rich style of its compare colour, in marking order."""
    return {rid: fmt.run_colour(i, dark)[1] for i, rid in enumerate(marked)}


def state_line(session: MonitorSession) -> Text:
    """The line at the top of the monitor and compare views: where, live or not, and why."""
    source = session.source
    text = Text()
    text.append(" mlflow-tui ", style="bold reverse")
    text.append(f" {source.display_uri if source else '—'} ")
    wait = max(0, int(round(session.retry_at - time.time())))
    if session.paused:
        text.append(" ⏸ paused ", style="bold yellow")
    elif session.state == "live":
        text.append(" ● live ", style="bold green")
    elif session.state == "connecting":
        text.append(" ◌ connecting ", style="bold cyan")
    elif session.state == "reconnecting":
        text.append(f" ⟳ reconnecting in {wait} s ", style="bold yellow")
    else:
        text.append(f" ✘ error, retry in {wait} s ", style="bold red")
    waiting = session.waiting_for_server()
    if waiting:
        text.append(f" ⌛ server slow: waiting {waiting} s ", style="bold yellow")
    if session.last_ok:
        text.append(f" refreshed {fmt.clock(session.last_ok)} ", style="dim")
    caps = getattr(source, "known_capabilities", None)
    if caps is not None and caps.label:
        # The whole note is in the connection details (e); here only what it means.
        text.append(f" {caps.label} · e ", style="yellow")
    if session.state_detail and session.state != "live":
        text.append(" " + session.state_detail, style="italic")
    return text


NARROW_WIDTH = 100  # columns: below, the narrow layouts (80x24) and a compact footer


class ChartScreen(Screen[None]):
    """A screen with a chart: x axis, log y, smoothing and zoom keys (the options are shared
    with the other chart screens through the app), and a metric picker of its own."""

    ready = False  # True once composed: results are shown on a composed screen only

    @property
    def host(self) -> Host:
        return cast("Host", self.app)

    @property
    def session(self) -> MonitorSession:
        return self.host.session

    def redraw(self) -> None:
        """Draw again from the session (after new data or a change of view)."""

    _width = 0  # the last resize's width (the screen's own size lags behind it)

    @property
    def narrow(self) -> bool:
        width = self._width or self.size.width
        return 0 < width < NARROW_WIDTH

    def on_resize(self, event: events.Resize) -> None:
        self._width = event.size.width
        # Narrow (80 columns): the footer compact and without its palette hint (ctrl+p still
        # opens it), so that every key it shows fits, `? Help` last.
        narrow = self.narrow
        for footer in self.query(Footer).results(Footer):
            if footer.compact != narrow:
                footer.show_command_palette = not narrow
                footer.compact = narrow
                footer.refresh(recompose=True)
        self.resized()

    def resized(self) -> None:
        """After a resize, `narrow` up to date: what a screen redraws for its new width."""

    @staticmethod
    def redraw_all(app: App[Any]) -> None:
        """Every chart screen of the stack draws again (chart options, the theme changed)."""
        for screen in app.screen_stack:
            if isinstance(screen, ChartScreen) and screen.ready:
                screen.redraw()

    def _set_chart_options(self, **changes: Any) -> None:
        self.host.chart_options = replace(self.host.chart_options, **changes)
        self.redraw_all(self.app)

    def action_chart_x(self) -> None:
        modes = list(X_MODES)
        index = (modes.index(self.host.chart_options.x_mode) + 1) % len(modes)
        self._set_chart_options(x_mode=modes[index])

    def action_chart_log(self) -> None:
        self._set_chart_options(log_y=not self.host.chart_options.log_y)

    def action_chart_smooth(self) -> None:
        current = self.host.chart_options.smoothing
        later = [w for w in SMOOTHING_STEPS if w > current + 1e-9]
        self._set_chart_options(smoothing=later[0] if later else 0.0)

    def action_chart_zoom(self) -> None:
        current = self.host.chart_options.last_n
        index = ZOOM_STEPS.index(current) if current in ZOOM_STEPS else 0
        self._set_chart_options(last_n=ZOOM_STEPS[(index + 1) % len(ZOOM_STEPS)])


__all__ = ["CHART_BINDINGS", "ChartScreen", "Host", "SMOOTHING_STEPS", "ZOOM_STEPS",
           "bindings", "mark_styles", "state_line"]
