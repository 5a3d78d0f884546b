"""Chart controls by key, in the monitor and the compare view alike."""

from __future__ import annotations

from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.widgets import MetricChart
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import fake_app


async def test_chart_keys_change_the_options_and_the_summary_shows_them():
    app = fake_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 6)
        await pilot.press("j")
        await wait_until(lambda: bool(app.session.poller.points(("a1", "val_loss"))))
        chart = app.monitor.query_one(MetricChart)
        await pilot.press("x")
        assert chart.options.x_mode == "relative"
        await pilot.press("y", "s", "L")
        assert chart.options.log_y and chart.options.smoothing == 0.6
        assert chart.options.last_n == 500
        await pilot.pause()
        text = screen_text(app)
        assert "log y" in text and "smooth 0.6" in text and "last 500" in text
        # x values follow the mode: seconds since the run started.
        xs = [x for x, _ in chart._series["val_loss"]]
        assert xs[0] >= 0 and xs[-1] > xs[0]
        await pilot.press("x", "x")
        assert chart.options.x_mode == "step"
        # The same options in the compare view.
        await pilot.press("space", "j", "space", "c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        cmp_chart = app.screen.query_one(MetricChart)
        await wait_until(lambda: cmp_chart.options == app.chart_options)
        await pilot.press("y")
        await wait_until(lambda: not cmp_chart.options.log_y)


async def test_metric_picker_lists_the_views_and_enter_picks_one():
    from mlflow_tui.screens.picker import PickerScreen

    app = fake_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 6)
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "a1")
        await pilot.press("M")
        await wait_until(lambda: isinstance(app.screen, PickerScreen))
        assert app.screen.items[0] == "train_loss vs val_loss"
        await pilot.press("j", "enter")
        await wait_until(lambda: not isinstance(app.screen, PickerScreen))
        run = app.session.poller.runs["a1"]
        assert app.session.view_for(run) == ("train_acc",)
        await wait_until(lambda: bool(app.session.poller.points(("a1", "train_acc"))))
        await pilot.press("M", "escape")
        await wait_until(lambda: not isinstance(app.screen, PickerScreen))
        assert app.session.view_for(run) == ("train_acc",)
