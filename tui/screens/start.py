"""Shown when no tracking URI was given and none was found: how to point at a server."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Static

from mlflow_tui.widgets import KeyFooter

if TYPE_CHECKING:
    from mlflow_tui.screens.base import Host

HOW_TO = """\
No tracking server or store was given, and there is no ./mlflow.db or ./mlruns here.

Point mlflow-tui at your runs in one of these ways:

    mlflow-tui http://127.0.0.1:5000          a tracking server (mlflow server / mlflow ui)
    export MLFLOW_TRACKING_URI=http://host:5000 ; mlflow-tui
    mlflow-tui sqlite:///path/to/mlflow.db    a local database, opened read-only
    mlflow-tui ./mlruns                       a local file store, opened read-only

Over SSH, run it on the machine that can reach the server; no port forwarding is needed.
Credentials come from MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN.

Press d to watch the built-in demo (a simulated training session), or q to quit.\
"""


class StartScreen(Screen[None]):
    DEFAULT_CSS = """
    StartScreen #start-text { width: auto; max-width: 100; padding: 1 2; border: round $accent; }
    """
    HELP_TITLE = "Start"
    BINDINGS = [
        Binding("d", "start_demo", "Start demo", id="start.demo"),
        Binding("q", "app.quit", "Quit", id="start.quit"),
    ]

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            title = Text("mlflow-tui\n\n", style="bold")
            yield Static(title + Text(HOW_TO), id="start-text")
        yield KeyFooter()

    def action_start_demo(self) -> None:
        import importlib.util

        if importlib.util.find_spec("mlflow") is None:
            self.notify("The demo needs MLflow's client: pip install 'mlflow-tui[local]'",
                        severity="error", markup=False, timeout=10)
            return
        from mlflow_tui.screens.monitor import MonitorScreen

        self.app.switch_screen(MonitorScreen())
        cast("Host", self.app).start_demo()
