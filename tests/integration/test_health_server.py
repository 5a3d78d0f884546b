"""Overfitting badge against a real server: within one tick of the detector firing on the
server's own history; never on a healthy run."""

from __future__ import annotations

import time
import uuid

from mlflow.entities import Metric

from mlflow_tui.analysis import detect_overfitting
from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import RunTable
from tests.conftest import wait_until
from tests.sample_data import curves

EPOCHS = 30  # the detector fires at epoch 24 on these curves: six epochs of a raised badge


async def test_badge_follows_the_detector_and_never_marks_a_healthy_run(live_server):
    client = live_server.client()
    name = f"health/{uuid.uuid4().hex[:6]}/exp"
    exp = client.create_experiment(name)
    over = client.create_run(exp, run_name="overfits").info.run_id
    healthy = client.create_run(exp, run_name="healthy").info.run_id
    data = {over: curves(EPOCHS, overfit_at=12, seed=3), healthy: curves(EPOCHS, seed=4)}
    app = make_app(Settings(uri=live_server.url, experiments=[name], interval=0.1))
    badges: list[tuple[str, str]] = []  # (overfits, healthy) after each epoch's log
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: app.ticks > 0 and app.session.watched == (exp,), timeout=15)
        table = app.monitor.query_one(RunTable)
        for epoch in range(EPOCHS):
            now = int(time.time() * 1000)
            for rid, series in data.items():
                client.log_batch(rid, metrics=[Metric(k, pts[epoch][1], now, epoch)
                                               for k, pts in series.items()])
            # One full tick that started after the log.
            ticks = app.ticks
            await wait_until(lambda: app.ticks >= ticks + 2, timeout=15)  # noqa: B023
            badges.append((str(table.get_cell(over, "warn")),
                           str(table.get_cell(healthy, "warn"))))
    # The detector on the server's own history as it stood after each epoch: one step logged
    # per epoch, so that history is the first epoch + 1 points of the whole one, read once.
    history = {(rid, key): sorted(((m.step, m.value) for m in
                                   client.get_metric_history(rid, key)), key=lambda p: p[0])
               for rid in data for key in ("train_loss", "val_loss")}
    for series in history.values():
        assert [step for step, _ in series] == list(range(EPOCHS))
    fired_at = None
    for epoch, (badge, healthy_badge) in enumerate(badges):
        truth = {rid: detect_overfitting(history[(rid, "train_loss")][:epoch + 1],
                                         history[(rid, "val_loss")][:epoch + 1])
                 for rid in data}
        assert healthy_badge == "", f"healthy run marked at {epoch}"
        assert truth[healthy] is None
        if truth[over] is not None:
            fired_at = epoch if fired_at is None else fired_at
            assert badge == "⚠ overfit", f"detector fired at {epoch}, badge {badge!r}"
        else:
            assert badge == "", f"badge {badge!r} at {epoch}, the detector had not fired"
    assert fired_at is not None and 12 < fired_at < EPOCHS
