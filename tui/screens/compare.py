"""Compare marked runs: overlaid curves of one metric, and a table of params and metric stats.
The screen owns the compare keys; the data is the session's (tui/session/compare.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Static

from mlflow_tui.analysis import find_pairs
from mlflow_tui.analysis.charting import chart_views, split_by_dataset
from mlflow_tui.screens.base import CHART_BINDINGS, ChartScreen, bindings, mark_styles, state_line
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.text import format as fmt
from mlflow_tui.tracking.models import Run
from mlflow_tui.widgets import ChartOptions, KeyFooter, MetricChart, RunTable, plain, safe_text
from mlflow_tui.widgets import title as safe_title

if TYPE_CHECKING:
    import pandas as pd

    from mlflow_tui.session.compare import CompareSession


class CompareScreen(ChartScreen):
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
        Binding("escape,c", "close", "Back", id="compare.back"),
        Binding("m", "metric", "Metric", id="compare.metric"),
        Binding("d", "differences", "Differences", id="compare.differences"),
        Binding("o", "sort", "Sort", id="compare.sort"),
        Binding("t", "transpose", "Transpose", id="compare.transpose"),
        Binding("O", "reverse", "Reverse sort", show=False, id="compare.reverse"),
        Binding("e", "export", "Export CSV", id="compare.export"),
        *CHART_BINDINGS,
    ]

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
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(RunTable).focus()
        self.ready = True
        self.call_later(self.redraw)

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        return [("Compare", bindings(self.BINDINGS)), ("Table", bindings(RunTable.BINDINGS))]

    @property
    def compare(self) -> CompareSession:
        return self.session.compare

    # ------------------------------------------------------------------ keys
    def action_close(self) -> None:
        self.host.close_compare()

    def action_metric(self) -> None:
        self.compare.view += 1
        self.redraw()
        self.session.wake(tick=True)  # load the newly charted metric if it is not yet

    def action_differences(self) -> None:
        self.compare.differences = not self.compare.differences
        self.redraw()

    def action_sort(self) -> None:
        """Sort the table by a column chosen from a list (enter), or back to marking order."""
        frame = self.compare.frame
        if frame is None:
            return
        from mlflow_tui.analysis.compare import header

        columns = [c for c in frame.columns if c != "run_id"]
        labels = ["marking order (no sort)", *[header(c) for c in columns]]
        current = columns.index(self.compare.sort) + 1 if self.compare.sort in columns else 0

        def chosen(index: int | None) -> None:
            if index is not None:
                self.compare.sort = columns[index - 1] if index > 0 else None
                self.redraw()

        self.app.push_screen(PickerScreen("Sort the runs by", labels, current), chosen)

    def action_transpose(self) -> None:
        self.compare.transposed = not self.compare.transposed
        self.redraw()

    def action_reverse(self) -> None:
        self.compare.descending = not self.compare.descending
        self.redraw()

    def action_export(self) -> None:
        frame = self.compare.frame
        if frame is None:
            return
        from mlflow_tui.analysis.compare import export_csv

        try:
            path = export_csv(frame, Path(self.session.settings.export_dir),
                              self.session.clock())
        except OSError as exc:
            self.notify(f"Could not write the CSV: {exc}", severity="error", markup=False)
            return
        self.notify(f"Exported {len(frame)} runs to {path}", title="CSV", markup=False,
                    timeout=8)

    def action_pick_metric(self) -> None:
        """M: a list of the metric views (the same that m cycles) to pick one from."""
        views = self.compare.views(self.session.marked.values())
        if not views:
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self.compare.view = index
                self.redraw()
                self.session.wake(tick=True)  # load the newly charted metric

        labels = [" vs ".join(view) for view in views]
        self.app.push_screen(PickerScreen("Chart which metric?", labels,
                                          self.compare.view % len(views)), chosen)

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        if self.ready and self.compare.poller is not None and self.is_attached:
            try:
                self._draw()
            except NoMatches:
                pass  # the screen is being torn down: nothing to draw on

    def _draw(self) -> None:
        compare = self.compare
        assert compare.poller is not None
        from mlflow_tui.analysis.compare import compare_frame, only_differences, sort_frame

        session = self.session
        runs = list(session.marked.values())
        keys = compare.keys(runs)
        views = chart_views(keys)
        view = compare.charted(runs)
        names = unique_names(runs)
        dark = self.app.current_theme.dark
        series: dict[str, Sequence[tuple[float, float]]] = {}
        colors: dict[str, str] = {}
        markers: dict[str, str] = {}
        # Converted incrementally: a tick converts the new points only, not whole histories.
        options = self.host.chart_options
        split_notes: list[str] = []
        styles: dict[int, str] = {}  # line style (0 fine, 1 blocks) -> what it draws
        for i, run in enumerate(runs):
            colour = fmt.run_colour(i, dark)[0]
            shown, note = split_by_dataset(
                {key: compare.points((run.run_id, key)) for key in view}, run.datasets)
            if note:
                split_notes.append(f"{names[run.run_id]}: {note}")
            keys_shown = list(shown)
            for j, key in enumerate(keys_shown):
                role = (("train", "val")[j] if len(keys_shown) == 2 and find_pairs(keys_shown)
                        else key)
                label = (f"{names[run.run_id]} · {role}" if len(keys_shown) > 1
                         else names[run.run_id])
                series[label] = compare.xy.view(label, shown[key], options.x_mode,
                                                run.start_time)
                colors[label] = colour
                # train: a fine braille line; validation: a half-block line, as solid, told apart
                markers[label] = "braille" if j == 0 else "hd"
                styles.setdefault(j, role)
        compare.xy.keep(series)
        title = " vs ".join(view) if view else "no metrics"
        position = compare.view % max(len(views), 1) + 1
        subtitle = f"Compare {len(runs)} runs · metric {position}/{len(views)} (m)"
        sketched, loading = compare.sketch_state(runs, view)
        notes = split_notes[:1]
        if sketched:
            subtitle += " · sketch, full curves loading…"
            notes.append(f"sketch: {sketched} points per curve, full curves loading…")
        elif loading:
            notes.append("curves loading…")
        # Said in the title when the chart is too short for its legend.
        self.query_one(MetricChart).legend_note = (
            f"⠒ {styles[0]}, ▀ {styles[1]}; colours as in the table" if len(styles) == 2
            else "colours as in the table")
        self.show_chart(series, colors, markers, title, subtitle, options)
        frame = compare_frame(runs, keys, compare.poller.points, session.now_ms(),
                              session.experiment_names())
        pending = hide_unloaded_stats(frame, runs, keys, compare)
        if pending:
            notes.append("statistics loading…")
        self.show_note(" · ".join(notes))
        if compare.differences:
            frame = only_differences(frame)
        frame = sort_frame(frame, compare.sort, compare.descending)
        compare.frame = frame
        title = f"Marked runs · {len(runs)}"
        if pending:
            title += " · statistics loading…"
        if compare.differences:
            title += " · only what differs (d)"
        if compare.sort:
            from mlflow_tui.analysis.compare import header

            title += f" · sorted by {header(compare.sort)} {'↓' if compare.descending else '↑'}"
        if compare.transposed:
            title += " · runs as columns (t)"
        self.show_table(frame, mark_styles(list(session.marked), dark), title,
                        transposed=compare.transposed, names=names)
        self.show_state(state_line(session))

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
        from mlflow_tui.analysis.compare import header, transpose

        table = self.query_one("#compare-table", RunTable)
        table.border_title = safe_title(title)  # column names come from metric/param keys
        names = names or {}
        if transposed:
            flipped = transpose(frame)
            run_ids = [c for c in flipped.columns if c != "field"]
            # Each run's header in its colour, as its curves and its name in the rows layout.
            columns: list[tuple[str, str | Text]] = [("field", " ")] + [
                (rid, plain(names.get(rid, rid[:8]), 24, style=run_styles.get(rid, "")))
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


def hide_unloaded_stats(frame: Any, runs: Sequence[Run], keys: Sequence[str],
                        compare: CompareSession) -> bool:
    """Blank the min, max and best step of every series whose history is not loaded yet
    (compare_frame would take them from the latest point alone): shown as not known, never
    as if exact. The latest value is exact (runs/search): it stays. True if any was blanked."""
    blanked = False
    for key in keys:
        waiting = compare.unloaded(runs, key)
        if not waiting:
            continue
        blanked = True
        rows = frame["run_id"].isin(waiting)
        for suffix in ("best", "min", "max", "best_step"):
            column = f"{key}.{suffix}"
            if column in frame:
                frame.loc[rows, column] = None
    return blanked


def unique_names(runs: Sequence[Run], width: int = 40) -> dict[str, str]:
    """Run names for legends, at most `width` cells; names that are (or shorten to) the same
    get the run's short id."""
    short = {r.run_id: safe_text(r.name, width) for r in runs}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {rid: name if counts[name] == 1 else f"{safe_text(name, width - 9)} [{rid[:6]}]"
            for rid, name in short.items()}
