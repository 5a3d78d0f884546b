"""`i`: everything about one run: status, times, params, tags and the latest metrics.

Every value here comes from the tracking server, so every cell is built with `plain()`: shown
literally, control characters made visible, long values cut to the width of the dialog."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mlflow_tui import format as fmt
from mlflow_tui.analysis.judge import Judgement
from mlflow_tui.analysis.pairing import unpaired_hint
from mlflow_tui.tracking.models import Run
from mlflow_tui.widgets import plain

KEY_CELLS = 36
VALUE_CELLS = 120


def details_table(run: Run, experiment: str, now_ms: int,
                  judgement: Judgement | None = None) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")

    def section(title: str) -> None:
        table.add_row("", "")
        table.add_row(Text(title, style="underline"), "")

    table.add_row("name", plain(run.name or run.run_id, VALUE_CELLS))
    table.add_row("run id", plain(run.run_id, VALUE_CELLS))
    table.add_row("experiment", plain(experiment, VALUE_CELLS))
    table.add_row("status", fmt.status_text(run.status))
    table.add_row("started", fmt.start_time(run.start_time, now_ms))
    table.add_row("duration", fmt.duration(run.duration_ms(now_ms)))
    if judgement is not None:
        pairs = judgement.pairs
        section(f"Judged pairs ({len(pairs)}), train vs validation"
                + (": the first fills the table's columns" if len(pairs) > 1 else ""))
        if not pairs:
            hint = unpaired_hint(run.metrics) or ("no train/validation pair found by name; "
                                                 "choose one with P or --pair TRAIN,VAL")
            table.add_row("", plain(hint, VALUE_CELLS))
        for pair in pairs:
            verdict = next((w for w in judgement.warnings if w.pair == (pair.train, pair.val)),
                           None)
            best = judgement.best.get(pair.val)
            text = plain(f"{pair.val} vs {pair.train}", VALUE_CELLS, style="bold")
            text.append("\n")
            text.append_text(plain(f"why: {pair.why or 'names'}", VALUE_CELLS))
            if best is not None:
                text.append(f"\nbest {fmt.number(best.value)} at step {best.step}")
            text.append("\n")
            text.append_text(plain("⚠ overfitting: " + verdict.reason, VALUE_CELLS,
                                   style="bold yellow") if verdict is not None
                             else Text("no overfitting found", style="dim"))
            table.add_row(plain("pair", KEY_CELLS), text)
    section(f"Metrics ({len(run.metrics)}), latest value and step")
    for key in sorted(run.metrics):
        point = run.metrics[key]
        table.add_row(plain(key, KEY_CELLS), Text(f"{fmt.number(point.value)}  step {point.step}"))
    section(f"Params ({len(run.params)})")
    for key in sorted(run.params):
        table.add_row(plain(key, KEY_CELLS), plain(run.params[key], VALUE_CELLS))
    section(f"Tags ({len(run.tags)})")
    for key in sorted(run.tags):
        table.add_row(plain(key, KEY_CELLS), plain(run.tags[key], VALUE_CELLS))
    return table


class RunDetailsScreen(ModalScreen[str | None]):
    """Dismissed with "artifacts" when the user asks for the run's artifacts (a)."""

    DEFAULT_CSS = """
    RunDetailsScreen { align: center middle; }
    RunDetailsScreen > VerticalScroll {
        width: 100; max-width: 95%; height: auto; max-height: 90%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """
    HELP_TITLE = "Run details"
    BINDINGS = [
        Binding("escape,q,i", "dismiss", "Close", id="details.close"),
        Binding("a", "artifacts", "Artifacts", id="details.artifacts"),
        # A modal screen stops the app's bindings: help is bound here too.
        Binding("question_mark,f1", "app.help", "Help", id="details.help"),
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="details.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="details.up"),
    ]

    def __init__(self, run: Run, experiment: str, now_ms: int,
                 judgement: Judgement | None = None) -> None:
        super().__init__()
        self.run = run
        self.experiment = experiment
        self.now_ms = now_ms
        self.judgement = judgement

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Run details · a artifacts · escape closes"
            yield Static(details_table(self.run, self.experiment, self.now_ms,
                                         self.judgement), id="details")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)

    def action_artifacts(self) -> None:
        self.dismiss("artifacts")
