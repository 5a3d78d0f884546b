"""Marking runs and the compare view, by keys, on deterministic data."""

from __future__ import annotations

import pandas as pd

from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.widgets import MetricChart, RunTable
from tests.conftest import screen_text, wait_rows, wait_until
from tests.sample_data import fake_app


async def test_mark_compare_cycle_differences_sort_export(tmp_path):
    app = fake_app(export_dir=str(tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 6)
        table = app.monitor.query_one(RunTable)
        await pilot.press("c")  # nothing marked: a hint, no compare
        assert not isinstance(app.screen, CompareScreen)
        for key in ("j", "space", "j", "space", "j", "space"):
            await pilot.press(key)
        assert list(app.session.marked) == ["a1", "a2", "a3"]
        assert str(table.get_cell("a1", "mark")) == "●"
        assert str(table.get_cell("a4", "mark")) == " "
        await pilot.press("space")  # unmark a3
        assert list(app.session.marked) == ["a1", "a2"]
        await pilot.press("space")
        await pilot.pause()
        assert "3 marked" in screen_text(app)
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        await wait_until(
            lambda: (
                app.session.compare.frame is not None
                and len(app.session.compare.frame) == 3
                and app.session.compare.frame["val_loss.min"].notna().all()
            ),
            timeout=10,
        )
        chart = app.screen.query_one(MetricChart)
        await wait_until(lambda: "resnet18-lr0.1 · val" in chart.series_labels)
        assert len(chart.series_labels) == 6  # 3 runs x train/val
        first_title = chart.title
        await pilot.press("m")
        await wait_until(lambda: chart.title != first_title)
        frame = app.session.compare.frame
        assert {"run", "status", "params.lr", "val_loss.latest", "val_loss.best_step"} <= set(
            frame.columns
        )
        await pilot.press("d")
        await wait_until(lambda: "params.lr" not in app.session.compare.frame.columns)  # all 0.01
        assert "val_loss.min" in app.session.compare.frame.columns
        # o: a list of the columns by their headers; typing is not needed, j moves, enter sorts.
        await pilot.press("o")
        await wait_until(lambda: isinstance(app.screen, PickerScreen))
        picker = app.screen
        target = picker.items.index("val_loss min")
        for _ in range(target):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_until(lambda: app.session.compare.sort == "val_loss.min")
        assert isinstance(app.screen, CompareScreen)
        values = list(app.session.compare.frame["val_loss.min"])
        assert values == sorted(values)
        await pilot.press("O")
        values = list(app.session.compare.frame["val_loss.min"])
        assert values == sorted(values, reverse=True)
        await pilot.press("e")
        files = list(tmp_path.glob("mlflow-tui-compare-*.csv"))
        assert len(files) == 1
        back = pd.read_csv(files[0])
        assert list(back["run_id"]) == list(app.session.compare.frame["run_id"])
        src = app.session.compare.poller.source
        for record in back.to_dict("records"):
            history = src.history[(record["run_id"], "val_loss")]
            assert record["val_loss.min"] == min(p.value for p in history)
            best = min(history, key=lambda p: p.value)
            assert record["val_loss.best_step"] == best.step
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, CompareScreen))
        assert list(app.session.marked) == ["a1", "a2", "a3"]
        await pilot.press("u")
        assert app.session.marked == {}


async def test_no_new_experiment_probe_while_the_compare_view_covers_the_tree():
    """The tree's one-result experiments/search each tick (a new experiment shows at once)
    is not sent while the compare view is open; the first tick back sends it again."""
    from tests.sample_data import sample_source

    source = sample_source()
    asked: list[int] = []

    async def newest_experiment_id() -> str | None:
        asked.append(app.ticks)
        return None

    source.newest_experiment_id = newest_experiment_id  # type: ignore[attr-defined]
    app = fake_app(source, interval=0.1)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 6)
        await wait_until(lambda: len(asked) >= 2, message="probes on the monitor")
        await pilot.press("space", "j", "space", "c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        probed = len(asked)
        ticks = app.ticks
        await wait_until(lambda: app.ticks >= ticks + 5, message="ticks in the compare view")
        assert len(asked) <= probed + 1  # at most one tick that had begun before the view
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, CompareScreen))
        back = len(asked)
        await wait_until(lambda: len(asked) > back, message="the probe again on the monitor")
