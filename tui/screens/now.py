"""The Now view (n): every run running anywhere and the runs that ended in the last hour, the
ones in trouble first. Enter opens the highlighted run in its experiment.

The screen owns its keys; it is fed whole updates (tui/session/now.py NowUpdate) by `show`,
and asks for a jump with the `Jump` message (the app opens the experiment and the run).
"""

from __future__ import annotations

import math
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from mlflow_tui.analysis.health import badge
from mlflow_tui.analysis.now import NowRow
from mlflow_tui.session.now import NowUpdate
from mlflow_tui.text import format as fmt
from mlflow_tui.widgets import KeyFooter, RunTable, plain

SEVERITY_STYLE = {1: "yellow", 2: "bold yellow", 3: "bold red", 4: "bold red"}


def _value(point: object) -> Text:
    value = getattr(point, "value", None)
    if value is None:
        return Text("—", style="dim")
    return Text(fmt.number(value), style="" if math.isfinite(value) else "bold red")


def rate_text(rate: float | None) -> str:
    if rate is None:
        return "—"
    if rate >= 100:
        return f"{rate:,.0f}/m"
    if rate >= 1:
        return f"{rate:.1f}/m"
    return f"{rate * 60:.1f}/h"


def eta_text(row: NowRow) -> str:
    if not row.run.status.is_active:
        return ""
    eta = row.eta_s
    return "—" if eta is None else fmt.duration(int(eta * 1000))


RUN_MIN = 16  # the narrowest the run's name gets (cells): "resnet18-lr0.01" whole
EXP_MIN = 14  # ... and the experiment's: at 80 columns, enough to tell experiments apart


def _width(header: str, cells: list[object]) -> int:
    """A column's width on screen: its widest cell or header, and the cell padding."""
    widest = max([len(header), *(c.cell_len if isinstance(c, Text) else len(str(c))
                                 for c in cells)])
    return widest + 2


