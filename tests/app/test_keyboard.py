"""The keyboard flow, driven with Pilot on deterministic data."""

from __future__ import annotations

from textual.widgets import DataTable

from mlflow_tui.screens.help import HelpScreen
from mlflow_tui.widgets import ExperimentTree, MetricChart, RunTable
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import fake_app, sample_source


def _app(**kw):
    source = sample_source()
    return fake_app(source, **kw), source


async def _loaded(app, pilot, rows: int) -> None:
    await wait_rows(app, rows)


async def test_tab_moves_between_tree_table_and_chart():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        assert isinstance(app.focused, RunTable)
        await pilot.press("tab")
        assert isinstance(app.focused, MetricChart)
        await pilot.press("tab")
        assert isinstance(app.focused, ExperimentTree)
        await pilot.press("tab")
        assert isinstance(app.focused, RunTable)
        await pilot.press("shift+tab")
        assert isinstance(app.focused, ExperimentTree)


async def test_jk_and_arrows_move_the_run_cursor_and_the_chart_follows():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        table = app.monitor.query_one(RunTable)
        assert table.cursor_row == 0 and app.session.highlighted == "a6"
        await pilot.press("j")
        assert table.cursor_row == 1
        await wait_until(lambda: app.session.highlighted == "a1")
        await pilot.press("down", "down")
        assert table.cursor_row == 3
        await pilot.press("k", "up")
        assert table.cursor_row == 1
        # The chart shows the highlighted run's train/val pair once loaded.
        chart = app.monitor.query_one(MetricChart)
        await wait_until(lambda: "resnet18-lr0.1" in str(chart.border_title))
        await wait_until(lambda: app.session.poller.points(("a1", "val_loss")) != [])


async def test_enter_on_an_experiment_switches_the_run_table():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        tree = app.monitor.query_one(ExperimentTree)
        tree.focus()
        tree.select_experiment("1")
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(lambda: app.session.watched == ("1",))
        await _loaded(app, pilot, 1)
        table = app.monitor.query_one(DataTable)
        assert "xgb-churn" in str(table.get_row_at(0))


async def test_help_opens_and_closes_and_q_quits():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        await pilot.press("question_mark")
        await wait_until(lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Quit" in text and "Metrics" in text and "Refresh" in text
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("q")
        await wait_until(lambda: not app.is_running)


async def test_m_cycles_the_metrics_on_the_chart():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "a1")
        run = app.session.poller.runs["a1"]
        first = app.session.view_for(run)
        assert first == ("train_loss", "val_loss")
        await pilot.press("m")
        assert app.session.view_for(run) != first
        await wait_until(
            lambda: app.session.poller.points(("a1", app.session.view_for(run)[0])) != []
        )


async def test_overfitting_run_gets_the_warning_and_banner():
    app, _ = _app()
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        await wait_until(
            lambda: app.session.health.overfitting("a1") is not None,
            timeout=10,
            message="finding for a1",
        )
        assert (
            app.session.health.overfitting("a2") is None
            and app.session.health.overfitting("a3") is None
        )
        table = app.monitor.query_one(RunTable)
        assert str(table.get_cell("a1", "warn")) == "⚠ overfit"
        assert str(table.get_cell("a2", "warn")) == ""
        await pilot.press("j")
        await wait_until(lambda: app.monitor.query_one("#banner").display)


async def test_unknown_experiment_name_is_reported_not_a_crash():
    app, _ = _app(experiments=["no/such/experiment", "vision/resnet/cifar10"])
    async with app.run_test(size=(140, 40)) as pilot:
        await _loaded(app, pilot, 6)
        assert app.session.watched == ("2",)
        await wait_until(
            lambda: any("no/such/experiment" in str(n.message) for n in app._notifications),
            message="notification",
        )


async def test_hostile_run_name_is_shown_literally():
    app, _ = _app()
    async with app.run_test(size=(160, 40)) as pilot:
        await _loaded(app, pilot, 6)
        await pilot.pause()
        assert "resnet34-[bold]baseline[/bold]" in screen_text(app)
