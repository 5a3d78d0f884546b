"""The monitor's looks: experiment tree | run table over the live chart of the highlighted
run, and how each piece is drawn from plain data. The keys and the session are in monitor.py."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, Static

from mlflow_tui.analysis.charting import XYCache, chart_views, split_by_dataset, step_to_x
from mlflow_tui.analysis.health import HealthWarning, Kind, badge
from mlflow_tui.analysis.healthbook import HealthBook
from mlflow_tui.analysis.nesting import Row
from mlflow_tui.analysis.system_metrics import PanelRow, panel_rows
from mlflow_tui.screens.base import ChartScreen
from mlflow_tui.text import format as fmt
from mlflow_tui.tracking.models import Experiment, Point, Run
from mlflow_tui.widgets import (
    ChartOptions,
    ExperimentEntry,
    ExperimentTree,
    KeyFooter,
    MetricChart,
    RunTable,
    Sparklines,
    SparkRow,
    plain,
    safe_text,
)
from mlflow_tui.widgets import title as safe_title

# Most useful first: on a narrow terminal the right-hand columns scroll out of view.
FILTER_HINT = ("text matches run names · MLflow syntax runs on the server, e.g. "
               "metrics.val_loss < 0.5 and params.lr = '0.01' · enter applies, empty clears")

SEVERITY_STYLE = {1: "yellow", 2: "bold yellow", 3: "bold red", 4: "bold red"}
BANNER_ICON = {Kind.OVERFITTING: "⚠", Kind.DIVERGED: "✘", Kind.STALLED: "⏸",
               Kind.FAILED: "✘", Kind.KILLED: "■"}

RUN_COLUMNS = [
    ("mark", " "),
    ("status", "Status"),
    ("name", "Run"),
    ("step", "Step"),
    ("train", "Train loss"),
    ("val", "Val loss"),
    ("best", "Best val"),
    ("warn", "Warnings"),
    ("duration", "Duration"),
    ("start", "Started"),
]


class MonitorView(ChartScreen):
    """The monitor screen's widgets and how each is drawn (no keys, no session)."""

    def __init__(self) -> None:
        super().__init__()
        self._xy_cache = XYCache()  # the chart's (x, y) series, extended per tick
        # run id -> (what its row was built from, the row's cells), for the rows on show
        self._row_cells: dict[str, tuple[tuple[object, ...], tuple[object, ...]]] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="state")
        with Horizontal(id="body"):
            tree = ExperimentTree("Experiments", id="experiments")
            tree.border_title = "Experiments"
            yield tree
            with Vertical(id="main"):
                yield Input(id="filter", placeholder=FILTER_HINT)
                yield Static(id="filter-error")
                table = RunTable(id="runs")
                table.border_title = "Runs"
                yield table
                yield Static(id="banner")
                with Horizontal(id="chart-row"):
                    chart = MetricChart(id="chart")
                    chart.border_title = "Chart"
                    yield chart
                    with Vertical(id="system"):
                        yield Sparklines(id="sparklines")
        with Horizontal(id="bottom"):
            yield Static(id="marks")
            yield KeyFooter()

    _cursor_for: tuple[str, ...] = ()
    _narrow_shown: bool | None = None

    def resized(self) -> None:
        if self.ready and self._narrow_shown is not None and self.narrow != self._narrow_shown:
            self.call_later(self.redraw)
        if self._marks_shown is not None and self._marks_shown[1] != self.narrow:
            self.show_marks(self._marks_shown[0])

    def on_mount(self) -> None:
        self.query_one("#banner").display = False
        self.query_one("#filter").display = False
        self.query_one("#filter-error").display = False
        self.query_one("#system").display = False
        self.query_one(RunTable).focus()
        self.ready = True
        self.call_later(self.redraw)

    # ------------------------------------------------------------------ updates
    _marks_shown: tuple[int, bool] | None = None
    _state_shown: Text | None = None

    def show_marks(self, count: int) -> None:
        # Static.update() always re-lays the screen out: skip it when nothing changed.
        narrow = self.narrow
        if (count, narrow) == self._marks_shown:
            return
        self._marks_shown = (count, narrow)
        # Narrow (80 columns): the count only, so that the footer keeps its last key (? Help);
        # it shows `c Compare` already, and `u` is in the help.
        note = f"●{count} marked " if narrow else f" ● {count} marked · c compare · u clear "
        for marks in self.query("#marks").results(Static):
            marks.update(Text(note, style="bold reverse") if count else "")
            marks.display = count > 0

    def show_state(self, text: Text) -> None:
        if text == self._state_shown:  # same words and styles: nothing to repaint
            return
        self._state_shown = text
        for state in self.query("#state").results(Static):  # absent while the screen closes
            # One line of fixed height: no re-layout (a layout repaints every scrollbar).
            state.update(text, layout=False)

    def show_experiments(self, experiments: Sequence[Experiment], running: Mapping[str, int],
                         counts: Mapping[str, int], watched: Sequence[str],
                         trouble: Mapping[str, tuple[int, int]] | None = None) -> None:
        """`trouble`: experiment id -> (runs warned, runs failed or diverged), shown ⚠ / ✘."""
        tree = self.query_one(ExperimentTree)
        trouble = trouble or {}
        tree.set_experiments([
            ExperimentEntry(e.experiment_id, e.name, counts.get(e.experiment_id),
                            running.get(e.experiment_id, 0),
                            *trouble.get(e.experiment_id, (0, 0)))
            for e in experiments
        ])
        # Put the tree cursor on the watched experiment once per change of view, so that
        # the tree shows what the table shows and j/k start from there.
        if watched and watched != self._cursor_for and tree.select_experiment(watched[0]):
            self._cursor_for = tuple(watched)

    def show_runs(self, rows: Sequence[Row],
                  pairs: Mapping[str, tuple[str, str, bool] | None],
                  health: HealthBook, now_ms: int, title: str,
                  marks: Mapping[str, str] | None = None,
                  best: Mapping[str, Point | None] | None = None,
                  values: Mapping[str, tuple[Point | None, Point | None]] | None = None
                  ) -> None:
        """`marks`: run id -> rich style of the marked runs (their compare colour)."""
        marks = marks or {}
        best = best or {}
        values = values or {}
        table = self.query_one(RunTable)
        set_title(table, safe_title(title))  # names from the server are never markup
        # Every tick shows every row again, but few rows change: a row whose inputs equal the
        # last ones (the same Run object, mostly: the data layer keeps unchanged runs) keeps
        # its cells object, which the table then skips without comparing a cell.
        cached = self._row_cells
        narrow = self.narrow
        self._narrow_shown = narrow
        fresh: dict[str, tuple[tuple[object, ...], tuple[object, ...]]] = {}
        cells_by_row = []
        for row in rows:
            run = row.run
            rid = run.run_id
            warnings = health.of(rid)
            # Time-dependent cells are part of the key: a live duration, a start time that
            # changes format with age. The rest depends on these inputs alone.
            live = run.status.is_active
            pair = pairs.get(rid)
            shown = values.get(rid) or ((run.metrics.get(pair[0]), run.metrics.get(pair[1]))
                                        if pair else (None, None))
            key = (row, pair, tuple(warnings), marks.get(rid), best.get(rid),
                   now_ms if live else None, fmt.start_time(run.start_time, now_ms), shown,
                   narrow)
            hit = cached.get(rid)
            cells = hit[1] if hit is not None and hit[0] == key else _build_row(
                row, shown, warnings, key[3], key[4], now_ms, key[6],
                len(health.pairs(rid)) > 1, narrow)
            fresh[rid] = (key, cells)
            cells_by_row.append((rid, cells))
        self._row_cells = fresh
        table.set_rows(run_columns([pairs.get(row.run.run_id) for row in rows], narrow),
                       cells_by_row)

    def show_chart(self, run: Run | None, series: Mapping[str, list[Point]],
                   warnings: Sequence[HealthWarning], view: int, views: int,
                   options: ChartOptions | None = None,
                   best: tuple[str, Point] | None = None, note: str = "") -> None:
        """`best`: the charted validation key and its best point (the judge's), marked."""
        chart = self.query_one(MetricChart)
        banner = self.query_one("#banner", Static)
        cache = self._xy_cache
        if run is None:
            cache.keep(())
            set_title(chart, "Chart")
            chart.set_data({}, title="no run selected")
            banner.display = False
            return
        options = options or chart.options
        set_title(chart, safe_title(f"{safe_text(run.name, 60)}  ·  view {view + 1}/"
                                    f"{max(views, 1)} (m)"))
        mode = options.x_mode
        # Converted incrementally: a tick converts the new points only, not the whole history.
        data = {key: cache.view(key, pts, mode, run.start_time) for key, pts in series.items()}
        cache.keep(data)
        title = " vs ".join(series) if series else "no metrics logged yet"
        if note:
            title += f"  ({note})"
        marker = None
        if best is not None and best[0] in series:
            marker = step_to_x(series[best[0]], best[1].step, mode, run.start_time)
        chart.set_data(data, title=title, x_label="step", marker_x=marker,
                       marker_label="best val" if marker is not None else "", options=options)
        shown = [w for w in warnings if w.kind is not Kind.KILLED]
        if shown:
            text = Text()
            for i, w in enumerate(shown):
                if i:
                    text.append("   ·   ")
                text.append(f"{BANNER_ICON[w.kind]} {w.kind.value.capitalize()}: ",
                            style=SEVERITY_STYLE.get(w.severity, "bold"))
                text.append_text(plain(w.reason, 200))
            banner.update(text)
            banner.display = True
        else:
            banner.display = False

    def draw_chart(self) -> None:
        session = self.session
        if session.poller is None or not self.ready:
            return
        run = session.poller.runs.get(session.highlighted or "")
        if run is None:
            self.show_chart(None, {}, [], 0, 0)
            self.show_system([])
            return
        views = chart_views(run.metrics)
        keys = session.view_for(run)
        view = views.index(keys) if keys in views else 0
        judgement = session.health.judgement(run.run_id)
        series, note = split_by_dataset(
            {k: session.poller.points((run.run_id, k)) for k in keys}, run.datasets,
            judgement.splits)
        best = next(((p.val, judgement.best[p.val]) for p in judgement.pairs
                     if p.val in series and p.val in judgement.best), None)
        self.show_chart(run, series, list(judgement.warnings), view, len(views),
                        self.host.chart_options, best, note)

        def system(key: str) -> list[Point]:  # the latest point alone until the window loads
            return session.system_points.get((run.run_id, key)) or [run.metrics[key]]

        self.show_system(panel_rows(run.metrics, system, run.status.value == "RUNNING"))

    # System metrics beside the chart: hidden without any, and on terminals too narrow to
    # spare the columns (the chart keeps them).
    SYSTEM_MIN_WIDTH = 110
    _system_rows: Sequence[PanelRow] = ()

    def show_system(self, rows: Sequence[PanelRow]) -> None:
        self._system_rows = rows
        panel = self.query_one("#system")
        alerts = [r.label for r in rows if r.alert]
        panel.border_title = safe_title(
            "System" + (f" · ⚠ {', '.join(alerts)} idle" if alerts else ""), 60)
        self.query_one(Sparklines).set_rows([
            SparkRow(r.label, r.values, r.value_text, r.low, r.high, r.alert) for r in rows])
        self._fit_system()

    @on(events.Resize)
    def _fit_system(self) -> None:
        panel = self.query_one("#system")
        panel.display = bool(self._system_rows) and self.size.width >= self.SYSTEM_MIN_WIDTH

    def show_durations(self, runs: Sequence[Run], now_ms: int) -> None:
        """The live durations of active runs, every second, without rebuilding the rows."""
        for table in self.query("#runs").results(RunTable):
            table.set_cells("duration", {r.run_id: fmt.duration(r.duration_ms(now_ms))
                                         for r in runs})

    def clear_runs(self, title: str) -> None:
        table = self.query_one(RunTable)
        set_title(table, safe_title(title))
        table.set_rows(RUN_COLUMNS, [])


    # ------------------------------------------------------------------ filter
    def open_filter(self, current: str) -> None:
        box = self.query_one("#filter", Input)
        box.value = current
        box.display = True
        box.focus()

    def close_filter(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(RunTable).focus()

    def show_filter_error(self, message: str | None) -> None:
        error = self.query_one("#filter-error", Static)
        if message:
            error.update(Text("✘ filter refused: ", style="bold red") + plain(message, 300))
            error.display = True
        else:
            error.display = False


# Below 100 columns: the run, its validation value and its warnings first (always on screen),
# the status as its icon alone.
NARROW_ORDER = ("mark", "status", "name", "val", "warn", "step", "train", "best", "duration",
                "start")
_NARROW_INDEX = [[key for key, _ in RUN_COLUMNS].index(k) for k in NARROW_ORDER]


def run_columns(pairs: Sequence[tuple[str, str, bool] | None],
                narrow: bool = False) -> list[tuple[str, str]]:
    """The run table's columns. When every row is judged on the same pair, the value columns
    are headed by its metric names (train_acc, val_acc...); else by "Train"/"Val"."""
    known = {p[:2] for p in pairs if p is not None}
    if len(known) != 1:
        labels = {"train": "Train", "val": "Val"} if known else {}
    else:
        train, val = known.pop()
        labels = {"train": train, "val": val, "best": f"Best {val}"}
    if narrow:
        labels["status"] = " "
    columns = [(key, labels.get(key, label)) for key, label in RUN_COLUMNS]
    return [columns[i] for i in _NARROW_INDEX] if narrow else columns


def _build_row(row: Row, shown: tuple[Point | None, Point | None],
               warnings: Sequence[HealthWarning], mark: str | None, best: Point | None,
               now_ms: int, started: str, name_pairs: bool = False,
               narrow: bool = False) -> tuple[object, ...]:
    run = row.run
    train, val = shown
    step = run.latest_step
    level = max((w.severity for w in warnings), default=0)
    if narrow:
        icon, style = fmt.STATUS_STYLE[run.status]
        cells = _build_row(row, shown, warnings, mark, best, now_ms, started, name_pairs)
        wide = list(cells)
        wide[1] = Text(icon, style=style)
        wide[2] = _name_cell(row, 20)
        return tuple(wide[i] for i in _NARROW_INDEX)
    return (
        Text("●", style=mark) if mark else Text(" "),
        fmt.status_text(run.status),
        _name_cell(row),
        "—" if step is None else str(step),
        _value(train),
        _value(val),
        _best(best),
        Text(badge(warnings, name_pairs=name_pairs),
             style=SEVERITY_STYLE.get(level, "bold yellow")),
        fmt.duration(run.duration_ms(now_ms)),
        started,
    )


def _name_cell(row: Row, width: int = 32) -> Text:
    """The run name, with its place in a sweep: ▸/▾ N children and the best one, or └."""
    if row.depth:
        text = Text("  " * (row.depth - 1) + "└ ", style="dim")
        text.append_text(plain(row.run.name, width - 2))
        if row.is_best:
            text.append(" ★", style="bold yellow")
        return text
    if not row.children:
        return plain(row.run.name, width)
    text = Text("▾ " if row.expanded else "▸ ", style="bold")
    text.append_text(plain(row.run.name, width - 4))
    text.append(f" ({row.children})", style="dim")
    if row.best_child is not None:
        text.append(" ★ ", style="bold yellow")
        text.append_text(plain(row.best_child.name, min(20, width), style="yellow"))
    return text


def _best(point: Point | None) -> Text:
    if point is None:
        return Text("—", style="dim")
    return Text(f"{fmt.number(point.value)} @{point.step}")


def _value(point: Point | None) -> Text:
    if point is None:
        return Text("—", style="dim")
    text = fmt.number(point.value)
    return Text(text, style="bold red" if not math.isfinite(point.value) else "")


def set_title(widget: Widget, title: str | Content) -> None:
    """Set a border title only when it changed: setting one repaints the whole widget."""
    if getattr(widget, "_title_set", None) != title:
        widget._title_set = title  # type: ignore[attr-defined]
        widget.border_title = title
