"""Deterministic sample data for Pilot and snapshot tests."""

from __future__ import annotations

import math
import random

from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from tests.fakes import FakeSource

T0 = 1_700_000_000_000  # ms
NOW = (T0 + 45 * 60 * 1000) / 1000  # frozen clock, seconds


def curves(epochs: int, *, overfit_at: int | None = None, seed: int = 1,
           nan_at: int | None = None) -> dict[str, list[tuple[int, float]]]:
    rng = random.Random(seed)
    train, val = [], []
    for e in range(epochs):
        t = 2.0 * math.exp(-e / 12) + 0.05 + rng.uniform(-0.02, 0.02)
        v = 2.1 * math.exp(-e / 12) + 0.15 + rng.uniform(-0.03, 0.03)
        if overfit_at is not None and e > overfit_at:
            v += 0.04 * (e - overfit_at)
        if nan_at is not None and e >= nan_at:
            t = v = float("nan")
        train.append((e, t))
        val.append((e, v))
    return {"train_loss": train, "val_loss": val,
            "train_acc": [(e, 1 - t / 3) for e, t in train]}


def sample_source() -> FakeSource:
    src = FakeSource()
    src.experiments = [
        Experiment("1", "HM_Dataset/binary_classification/Churn", last_update_time=T0),
        Experiment("2", "vision/resnet/cifar10", last_update_time=T0 + 1000),
        Experiment("3", "iteration / plugin_name / batch_7", last_update_time=T0 - 1000),
        Experiment("4", "Default", last_update_time=T0 - 5000),
    ]

    def run(rid, name, status, start_min, end_min=None, exp="2"):
        end = T0 + end_min * 60_000 if end_min is not None else None
        return Run(rid, exp, name, status, T0 + start_min * 60_000, end,
                   params={"lr": "0.01"}, tags={})

    recent = int(NOW * 1000) - 60_000  # live runs logged their last point a minute ago
    src.add_run(run("a1", "resnet18-lr0.1", RunStatus.RUNNING, 20), curves(40, overfit_at=14,
                seed=3), t0=recent - 39_000)
    src.add_run(run("a2", "resnet18-lr0.01", RunStatus.RUNNING, 15), curves(30, seed=4),
                t0=recent - 29_000)
    src.add_run(run("a3", "resnet34-[bold]baseline[/bold]", RunStatus.FINISHED, 5, 14),
                curves(60, seed=5))
    src.add_run(run("a4", "resnet50-diverged", RunStatus.FAILED, 3, 6), curves(12, nan_at=9,
                seed=6))
    src.add_run(run("a5", "resnet18-early", RunStatus.KILLED, 1, 2), curves(5, seed=7))
    src.add_run(run("a6", "resnet18-queued", RunStatus.SCHEDULED, 44), {})
    src.add_run(run("b1", "xgb-churn", RunStatus.FINISHED, 0, 4, exp="1"), curves(20, seed=8))
    return src


def fake_app(source: FakeSource | None = None, **settings):
    """The app on an in-memory source, with the clock frozen at NOW."""
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings

    settings.setdefault("interval", 0.3)
    return make_app(Settings(uri=FakeSource.display_uri, **settings),
                    source if source is not None else sample_source(), clock=lambda: NOW)


def now_source() -> FakeSource:
    """sample_source, with runs training in two more experiments (the Now view's snapshot):
    a boosting run that says its rounds, a plugin's run that says its epochs."""
    src = sample_source()
    recent = int(NOW * 1000) - 60_000
    src.add_run(Run("b2", "1", "xgb-churn-live", RunStatus.RUNNING, T0 + 30 * 60_000, None,
                    params={"num_boost_round": "200"}, tags={}),
                curves(50, seed=9), t0=recent - 49_000)
    src.add_run(Run("c1", "3", "plugin-batch-7", RunStatus.RUNNING, T0 + 25 * 60_000, None,
                    params={"epochs": "60"}, tags={}),
                curves(24, seed=10), t0=recent - 23_000)
    return src
