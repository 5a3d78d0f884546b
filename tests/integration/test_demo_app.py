"""`mlflow-tui --demo` end to end: the simulated session, watched through the real data path."""

from __future__ import annotations

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.local import LocalSource
from mlflow_tui.widgets import RunTable
from tests.conftest import screen_text, wait_until


async def test_demo_shows_experiments_statuses_and_moving_charts(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(Settings(demo=True, demo_speed=3.0, interval=0.5))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: app.session.poller is not None and app.monitor is not None
                         and app.monitor.query_one(RunTable).row_count > 0, timeout=60)
        assert isinstance(app.source, LocalSource)  # the same read path as any local store
        names = {e.name for e in app.session.experiments}
        assert {"demo/vision/resnet18-cifar10", "demo/nlp/bert-sentiment"} <= names
        table = app.monitor.query_one(RunTable)
        # Runs in several statuses, and the charted series of the live run grows.
        await wait_until(lambda: len({r.status for r in app.session.poller.runs.values()}) >= 3,
                         timeout=60, message="three statuses")
        live = next(r for r in app.session.poller.ordered_runs() if r.status.value == "RUNNING")
        table.move_cursor(row=table.get_row_index(live.run_id))
        await wait_until(lambda: len(app.session.poller.points((live.run_id, "val_loss"))) >= 2,
                         timeout=30)
        before = len(app.session.poller.points((live.run_id, "val_loss")))
        await wait_until(lambda: len(app.session.poller.points((live.run_id, "val_loss"))) > before,
                         timeout=30, message="a new point")
        await pilot.pause()
        text = screen_text(app)
        assert "RUNNING" in text and "FINISHED" in text and "train_loss" in text
        # `a`: the live run's artifacts, its growing log previewed (a .log shows its tail).
        from textual.widgets import Tree

        from mlflow_tui.screens.artifacts import ArtifactsScreen

        table.focus()
        await pilot.press("a")
        await wait_until(lambda: isinstance(app.screen, ArtifactsScreen))
        screen = app.screen
        await wait_until(lambda: screen.loaded_folders >= 1, timeout=20)
        tree = screen.query_one("#art-tree", Tree)
        # (metrics.csv too, should the run have ended meanwhile)
        assert {"config.yaml", "train.log"} <= {n.data.name for n in tree.root.children}
        tree.select_node(next(n for n in tree.root.children if n.data.name == "train.log"))
        await wait_until(lambda: "train_loss" in screen.shown and "step" in screen.shown,
                         timeout=20, message="the log's tail")
        demo_root = app.demo.root
    assert not demo_root.exists(), "the demo's temporary store is removed on exit"
    assert list(tmp_path.iterdir()) == []
