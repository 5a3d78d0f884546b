"""Unit tests of run health warnings (pure Python, no Textual)."""

from __future__ import annotations

import math
import random

import pytest

from mlflow_tui.analysis.health import (
    HealthSettings,
    HealthWarning,
    Kind,
    assess,
    badge,
    diverged,
    format_duration,
    stalled,
)
from mlflow_tui.tracking.models import Point, Run, RunStatus

NAN = float("nan")
INF = float("inf")
NOW = 1_700_000_000_000  # ms
S = 1000  # ms per second


def loss(n: int = 30) -> list[tuple[int, float]]:
    return [(i, 1.0 / (1 + 0.3 * i)) for i in range(n)]


def u_shaped(n: int = 60, minimum: int = 25, noise: float = 0.01, seed: int = 0):
    """Val falls to a minimum at index `minimum` then rises; train keeps falling."""
    rng = random.Random(seed)
    val, train = [], []
    for i in range(n):
        x = (i - minimum) / n
        val.append((i, 0.5 + 2.0 * x * x + rng.gauss(0, noise)))
        train.append((i, 1.0 / (1 + 0.2 * i) + rng.gauss(0, noise / 4)))
    return train, val


def make_run(status: RunStatus = RunStatus.RUNNING, start: int | None = NOW - 3600 * S,
             metrics: dict[str, Point] | None = None) -> Run:
    return Run(run_id="r1", experiment_id="0", name="run", status=status, start_time=start,
               metrics=metrics or {})


def every(seconds: float, n: int, last: int) -> list[int]:
    """n timestamps `seconds` apart, the last one at `last`."""
    return [int(last - (n - 1 - i) * seconds * S) for i in range(n)]


# --- diverged -------------------------------------------------------------------------------


def test_nan_at_end_is_diverged():
    pts = loss() + [(30, NAN), (31, NAN)]
    w = diverged(pts, name="train_loss")
    assert w is not None and w.kind is Kind.DIVERGED
    assert w.step == 30
    assert w.reason == "train_loss is NaN since step 30"
    assert w.severity == 3


def test_nan_in_middle_then_recovery_is_not_diverged():
    pts = loss(10) + [(10, NAN)] + [(i, 0.2) for i in range(11, 20)]
    assert diverged(pts, name="train_loss") is None


@pytest.mark.parametrize("value,text", [(INF, "inf"), (-INF, "-inf")])
def test_infinite_last_value(value, text):
    w = diverged(loss() + [(30, value)], name="val_loss")
    assert w is not None and w.step == 30
    assert w.reason == f"val_loss is {text} since step 30"


def test_sustained_explosion_is_diverged():
    pts = loss(20) + [(20, 50.0), (21, 80.0), (22, 120.0)]
    w = diverged(pts, name="train_loss")
    assert w is not None and w.kind is Kind.DIVERGED
    assert w.step == 20
    assert "train_loss exploded" in w.reason and "since step 20" in w.reason


def test_single_spike_is_not_diverged():
    pts = loss(20) + [(20, 50.0), (21, 0.15), (22, 0.14)]
    assert diverged(pts) is None
    # Two exploded points are still not "sustained".
    assert diverged(loss(20) + [(20, 50.0), (21, 60.0)]) is None


def test_explosion_needs_improvement_first_and_exceeding_first_value():
    # Never improved: a flat loss that then rises is not an explosion from a best.
    assert diverged([(i, 1.0) for i in range(10)] + [(10, 20.0), (11, 30.0), (12, 40.0)]) is None
    # Above 10x best but still below the first value: not diverged.
    pts = [(0, 100.0)] + [(i, 1.0) for i in range(1, 10)] + [(10, 20.0), (11, 30.0), (12, 40.0)]
    assert diverged(pts) is None


def test_explosion_factor_is_a_setting():
    pts = loss(20) + [(20, 1.2), (21, 1.3), (22, 1.4)]  # best ~0.15, first 1.0
    assert diverged(pts) is None
    assert diverged(pts, settings=HealthSettings(explode_factor=5.0)) is not None


def test_explosion_of_a_negative_loss():
    # Best <= 0: rose above the best by more than factor x the whole improvement.
    pts = [(i, -float(i)) for i in range(10)] + [(10, 100.0), (11, 120.0), (12, 130.0)]
    assert diverged(pts) is not None
    assert diverged([(i, -float(i)) for i in range(10)] + [(10, 5.0)] * 3) is None


