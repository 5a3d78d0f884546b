"""Refreshing a big run table cheaply: rows given again as the same object are skipped, the
monitor reuses the cells of rows whose inputs did not change, and changed cells still show."""

from __future__ import annotations

import dataclasses

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

import mlflow_tui.widgets.run_table as run_table
from mlflow_tui.tracking.models import Point
from mlflow_tui.widgets import RunTable
from tests.conftest import wait_rows, wait_until
from tests.sample_data import NOW, fake_app, sample_source

COLUMNS = [("name", "Run"), ("loss", "Loss")]


class Host(App[None]):
    def __init__(self, table: RunTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        yield self.table


def spy_updates(table: RunTable) -> list[tuple[str, str, str]]:
    """Record every update_cell the table makes: (row key, column key, new text)."""
    calls: list[tuple[str, str, str]] = []
    original = table.update_cell

    def update_cell(row_key, column_key, value, **kw):  # type: ignore[no-untyped-def]
        calls.append((str(row_key), str(column_key), str(value)))
        return original(row_key, column_key, value, **kw)

    table.update_cell = update_cell  # type: ignore[method-assign]
    return calls


def count_conversions(monkeypatch) -> list[object]:  # type: ignore[no-untyped-def]
    seen: list[object] = []
    original = run_table._cell

    def cell(value: object) -> Text:
        seen.append(value)
        return original(value)

    monkeypatch.setattr(run_table, "_cell", cell)
    return seen


async def test_rows_given_again_as_the_same_objects_cost_nothing(monkeypatch):
    table = RunTable()
    async with Host(table).run_test(size=(60, 12)) as pilot:
        rows = [(k, (k.upper(), "0.5")) for k in "abcdef"]
        table.set_rows(COLUMNS, rows)
        await pilot.pause()
        calls = spy_updates(table)
        converted = count_conversions(monkeypatch)
        table.set_rows(COLUMNS, list(rows))  # the same row objects
        assert calls == [] and converted == []
        # One row given anew: only its changed cell is updated.
        rows[2] = ("c", ("C", "0.25"))
        table.set_rows(COLUMNS, rows)
        await pilot.pause()
        assert calls == [("c", "loss", "0.25")]
        assert len(converted) == 2  # that row's cells alone
        assert str(table.get_cell("c", "loss")) == "0.25"
        assert [str(table.get_cell(k, "loss")) for k in "abdef"] == ["0.5"] * 5


async def test_a_cell_set_by_set_cells_is_restored_by_the_same_rows_again():
    table = RunTable()
    async with Host(table).run_test(size=(60, 12)) as pilot:
        rows = [(k, (k.upper(), "0.5")) for k in "abc"]
        table.set_rows(COLUMNS, rows)
        table.set_cells("loss", {"b": "9"})
        await pilot.pause()
        assert str(table.get_cell("b", "loss")) == "9"
        table.set_rows(COLUMNS, rows)  # the very same objects: b must show 0.5 again
        await pilot.pause()
        assert str(table.get_cell("b", "loss")) == "0.5"


async def test_same_row_objects_in_a_new_order_or_under_new_columns_rebuild_right():
    table = RunTable()
    async with Host(table).run_test(size=(60, 12)) as pilot:
        rows = {k: (k.upper(), f"0.{i}") for i, k in enumerate("abc")}
        table.set_rows(COLUMNS, list(rows.items()))
        await pilot.pause()
        table.set_rows(COLUMNS, [("c", rows["c"]), ("a", rows["a"])])
        await pilot.pause()
        assert table.row_count == 2
        assert [str(table.get_cell(k, "loss")) for k in "ca"] == ["0.2", "0.0"]
        table.set_rows([("name", "Run"), ("other", "Other")],
                       [("c", rows["c"]), ("a", rows["a"])])
        await pilot.pause()
        assert str(table.get_cell("c", "other")) == "0.2"
        assert [label.plain for label in (c.label for c in table.columns.values())] == [
            "Run", "Other"]


# ---------------------------------------------------------------------- the monitor
def spy_set_rows(table: RunTable) -> list[dict[str, object]]:
    """The rows ({row key: cells object}) of every set_rows call."""
    calls: list[dict[str, object]] = []
    original = table.set_rows

    def set_rows(columns, rows):  # type: ignore[no-untyped-def]
        rows = list(rows)
        calls.append(dict(rows))
        return original(columns, rows)

    table.set_rows = set_rows  # type: ignore[method-assign]
    return calls


async def test_ticks_reuse_unchanged_rows_and_show_a_changed_run():
    src = sample_source()
    app = fake_app(src, interval=0.2)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 6)
        await wait_until(lambda: app.ticks >= 3)  # series loaded, warnings judged
        table = app.monitor.query_one(RunTable)
        shown = spy_set_rows(table)
        updates = spy_updates(table)
        ticks = app.ticks
        await wait_until(lambda: app.ticks >= ticks + 2 and len(shown) >= 2)
        assert updates == []  # nothing changed, nothing updated
        first, last = shown[0], shown[-1]
        assert set(first) == set(last)
        assert all(first[k] is last[k] for k in first), "unchanged rows keep their cells"
        # A finished run's latest validation value changes on the server: the next full
        # listing shows it, in that row alone.
        old = next(r for r in src.runs if r.run_id == "a3")
        point = old.metrics["val_loss"]
        new = dataclasses.replace(old, metrics={**old.metrics,
                                                "val_loss": Point(point.step, 0.123,
                                                                  point.timestamp)})
        src.runs = [new if r.run_id == "a3" else r for r in src.runs]
        await pilot.press("r")
        await wait_until(lambda: str(table.get_cell("a3", "val")) == "0.1230")
        assert {row for row, _, _ in updates} == {"a3"}
        assert ("a3", "val", "0.1230") in updates


