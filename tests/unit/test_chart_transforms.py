"""Chart transforms: EMA smoothing, zoom to the last N points, log-safe data, y range."""

from __future__ import annotations

import math

import pytest

from mlflow_tui.widgets import (
    ChartOptions,
    ema,
    format_relative,
    format_wall,
    last_n,
    log_safe,
    y_range,
)
from mlflow_tui.widgets.chart import _log_ticks, _time_ticks

NAN = math.nan
INF = math.inf


def _ys(points):
    return [y for _, y in points]


# ---------------------------------------------------------------------------- ema
def test_ema_constant_series_stays_constant():
    points = [(float(i), 3.25) for i in range(500)]
    for weight in (0.1, 0.6, 0.99):
        assert _ys(ema(points, weight)) == pytest.approx([3.25] * 500, rel=1e-12)


def test_ema_debiased_first_value_is_first_raw_value():
    points = [(0.0, 10.0), (1.0, 0.0), (2.0, 0.0)]
    out = ema(points, 0.9)
    assert out[0] == (0.0, 10.0)
    # Debiased: s1 = (0.9 * 0.1 * 10) / (1 - 0.81)
    assert out[1][1] == pytest.approx(0.9 * 0.1 * 10 / (1 - 0.81))
    assert [x for x, _ in out] == [0.0, 1.0, 2.0]


def test_ema_matches_tensorboard_formula():
    points = [(float(i), float((i * 7) % 5)) for i in range(20)]
    w = 0.6
    last, expected = 0.0, []
    for k, (_, y) in enumerate(points, start=1):
        last = last * w + (1 - w) * y
        expected.append(last / (1 - w**k))
    assert _ys(ema(points, w)) == pytest.approx(expected)


def test_ema_nan_and_inf_are_gaps_and_do_not_poison_the_average():
    points = [(0.0, 1.0), (1.0, NAN), (2.0, INF), (3.0, 1.0), (4.0, -INF), (5.0, 1.0)]
    out = ema(points, 0.8)
    assert math.isnan(out[1][1])
    assert out[2][1] == INF and out[4][1] == -INF
    assert [out[i][1] for i in (0, 3, 5)] == pytest.approx([1.0, 1.0, 1.0])
    assert [x for x, _ in out] == [x for x, _ in points]


def test_ema_weight_zero_is_identity_and_weight_is_clamped():
    points = [(0.0, 1.0), (1.0, NAN), (2.0, 5.0)]
    out = ema(points, 0.0)
    assert out is not points
    assert out[0] == points[0] and out[2] == points[2] and math.isnan(out[1][1])
    assert ema([], 0.5) == []
    # A weight of 1 would freeze the average; it is clamped to 0.99.
    assert ema([(0.0, 0.0), (1.0, 100.0)], 1.0)[1][1] > 0


# ---------------------------------------------------------------------------- last_n
def test_last_n_keeps_the_last_points_by_x():
    points = [(float(i), float(i)) for i in range(100)]
    assert last_n(points, 10) == points[-10:]
    assert last_n(points, None) == points
    assert last_n(points, 1000) == points
    assert last_n(points, 0) == []
    shuffled = points[50:] + points[:50]
    assert last_n(shuffled, 3) == points[-3:]


def test_last_n_keeps_gaps():
    points = [(0.0, 1.0), (1.0, 2.0), (2.0, NAN), (3.0, 4.0)]
    out = last_n(points, 2)
    assert out[0][0] == 2.0 and math.isnan(out[0][1]) and out[1] == (3.0, 4.0)


# ---------------------------------------------------------------------------- log_safe
def test_log_safe_turns_non_positive_and_non_finite_into_single_gaps():
    points = [(0.0, 1.0), (1.0, 0.0), (2.0, -3.0), (3.0, NAN), (4.0, 2.0), (5.0, INF),
              (6.0, 3.0)]
    out = log_safe(points)
    assert [p for p in out if not math.isnan(p[1])] == [(0.0, 1.0), (4.0, 2.0), (6.0, 3.0)]
    gaps = [x for x, y in out if math.isnan(y)]
    assert gaps == [1.0, 5.0]  # consecutive bad points collapse into one gap
    assert all(y > 0 for y in _ys(out) if not math.isnan(y))