def test_exploding_off_checks_only_nan():
    pts = loss(20) + [(20, 50.0), (21, 80.0), (22, 120.0)]
    assert diverged(pts, exploding=False) is None
    assert diverged(pts + [(23, NAN)], exploding=False) is not None


def test_diverged_empty_and_garbage():
    assert diverged([]) is None
    assert diverged([(0, None), ("x", 1.0)]) is None  # type: ignore[list-item]


def test_diverged_accepts_points():
    pts = [Point(i, v) for i, v in loss(5)] + [Point(5, NAN)]
    w = diverged(pts, name="loss")  # type: ignore[arg-type]
    assert w is not None and w.step == 5


# --- stalled --------------------------------------------------------------------------------

STALL = HealthSettings(stall_factor=10.0, stall_min_seconds=60.0)


def test_stalled_when_silent_far_longer_than_usual():
    ts = every(10, 30, NOW - 120 * S)  # logged every 10 s, silent for 2 min
    w = stalled(RunStatus.RUNNING, ts, NOW, STALL)
    assert w is not None and w.kind is Kind.STALLED
    assert w.reason == "no new metric for 2m (logs every ~10s)"
    assert w.severity == 2


def test_not_stalled_when_silent_briefly():
    ts = every(10, 30, NOW - 50 * S)
    assert stalled(RunStatus.RUNNING, ts, NOW, STALL) is None


def test_stall_threshold_follows_the_run_interval():
    # Logs every 60 s: 2 min of silence is normal, 15 min is not.
    ts = every(60, 20, NOW - 120 * S)
    assert stalled(RunStatus.RUNNING, ts, NOW, STALL) is None
    ts = every(60, 20, NOW - 15 * 60 * S)
    w = stalled(RunStatus.RUNNING, ts, NOW, STALL)
    assert w is not None and w.reason == "no new metric for 15m (logs every ~1m)"


def test_stall_min_seconds_is_a_floor():
    ts = every(1, 30, NOW - 120 * S)  # 10 x 1 s is tiny; the 300 s default floor applies
    assert stalled(RunStatus.RUNNING, ts, NOW) is None
    assert stalled(RunStatus.RUNNING, every(1, 30, NOW - 301 * S), NOW) is not None


def test_metrics_logged_together_do_not_shrink_the_interval():
    base = every(10, 30, NOW - 120 * S)
    ts = sorted(base + [t + 3 for t in base])  # two keys per step, 3 ms apart
    w = stalled(RunStatus.RUNNING, ts, NOW, STALL)
    assert w is not None and "logs every ~10s" in w.reason


@pytest.mark.parametrize("status", [RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED,
                                    RunStatus.SCHEDULED, "FINISHED"])
def test_only_running_runs_stall(status):
    ts = every(10, 30, NOW - 3600 * S)
    assert stalled(status, ts, NOW, STALL) is None


def test_status_as_string():
    ts = every(10, 30, NOW - 3600 * S)
    assert stalled("RUNNING", ts, NOW, STALL) is not None
    assert stalled("running", ts, NOW, STALL) is not None


def test_no_timestamps_uses_run_start():
    w = stalled(RunStatus.RUNNING, [], NOW, STALL, start_ms=NOW - 10 * 60 * S)
    assert w is not None and w.reason == "no metric logged in 10m since start"
    assert stalled(RunStatus.RUNNING, [], NOW, STALL, start_ms=NOW - 30 * S) is None
    assert stalled(RunStatus.RUNNING, [], NOW, STALL) is None  # nothing known at all


def test_few_timestamps_fall_back_to_min_seconds_from_latest():
    ts = [NOW - 70 * S, NOW - 65 * S]  # two events: interval unknown
    w = stalled(RunStatus.RUNNING, ts, NOW, STALL)
    assert w is not None and w.reason == "no new metric for 1m05s"
    assert stalled(RunStatus.RUNNING, [NOW - 50 * S], NOW, STALL) is None


def test_last_ms_counts_as_activity():
    ts = every(10, 30, NOW - 120 * S)
    assert stalled(RunStatus.RUNNING, ts, NOW, STALL, last_ms=NOW - 5 * S) is None


