"""downsample(): min/max per x interval, keeps ends and extremes, NaN/inf become gaps."""

from __future__ import annotations

import math
import random

from mlflow_tui.widgets import downsample, finite_segments


def _is_gap(point: tuple[float, float]) -> bool:
    return math.isnan(point[1])


def test_short_input_is_returned_unchanged_as_a_copy():
    points = [(0.0, 1.0), (1.0, float("nan")), (2.0, 3.0)]
    out = downsample(points, 10)
    assert out == points or (out[0] == points[0] and _is_gap(out[1]) and out[2] == points[2])
    assert out is not points
    assert downsample([], 5) == []


def test_keeps_first_last_and_extremes():
    rng = random.Random(1)
    points = [(float(i), rng.uniform(-1, 1)) for i in range(10_000)]
    points[1234] = (1234.0, 50.0)
    points[8765] = (8765.0, -50.0)
    out = downsample(points, 100)
    assert out[0] == points[0]
    assert out[-1] == points[-1]
    assert (1234.0, 50.0) in out
    assert (8765.0, -50.0) in out
    assert len(out) <= 2 * 100 + 2
    xs = [x for x, _ in out]
    assert xs == sorted(xs)


def test_each_bucket_keeps_its_min_and_max():
    points = [(float(i), float(i % 10)) for i in range(1000)]
    out = downsample(points, 10)
    ys = [y for _, y in out]
    assert ys.count(0.0) >= 10 and ys.count(9.0) >= 10


def test_irregular_steps_bucket_by_x_range():
    points = [(float(i), 0.0) for i in range(1000)] + [(1e6, 1.0), (2e6, 2.0)]
    out = downsample(points, 10)
    assert out[-1] == (2e6, 2.0)
    assert (1e6, 1.0) in out
    assert len(out) <= 22


def test_nan_and_inf_are_gaps():
    points = [(float(i), 1.0) for i in range(1000)]
    points[300] = (300.0, float("nan"))
    points[600] = (600.0, float("inf"))
    points[601] = (601.0, float("-inf"))
    out = downsample(points, 20)
    gaps = [x for x, y in out if math.isnan(y)]
    assert gaps == [300.0, 600.0]
    assert all(math.isfinite(y) for _, y in out if not math.isnan(y))
    # The plot path splits there.
    assert len(finite_segments(out)) == 3


def test_gaps_at_the_ends():
    points = [(float(i), float("nan") if i in (0, 999) else float(i)) for i in range(1000)]
    out = downsample(points, 10)
    assert _is_gap(out[0]) and out[0][0] == 0.0
    assert _is_gap(out[-1]) and out[-1][0] == 999.0


def test_output_bounded_with_many_gaps():
    points = [(float(i), float("nan") if i % 2 else 1.0) for i in range(10_000)]
    out = downsample(points, 50)
    assert len(out) <= 3 * 50 + 2


def test_unsorted_input_is_sorted_by_x():
    rng = random.Random(2)
    points = [(float(i), float(i)) for i in range(1000)]
    rng.shuffle(points)
    out = downsample(points, 10)
    xs = [x for x, _ in out]
    assert xs == sorted(xs)
    assert out[0] == (0.0, 0.0) and out[-1] == (999.0, 999.0)


def test_all_same_x_and_non_finite_x():
    points = [(5.0, float(i)) for i in range(1000)]
    out = downsample(points, 10)
    assert len(out) <= 22 and (5.0, 0.0) in out and (5.0, 999.0) in out
    points = [(float("nan") if i == 10 else float(i), 1.0) for i in range(1000)]
    out = downsample(points, 10)
    assert all(math.isfinite(x) for x, _ in out)


def test_one_million_points():
    n = 1_000_000
    points = [(float(i), math.sin(i / 1000.0)) for i in range(n)]
    points[500_000] = (500_000.0, float("nan"))
    out = downsample(points, 200)
    assert 200 <= len(out) <= 2 * 200 + 3
    assert out[0] == points[0] and out[-1] == points[-1]
    assert any(_is_gap(p) for p in out)


def test_finite_segments_splits_on_gaps():
    points = [(0.0, 1.0), (1.0, float("nan")), (2.0, 2.0), (3.0, 3.0), (4.0, float("inf"))]
    assert finite_segments(points) == [([0.0], [1.0]), ([2.0, 3.0], [2.0, 3.0])]
    assert finite_segments([]) == []
