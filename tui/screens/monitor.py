"""The main view and its keys: experiment tree | run table over the live chart of the
highlighted run. The screen reads the session (tui/session/monitor.py) to draw, changes it on
keys, and wakes its polling loop when a key needs data; how each piece is drawn is in
monitor_view.py."""

from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input

from mlflow_tui.analysis import find_pairs
from mlflow_tui.analysis.charting import chart_views, sort_key
from mlflow_tui.analysis.filtering import is_search_expression, name_matches
from mlflow_tui.analysis.nesting import PARENT_TAG, Row, nest
from mlflow_tui.screens.base import (
    CHART_BINDINGS,
    NARROW_WIDTH,
    bindings,
    mark_styles,
    state_line,
)
from mlflow_tui.screens.monitor_view import (
    BANNER_ICON,
    FILTER_HINT,
    RUN_COLUMNS,
    SEVERITY_STYLE,
    MonitorView,
    run_columns,
    set_title,
)
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.tracking.models import Run
from mlflow_tui.ui.goto import RunRef
from mlflow_tui.widgets import ExperimentTree, RunTable


class MonitorScreen(MonitorView):
    # The footer shows what a new user needs (it fits 80 columns); every key is in help (?)
    # and the command palette (ctrl+p).
    BINDINGS = [
        Binding("n", "now_view", "Now", id="monitor.now"),
        Binding("m", "cycle_metric", "Metrics", show=False, id="monitor.cycle_metric"),
        Binding("r", "refresh", "Refresh", show=False, id="monitor.refresh"),
        Binding("p", "toggle_pause", "Pause", show=False, id="monitor.pause"),
        Binding("i", "run_details", "Details", id="monitor.details"),
        Binding("a", "artifacts", "Artifacts", show=False, id="monitor.artifacts"),
        Binding("space", "toggle_mark", "Mark", id="monitor.mark"),
        Binding("c", "compare", "Compare", id="monitor.compare"),
        Binding("u", "clear_marks", "Clear marks", show=False, id="monitor.clear_marks"),
        Binding("slash", "open_filter", "Filter", id="monitor.filter"),
        Binding("escape", "close_filter", "Close filter", show=False,
                id="monitor.close_filter"),
        Binding("z", "toggle_children", "Fold", show=False, id="monitor.fold"),
        *CHART_BINDINGS,
        Binding("w", "toggle_warnings", "Warnings", id="monitor.warnings_only"),
        Binding("o", "cycle_sort", "Sort", show=False, id="monitor.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="monitor.reverse_sort"),
        Binding("P", "pick_pair", "Pair", show=False, id="monitor.pick_pair"),
        Binding("e", "connection_details", "Connection", show=False,
                id="monitor.connection"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.expanded: set[str] = set()  # parent runs whose children are shown (z)
        self.warnings_only = False  # w
        self.sort_column = "start"  # newest first
        self.sort_reverse = True

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        return [
            ("Monitor", bindings(self.BINDINGS)),
            ("Experiment tree", [Binding("enter", "", "Watch the experiment"),
                                 *bindings(ExperimentTree.BINDINGS)]),
            ("Run table", [Binding("enter", "", "Chart the run and focus the chart"),
                           *bindings(RunTable.BINDINGS)]),
        ]

    # ------------------------------------------------------------------ go to (ctrl+p)
    def goto_experiments(self) -> list[tuple[str, str]]:
        return [(e.experiment_id, e.name) for e in self.session.experiments]

    def goto_runs(self) -> list[RunRef]:
        return self.host.loaded_runs()

    async def find_runs(self, text: str) -> list[RunRef]:
        names = self.session.experiment_names()
        return [RunRef(r.experiment_id, r.run_id, r.name, names.get(r.experiment_id, ""))
                for r in await self.session.find_runs(text)]

    def open_experiment(self, experiment_id: str) -> None:
        self.host.open_experiment(experiment_id)

    def open_run(self, experiment_id: str, run_id: str) -> None:
        self.host.open_run(experiment_id, run_id)

    def show_experiment(self, experiment_id: str, run_id: str | None = None) -> None:
        """Watch the experiment (and put the cursor on `run_id` once it is listed)."""
        session = self.session
        session.pending_run = run_id
        self.query_one(ExperimentTree).select_experiment(experiment_id)
        if session.watch(experiment_id):
            self.clear_runs("Runs · loading…")
            self.query_one(RunTable).focus()
        elif run_id is not None and session.poller is not None and run_id in session.poller.runs:
            self.redraw()

    # ------------------------------------------------------------------ drawing
    def redraw(self) -> None:
        """Tree, run table and chart, after new data."""
        session = self.session
        if not self.ready or not self.is_attached or session.poller is None:
            return
        try:
            self.redraw_tree()
            self.draw_runs()
            self.draw_chart()
        except NoMatches:
            pass  # the screen is being torn down (the app exiting): nothing to draw on

    def redraw_tree(self) -> None:
        """The experiment tree alone (the counts of runs in trouble changed)."""
        session = self.session
        if not self.ready or not self.is_attached or session.poller is None:
            return
        try:
            self.show_experiments(session.experiments, session.running,
                                  dict(session.poller.run_counts), session.watched,
                                  session.trouble)
        except NoMatches:
            pass  # the screen is being torn down (the app exiting): nothing to draw on

    def visible_runs(self) -> list[Run]:
        """The watched runs, filtered (/, w) and sorted (o / O / a click on a header)."""
        session = self.session
        assert session.poller is not None
        runs = session.poller.ordered_runs()
        if session.name_filter:
            runs = [r for r in runs if name_matches(r, session.name_filter)]
        if self.warnings_only:
            runs = [r for r in runs if session.health.of(r.run_id)]
        if self.sort_column != "start" or not self.sort_reverse:
            key = sort_key(self.sort_column, session.pair, session.health.severity,
                           session.now_ms(), session.best_val, session.latest)
            runs.sort(key=key, reverse=self.sort_reverse)
        return runs

    def visible_rows(self) -> list[Row]:
        """The visible runs with children under their parents (z folds and unfolds)."""
        return nest(self.visible_runs(), self.expanded, self.session.score)

    def draw_runs(self) -> None:
        session = self.session
        poller = session.poller
        assert poller is not None
        rows = self.visible_rows()
        runs = [row.run for row in rows]
        pairs = {r.run_id: session.pair(r) for r in runs}
        names = [e.name for e in session.experiments if e.experiment_id in session.watched]
        title = f"Runs · {', '.join(names) or '—'} · {len(poller.runs)}"
        if poller.truncated:
            title += f" (the newest {poller.max_runs} and all running; / searches them all)"
        active = session.name_filter or session.server_filter
        if active:
            title += f" · filter: {active[:60]} · {len(runs)} shown"
        if self.warnings_only:
            title += f" · {len(runs)} with warnings (w)"
        if self.sort_column != "start" or not self.sort_reverse:
            label = dict(RUN_COLUMNS)[self.sort_column]
            title += f" · sorted by {label} {'↓' if self.sort_reverse else '↑'}"
        best = {r.run_id: session.best_val(r) for r in runs}
        values = {r.run_id: (session.latest(r, p[0]), session.latest(r, p[1])) if p
                  else (None, None) for r in runs for p in (pairs[r.run_id],)}
        self.show_runs(rows, pairs, session.health, session.now_ms(), title,
                       mark_styles(list(session.marked), self.app.current_theme.dark), best,
                       values)
        table = self.query_one(RunTable)
        pending = session.pending_run
        if pending is not None and pending in poller.runs and pending in {
                r.run_id for r in runs}:
            session.pending_run = None
            table.move_cursor(row=table.get_row_index(pending), animate=False)
            self.highlight(pending)
        if session.highlighted not in poller.runs:
            session.highlighted = table.current_row_key or (runs[0].run_id if runs else None)

    def show_header(self) -> None:
        """The state line and the marks' count."""
        self.show_state(state_line(self.session))
        self.show_marks(len(self.session.marked))

    def show_live_durations(self) -> None:
        """Every second: the durations of active runs, one cell each."""
        poller = self.session.poller
        if poller is not None and self.ready:
            active = [r for r in poller.runs.values() if r.status.is_active]
            if active:
                self.show_durations(active, self.session.now_ms())

    # ------------------------------------------------------------------ cursor
    @on(ExperimentTree.ExperimentSelected)
    def _experiment_selected(self, event: ExperimentTree.ExperimentSelected) -> None:
        if self.session.watch(event.experiment_id):
            self.clear_runs("Runs · loading…")
            self.query_one(RunTable).focus()

    @on(DataTable.RowHighlighted, "#runs")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.highlight(event.row_key.value if event.row_key is not None else None)

    def highlight(self, run_id: str | None) -> None:
        if self.session.highlight(run_id):
            self.draw_chart()

    def cursor_run(self) -> Run | None:
        """The run under the table's cursor now. Keys typed fast ("j space") reach an action
        before the table's RowHighlighted message has bubbled up: read the cursor itself."""
        poller = self.session.poller
        if poller is None:
            return None
        if self.app.screen is self:
            key = self.query_one(RunTable).current_row_key
            if key is not None:
                self.highlight(key)
        return poller.runs.get(self.session.highlighted or "")

    @on(DataTable.RowSelected, "#runs")
    def _run_selected(self, _event: DataTable.RowSelected) -> None:
        self.query_one("#chart").focus()

    # ------------------------------------------------------------------ other views
    def action_now_view(self) -> None:
        self.host.open_now()

    def action_compare(self) -> None:
        if len(self.session.marked) < 2:
            self.notify("Mark at least two runs with space, then press c.", timeout=3)
            return
        self.host.open_compare()

    def action_run_details(self) -> None:
        from mlflow_tui.screens.details import RunDetailsScreen

        run = self.cursor_run()
        if run is None:
            self.notify("No run highlighted.", severity="warning")
            return
        session = self.session
        names = session.experiment_names()

        def closed(then: str | None) -> None:
            if then == "artifacts":
                self.open_artifacts(run)

        self.app.push_screen(RunDetailsScreen(
            run, names.get(run.experiment_id, run.experiment_id), session.now_ms(),
            session.health.judgement(run.run_id)), closed)

    def action_artifacts(self) -> None:
        """The highlighted run's artifacts (a)."""
        run = self.cursor_run()
        if run is not None:
            self.open_artifacts(run)

    def open_artifacts(self, run: Run) -> None:
        from mlflow_tui.screens.artifacts import artifacts_screen

        screen = artifacts_screen(run, self.session.source, self.session.settings.export_dir)
        if screen is not None:
            self.app.push_screen(screen)

    def action_connection_details(self) -> None:
        """e: where and how the app connects, and the last error in full."""
        from mlflow_tui.screens.connection import connection_screen

        self.app.push_screen(connection_screen(self.session))

    # ------------------------------------------------------------------ the run table
    def action_refresh(self) -> None:
        self.session.refresh()
        self.notify("Refreshing…", timeout=1.5)

    def action_toggle_pause(self) -> None:
        self.session.toggle_pause()
        self.show_header()

    def action_toggle_mark(self) -> None:
        run = self.cursor_run()
        if run is None:
            return
        if self.session.toggle_mark(run):
            # pandas (~80 MB) is needed by the compare view only: load it, off the event loop,
            # once the user starts marking runs to compare, not in every session.
            self._warm_imports()
        self.redraw()
        self.show_header()

    def _warm_imports(self) -> None:
        def load() -> None:
            import pandas  # noqa: F401

        self.run_worker(load, thread=True, group="warm", exclusive=True)

    def action_clear_marks(self) -> None:
        self.session.marked.clear()
        self.redraw()
        self.show_header()

    def action_toggle_children(self) -> None:
        """Fold or unfold the children of the highlighted run (or of its parent)."""
        run = self.cursor_run()
        poller = self.session.poller
        if run is None or poller is None:
            return
        row = {row.run.run_id: row for row in self.visible_rows()}.get(run.run_id)
        target = run.run_id
        if row is not None and row.children == 0:
            parent = run.tags.get(PARENT_TAG)
            if not parent or parent not in poller.runs:
                return
            target = parent
        if target in self.expanded:
            self.expanded.discard(target)
            if target != run.run_id:
                self.redraw()
                table = self.query_one(RunTable)
                if target in table.rows:  # the parent may be filtered out of the table
                    self.session.highlighted = target
                    table.move_cursor(row=table.get_row_index(target))
                return
        else:
            self.expanded.add(target)
        self.redraw()

    def action_toggle_warnings(self) -> None:
        self.warnings_only = not self.warnings_only
        self.redraw()

    def action_cycle_sort(self) -> None:
        keys = [k for k, _ in RUN_COLUMNS if k != "mark"]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = self.sort_column in ("start", "warn", "step", "duration")
        if self.sort_column == "best":  # best first: lowest loss (or highest accuracy) first
            self.sort_reverse = False
        self.redraw()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self.redraw()

    @on(DataTable.HeaderSelected, "#runs")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == "mark":
            return
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column in ("start", "warn", "step", "duration")
        self.redraw()

    # ------------------------------------------------------------------ filter
    def action_open_filter(self) -> None:
        if self.app.screen is self:
            self.open_filter(self.session.server_filter or self.session.name_filter)

    def action_close_filter(self) -> None:
        self.close_filter()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.show_filter_error(None)
        self.close_filter()
        self.session.set_filter(text, server=is_search_expression(text))
        self.redraw()

    def filter_refused(self, reason: str) -> None:
        self.show_filter_error(reason)
        self.redraw()

    # ------------------------------------------------------------------ the chart
    def action_cycle_metric(self) -> None:
        run = self.cursor_run()
        views = chart_views(run.metrics) if run is not None else []
        if run is None or not views:
            return
        current = self.session.view_for(run)
        index = views.index(current) if current in views else -1
        self._view(views[(index + 1) % len(views)])

    def _view(self, keys: tuple[str, ...]) -> None:
        self.session.view_keys = keys
        self.draw_chart()
        self.session.chart_dirty = True
        self.session.wake()

    def action_pick_metric(self) -> None:
        """M: a list of the metric views (the same that m cycles) to pick one from."""
        run = self.cursor_run()
        views = chart_views(run.metrics) if run is not None else []
        if run is None or not views:
            return
        keys = self.session.view_for(run)
        current = views.index(keys) if keys in views else 0

        def chosen(index: int | None) -> None:
            if index is not None:
                self._view(views[index])

        labels = [" vs ".join(view) for view in views]
        self.app.push_screen(PickerScreen("Chart which metric?", labels, current), chosen)

    def action_pick_pair(self) -> None:
        """P: choose the train/validation pair that judges the watched experiment's runs (or
        go back to the automatic choice); remembered per experiment in the config file."""
        if self.session.poller is not None and self.app.screen is self:
            pick_pair(self)

    def set_pair(self, experiment: str, pair: tuple[str, str] | None) -> None:
        self.session.set_pair(experiment, pair)
        self.host.judge()
        saved = ""
        path = self.session.settings.config_path
        if path is not None:
            from mlflow_tui.settings.configfile import ConfigError, save_pair

            try:
                save_pair(path, experiment, pair)
                saved = f" (saved in {path})"
            except (ConfigError, OSError) as exc:
                self.notify(f"Not saved: {exc}", severity="warning", markup=False)
        what = "automatic pairing" if pair is None else f"{pair[0]} vs {pair[1]}"
        self.notify(f"{experiment}: {what}{saved}", title="Pair", markup=False)
        self.redraw()



def pick_pair(screen: MonitorScreen) -> None:
    """The pickers behind P: a pair found by name, automatic, or any two metrics."""
    session = screen.session
    names = session.experiment_names()
    if len(session.watched) != 1 or session.watched[0] not in names:
        screen.notify("Open one experiment first.", severity="warning")
        return
    name = names[session.watched[0]]
    keys = session.pair_keys(session.watched[0])
    if not keys:
        screen.notify("No metrics logged in this experiment yet.", severity="warning")
        return
    auto = find_pairs(keys)
    current = session.settings.pairs.get(name)
    other = ("", "")
    options: list[tuple[str, tuple[str, str] | None]] = [(
        (f"automatic: {auto[0].train} vs {auto[0].val}" + (
            f" (+{len(auto) - 1} judged too)" if len(auto) > 1 else "")) if auto
        else "automatic: no pair found by name", None)]
    pairs = [(p.train, p.val) for p in auto]
    if current is not None and current not in pairs:
        pairs.insert(0, current)
    options += [(f"{t} vs {v}" + (" (chosen)" if (t, v) == current else ""), (t, v))
                for t, v in pairs]
    options.append(("other: pick the train metric, then the validation metric…", other))
    index = next((i for i, (_, p) in enumerate(options) if p == current), 0)

    def chosen(i: int | None) -> None:
        if i is None:
            return
        pair = options[i][1]
        if pair == other:
            screen.app.push_screen(PickerScreen("Train metric?", keys), train_chosen)
        elif pair != current:
            screen.set_pair(name, pair)

    def train_chosen(i: int | None) -> None:
        if i is None:
            return
        train = keys[i]
        others = [k for k in keys if k != train]

        def val_chosen(j: int | None) -> None:
            if j is not None:
                screen.set_pair(name, (train, others[j]))

        screen.app.push_screen(PickerScreen(
            f"Judge {train} against which validation metric?", others), val_chosen)

    screen.app.push_screen(PickerScreen(f"Judge {name} on which pair?",
                                        [label for label, _ in options], index), chosen)


__all__ = ["BANNER_ICON", "FILTER_HINT", "NARROW_WIDTH", "RUN_COLUMNS", "SEVERITY_STYLE",
           "MonitorScreen", "run_columns", "set_title"]
