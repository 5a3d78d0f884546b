"""Issue 16 on a real `mlflow server`: live runs in three experiments, one of which starts
overfitting while another experiment is open; the Now view lists every running run and opens
one in its experiment."""

from __future__ import annotations

import time
import uuid

from mlflow.entities import Metric

from mlflow_tui.app import make_app
from mlflow_tui.screens.monitor import MonitorScreen
from mlflow_tui.screens.now import NowScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import ExperimentTree, RunTable
from mlflow_tui.widgets.experiment_tree import split_name
from tests.conftest import screen_text, wait_until
from tests.sample_data import curves


def _log(client, run_id: str, data, start: int, end: int) -> None:
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[
        Metric(key, value, now + step, step) for key in ("train_loss", "val_loss")
        for step, value in data[key][start:end]])


def _label(app, name: str) -> str:
    tree = app.monitor.query_one(ExperimentTree)
    for path, node in tree._path_nodes.items():
        # The whole path: the shared server holds other tests' experiments ending alike.
        if path and tuple(path) == tuple(split_name(name)) and node.data.experiment_id:
            return str(node.label)
    return ""


async def test_trouble_in_an_unopened_experiment_reaches_the_tree_and_the_now_view(
        live_server):
    client = live_server.client()
    tag = uuid.uuid4().hex[:6]
    names = [f"now-app/{tag}/{x}" for x in ("open", "other", "third")]
    exps = [client.create_experiment(n) for n in names]
    bad = curves(40, overfit_at=12, seed=3)
    runs = {}
    for name, exp in zip(names, exps, strict=True):
        run = client.create_run(exp, run_name=f"live-{name.rsplit('/', 1)[-1]}")
        runs[name] = run.info.run_id
        _log(client, run.info.run_id, bad, 0, 12)  # healthy so far
    app = make_app(Settings(uri=live_server.url, experiments=[names[0]], interval=0.5))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(lambda: app.now is not None and app.now.applied >= 1, timeout=30)
        assert "⚠" not in _label(app, names[1])
        # The run of an experiment that is not open starts overfitting.
        _log(client, runs[names[1]], bad, 12, 40)
        refreshes = app.now.applied
        await wait_until(lambda: "⚠ 1" in _label(app, names[1]), timeout=90,
                         message="the tree's marker on the unopened experiment")
        # Within two refreshes of the everywhere-feed (every other tick of the monitor; on
        # this shared test server it reads hundreds of experiments, so time is no measure).
        assert app.now.applied - refreshes <= 2, "within two refreshes"
        assert "⚠" not in _label(app, names[2])

        # n: every running run of every experiment, the one in trouble first.
        await pilot.press("n")
        await wait_until(lambda: isinstance(app.screen, NowScreen))
        screen = app.screen
        await wait_until(lambda: screen.update is not None and {
            r.run.run_id for r in screen.update.rows} >= set(runs.values()), timeout=20)
        # (The server is shared with other tests: their runs are listed too.)
        ours = [r for r in screen.update.rows if r.run.run_id in set(runs.values())]
        assert ours[0].run.run_id == runs[names[1]] and ours[0].warnings
        severities = [r.severity for r in screen.update.rows]
        assert severities == sorted(severities, reverse=True), "trouble first"
        assert "running" in screen_text(app) and "warned" in screen_text(app)
        # Put the cursor on it, then enter opens it in its experiment.
        now_table = screen.query_one(RunTable)
        now_table.move_cursor(row=now_table.get_row_index(runs[names[1]]))
        await pilot.pause()
        # enter opens it in its experiment, charted.
        await pilot.press("enter")
        await wait_until(
            lambda: (
                isinstance(app.screen, MonitorScreen)
                and app.session.watched == (exps[1],)
                and app.session.highlighted == runs[names[1]]
            ),
            timeout=20,
        )
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.current_row_key == runs[names[1]], timeout=10)