def test_log_safe_positive_data_is_unchanged():
    points = [(float(i), 1.0 / (i + 1)) for i in range(100)]
    assert log_safe(points) == points
    assert log_safe([]) == []


# ---------------------------------------------------------------------------- y_range
def test_y_range_ignores_nan_and_inf():
    assert y_range([(0.0, NAN), (1.0, 2.0), (2.0, INF), (3.0, -1.0), (4.0, -INF)]) == (-1.0, 2.0)
    assert y_range([(0.0, 1.0)], [(0.0, NAN), (1.0, 5.0)]) == (1.0, 5.0)
    assert y_range([(0.0, NAN), (1.0, INF)]) is None
    assert y_range() is None and y_range([]) is None


# ---------------------------------------------------------------------------- options
def test_options_defaults_validation_and_summary():
    assert ChartOptions().summary() == ""
    opts = ChartOptions(x_mode="relative", log_y=True, smoothing=0.6, last_n=200)
    assert opts.summary() == "x: relative · log y · smooth 0.6 · last 200"
    assert ChartOptions(smoothing=5).smoothing == 0.99
    assert ChartOptions(smoothing=-1).smoothing == 0.0
    assert ChartOptions(smoothing=NAN).smoothing == 0.0
    assert ChartOptions(last_n=0).last_n == 1
    with pytest.raises(ValueError):
        ChartOptions(x_mode="epoch")
    assert ChartOptions(log_y=True) == ChartOptions(log_y=True)  # hashable value object
    assert hash(ChartOptions(last_n=5)) == hash(ChartOptions(last_n=5))


# ---------------------------------------------------------------------------- ticks
def test_relative_time_format():
    assert format_relative(45) == "45s"
    assert format_relative(90) == "90s"
    assert format_relative(720) == "12m"
    assert format_relative(1800) == "30m"
    assert format_relative(96300) == "26.75h"
    assert format_relative(5400) == "1.5h"
    assert format_relative(3 * 86400) == "3d"
    assert format_relative(0.5) == "0.5s"
    assert format_relative(NAN) == "?"


def test_wall_time_format_is_local_hh_mm():
    import time

    epoch = time.mktime((2024, 5, 17, 14, 32, 10, 0, 0, -1))
    assert format_wall(epoch) == "14:32"
    assert format_wall(epoch, step=10) == "14:32:10"
    assert format_wall(epoch, span=3 * 86400) == "05-17 14:32"
    assert format_wall(INF) == "?"


def test_tick_helpers():
    ticks, step = _time_ticks(0, 3600, 6)
    assert step == 600 and ticks[0] == 0 and ticks[-1] == 3600
    assert _log_ticks(1e-6, 1.0, 8) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    narrow = _log_ticks(0.3, 0.7, 5)
    assert len(narrow) == 5 and narrow[0] == 0.3 and narrow[-1] == 0.7
    assert _log_ticks(0.15, 3.0, 8) == [0.2, 0.5, 1.0, 2.0]
    assert _log_ticks(-1, 1, 5) == []


def test_the_curves_start_below_the_legend():
    """plotext draws its legend over the top-left corner, where loss curves start: the y axis
    top leaves the legend's rows and one more above the highest value."""
    import math

    from mlflow_tui.widgets.chart.series import legend_headroom

    for lo, hi, legend, rows in ((0.0, 1.0, 2, 20), (0.2, 2.7, 4, 30), (-5.0, -1.0, 1, 8)):
        top = legend_headroom(lo, hi, legend, rows)
        assert top is not None and top > hi
        rows_above = (top - hi) / (top - lo) * rows
        assert math.isclose(rows_above, legend + 1)
    # Nothing to do, or no room: the axis as plotext chooses.
    assert legend_headroom(0.0, 1.0, 0, 20) is None
    assert legend_headroom(0.0, 1.0, 9, 16) is None  # the legend would take half the plot
    assert legend_headroom(1.0, 1.0, 2, 20) is None  # a flat line