def test_zero_timestamps_are_unknown():
    w = stalled(RunStatus.RUNNING, [0, 0, 0], NOW, STALL, start_ms=NOW - 10 * 60 * S)
    assert w is not None and "since start" in w.reason


@pytest.mark.parametrize("seconds,text", [(0.5, "0.5s"), (45, "45s"), (60, "1m"),
                                          (150, "2m30s"), (14 * 60 + 20, "14m"),
                                          (3600, "1h"), (3 * 3600 + 20 * 60, "3h20m"),
                                          (2 * 86400 + 4 * 3600, "2d4h")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


# --- assess ---------------------------------------------------------------------------------


def test_failed_and_killed():
    w = assess(make_run(RunStatus.FAILED), [], [], now_ms=NOW)
    assert [(x.kind, x.reason, x.severity) for x in w] == [(Kind.FAILED, "run FAILED", 4)]
    w = assess(make_run(RunStatus.KILLED), [], [], now_ms=NOW)
    assert [(x.kind, x.reason, x.severity) for x in w] == [(Kind.KILLED, "run KILLED", 1)]
    assert assess(make_run(RunStatus.FINISHED), loss(), loss(), now_ms=NOW) == []


def test_healthy_running_run():
    ts = every(10, 30, NOW - 5 * S)
    assert assess(make_run(), loss(), loss(), now_ms=NOW, timestamps_ms=ts) == []


def test_overfitting_reason_uses_metric_names():
    train, val = u_shaped()
    w = assess(make_run(RunStatus.FINISHED), train, val, now_ms=NOW,
               train_key="loss/train", val_key="loss/val")
    assert [x.kind for x in w] == [Kind.OVERFITTING]
    o = w[0]
    assert o.reason.startswith("loss/val up ") and " while loss/train fell " in o.reason
    assert "since step" in o.reason
    assert o.best_step is not None and abs(o.best_step - 25) <= 4
    assert o.step == val[-1][0]
    assert o.severity == 2


def test_overfitting_accuracy_pair_reason():
    train, val = u_shaped()
    acc_train = [(s, 1.0 - v) for s, v in train]
    acc_val = [(s, 1.0 - v) for s, v in val]
    w = assess(make_run(RunStatus.FINISHED), acc_train, acc_val, now_ms=NOW,
               higher_is_better=True, train_key="train_acc", val_key="val_acc")
    assert [x.kind for x in w] == [Kind.OVERFITTING]
    assert w[0].reason.startswith("val_acc down ") and " while train_acc rose " in w[0].reason


def test_diverged_suppresses_overfitting():
    train, val = u_shaped()
    val = val + [(60, NAN)]
    w = assess(make_run(RunStatus.FINISHED), train, val, now_ms=NOW)
    assert [x.kind for x in w] == [Kind.DIVERGED]
    assert w[0].reason == "val_loss is NaN since step 60"


def test_train_and_val_both_diverged_gives_one_warning():
    w = assess(make_run(RunStatus.FINISHED), loss() + [(30, NAN)], loss(31) + [(31, INF)],
               now_ms=NOW)
    assert [x.kind for x in w] == [Kind.DIVERGED]
    assert w[0].reason == "train_loss is NaN since step 30 (also val_loss)"
    assert w[0].step == 30


def test_accuracy_pair_only_nan_counts():
    acc = [(i, min(0.99, 0.1 * i)) for i in range(10)]
    exploding = [(i, 0.01) for i in range(10)] + [(10, 5.0), (11, 6.0), (12, 7.0)]
    run = make_run(RunStatus.FINISHED)
    assert assess(run, exploding, acc, now_ms=NOW, higher_is_better=True,
                  train_key="train_acc", val_key="val_acc") == []
    w = assess(run, acc, acc + [(10, NAN)], now_ms=NOW, higher_is_better=True,
               train_key="train_acc", val_key="val_acc")
    assert [(x.kind, x.reason) for x in w] == [(Kind.DIVERGED, "val_acc is NaN since step 10")]


def test_loss_explosion_in_assess():
    pts = loss(20) + [(20, 50.0), (21, 80.0), (22, 120.0)]
    w = assess(make_run(RunStatus.FINISHED), pts, [], now_ms=NOW)
    assert [x.kind for x in w] == [Kind.DIVERGED]


def test_latest_metric_nan_counts_even_without_series():
    run = make_run(RunStatus.FINISHED,
                   metrics={"loss": Point(812, NAN, NOW), "lr": Point(812, 1e-3, NOW)})
    w = assess(run, [], [], now_ms=NOW)
    assert [(x.kind, x.reason, x.step) for x in w] == [
        (Kind.DIVERGED, "loss is NaN at step 812", 812)]


def test_system_metrics_are_ignored():
    run = make_run(RunStatus.FINISHED, metrics={"system/gpu_power": Point(1, NAN, NOW)})
    assert assess(run, [], [], now_ms=NOW) == []


def test_recovered_latest_metric_overrides_lagging_series():
    run = make_run(RunStatus.FINISHED, metrics={"train_loss": Point(40, 0.1, NOW)})
    assert assess(run, loss() + [(30, NAN)], [], now_ms=NOW) == []


def test_assess_stalled_uses_run_start_and_metric_timestamps():
    run = make_run(start=NOW - 20 * 60 * S)
    w = assess(run, [], [], now_ms=NOW)
    assert [(x.kind, x.reason) for x in w] == [
        (Kind.STALLED, "no metric logged in 20m since start")]
    run = make_run(start=NOW - 20 * 60 * S, metrics={"loss": Point(5, 0.3, NOW - 10 * S)})
    assert assess(run, [], [], now_ms=NOW) == []
    ts = every(10, 30, NOW - 120 * S)
    w = assess(make_run(), loss(), loss(), now_ms=NOW, timestamps_ms=ts, settings=STALL)
    assert [x.kind for x in w] == [Kind.STALLED]


def test_severity_sort():
    # A FAILED run that diverged and (per its timestamps) would look stalled if running.
    run = make_run(RunStatus.FAILED)
    w = assess(run, loss() + [(30, NAN)], loss(), now_ms=NOW)
    assert [x.kind for x in w] == [Kind.FAILED, Kind.DIVERGED]
    # Running, overfitting and stalled: overfitting (2) then stalled (2), stable order.
    train, val = u_shaped()
    ts = every(10, 30, NOW - 3600 * S)
    w = assess(make_run(), train, val, now_ms=NOW, timestamps_ms=ts)
    assert [x.kind for x in w] == [Kind.OVERFITTING, Kind.STALLED]
    # Killed (1) after diverged (3).
    w = assess(make_run(RunStatus.KILLED), loss() + [(30, INF)], [], now_ms=NOW)
    assert [x.kind for x in w] == [Kind.DIVERGED, Kind.KILLED]
    assert [x.severity for x in w] == sorted((x.severity for x in w), reverse=True)


def test_determinism():
    train, val = u_shaped(seed=3)
    ts = every(10, 30, NOW - 3600 * S)
    run = make_run(metrics={"x": Point(3, NAN, NOW - 3600 * S)})
    a = assess(run, train, val, now_ms=NOW, timestamps_ms=ts)
    b = assess(run, list(train), list(val), now_ms=NOW, timestamps_ms=list(ts))
    assert a == b and a
    assert badge(a) == badge(b)


def test_inputs_not_mutated():
    train, val = u_shaped()
    t0, v0 = list(train), list(val)
    assess(make_run(), train, val, now_ms=NOW)
    assert train == t0 and val == v0


# --- badge ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,text", [(Kind.OVERFITTING, "⚠ overfit"),
                                       (Kind.DIVERGED, "✘ diverged"),
                                       (Kind.STALLED, "⏸ stalled"),
                                       (Kind.FAILED, "✘ failed"),
                                       (Kind.KILLED, "■ killed")])
def test_badge_single(kind, text):
    assert badge([HealthWarning(kind, "r")]) == text


def test_badge_empty_and_multiple():
    assert badge([]) == ""
    ws = [HealthWarning(Kind.STALLED, "s", severity=2),
          HealthWarning(Kind.DIVERGED, "d", severity=3)]
    assert badge(ws) == "✘ diverged +1"
    run = make_run(RunStatus.FAILED)
    assert badge(assess(run, loss() + [(30, NAN)], [], now_ms=NOW)) == "✘ failed +1"


def test_warning_is_frozen_and_kind_is_str():
    w = HealthWarning(Kind.STALLED, "s")
    with pytest.raises(AttributeError):
        w.reason = "x"  # type: ignore[misc]
    assert Kind.DIVERGED == "diverged"
    assert math.isnan(NAN)
