"""The system-metrics panel against a real `mlflow server`: MLflow's own keys, logged the way
its monitor logs them (every key of a sample at one step, counting up)."""

from __future__ import annotations

import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.analysis.system_metrics import WINDOW_STEPS
from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import Sparklines
from tests.conftest import screen_text, wait_until

SYSTEM = {
    "system/gpu_0_utilization_percentage": lambda s: 90.0 + s % 5,
    "system/gpu_0_memory_usage_percentage": lambda s: 71.0,
    "system/gpu_0_memory_usage_megabytes": lambda s: 17_000.0,
    "system/gpu_0_power_usage_watts": lambda s: 250.0,
    "system/cpu_utilization_percentage": lambda s: 35.0,
    "system/system_memory_usage_percentage": lambda s: 48.0,
    "system/system_memory_usage_megabytes": lambda s: 31_000.0,
    "system/disk_usage_percentage": lambda s: 63.0,
    "system/network_receive_megabytes": lambda s: 5.0 * s,
}


def _log_samples(client, run_id: str, steps, start_ms: int, util=None) -> None:
    metrics = []
    for s in steps:
        for key, f in SYSTEM.items():
            value = util if util is not None and "gpu_0_util" in key else f(s)
            metrics.append(Metric(key, value, start_ms + s * 10_000, s))
    client.log_batch(run_id, metrics=metrics)


def _rows(app) -> dict:
    return {r.label: r for r in app.monitor.query_one(Sparklines).rows}


@pytest.mark.waits  # waits on new samples
async def test_panel_shows_system_metrics_and_follows_new_samples(live_server):
    client = live_server.client()
    name = f"system/{uuid.uuid4().hex[:6]}/exp"
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="gpu-train").info.run_id  # RUNNING
    now = int(time.time() * 1000)
    start = now - 100 * 10_000
    client.log_batch(rid, metrics=[Metric(k, 1.0 / (s + 1), now, s) for s in range(5)
                                   for k in ("train_loss", "val_loss")])
    for chunk in range(0, 100, 50):  # 100 samples: more than the window the panel keeps
        _log_samples(client, rid, range(chunk, chunk + 50), start)
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.5))
    async with app.run_test(size=(150, 40)):
        await wait_until(lambda: app.monitor is not None and app.session.highlighted == rid
                         and "GPU0 util" in _rows(app)
                         and len(_rows(app)["GPU0 util"].values) == WINDOW_STEPS,
                         timeout=20, message="the system window loaded")
        assert app.monitor.query_one("#system").display
        rows = _rows(app)
        assert list(rows) == ["GPU0 util", "GPU0 mem", "GPU0 power", "CPU", "RAM", "Disk",
                              "Net rx"]
        assert rows["GPU0 util"].value == f"{90 + 99 % 5}%"
        assert rows["GPU0 power"].value == "250 W" and rows["Net rx"].value == "0.50 MB/s"
        cached = app.session.system_points[(rid, "system/gpu_0_utilization_percentage")]
        assert [p.step for p in cached] == list(range(100 - WINDOW_STEPS, 100))  # bounded
        text = screen_text(app)
        assert "GPU0 util" in text and "250 W" in text and "48%" in text
        # The loss chart keeps its own metrics.
        assert app.session.view_for(app.session.poller.runs[rid]) == ("train_loss", "val_loss")

        # New samples: the GPU goes idle. Each reaches the panel; after a minute of them the
        # row is flagged (the run is RUNNING).
        _log_samples(client, rid, [100], start, util=3.0)
        await wait_until(lambda: _rows(app)["GPU0 util"].value == "3%", timeout=15,
                         message="the next sample")
        assert not _rows(app)["GPU0 util"].alert
        _log_samples(client, rid, range(101, 108), start, util=1.0)  # a gap of seven
        await wait_until(lambda: _rows(app)["GPU0 util"].alert, timeout=15,
                         message="the idle GPU flagged")
        cached = app.session.system_points[(rid, "system/gpu_0_utilization_percentage")]
        assert [p.step for p in cached] == list(range(108 - WINDOW_STEPS, 108))
        history = client.get_metric_history(rid, "system/gpu_0_utilization_percentage")
        assert [(p.step, p.value) for p in cached] == [
            (m.step, m.value) for m in sorted(history, key=lambda m: m.step)][-WINDOW_STEPS:]
        assert "GPU0 util idle" in screen_text(app)

        client.set_terminated(rid, "FINISHED")
        await wait_until(lambda: not _rows(app)["GPU0 util"].alert, timeout=15,
                         message="no idle flag once the run ended")
