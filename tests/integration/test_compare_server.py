"""Compare by keys against a real server: three runs marked in two experiments; the exported
CSV, read back with pandas, holds the values the server has."""

from __future__ import annotations

import math
import time
import uuid

import pandas as pd
from mlflow.entities import Metric, Param

from mlflow_tui.app import make_app
from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.screens.picker import PickerScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import ExperimentTree, MetricChart, RunTable
from tests.conftest import wait_until
from tests.sample_data import curves


def _seed(client, exp: str, name: str, lr: str, seed: int) -> str:
    rid = client.create_run(exp, run_name=name).info.run_id
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now + s, s) for k, pts in curves(30, seed=seed).items()
               for s, v in pts]
    client.log_batch(rid, metrics=metrics, params=[Param("lr", lr), Param("batch", "64")])
    client.set_terminated(rid, "FINISHED")
    return rid


async def test_mark_across_experiments_compare_and_export(live_server, tmp_path):
    client = live_server.client()
    tag = uuid.uuid4().hex[:6]
    exp_a = client.create_experiment(f"cmp/{tag}/a")
    exp_b = client.create_experiment(f"cmp/{tag}/b")
    a1 = _seed(client, exp_a, "a-lr0.1", "0.1", 1)
    a2 = _seed(client, exp_a, "a-lr0.01", "0.01", 2)
    b1 = _seed(client, exp_b, "b-lr0.001", "0.001", 3)
    app = make_app(Settings(uri=live_server.url, experiments=[f"cmp/{tag}/a"], interval=0.5,
                            export_dir=str(tmp_path)))
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count == 2, timeout=15)
        await pilot.press("space", "j", "space")
        assert set(app.session.marked) == {a1, a2}
        # Switch experiment with the keyboard: tree, find b, enter.
        await pilot.press("shift+tab")
        tree = app.monitor.query_one(ExperimentTree)
        assert app.focused is tree
        # The shared server holds every test's experiments: walk as far as the tree is long
        # (a fixed 200 presses stopped short once the suite had more experiments).
        for _ in range(3 * len(client.search_experiments(max_results=5000)) + 10):
            if tree.current_experiment_id == exp_b:
                break
            await pilot.press("j")
        assert tree.current_experiment_id == exp_b, "the tree never reached experiment b"
        await pilot.press("enter")
        await wait_until(
            lambda: app.session.watched == (exp_b,) and table.row_count == 1, timeout=15
        )
        await pilot.press("space")
        assert set(app.session.marked) == {a1, a2, b1} and list(app.session.marked)[-1] == b1
        await pilot.press("c")
        await wait_until(lambda: isinstance(app.screen, CompareScreen))
        await wait_until(
            lambda: (
                app.session.compare.frame is not None
                and len(app.session.compare.frame) == 3
                and app.session.compare.frame["val_loss.min"].notna().all()
            ),
            timeout=15,
        )
        chart = app.screen.query_one(MetricChart)
        await wait_until(lambda: len(chart.series_labels) == 6)
        title = chart.title
        await pilot.press("m")
        await wait_until(lambda: chart.title != title)
        await pilot.press("d")
        await wait_until(lambda: "params.batch" not in app.session.compare.frame.columns)
        assert "params.lr" in app.session.compare.frame.columns
        await pilot.press("o")  # sort by a column picked from the list
        await wait_until(lambda: isinstance(app.screen, PickerScreen))
        for _ in range(app.screen.items.index("val_loss min")):
            await pilot.press("j")
        await pilot.press("enter")
        await wait_until(
            lambda: (
                app.session.compare.sort == "val_loss.min" and isinstance(app.screen, CompareScreen)
            )
        )
        await pilot.press("e")
        files = list(tmp_path.glob("*.csv"))
        assert len(files) == 1
        back = pd.read_csv(files[0])
        assert sorted(back["run_id"]) == sorted([a1, a2, b1])
        assert "status" not in back.columns  # all FINISHED: the table shows only what differs
        assert list(back["val_loss.min"]) == sorted(back["val_loss.min"])
        for record in back.to_dict("records"):
            rid = record["run_id"]
            history = client.get_metric_history(rid, "val_loss")
            values = [m.value for m in history]
            assert math.isclose(record["val_loss.min"], min(values))
            assert math.isclose(record["val_loss.max"], max(values))
            assert math.isclose(record["val_loss.latest"], history[-1].value)
            best = min(history, key=lambda m: m.value)
            assert record["val_loss.best_step"] == best.step
            assert str(record["params.lr"]) == client.get_run(rid).data.params["lr"]
