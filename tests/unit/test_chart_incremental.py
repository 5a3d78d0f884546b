"""Incremental chart data: `XYCache` converts only new points, and the chart's per-series
tracks (`_Track`, `_Extremes`) give exactly what the batch path gives (`xy()`, then
sort, EMA, zoom, `log_safe`, `downsample()`) across appends, replaced last points, gaps,
unsorted input and zoom."""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections.abc import Sequence

import pytest

import mlflow_tui.widgets.chart.tracks as chart_tracks
from mlflow_tui.analysis.charting import XYCache, XYSeries, xy
from mlflow_tui.tracking.models import Point
from mlflow_tui.widgets import ChartOptions, downsample, ema, log_safe
from mlflow_tui.widgets.chart import SMALL_SERIES, _Extremes, _sorted_finite_x, _Track

NAN = float("nan")


def _same(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> bool:
    """Equal point for point, NaN equal to NaN."""
    if len(a) != len(b):
        return False
    for (x1, y1), (x2, y2) in zip(a, b, strict=True):
        if x1 != x2 or not (y1 == y2 or (math.isnan(y1) and math.isnan(y2))):
            return False
    return True


def _history(n: int, seed: int = 0) -> list[Point]:
    rng = random.Random(seed)
    return [Point(s, rng.uniform(0.1, 2.0), 1_700_000_000_000 + 997 * s) for s in range(n)]


# ---------------------------------------------------------------------- XYCache
@pytest.mark.parametrize("mode", ["step", "relative", "wall"])
def test_cache_view_equals_xy_as_the_poller_changes_a_list(mode: str):
    start = 1_700_000_000_000
    points = _history(50)
    cache = XYCache()
    rng = random.Random(3)
    for tick in range(60):
        view = cache.view("k", points, mode, start)
        assert isinstance(view, XYSeries)
        assert list(view) == xy(points, mode, start)
        assert len(view) == len(points)
        # The poller: the points from the last cached step on come back anew (maybe
        # re-logged with another value), then new steps follow.
        last = points[-1]
        kept = len(points) - 1
        value = last.value if tick % 3 else last.value + 1.0
        tail = [Point(last.step, value, last.timestamp + tick)]
        tail += [Point(last.step + i, rng.uniform(0.1, 2.0), last.timestamp + 1000 * i)
                 for i in range(1, rng.randint(0, 3) + 1)]
        del points[kept:]
        points.extend(tail)


def test_cache_replaced_point_with_the_same_coordinates_keeps_the_view():
    points = _history(10)
    cache = XYCache()
    first = cache.view("k", points, "step", 0)
    last = points.pop()
    points.append(Point(last.step, last.value, last.timestamp + 5))  # another object, same x, y
    second = cache.view("k", points, "step", 0)
    assert second is first  # nothing to repaint
    assert second == first and second.shared_prefix(first) == 10


def test_cache_shared_prefix_follows_appends_and_cuts():
    points = _history(10)
    cache = XYCache()
    v10 = cache.view("k", points, "step", 0)
    points.append(Point(10, 1.0, 0))
    v11 = cache.view("k", points, "step", 0)
    assert v11.shared_prefix(v10) == 10 == v10.shared_prefix(v11)
    assert v11 != v10 and len(v11) == 11
    points[-1] = Point(10, 5.0, 0)  # re-logged at the same step with another value
    v11b = cache.view("k", points, "step", 0)
    assert v11b.shared_prefix(v11) == 10
    assert v11b.shared_prefix(v10) == 10
    assert v11b != v11  # same length, but the last point changed
    assert v11b[-1] == (10, 5.0)
    del points[5:]
    v5 = cache.view("k", points, "step", 0)
    assert v5.shared_prefix(v11b) == 5 and list(v5) == xy(points, "step", 0)
    # Another list, another mode or another run start: converted again, nothing shared.
    other = list(points)
    assert cache.view("k", other, "step", 0).shared_prefix(v5) == 0
    assert cache.view("k", other, "relative", 0).shared_prefix(v5) == 0


def test_cache_views_are_sequences_and_compare_with_lists():
    points = _history(6)
    view = XYCache().view("k", points, "step", 0)
    expected = xy(points, "step", 0)
    assert view == expected and expected == view
    assert view[-1] == expected[-1] and view[1:4] == expected[1:4] and view[::2] == expected[::2]
    assert view != expected[:-1]
    with pytest.raises(IndexError):
        view[6]
    with pytest.raises(TypeError):
        hash(view)


def test_cache_keep_forgets_what_is_no_longer_shown():
    points = _history(5)
    cache = XYCache()
    first = cache.view("a", points, "step", 0)
    cache.view("b", points, "step", 0)
    cache.keep(["b"])
    again = cache.view("a", points, "step", 0)
    assert again is not first and again.shared_prefix(first) == 0


# ---------------------------------------------------------------------- _Extremes
def _series(rng: random.Random, n: int) -> tuple[list[float], list[float]]:
    """Sorted x with repeats, y with ties, negatives, NaN/inf and runs of gaps."""
    xs: list[float] = []
    x = rng.uniform(-5, 5)
    for _ in range(n):
        x += rng.choice((0.0, 0.5, 1.0, 1.0, 2.0, 7.5))
        xs.append(x)
    ys: list[float] = []
    for i in range(n):
        r = rng.random()
        if r < 0.02:
            ys.append(NAN)
        elif r < 0.03:
            ys.append(rng.choice((math.inf, -math.inf)))
        elif r < 0.05 and ys:
            ys.append(ys[-1])
        elif r < 0.10:
            ys.append(-rng.uniform(0, 1) if r < 0.08 else 0.0)
        else:
            ys.append(round(math.sin(i / 50) + rng.uniform(0, 0.5), 3))
    for _ in range(3):  # a few long gaps
        a = rng.randrange(n)
        for i in range(a, min(n, a + rng.randint(2, 400))):
            ys[i] = rng.choice((NAN, -1.0, 0.0))
    return xs, ys


def _expected(xs: list[float], ys: list[float], start: int, log: bool, buckets: int):
    pts = list(zip(xs[start:], ys[start:], strict=True))
    return downsample(log_safe(pts) if log else pts, buckets)


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_extremes_downsample_is_exactly_downsample(log: bool, seed: int):
    rng = random.Random(seed)
    xs, ys = _series(rng, rng.randint(3000, 30_000))
    if seed == 5:  # ends in a long run of values a log axis can't show
        ys[-300:] = [-1.0] * 300
    extremes = _Extremes(ys, log)
    extremes.sync()
    checked = 0
    for start in (0, 1, rng.randrange(len(xs) // 2), len(xs) - 3000):
        for buckets in (16, 160, 600):
            got = extremes.downsample(xs, start, buckets)
            if got is None:  # left to downsample() itself (short, or all x equal)
                continue
            checked += 1
            assert _same(got, _expected(xs, ys, start, log, buckets)), (start, buckets)
    assert checked >= 8


def test_extremes_extend_and_cut_back_like_a_fresh_index():
    rng = random.Random(11)
    xs, ys_all = _series(rng, 20_000)
    for log in (False, True):
        ys: list[float] = []
        grown = _Extremes(ys, log)
        n = 0
        while n < len(ys_all):
            step = rng.choice((1, 2, 7, 64, 300, 1500))
            if ys and rng.random() < 0.3:  # the last points re-logged, maybe with a gap
                cut = max(0, len(ys) - rng.randint(1, 3))
                del ys[cut:]
                grown.truncate(cut)
                n = cut
            ys.extend(ys_all[n:n + step])
            n = len(ys)
            if rng.random() < 0.2:
                grown.sync()
        grown.sync()
        fresh = _Extremes(list(ys), log)
        fresh.sync()
        for name in ("lo", "hi", "gaps", "tails", "arg_lo", "arg_hi", "last_good"):
            assert getattr(grown, name) == getattr(fresh, name), (log, name)
        got = grown.downsample(xs, 0, 160)
        assert got is not None and _same(got, _expected(xs, ys, 0, log, 160))


def test_extremes_with_nothing_to_show_on_a_log_axis():
    xs = [float(i) for i in range(10_000)]
    ys = [-1.0] * 10_000
    extremes = _Extremes(ys, True)
    extremes.sync()
    assert _same(extremes.downsample(xs, 0, 160) or [], _expected(xs, ys, 0, True, 160))
    assert _same(extremes.downsample(xs, 5000, 160) or [], [(5000.0, NAN)])


# ---------------------------------------------------------------------- _Track
def _batch(points: Sequence[tuple[float, float]], opts: ChartOptions, buckets: int):
    """What the chart drew before tracks: sort, EMA over all, zoom, log_safe, downsample."""
    pts = _sorted_finite_x(points)
    smooth = ema(pts, opts.smoothing) if opts.smoothing else None
    if opts.last_n is not None and len(pts) > opts.last_n:
        start = len(pts) - opts.last_n
        pts = pts[start:]
        smooth = smooth[start:] if smooth is not None else None
    if opts.log_y:
        pts = log_safe(pts)
        smooth = log_safe(smooth) if smooth is not None else None
    return (downsample(pts, buckets),
            downsample(smooth, buckets) if smooth is not None else None)


OPTIONS = [
    ChartOptions(),
    ChartOptions(log_y=True),
    ChartOptions(smoothing=0.6),
    ChartOptions(smoothing=0.9, log_y=True),
    ChartOptions(last_n=500),
    ChartOptions(last_n=7000, log_y=True, smoothing=0.3),
    ChartOptions(last_n=50_000),
]


def _check(track: _Track, points: Sequence[tuple[float, float]], buckets: int = 160,
           options: Sequence[ChartOptions] = tuple(OPTIONS)) -> None:
    for opts in options:
        raw, smooth = track.plotted(opts, buckets)
        want_raw, want_smooth = _batch(list(points), opts, buckets)
        assert _same(raw, want_raw), opts
        assert (smooth is None) == (want_smooth is None)
        if smooth is not None and want_smooth is not None:
            assert _same(smooth, want_smooth), opts


def test_track_follows_a_live_series_exactly():
    rng = random.Random(5)
    xs, ys = _series(rng, 40_000)
    source = [Point(int(x * 2), y, 0) for x, y in zip(xs, ys, strict=True)]
    live: list[Point] = []
    cache = XYCache()
    track = _Track()
    n = 0
    for size in (9000, 1, 2, 500, 1, 3000, 25_000):
        if live and rng.random() < 0.8:  # the last point comes back, maybe changed
            last = live.pop()
            live.append(Point(last.step, last.value + rng.choice((0.0, 0.5)), last.timestamp))
        live.extend(source[n:n + size])
        n += size
        view = cache.view("k", live, "step", None)
        track.update(view)
        _check(track, view)
    assert track.ordered and len(track.xs) == len(live)


def test_track_keeps_the_long_path_exact_when_points_are_cut_back():
    # Long enough that the zoomed range still takes the index (not downsample() itself).
    points = [(float(i), math.sin(i / 300) + 1.5) for i in range(SMALL_SERIES * 3)]
    cache = XYCache()
    live = [Point(int(x), y, 0) for x, y in points]
    track = _Track()
    track.update(cache.view("k", live, "step", None))
    # One smoothing weight throughout, so that its EMA is cut back and extended, not rebuilt.
    options = [ChartOptions(smoothing=0.8), ChartOptions(smoothing=0.8, log_y=True),
               ChartOptions(smoothing=0.8, last_n=SMALL_SERIES + 100)]
    _check(track, xy(live, "step", None), options=options)
    smoothed = track.smoothed
    for cut in (len(live) - 1, len(live) - 100, len(live) - 5000):
        del live[cut:]
        live += [Point(i, -0.5 if i % 5 == 0 else 2.0 + i % 7, 0) for i in range(cut, cut + 3000)]
        view = cache.view("k", live, "step", None)
        track.update(view)
        assert track.smoothed is smoothed and set(smoothed.extremes) == {False, True}
        _check(track, view, options=options)


def test_track_reads_plain_lists_unsorted_input_and_non_finite_x_whole():
    rng = random.Random(9)
    points = [(rng.uniform(0, 1000), rng.uniform(-1, 1)) for _ in range(12_000)]
    points[100] = (math.nan, 1.0)
    points[200] = (math.inf, 2.0)
    track = _Track()
    track.update(points)
    assert not track.ordered and len(track.xs) == len(points) - 2
    _check(track, points)
    more = points + [(500.0, 3.0)]  # a plain list: read whole again
    track.update(more)
    _check(track, more)
    ordered = sorted(p for p in more if math.isfinite(p[0]))
    track.update(ordered)
    assert track.ordered
    _check(track, ordered)


def test_track_appending_before_the_last_x_rebuilds_sorted():
    cache = XYCache()
    live = [Point(i, float(i % 13), 0) for i in range(0, 20_000, 2)]
    track = _Track()
    track.update(cache.view("k", live, "step", None))
    live.append(Point(7, 100.0, 0))  # a step that comes before the last one
    view = cache.view("k", live, "step", None)
    track.update(view)
    assert not track.ordered
    _check(track, view)
    assert (7, 100.0) in track.plotted(ChartOptions(), 160)[0]


def test_block_size_does_not_change_results(monkeypatch: pytest.MonkeyPatch):
    rng = random.Random(2)
    xs, ys = _series(rng, 12_000)
    results = []
    for block in (4, 64, 1000):
        monkeypatch.setattr(chart_tracks, "BLOCK", block)  # where _Extremes reads it
        extremes = _Extremes(list(ys), False)
        extremes.sync()
        assert len(extremes.arg_lo[0]) == len(ys) // block  # the patch reached _Extremes
        results.append(extremes.downsample(xs, 10, 160))
    assert results[0] is not None
    assert _same(results[0], results[1]) and _same(results[1], results[2])


@pytest.mark.parametrize("base", [0, 2**60, 10**400, -(10**400)])
def test_track_find_is_bisect_left_even_where_floats_round(base: int):
    rng = random.Random(base % 97)
    steps = sorted(base + rng.randrange(0, 40_000) for _ in range(6000))
    track = _Track()
    track.update([(x, 1.0) for x in steps])
    assert track.xs == steps
    probes = [base + rng.randrange(-100, 40_100) for _ in range(300)] + steps[::97]
    if abs(base) < 2**1000:
        probes += [float(p) for p in probes[:50]]
    for x in probes:
        lo = rng.randrange(0, 3000)
        hi = rng.randrange(lo, 6001)
        assert track.find(x, lo, hi) == bisect_left(steps, x, lo, hi), (x, lo, hi)
