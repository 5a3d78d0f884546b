"""Unit tests of the online overfitting detector (pure Python, no Textual)."""

from __future__ import annotations

import math
import random
import time

import pytest

from mlflow_tui.analysis import OverfitFinding, detect_overfitting


def u_shaped(n: int = 60, minimum: int = 25, noise: float = 0.01, seed: int = 0):
    """Val falls to a minimum at index `minimum` then rises; train keeps falling."""
    rng = random.Random(seed)
    val = []
    train = []
    for i in range(n):
        x = (i - minimum) / n
        val.append((i, 0.5 + 2.0 * x * x + rng.gauss(0, noise)))
        train.append((i, 1.0 / (1 + 0.2 * i) + rng.gauss(0, noise / 4)))
    return train, val


def test_clear_overfit_found_near_minimum():
    train, val = u_shaped()
    f = detect_overfitting(train, val)
    assert isinstance(f, OverfitFinding)
    assert abs(f.best_step - 25) <= 4
    assert f.step == val[-1][0]
    assert f.val_rise > 0.05
    assert f.train_change < 0
    assert "val up" in f.reason and "train fell" in f.reason


def test_finding_is_frozen():
    train, val = u_shaped()
    f = detect_overfitting(train, val)
    assert f is not None
    with pytest.raises(AttributeError):
        f.step = 3  # type: ignore[misc]


def test_plateau_with_falling_train_is_not_overfitting():
    rng = random.Random(1)
    val = [(i, 0.4 + rng.gauss(0, 0.01)) for i in range(200)]
    train = [(i, 1.0 / (1 + 0.1 * i)) for i in range(200)]
    for k in range(5, len(val) + 1):
        assert detect_overfitting(train[:k], val[:k]) is None


def test_divergence_is_not_overfitting():
    # val and train both blow up: not overfitting.
    train, val = u_shaped()
    train = [(s, 0.3 + 0.02 * max(0, s - 25)) for s, _ in train]
    assert detect_overfitting(train, val) is None


def test_still_improving_is_none():
    val = [(i, 1.0 / (1 + 0.1 * i)) for i in range(100)]
    train = [(i, 0.9 / (1 + 0.15 * i)) for i in range(100)]
    assert detect_overfitting(train, val) is None


def test_different_cadences_train_per_batch_val_per_epoch():
    rng = random.Random(2)
    batches = 50
    train = [(b, 1.0 / (1 + 0.002 * b) + rng.gauss(0, 0.05)) for b in range(60 * batches)]
    _, v = u_shaped(n=60, minimum=25, seed=3)
    val = [((i + 1) * batches - 1, x) for i, (_, x) in enumerate(v)]
    f = detect_overfitting(train, val)
    assert f is not None
    assert abs(f.best_step - (26 * batches - 1)) <= 5 * batches
    assert f.step == val[-1][0]


def test_irregular_steps():
    train, val = u_shaped()
    val = [(s * 7 + (s % 3), x) for s, x in val]
    train = [(s * 7, x) for s, x in train]
    assert detect_overfitting(train, val) is not None


def test_non_finite_points_are_ignored():
    train, val = u_shaped()
    dirty_val = list(val)
    dirty_train = list(train)
    for i in (3, 30, 40):
        dirty_val.insert(i, (val[i][0], math.nan))
    dirty_val.insert(50, (val[50][0], math.inf))
    dirty_train.insert(10, (train[10][0], -math.inf))
    f = detect_overfitting(dirty_train, dirty_val)
    g = detect_overfitting(train, val)
    assert f is not None and g is not None
    assert (f.best_step, f.step, f.val_rise) == (g.best_step, g.step, g.val_rise)


def test_all_nan_is_none():
    nan = [(i, math.nan) for i in range(50)]
    assert detect_overfitting(nan, nan) is None


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_very_short_curves_return_none(n):
    train, val = u_shaped()
    assert detect_overfitting(train[:n], val[:n]) is None
    assert detect_overfitting([], val[:n]) is None


def test_empty_train_is_none():
    _, val = u_shaped()
    assert detect_overfitting([], val) is None


def test_very_long_curves_finish():
    rng = random.Random(4)
    n = 100_000
    train = [(s, 2.0 / (1 + 0.0001 * s) + rng.gauss(0, 0.05)) for s in range(n)]
    _, v = u_shaped(n=100, minimum=40, seed=5)
    val = [(i * 1000 + 999, x) for i, (_, x) in enumerate(v)]
    start = time.perf_counter()
    f = detect_overfitting(train, val)
    elapsed = time.perf_counter() - start
    assert f is not None
    assert elapsed < 10  # generous: only guards against quadratic behaviour


