"""`e`: the connection in full: where, how (credentials, TLS, proxy), and the last error's whole
reason (the state line cuts it to fit the terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mlflow_tui.widgets import plain

if TYPE_CHECKING:
    from mlflow_tui.session.monitor import MonitorSession

KEY_CELLS = 24
VALUE_CELLS = 400


def connection_table(facts: Sequence[tuple[str, str]], state: str, error: str) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("state", plain(state, VALUE_CELLS))
    if error:
        table.add_row("last error", plain(error, VALUE_CELLS, style="bold red"))
    for key, value in facts:
        table.add_row(plain(key, KEY_CELLS), plain(value, VALUE_CELLS))
    return table


class ConnectionScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ConnectionScreen { align: center middle; }
    ConnectionScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """
    HELP_TITLE = "Connection"
    BINDINGS = [
        Binding("escape,q,e", "dismiss", "Close", id="connection.close"),
        Binding("question_mark,f1", "app.help", "Help", id="connection.help"),
    ]

    def __init__(self, facts: Sequence[tuple[str, str]], state: str, error: str) -> None:
        super().__init__()
        self.facts = list(facts)
        self.state_text = state
        self.error = error

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Connection · escape closes"
            yield Static(connection_table(self.facts, self.state_text, self.error))
            yield Static(Text("Credentials, TLS and proxies come from MLflow's own variables "
                              "(README: Point it at your runs).", style="dim"))

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


def connection_screen(session: MonitorSession) -> ConnectionScreen:
    """The connection details of a MonitorSession: its source's facts, the last refresh, and
    the last error in full while not live."""
    from mlflow_tui.text import format as fmt

    describe = getattr(session.source, "describe", None)
    facts = describe() if callable(describe) else []
    if session.last_ok:
        facts.append(("last refreshed", fmt.clock(session.last_ok)))
    error = session.state_detail if session.state != "live" else ""
    return ConnectionScreen(facts, session.state, error)
