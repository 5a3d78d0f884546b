"""Markup in names never breaks titles, z on a filtered parent, pausing does not spin the poll
loop, keys typed faster than the highlight act on the cursor row."""

from __future__ import annotations

import time

from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.widgets import RunTable
from tests.conftest import screen_text, wait_rows, wait_until
from tests.fakes import FakeSource
from tests.sample_data import T0, curves, fake_app


def _source() -> FakeSource:
    src = FakeSource()
    src.experiments = [Experiment("1", "cifar[/x] [@click=app.quit]", last_update_time=T0)]
    src.add_run(Run("p", "1", "sweep[/b]", RunStatus.FINISHED, T0, T0 + 1000), {})
    src.add_run(Run("c", "1", "child [red]x", RunStatus.FINISHED, T0 + 10, T0 + 900,
                    tags={"mlflow.parentRunId": "p"}), curves(10))
    return src


async def test_markup_in_names_and_filters_never_breaks_titles_and_z_on_orphaned_child():
    app = fake_app(_source())
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_rows(app, 1)
        await pilot.press("z")  # unfold the sweep
        await wait_until(lambda: app.monitor.query_one(RunTable).row_count == 2)
        await pilot.press("slash")
        box = app.monitor.query_one("#filter")
        box.value = "child [/]"
        await pilot.press("enter")
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count == 0 or "[/]" in str(table.border_title))
        box.value = "child"
        await pilot.press("slash")
        box.value = "child"
        await pilot.press("enter")
        await wait_until(lambda: table.row_count == 1)  # the parent is filtered out
        await pilot.press("z")  # z on the child whose parent is not in the table
        await pilot.pause()
        assert app.is_running
        assert "cifar[/x] [@click=app.quit]" in screen_text(app)  # literal, not markup


async def test_pausing_does_not_spin_the_poll_loop():
    src = _source()
    app = fake_app(src, interval=0.2)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.ticks > 0)
        await pilot.press("p")
        before, rounds = src.requests, app.session.loop_rounds
        start = time.monotonic()
        while time.monotonic() - start < 1.0:
            await pilot.pause()
        assert src.requests == before, "no requests while paused"
        # Paused, the loop wakes about once an interval (0.2 s), not thousands of times.
        assert app.session.loop_rounds - rounds < 30
        await pilot.press("p")
        await wait_until(lambda: src.requests > before)


async def test_keys_typed_faster_than_the_highlight_message_act_on_the_cursor_row():
    # In a real terminal "j space" arrives at once: the mark must go to the row the cursor is
    # on now, not to the one the (not yet delivered) RowHighlighted message was about.
    src = FakeSource()
    src.experiments = [Experiment("1", "exp", last_update_time=T0)]
    for i in range(3):
        src.add_run(Run(f"r{i}", "1", f"run-{i}", RunStatus.FINISHED, T0 + i, T0 + 100),
                    curves(5))
    app = fake_app(src)
    async with app.run_test(size=(140, 40)):
        await wait_rows(app, 3)
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: app.session.highlighted == table.current_row_key)
        first = table.current_row_key
        app.monitor.action_toggle_mark()
        table.move_cursor(row=table.cursor_row + 1)  # its message is still queued...
        app.monitor.action_toggle_mark()  # ... when the next key's action runs
        second = table.current_row_key
        assert second != first
        assert set(app.session.marked) == {first, second}
