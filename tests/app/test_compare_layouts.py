"""The compare table's two layouts (t): runs as rows, runs as columns, and back; each run keeps
one colour, shared by its curves (and so its legend) and its name in the table, in both."""

from __future__ import annotations

from textual.widgets._data_table import ColumnKey

from mlflow_tui.screens.compare import CompareScreen, unique_names
from mlflow_tui.text import format as fmt
from mlflow_tui.widgets import MetricChart, RunTable, plain
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import fake_app

MARKED = ("a1", "a2", "a3")


async def _compare(app, pilot) -> CompareScreen:
    await wait_rows(app, 6)
    table = app.monitor.query_one(RunTable)
    for rid in MARKED:
        table.move_cursor(row=table.get_row_index(rid))
        await wait_until(lambda rid=rid: app.session.highlighted == rid)
        await pilot.press("space")
    await pilot.press("c")
    await wait_until(lambda: isinstance(app.screen, CompareScreen)
                     and app.session.compare.frame is not None
                     and len(app.session.compare.frame) == 3)
    return app.screen


def _column_keys(table: RunTable) -> list[str]:
    return [str(key.value) for key in table.columns]


async def test_transpose_switches_the_layout_and_back():
    app = fake_app()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _compare(app, pilot)
        table = screen.query_one("#compare-table", RunTable)
        await wait_until(lambda: "run" in _column_keys(table))
        assert sorted(str(k.value) for k in table.rows) == sorted(MARKED)  # a run a row
        await pilot.press("t")
        # Runs as columns: the field names down the left, a column a run.
        await wait_until(lambda: _column_keys(table) == ["field", *MARKED])
        assert app.session.compare.transposed
        assert "runs as columns (t)" in str(table.border_title)
        fields = [str(table.get_cell_at((i, 0))) for i in range(table.row_count)]
        assert "status" in fields and "val_loss best" in fields
        await pilot.press("t")
        await wait_until(lambda: "run" in _column_keys(table)
                         and sorted(str(k.value) for k in table.rows) == sorted(MARKED))
        assert not app.session.compare.transposed
        assert "runs as columns" not in str(table.border_title)


def _rich_style_of(plotext_colour: str, dark: bool) -> str:
    """The rich style that names the same colour as a plotext run colour."""
    pairs = fmt.RUN_COLOURS_DARK if dark else fmt.RUN_COLOURS_LIGHT
    return dict(pairs)[plotext_colour]


async def test_each_run_keeps_its_colour_in_both_layouts():
    app = fake_app()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _compare(app, pilot)
        table = screen.query_one("#compare-table", RunTable)
        chart = screen.query_one(MetricChart)
        dark = app.current_theme.dark
        names = unique_names(list(app.session.marked.values()))
        await wait_until(lambda: f"{names['a1']} · val" in chart.series_labels)
        chart_style = {}
        for rid in MARKED:
            labels = [label for label in chart.series_labels if label.startswith(names[rid])]
            colours = {chart.color_for(label, chart.series_labels.index(label))
                       for label in labels}
            assert len(colours) == 1, (rid, colours)  # train and val: one colour a run
            chart_style[rid] = _rich_style_of(colours.pop(), dark)
        assert len(set(chart_style.values())) == 3  # three runs, three colours
        await wait_until(lambda: "run" in _column_keys(table))
        for rid in MARKED:  # runs as rows: the name cell
            assert str(table.get_cell(rid, "run").style) == chart_style[rid], rid
        await pilot.press("t")
        await wait_until(lambda: _column_keys(table) == ["field", *MARKED])
        for rid in MARKED:  # runs as columns: the header
            label = table.columns[ColumnKey(rid)].label
            assert label.plain == plain(names[rid], 24).plain
            assert str(label.style) == chart_style[rid], (rid, label.style)


async def test_durations_are_formatted_in_both_layouts():
    """a3 ran from minute 5 to 14: '9m00s', not 540 (seconds) nor 540.0."""
    app = fake_app()
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await _compare(app, pilot)
        table = screen.query_one("#compare-table", RunTable)
        await wait_until(lambda: "duration_s" in _column_keys(table))
        assert str(table.get_cell("a3", "duration_s")) == fmt.duration(9 * 60_000) == "9m00s"
        await pilot.press("t")
        await wait_until(lambda: _column_keys(table) == ["field", *MARKED])
        fields = [str(table.get_cell_at((i, 0))) for i in range(table.row_count)]
        row = fields.index("duration")
        assert str(table.get_cell_at((row, 1 + MARKED.index("a3")))) == "9m00s"


async def test_the_run_name_stays_on_screen_when_the_table_scrolls_right():
    app = fake_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _compare(app, pilot)
        table = screen.query_one("#compare-table", RunTable)
        await wait_until(lambda: "run" in _column_keys(table) and table.max_scroll_x > 0)
        first = str(table.columns[ColumnKey(_column_keys(table)[1])].label)
        last = str(table.columns[ColumnKey(_column_keys(table)[-1])].label)
        assert first in screen_text(app) and last not in screen_text(app)
        table.scroll_to(x=table.max_scroll_x, animate=False, immediate=True)
        await wait_until(lambda: last in screen_text(app), message="scrolled to the end")
        text = screen_text(app)
        assert first not in text.split("Marked runs")[1], "scrolled past the first columns"
        names = unique_names(list(app.session.marked.values()))
        for rid in MARKED:  # the pinned name column
            assert plain(names[rid], 32).plain[:12] in text, rid