async def test_the_started_cell_follows_the_clock_on_unchanged_rows():
    now = [NOW]
    src = sample_source()
    app = fake_app(src, interval=0.2)
    app.clock = lambda: now[0]
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 6)
        table = app.monitor.query_one(RunTable)
        before = str(table.get_cell("a3", "start"))
        assert len(before) == 8  # HH:MM:SS: started today
        now[0] = NOW + 21 * 3600  # the next day: the date is shown
        await wait_until(lambda: str(table.get_cell("a3", "start")) != before)
        assert len(str(table.get_cell("a3", "start"))) == 16  # YYYY-MM-DD HH:MM
        await pilot.pause()


# ---------------------------------------------------------------------- rendering
def highlighted_lines(table: RunTable) -> list[int]:
    """The visible lines of the table drawn with the cursor's background."""
    cursor_bg = table.get_component_styles("datatable--cursor").rich_style.bgcolor
    lines = []
    for y in range(table.size.height):
        strip = table.render_line(y)
        if any(seg.style is not None and seg.style.bgcolor == cursor_bg
               for seg in strip if seg.text.strip()):
            lines.append(y)
    return lines


@pytest.mark.waits  # waits on ticks
async def test_only_the_cursor_row_is_highlighted_while_keys_move_and_scroll_it():
    table = RunTable()
    async with Host(table).run_test(size=(60, 10)) as pilot:
        table.set_rows(COLUMNS, [(f"r{i}", (f"run {i}", f"0.{i}")) for i in range(40)])
        table.focus()
        await pilot.pause()
        for presses in range(1, 25):  # past the bottom: every press scrolls
            await pilot.press("j")
            await pilot.pause()
            assert table.current_row_key == f"r{presses}"
            row_line = presses - int(table.scroll_y) + 1  # + 1: the header line
            assert highlighted_lines(table) == [row_line]
        for _ in range(24):
            await pilot.press("k")
        await pilot.pause()
        assert highlighted_lines(table) == [1]


async def test_a_press_that_scrolls_renders_only_the_rows_it_changes(monkeypatch):
    rendered: list[object] = []
    original = DataTable._render_line_in_row

    def render_row(self, row_key, *args, **kw):  # type: ignore[no-untyped-def]
        rendered.append(row_key.value)
        return original(self, row_key, *args, **kw)

    monkeypatch.setattr(DataTable, "_render_line_in_row", render_row)
    table = RunTable()
    async with Host(table).run_test(size=(60, 10)) as pilot:
        table.set_rows(COLUMNS, [(f"r{i}", (f"run {i}", f"0.{i}")) for i in range(40)])
        table.focus()
        await pilot.pause()
        for _ in range(12):  # past the bottom: the table scrolls from now on
            await pilot.press("j")
        await pilot.pause()
        assert table.scroll_y > 0
        for presses in range(13, 20):
            rendered.clear()
            await pilot.press("j")
            await pilot.pause()
            # The row the cursor left and the row it reached, which the scroll revealed;
            # every other visible row comes from the cache.
            assert set(rendered) == {f"r{presses - 1}", f"r{presses}"}


async def test_headless_runs_never_freeze_the_heap(monkeypatch):
    # The app freezes the startup heap out of the collector's way after its first page, in a
    # real terminal only: a test process runs many apps, whose objects must stay collectable.
    # (The suite freezes between tests, conftest.py; here no call may come from the app.)
    import gc

    freezes: list[str] = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append("gc.freeze()"))
    app = fake_app(sample_source(), interval=0.2)
    async with app.run_test(size=(160, 40)):
        await wait_until(lambda: app.ticks >= 2)
    assert freezes == []


async def test_columns_fit_the_rows_shown_not_the_widest_ever():
    """Another experiment's rows under the same columns: the name column is as wide as the
    new names need (it once kept the width of the longest name ever shown)."""
    table = RunTable()
    async with Host(table).run_test(size=(160, 20)) as pilot:
        columns = [("name", "Run"), ("val", "Val loss")]
        table.set_rows(columns, [("a", ["a-very-long-run-name-from-a-sweep-of-forty", "0.1"])])
        await pilot.pause()
        wide = table.columns["name"].get_render_width(table)
        table.set_rows(columns, [("b", ["short", "0.2"]), ("c", ["tiny", "0.3"])])
        await pilot.pause()
        narrow = table.columns["name"].get_render_width(table)
        assert narrow < wide
        assert narrow == len("short") + 2 * table.cell_padding
        # Updated in place (same rows): a longer name widens the column again.
        table.set_rows(columns, [("b", ["a longer name now", "0.2"]), ("c", ["tiny", "0.3"])])
        await pilot.pause()
        assert table.columns["name"].get_render_width(table) == len("a longer name now") + 2 * (
            table.cell_padding)
