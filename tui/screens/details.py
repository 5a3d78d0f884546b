"""`i`: everything about one run: status, times, params, tags and the latest metrics.

Every value here comes from the tracking server, so every cell is built with `plain()`: shown
literally, control characters made visible, long values cut to the width of the dialog."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mlflow_tui.analysis.judge import Judgement
from mlflow_tui.analysis.pairing import unpaired_hint
from mlflow_tui.text import format as fmt
from mlflow_tui.tracking.models import Run
from mlflow_tui.widgets import plain

KEY_CELLS = 36
VALUE_CELLS = 120


def details_table(run: Run, experiment: str, now_ms: int,
                  judgement: Judgement | None = None) -> Group:
    """The sections, each a two-column grid under its title.

    A title is a line of its own, not a row of the grid: a title in the key column made that
    column as wide as the title and left the values no room (at 80 columns, none at all). The
    key column has one width in every section: the widest key shown, at most KEY_CELLS."""
    sections: list[tuple[str | None, list[tuple[Text, Text]]]] = []
    rows: list[tuple[Text, Text]] = [
        (Text("name"), plain(run.name or run.run_id, VALUE_CELLS)),
        (Text("run id"), plain(run.run_id, VALUE_CELLS)),
        (Text("experiment"), plain(experiment, VALUE_CELLS)),
        (Text("status"), fmt.status_text(run.status)),
        (Text("started"), Text(fmt.start_time(run.start_time, now_ms))),
        (Text("duration"), Text(fmt.duration(run.duration_ms(now_ms)))),
    ]
    sections.append((None, rows))
    if judgement is not None:
        pairs = judgement.pairs
        rows = []
        if not pairs:
            hint = unpaired_hint(run.metrics) or ("no train/validation pair found by name; "
                                                 "choose one with P or --pair TRAIN,VAL")
            rows.append((Text(""), plain(hint, VALUE_CELLS)))
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
            quiet = judgement.quiet(pair) if verdict is None else None
            text.append_text(plain("⚠ overfitting: " + verdict.reason, VALUE_CELLS,
                                   style="bold yellow") if verdict is not None
                             else Text("no overfitting: " + quiet, style="dim") if quiet
                             else Text("no overfitting found", style="dim"))
            rows.append((plain("pair", KEY_CELLS), text))
        sections.append((f"Judged pairs ({len(pairs)}), train vs validation"
                         + (": the first fills the table's columns" if len(pairs) > 1 else ""),
                         rows))
    sections.append((f"Metrics ({len(run.metrics)}), latest value and step",
                     [(plain(key, KEY_CELLS),
                       Text(f"{fmt.number(run.metrics[key].value)}  step {run.metrics[key].step}"))
                      for key in sorted(run.metrics)]))
    sections.append((f"Params ({len(run.params)})",
                     [(plain(key, KEY_CELLS), plain(run.params[key], VALUE_CELLS))
                      for key in sorted(run.params)]))
    sections.append((f"Tags ({len(run.tags)})",
                     [(plain(key, KEY_CELLS), plain(run.tags[key], VALUE_CELLS))
                      for key in sorted(run.tags)]))
    key_width = min(KEY_CELLS, max((key.cell_len for _, rows in sections for key, _ in rows),
                                   default=1))
    parts: list[RenderableType] = []
    for title, rows in sections:
        if title is not None:
            parts.append(Text(""))
            parts.append(Text(title, style="underline", overflow="fold"))
        if not rows:
            continue
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True, width=key_width)
        grid.add_column(overflow="fold", ratio=1)
        for key, value in rows:
            grid.add_row(key, value)
        parts.append(grid)
    return Group(*parts)


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

    # Immediate, not animated or deferred: a deferred scroll is computed from the position
    # before the previous one was applied, so keys that arrive together (a held j, a burst over
    # SSH) moved one line in all.
    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down(animate=False, immediate=True)

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up(animate=False, immediate=True)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)

    def action_artifacts(self) -> None:
        self.dismiss("artifacts")