def share(room: int, run_need: int, exp_need: int) -> tuple[int, int]:
    """The run's and the experiment's name widths in `room` cells: what each needs when both
    fit, else each at least RUN_MIN / EXP_MIN and the rest split 3:2 (the run's name is what
    the row is about)."""
    run_need, exp_need = min(run_need, 32), min(exp_need, 40)
    if run_need + exp_need <= room:
        return run_need, exp_need
    run_w = max(RUN_MIN, min(run_need, room * 3 // 5))
    exp_w = max(EXP_MIN, min(exp_need, room - run_w))
    return max(RUN_MIN, min(run_need, room - exp_w)), exp_w


def summary(update: NowUpdate | None) -> Text:
    if update is None:
        return Text("Looking for running runs in every experiment…", style="dim")
    running = sum(1 for r in update.rows if r.run.status.is_active)
    ended = len(update.rows) - running
    text = Text()
    text.append(f"{running} running", style="bold cyan" if running else "dim")
    text.append(f" · {ended} ended in the last hour", style="dim")
    warned = sum(w for w, _ in update.counts.values())
    errors = sum(e for _, e in update.counts.values())
    if warned:
        text.append(f" · ⚠ {warned} warned", style="bold yellow")
    if errors:
        text.append(f" · ✘ {errors} failed or diverged", style="bold red")
    if not warned and not errors:
        text.append(" · no warnings", style="green")
    return text


class NowScreen(Screen[None]):
    """Running and recently ended runs of every experiment."""

    DEFAULT_CSS = """
    NowScreen { layout: vertical; }
    NowScreen #now-summary { height: 1; padding: 0 1; }
    NowScreen RunTable { height: 1fr; }
    NowScreen #now-detail { height: auto; max-height: 5; padding: 0 1;
                            border-top: solid $primary-background; }
    """
    HELP_TITLE = "Now"
    BINDINGS = [
        Binding("escape,n", "close", "Back", id="now.close"),
        # priority: above the table's own enter (select the row, hidden), so that the footer
        # says what enter does here.
        Binding("enter", "jump", "Open run", id="now.open", priority=True),
        Binding("r", "refresh", "Refresh", id="now.refresh"),
    ]
    HELP = ("Now: every RUNNING run of every experiment, and the runs that ended in the last "
            "hour, runs in trouble first. Enter opens the run in its experiment.")

    class Jump(Message):
        """Open `run_id` in experiment `experiment_id`."""

        def __init__(self, experiment_id: str, run_id: str) -> None:
            super().__init__()
            self.experiment_id = experiment_id
            self.run_id = run_id

    class RefreshAsked(Message):
        """The user asked for a refresh (r)."""

    def __init__(self, update: NowUpdate | None = None) -> None:
        super().__init__()
        self.update: NowUpdate | None = update
        self._rows: dict[str, NowRow] = {}

    def compose(self) -> ComposeResult:
        yield Static(summary(self.update), id="now-summary")
        yield RunTable(id="now-table")
        yield Static("", id="now-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.title = "Now"
        self._fill()
        self.query_one(RunTable).focus()

    def on_resize(self) -> None:
        self._fill()

    def show(self, update: NowUpdate) -> None:
        """Show a new update (the cursor stays on its run)."""
        self.update = update
        if self.is_mounted:
            self.query_one("#now-summary", Static).update(summary(update))
            self._fill()

    def _fill(self) -> None:
        update = self.update
        rows = update.rows if update is not None else []
        self._rows = {r.run.run_id: r for r in rows}
        width = self.size.width or 160
        wide = width >= 110  # room for the rate, the train value and the end time
        now_ms = int(self._clock() * 1000)
        # Every column but the two names, by key: (header, a cell a row).
        fixed: dict[str, tuple[str, list[object]]] = {
            "trouble": ("Warning", [Text(badge(r.warnings), style=SEVERITY_STYLE.get(
                r.severity, "")) for r in rows]),
            "status": ("Status", [fmt.status_text(r.run.status) for r in rows]),
            "step": ("Step", ["—" if r.progress.step is None else str(r.progress.step)
                              for r in rows]),
            "val": ("Val", [_value(r.val) for r in rows]),
            "rate": ("Rate", [rate_text(r.progress.rate) for r in rows]),
            "eta": ("ETA", [eta_text(r) for r in rows]),
            "train": ("Train", [_value(r.train) for r in rows]),
            "when": ("Ended", ["" if r.run.status.is_active else
                               fmt.start_time(r.run.end_time, now_ms) for r in rows]),
        }
        if not wide:
            for key in ("rate", "train", "when"):
                del fixed[key]
        run_need = max([3, *(len(r.run.name or r.run.run_id[:8]) for r in rows)])
        exp_need = max([10, *(len(r.experiment) for r in rows)])
        room = width - sum(_width(h, cells) for h, cells in fixed.values()) - 2 * 2 - 2
        if room < RUN_MIN + EXP_MIN and "eta" in fixed:
            # Too narrow for both names: the ETA goes first (the detail line still says it).
            room += _width(*fixed.pop("eta"))
        run_w, exp_w = share(max(room, RUN_MIN + EXP_MIN), run_need, exp_need)
        order = ["trouble", "run", "status", "step", "val", "rate", "eta", "train",
                 "experiment", "when"]
        keys = [k for k in order if k in fixed or k in ("run", "experiment")]
        columns = [(k, {"run": "Run", "experiment": "Experiment"}.get(k) or fixed[k][0])
                   for k in keys]
        cells = []
        for i, row in enumerate(rows):
            run = row.run
            values: list[object] = []
            for key in keys:
                if key == "run":
                    values.append(plain(run.name or run.run_id[:8], run_w))
                elif key == "experiment":
                    values.append(plain(row.experiment, exp_w, style="dim"))
                else:
                    values.append(fixed[key][1][i])
            cells.append((run.run_id, tuple(values)))
        self.query_one(RunTable).set_rows(columns, cells)
        self._show_detail()

    def _clock(self) -> float:
        """The app's wall clock (the session's, frozen in tests), else the system's."""
        clock = getattr(self.app, "clock", None)
        return clock() if callable(clock) else time.time()

    def _show_detail(self) -> None:
        """The highlighted run in full: its experiment, pair, rate and every warning's reason."""
        row = self.highlighted()
        detail = self.query_one("#now-detail", Static)
        if row is None:
            detail.update(Text("No run is running, and none ended in the last hour.",
                               style="dim") if self.update is not None else "")
            return
        text = Text()
        text.append_text(plain(row.experiment, 60, style="bold"))
        text.append(" / ")
        text.append_text(plain(row.run.name or row.run.run_id, 60, style="bold"))
        if row.train_key and row.val_key:
            train = fmt.number(row.train.value) if row.train else "—"
            val = fmt.number(row.val.value) if row.val else "—"
            text.append("  ")
            text.append_text(plain(f"{row.train_key} {train} · {row.val_key} {val}", 80))
        text.append(f"  {rate_text(row.progress.rate)}", style="dim")
        if row.progress.total is not None:
            text.append(f" of {row.progress.total} steps", style="dim")
        if eta_text(row):
            text.append(f" · ETA {eta_text(row)}", style="dim")
        for w in row.warnings:
            text.append("\n")
            text.append_text(plain(f"{badge((w,))}: {w.reason}", 300,
                                   style=SEVERITY_STYLE.get(w.severity, "")))
        detail.update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_detail()

    def highlighted(self) -> NowRow | None:
        table = self.query_one(RunTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self._rows.get(str(key))

    def action_jump(self) -> None:
        row = self.highlighted()
        if row is not None:
            self.post_message(self.Jump(row.run.experiment_id, row.run.run_id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    def action_refresh(self) -> None:
        self.post_message(self.RefreshAsked())

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["NowScreen", "eta_text", "rate_text", "summary"]
