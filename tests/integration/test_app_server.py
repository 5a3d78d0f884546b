"""The app end to end against a real `mlflow server` and a real training script.

Latencies are measured and printed by bench/live_latency.py; these tests check behaviour and
use generous time-outs only so that a broken feature fails instead of hanging."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from mlflow.entities import Metric

from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.models import RunStatus
from mlflow_tui.widgets import MetricChart, RunTable
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 1.0


def _status_cell(app, run_id: str) -> str:
    table = app.monitor.query_one(RunTable)
    return str(table.get_cell(run_id, "status"))


def _log_steps(client, run_id: str, steps) -> None:
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[
        Metric(key, scale / (s + 1), now + s, s)
        for s in steps for key, scale in (("train_loss", 1.0), ("val_loss", 1.5))])


def _train(server, experiment: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, MLFLOW_TRACKING_URI=server.url)
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "train_digits.py"), "-e", experiment, *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )


@pytest.mark.waits  # waits on the interval
async def test_live_run_status_and_points_within_interval(live_server):
    client = live_server.client()
    name = f"live/{uuid.uuid4().hex[:6]}/digits"
    exp = client.create_experiment(name)
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=INTERVAL))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(
            lambda: app.session.watched == (exp,) and app.session.state == "live", timeout=15
        )
        table = app.monitor.query_one(RunTable)
        assert table.row_count == 0
        proc = _train(live_server, name, "--epochs", "400", "--sleep", "0.3")
        try:
            run_id = proc.stdout.readline().strip()
            assert len(run_id) == 32
            t0 = time.monotonic()
            await wait_until(lambda: table.row_count == 1, timeout=20)
            appeared = time.monotonic() - t0
            # A new point reaches the chart series within interval + 1 s of being logged.
            await wait_until(
                lambda: len(app.session.poller.points((run_id, "val_loss"))) >= 2, timeout=15
            )
            seen = len(app.session.poller.points((run_id, "val_loss")))
            history = client.get_metric_history(run_id, "val_loss")
            logged_at = time.monotonic()
            n_server = len(history)
            await wait_until(
                lambda: len(app.session.poller.points((run_id, "val_loss"))) > n_server,
                timeout=20,
                message="next point",
            )
            point_delay = time.monotonic() - logged_at
            assert seen >= 2
            chart = app.monitor.query_one(MetricChart)
            assert "val_loss" in chart.series_labels
        finally:
            proc.terminate()
            proc.wait(10)
        # The run stays RUNNING (the process was killed); end it like MLflow would.
        t1 = time.monotonic()
        client.set_terminated(run_id, "KILLED")
        await wait_until(lambda: "KILLED" in _status_cell(app, run_id), timeout=20)
        status_delay = time.monotonic() - t1
        assert app.session.poller.runs[run_id].status is RunStatus.KILLED
        print(
            f"\nrun appeared after {appeared:.2f} s (the script imports mlflow first), "
            f"next point within {point_delay:.2f} s, status change {status_delay:.2f} s"
        )
        await pilot.press("q")


async def test_server_stop_and_restart_loses_nothing(live_server):
    client = live_server.client()
    name = f"restart/{uuid.uuid4().hex[:6]}/exp"
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="survivor").info.run_id
    _log_steps(client, rid, range(20))
    # Back-offs capped at 2 s: the test is about what is kept, not how long the app waits
    # (the cap itself: test_faults.py).
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.5,
                            max_backoff=2.0))
    async with app.run_test(size=(140, 40)):
        await wait_until(
            lambda: len(app.session.poller.points((rid, "val_loss"))) == 20, timeout=15
        )
        live_server.stop()
        # A request in flight when the server went away fails as "broke" (disconnected
        # without an answer); the retries that follow find the port closed: "refused".
        await wait_until(lambda: app.session.state == "reconnecting"
                         and "refused" in app.session.state_detail, timeout=20,
                         message="reconnecting, the server refusing")
        table = app.monitor.query_one(RunTable)
        assert table.row_count == 1, "what the user sees is kept while the server is away"
        assert len(app.session.poller.points((rid, "val_loss"))) == 20
        live_server.start()
        _log_steps(client, rid, range(20, 30))  # logged while the app is still backing off
        await wait_until(lambda: app.session.state == "live", timeout=45)
        await wait_until(
            lambda: len(app.session.poller.points((rid, "val_loss"))) == 30, timeout=10
        )
        for key in ("train_loss", "val_loss"):
            history = client.get_metric_history(rid, key)
            cached = app.session.poller.points((rid, key))
            assert [(p.step, p.value) for p in cached] == [(m.step, m.value) for m in history]


async def test_nothing_listening_shows_error_quickly_and_stays_usable():
    app = make_app(Settings(uri="http://127.0.0.1:1", interval=1.0))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(lambda: app.session.state in ("reconnecting", "error"), timeout=15)
        assert "refused" in app.session.state_detail
        state = str(app.monitor.query_one("#state").render())
        assert "reconnecting" in state and "refused" in state
        await pilot.press("question_mark")
        await pilot.press("escape")
        await pilot.press("q")
        await wait_until(lambda: not app.is_running)


async def test_empty_folder_no_uri_shows_start_screen_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from mlflow_tui.cli import parse_settings
    from mlflow_tui.screens.start import StartScreen

    settings = parse_settings([])
    assert settings.uri is None
    app = make_app(settings)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(lambda: isinstance(app.screen, StartScreen))
        await pilot.press("q")
    assert list(tmp_path.iterdir()) == []


async def test_a_new_experiment_shows_in_the_tree_at_the_next_refresh(live_server,
                                                                      monkeypatch):
    """A training script creating an experiment: in the tree at the end of the very refresh
    it happens in, not at the next 30 s listing, nor a tick later (a one-result
    experiments/search probe, the tick's last request). The boundaries are held still: the
    loop is paused with no tick in flight, then the experiment is created on the real server
    in the middle of the next tick (as that tick starts listing its runs: Poller.tick, which
    only the monitor's loop calls, is wrapped to create it first); that tick must show it."""
    import asyncio

    from mlflow_tui.widgets import ExperimentTree

    client = live_server.client()
    tag = uuid.uuid4().hex[:6]
    first, second = f"tree/{tag}/a", f"tree/{tag}/b"
    client.create_experiment(first)
    app = make_app(Settings(uri=live_server.url, experiments=[first], interval=0.5))
    async with app.run_test(size=(160, 40)):
        session = app.session
        await wait_until(lambda: any(e.name == first for e in session.experiments), timeout=20)
        await wait_until(lambda: session.watched != (), timeout=20)
        session.paused = True  # as `p` does: no new tick starts
        await wait_until(lambda: session.busy_since is None, timeout=20,
                         message="the tick in flight done")
        poller = session.poller
        tick = poller.tick
        created: list[bool] = []

        async def tick_that_creates(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not created:  # the tick is underway: the training script creates it now
                created.append(True)
                await asyncio.to_thread(client.create_experiment, second)
            return await tick(*args, **kwargs)

        monkeypatch.setattr(poller, "tick", tick_that_creates)
        done: list[bool] = []  # per tick applied from now on: did the tree show it?
        tree = app.monitor.query_one(ExperimentTree)
        on_tick_done = type(app).on_tick_done

        def recording(self, message):  # type: ignore[no-untyped-def]
            on_tick_done(self, message)
            if created and not message.partial:
                done.append(tree.node_for_path(("tree", tag, "b")) is not None)

        monkeypatch.setattr(type(app), "on_tick_done", recording)
        session.toggle_pause()  # resume: the next tick starts now
        await wait_until(lambda: len(done) >= 1, timeout=20, message="the tick to end")
        assert done[0], "the tick during which the experiment was created did not show it"
        assert any(e.name == second for e in session.experiments)
