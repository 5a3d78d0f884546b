"""Compare marked runs: overlaid curves of one metric, and a table of params and metric stats."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui import format as fmt
from tui.screens.monitor import CHART_BINDINGS
from widgets import ChartOptions, MetricChart, RunTable, plain, safe_text
from widgets import title as safe_title

if TYPE_CHECKING:
    import pandas as pd


class CompareScreen(Screen[None]):
    DEFAULT_CSS = """
    CompareScreen #compare-state { height: 1; background: $boost; }
    CompareScreen #compare-chart { height: 1fr; min-height: 10; border: round $primary-darken-2; }
    CompareScreen #compare-chart:focus { border: round $accent; }
    /* The table takes the rows it needs (at most half the screen), the chart the rest. */
    CompareScreen #compare-table { height: auto; max-height: 50%; min-height: 5;
                                   border: round $primary-darken-2; }
    CompareScreen #compare-table:focus { border: round $accent; }
    /* A short terminal: the table takes the rows its runs need, the chart the rest. */
    CompareScreen.-short #compare-table { height: auto; max-height: 40%; min-height: 5; }
    """
    BINDINGS = [
        Binding("escape,c", "app.close_compare", "Back", id="compare.back"),
        Binding("m", "app.compare_metric", "Metric", id="compare.metric"),
        Binding("d", "app.compare_differences", "Only differences", id="compare.differences"),
        Binding("o", "app.compare_sort", "Sort by…", id="compare.sort"),
        Binding("t", "app.compare_transpose", "Transpose", id="compare.transpose"),
        Binding("O", "app.compare_reverse", "Reverse sort", show=False, id="compare.reverse"),
        Binding("e", "app.compare_export", "Export CSV", id="compare.export"),
        *CHART_BINDINGS,
    ]

    ready = False
    _state = Text()
    note = ""  # what is still loading, after the state line (e.g. that the curves are a sketch)

    def compose(self) -> ComposeResult:
        yield Static(id="compare-state")
        chart = MetricChart(id="compare-chart")
        chart.border_title = "Compare"
        yield chart
        table = RunTable(id="compare-table")
        table.border_title = "Marked runs"
        table.fixed_columns = 1  # the run's name stays on screen while the columns scroll
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunTable).focus()
        self.ready = True
        self.app.call_later(self.app._show_compare)  # type: ignore[attr-defined]

    def show_state(self, text: Text) -> None:
        self._state = text
        line = text.copy()
        if self.note:
            line.append(" " + self.note, style="bold italic yellow")
        self.query_one("#compare-state", Static).update(line)

    def show_note(self, note: str) -> None:
        """Say what the view shows is not complete yet; "" once it is."""
        if note != self.note:
            self.note = note
            self.show_state(self._state)

    def show_chart(self, series: Mapping[str, Sequence[tuple[float, float]]],
                   colors: Mapping[str, str], markers: Mapping[str, str], title: str,
                   subtitle: str, options: ChartOptions) -> None:
        chart = self.query_one("#compare-chart", MetricChart)
        chart.border_title = safe_title(subtitle)
        chart.set_data(series, title=title, colors=colors, markers=markers, options=options)

    def show_table(self, frame: pd.DataFrame, run_styles: Mapping[str, str], title: str, *,
                   transposed: bool = False, names: Mapping[str, str] | None = None) -> None:
        """The runs as rows (the run's name pinned left), or as columns (`transposed`: one row
        a field, as MLflow's compare page). Headers read `val_loss best`, `@ step`, `lr`."""
        from tui.compare import header, transpose

        table = self.query_one("#compare-table", RunTable)
        table.border_title = safe_title(title)  # column names come from metric/param keys
        names = names or {}
        if transposed:
            flipped = transpose(frame)
            run_ids = [c for c in flipped.columns if c != "field"]
            columns = [("field", " ")] + [(rid, safe_text(names.get(rid, rid[:8]), 24))
                                          for rid in run_ids]
            rows = []
            for i, record in enumerate(flipped.to_dict("records")):
                field = str(record["field"])
                cells: list[Any] = [plain(field, 32, style="bold")]
                for rid in run_ids:
                    cells.append(self._value(field, record.get(rid)))
                rows.append((f"{i}:{field}", cells))
            table.set_rows(columns, rows)
            return
        columns = [(str(c), header(str(c))) for c in frame.columns if c != "run_id"]
        rows = []
        for record in frame.to_dict("records"):
            rid = str(record["run_id"])
            cells = []
            for key, _ in columns:
                value = record.get(key)
                if key == "run":
                    cells.append(plain(value, 32, style=run_styles.get(rid, "")))
                else:
                    cells.append(self._value(header(key), value))
            rows.append((rid, cells))
        table.set_rows(columns, rows)

    @staticmethod
    def _value(field: str, value: object) -> Text:
        if field == "duration" and isinstance(value, (int, float)) and not (
                isinstance(value, float) and math.isnan(value)):
            return Text(fmt.duration(int(value * 1000)))
        return _cell(value)


def _cell(value: object) -> Text:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Text("—", style="dim")
    if isinstance(value, bool):
        return Text(str(value))
    if isinstance(value, float):
        return Text(fmt.number(value))
    if hasattr(value, "item") and not isinstance(value, str):  # numpy/pandas scalars
        try:
            return _cell(value.item())  # type: ignore[union-attr]
        except (ValueError, TypeError):
            pass
    if str(value) == "<NA>":
        return Text("—", style="dim")
    return plain(value, 40)
