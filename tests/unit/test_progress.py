"""Rate and ETA (tui/analysis/progress.py) on runs recorded from real trainings with each
library's own MLflow integration (tests/data/libraries), and on hand-made edge cases."""

from __future__ import annotations

import math

import pytest

from mlflow_tui.analysis.progress import progress, rate_of, total_of
from mlflow_tui.tracking.models import Point
from tests.library_runs import Fixture, fixtures


def _longest(fx: Fixture) -> list[Point]:
    # The series that advances most (Keras autolog also logs validation_* all at step 0).
    key = max(fx.metrics, key=lambda k: (len({p[0] for p in fx.metrics[k]}), k))
    return sorted(fx.points(key), key=lambda p: (p.step, p.timestamp))


def _epoch(fx: Fixture, upto: int | None = None) -> Point | None:
    pts = [p for p in fx.points("epoch") if upto is None or p.step <= upto]
    return max(pts, key=lambda p: (p.step, p.timestamp)) if pts else None


def _finished_with_total() -> list[Fixture]:
    out = []
    for fx in fixtures():
        pts = _longest(fx)
        params = fx.data["run"].get("params") or {}
        if fx.data["run"].get("status") != "FINISHED" or len(pts) < 10:
            continue
        if total_of(params, pts[-1].step, _epoch(fx)) is not None:
            out.append(fx)
    return out


FINISHED = _finished_with_total()


def test_the_recorded_libraries_give_a_total():
    libraries = {fx.data["library"] for fx in FINISHED}
    # XGBoost and LightGBM (num_boost_round), Keras / Lightning autolog (epochs), Hugging Face
    # (max_steps, or num_train_epochs through its epoch metric).
    assert {"xgboost", "lightgbm", "transformers"} <= libraries, libraries
    assert len(FINISHED) >= 40


@pytest.mark.parametrize("fx", FINISHED, ids=[f.name for f in FINISHED])
def test_total_matches_where_the_run_ended(fx: Fixture):
    """A run that ran its course ends within one step (0- or 1-based counting) of the total
    its params give; one stopped early (early stopping, a `max_steps` cut) ends before it."""
    pts = _longest(fx)
    params = fx.data["run"].get("params") or {}
    total = total_of(params, pts[-1].step, _epoch(fx))
    assert total is not None
    assert pts[-1].step <= total + 1
    stopped_early = "early" in fx.name or params.get("early_stopping_rounds") not in (
        None, "None")
    if not stopped_early:
        assert pts[-1].step >= total - 1 or pts[-1].step >= 0.5 * total, (pts[-1].step, total)


def test_eta_halfway_is_the_time_the_runs_really_took():
    """Halfway through each recorded run that ran its course (by logged points), the ETA from
    the pace so far against the time the rest really took. Real trainings change pace (first
    steps compile, evaluation, a busy machine; these ran side by side on a shared 2-core box):
    most ETAs are close, none is wildly off."""
    ratios = []
    for fx in FINISHED:
        pts = _longest(fx)
        params = fx.data["run"].get("params") or {}
        total = total_of(params, pts[-1].step, _epoch(fx))
        assert total is not None
        if pts[-1].step < total - 1:
            continue  # stopped before its total: the ETA was for a longer run
        half = pts[: len(pts) // 2]
        got = progress(half, params, start_time=fx.data["run"].get("start_time"),
                       epoch=_epoch(fx, half[-1].step))
        really_s = (pts[-1].timestamp - half[-1].timestamp) / 1000
        if really_s < 2:
            continue  # over in a moment: too short to time
        assert got.rate is not None and got.rate > 0 and got.eta_s is not None, fx.name
        ratios.append(got.eta_s / really_s)
    assert len(ratios) >= 25
    ratios.sort()
    median = ratios[len(ratios) // 2]
    close = sum(0.5 <= r <= 2 for r in ratios) / len(ratios)
    assert 0.8 <= median <= 1.25, ratios
    assert close >= 0.8, ratios
    assert 0.2 <= ratios[0] and ratios[-1] <= 5, ratios


def test_rate_edge_cases():
    assert rate_of([]) is None
    assert rate_of([Point(5, 1.0, 1000)]) is None  # one point, no start time
    assert rate_of([Point(5, 1.0, 61_000)], start_time=1000) == pytest.approx(5.0)
    assert rate_of([Point(5, 1.0, 1000), Point(5, 1.0, 2000)]) is None  # no progress
    assert rate_of([Point(1, 1.0, 2000), Point(3, 1.0, 2000)]) is None  # no time passed
    # A batch logged right after the run was created (every point 30 ms after its start, or
    # two batches 10 ms apart) gives no pace; a second later it does.
    batch = [Point(s, 1.0, 1030) for s in range(60)]
    assert rate_of(batch, start_time=1000) is None
    assert rate_of(batch[:30] + [Point(s, 1.0, 1040) for s in range(30, 60)]) is None
    assert rate_of(batch, start_time=-970) == pytest.approx(59 * 60.0 / 2)
    assert rate_of([Point(0, 1.0, 0), Point(10, 1.0, 60_000)]) == pytest.approx(10.0)
    # The last quarter of the run's time counts: a run that sped up is timed at its new pace.
    slow = [Point(i, 1.0, i * 60_000) for i in range(10)]  # 1 step a minute for 10 min
    fast = [Point(10 + i, 1.0, 10 * 60_000 + i * 1000) for i in range(1, 1201)]  # then 60
    assert rate_of(slow + fast) == pytest.approx(60.0)
    # Points stamped in bursts (batch logging): timed over at least a minute, not a burst.
    bursts = [Point(b * 10 + i, 1.0, b * 20_000 + i) for b in range(10) for i in range(10)]
    assert rate_of(bursts) == pytest.approx(30.0, rel=0.05)


@pytest.mark.parametrize("params,step,epoch,total", [
    ({}, 10, None, None),
    ({"max_steps": "-1"}, 10, None, None),  # Hugging Face / Lightning: unset
    ({"max_steps": "600", "num_train_epochs": "3.0"}, 10, None, 600),
    ({"num_boost_round": "300"}, 10, None, 300),
    ({"n_estimators": "100.0"}, 10, None, 100),
    ({"epochs": "40"}, 12, None, 40),  # steps count epochs
    ({"epochs": "40"}, 1200, None, None),  # steps are batches: epochs say nothing
    ({"num_train_epochs": "3.0", "max_steps": "-1"}, 300, Point(300, 1.5, 0), 600),
    ({"num_train_epochs": "3.0"}, 300, Point(300, math.nan, 0), None),
    ({"epochs": "nan"}, 3, None, None),
    ({"epochs": "ten"}, 3, None, None),
])
def test_total_of(params, step, epoch, total):
    assert total_of(params, step, epoch) == total


def test_progress_fraction_and_no_eta_past_the_end():
    done = progress([Point(0, 1, 0), Point(300, 1, 60_000)], {"num_boost_round": "300"})
    assert done.eta_s is None and done.fraction == 1.0
    half = progress([Point(0, 1, 0), Point(150, 1, 60_000)], {"num_boost_round": "300"})
    assert half.fraction == pytest.approx(0.5) and half.eta_s == pytest.approx(60.0)
