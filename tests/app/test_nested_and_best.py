"""Nested runs under their parent (z folds), the best child, and sorting by best value."""

from __future__ import annotations

from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.widgets import RunTable
from tests.conftest import screen_text, wait_until
from tests.fakes import FakeSource
from tests.sample_data import T0, curves, fake_app


def _sweep() -> FakeSource:
    src = FakeSource()
    src.experiments = [Experiment("9", "sweeps/lr", last_update_time=T0)]
    src.add_run(Run("p", "9", "lr-sweep", RunStatus.FINISHED, T0, T0 + 60_000), {})
    for i, seed in enumerate((11, 12, 13)):
        series = curves(20 + 5 * i, seed=seed)
        series["val_loss"] = [(s, v + 0.1 * (2 - i)) for s, v in series["val_loss"]]
        src.add_run(Run(f"c{i}", "9", f"trial-{i}", RunStatus.FINISHED, T0 + (i + 1) * 1000,
                        T0 + 50_000, tags={"mlflow.parentRunId": "p"}), series)
    src.add_run(Run("solo", "9", "solo-run", RunStatus.FINISHED, T0 - 5000, T0), curves(10))
    return src


def _rows(app) -> list[str]:
    table = app.monitor.query_one(RunTable)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value)
            for i in range(table.row_count)]


async def test_children_fold_under_the_parent_with_the_best_child_starred():
    app = fake_app(_sweep())
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(lambda: app.monitor is not None and _rows(app) == ["p", "solo"])
        table = app.monitor.query_one(RunTable)
        name = str(table.get_cell("p", "name"))
        assert name.startswith("▸ lr-sweep (3)") and "★ trial-2" in name
        assert app.session.highlighted == "p"
        await pilot.press("z")
        await wait_until(lambda: _rows(app) == ["p", "c2", "c1", "c0", "solo"])
        assert str(table.get_cell("c2", "name")).startswith("└ trial-2") and "★" in str(
            table.get_cell("c2", "name"))
        assert "★" not in str(table.get_cell("c0", "name"))
        # z on a child folds its parent and puts the cursor back on the parent.
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "c2")
        await pilot.press("z")
        await wait_until(lambda: _rows(app) == ["p", "solo"] and app.session.highlighted == "p")
        assert "▸ lr-sweep" in screen_text(app)


async def test_sort_by_best_validation_value():
    app = fake_app(_sweep())
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(lambda: app.monitor is not None and len(_rows(app)) == 2)
        await pilot.press("z")
        await wait_until(lambda: len(_rows(app)) == 5)
        await wait_until(lambda: all(app.session.best_val(app.session.poller.runs[r]) is not None
                                     for r in ("c0", "c1", "c2", "solo")))
        while app.monitor.sort_column != "best":
            await pilot.press("o")
        bests = {
            r: app.session.best_val(app.session.poller.runs[r]).value for r in ("c0", "c1", "c2")
        }
        order = [r for r in _rows(app) if r.startswith("c")]
        assert order == sorted(bests, key=bests.get)
        assert "sorted by Best val" in str(app.monitor.query_one(RunTable).border_title)


def _dip_sweep() -> FakeSource:
    """Two children whose latest and best validation values disagree: trial-dip reached the
    lowest val_loss (0.10 at step 5) and ended worse (0.50); trial-flat only went down to
    0.30, its latest. The best child is trial-dip by Best val, trial-flat by the latest."""
    src = FakeSource()
    src.experiments = [Experiment("9", "sweeps/dip", last_update_time=T0)]
    src.add_run(Run("p", "9", "dip-sweep", RunStatus.FINISHED, T0, T0 + 60_000), {})
    dip = [(s, 1.0 - 0.18 * s if s <= 5 else 0.10 + 0.04 * (s - 5)) for s in range(16)]
    flat = [(s, 1.0 - 0.7 * s / 15) for s in range(16)]
    for rid, name, val in (("cd", "trial-dip", dip), ("cf", "trial-flat", flat)):
        train = [(s, 1.0 - 0.05 * s) for s in range(16)]
        src.add_run(Run(rid, "9", name, RunStatus.FINISHED, T0 + 1000, T0 + 50_000,
                        tags={"mlflow.parentRunId": "p"}),
                    {"train_loss": train, "val_loss": val})
    return src


async def test_the_starred_child_is_the_one_with_the_best_val_not_the_best_latest():
    app = fake_app(_dip_sweep())
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(lambda: app.monitor is not None and _rows(app) == ["p"])
        session = app.session
        await pilot.press("z")
        await wait_until(lambda: len(_rows(app)) == 3)
        runs = session.poller.runs
        await wait_until(lambda: all(session.best_val(runs[r]) is not None for r in ("cd", "cf")))
        assert session.best_val(runs["cd"]).value < session.best_val(runs["cf"]).value
        assert session.latest(runs["cd"], "val_loss").value > session.latest(
            runs["cf"], "val_loss").value  # the two scorings disagree
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: "★" in str(table.get_cell("cd", "name")))
        assert "★" not in str(table.get_cell("cf", "name"))
        assert "★ trial-dip" in str(table.get_cell("p", "name"))