def test_higher_is_better_accuracy_falls_while_train_rises():
    train, val = u_shaped()
    acc_val = [(s, 1.0 - x) for s, x in val]  # peaks at the loss minimum
    acc_train = [(s, 1.0 - x) for s, x in train]  # keeps rising
    f = detect_overfitting(acc_train, acc_val, higher_is_better=True)
    assert f is not None
    assert abs(f.best_step - 25) <= 4
    assert f.val_rise > 0  # worsening, in the metric's direction
    assert "val down" in f.reason and "train rose" in f.reason
    # read as a loss, the same accuracy curves are not overfitting
    assert detect_overfitting(acc_train, acc_val) is None


def test_deterministic():
    train, val = u_shaped(seed=7)
    assert detect_overfitting(train, val) == detect_overfitting(list(train), list(val))


def test_online_prefix_uses_only_prefix():
    train, val = u_shaped(n=80, minimum=30, seed=8)
    # replay as score.py does: after each val point, see the val and train logged so far
    first = None
    for j in range(len(val)):
        step = val[j][0]
        t = [p for p in train if p[0] <= step]
        f = detect_overfitting(t, val[: j + 1])
        if f is not None:
            first = (j, f)
            break
    assert first is not None
    j, f = first
    assert f.step == val[j][0]
    # future points (even wild ones) cannot change the verdict on the prefix
    altered_future = val[: j + 1] + [(s, 0.0) for s, _ in val[j + 1:]]
    t = [p for p in train if p[0] <= val[j][0]]
    assert detect_overfitting(t, altered_future[: j + 1]) == f
    # and before the alarm there was no finding
    assert all(detect_overfitting([p for p in train if p[0] <= val[k][0]], val[: k + 1]) is None
               for k in range(j))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_noisy_plateau_never_alarms(seed):
    # 300 val points, flat with 2.5% noise, train still falling: never a finding on any prefix.
    rng = random.Random(seed)
    val = [(i, 0.4 * (1 + rng.gauss(0, 0.025))) for i in range(300)]
    train = [(i, 1.0 / (1 + 0.1 * i)) for i in range(300)]
    for k in range(5, len(val) + 1):
        assert detect_overfitting(train[:k], val[:k]) is None


def test_slow_improving_noisy_val_does_not_alarm():
    rng = random.Random(11)
    val = [(i, 0.5 * (1 - 0.1 * i / 200) * (1 + rng.gauss(0, 0.02))) for i in range(200)]
    train = [(i, 1.0 / (1 + 0.1 * i)) for i in range(200)]
    for k in range(5, len(val) + 1):
        assert detect_overfitting(train[:k], val[:k]) is None


def test_val_rise_while_train_turns_up_is_not_overfitting():
    # train first falls below its value at the val minimum, then turns up with val: divergence.
    train, val = u_shaped()
    train = [(s, 1.0 / (1 + 0.2 * s) if s <= 30 else 1.0 / 7 + 0.01 * (s - 30)) for s, _ in train]
    for k in range(32, len(val) + 1):
        assert detect_overfitting(train[:k], val[:k]) is None


def test_a_best_of_exactly_zero_is_told_without_an_infinite_percentage():
    """A validation loss that reached 0 (or an accuracy that reached 1.0) has no relative rise:
    the reason said "val up inf%"."""
    from mlflow_tui.analysis.overfit import quiet_reason

    train = [(i, 1.0 / (i + 1)) for i in range(40)]
    val = [(i, 0.0) for i in range(10)] + [(10 + i, 0.001 * i) for i in range(1, 6)]
    found = detect_overfitting(train, val)
    assert found is not None and "inf" not in found.reason
    assert found.reason.startswith("val up from 0 since step ")
    acc = [(i, 1.0) for i in range(10)] + [(10 + i, 1.0 - 0.01 * i) for i in range(1, 6)]
    acc_train = [(i, min(1.0, 0.5 + 0.05 * i)) for i in range(40)]
    found = detect_overfitting(acc_train, acc, higher_is_better=True)
    assert found is not None and found.reason.startswith("val down from 1 since step ")
    rising_train = [(i, 1.0 + 0.1 * i) for i in range(40)]
    assert quiet_reason(rising_train, val) == (
        "validation is worse than its best of 0, but train got worse too "
        "(a blow-up, not overfitting)")
