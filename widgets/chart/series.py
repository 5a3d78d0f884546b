"""Pure series code: downsampling, gaps, the EMA, the zoom, log-safe points, y ranges.

Plain sequences of (x, y) points in, lists out: no Textual, no plotext.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import islice
from operator import itemgetter, le

NAN = float("nan")

MAX_SMOOTHING = 0.99

Point = tuple[float, float]


def _is_finite(value: float) -> bool:
    return value - value == 0  # False for nan, inf and -inf; fast


def downsample(points: Sequence[tuple[float, float]], buckets: int) -> list[tuple[float, float]]:
    """Reduce `points` (sorted by x) to about `2 * buckets` points keeping the line's shape.

    The x range is cut into `buckets` equal intervals; from each one the points with the
    smallest and the largest y are kept, in x order, so spikes survive. The first and last
    points are always kept. Non-finite y values (NaN, ±inf) are gaps: the result holds a
    `(x, nan)` marker where a gap is (at most one per interval), so a plot breaks the line
    there. Points with a non-finite x are dropped. Unsorted input is sorted by x first.

    If `len(points) <= 2 * buckets` a copy of the input (as a list) is returned unchanged.
    O(n) for sorted input, with the per-interval work done by C builtins (1M points: ~0.1 s).
    """
    buckets = max(int(buckets), 1)
    n = len(points)
    if n <= 2 * buckets:
        return list(points)
    xs = list(map(itemgetter(0), points))
    ys = list(map(itemgetter(1), points))
    total = sum(xs)
    if not _is_finite(total) and any(not _is_finite(x) for x in xs):
        keep = [i for i, x in enumerate(xs) if _is_finite(x)]
        xs = [xs[i] for i in keep]
        ys = [ys[i] for i in keep]
        n = len(xs)
        if n <= 2 * buckets:
            return list(zip(xs, ys, strict=True))
    if not all(map(le, xs, islice(xs, 1, None))):
        order = sorted(range(n), key=xs.__getitem__)
        xs = [xs[i] for i in order]
        ys = [ys[i] for i in order]

    x0 = xs[0]
    span = xs[-1] - x0
    if span > 0:
        step = span / buckets
        edges = [bisect_left(xs, x0 + step * k, 1, n) for k in range(1, buckets)]
        bounds = [0, *edges, n]
    else:  # all x equal: bucket by index
        size = n / buckets
        bounds = [round(size * k) for k in range(buckets + 1)]

    out: list[tuple[float, float]] = []
    append = out.append
    last_was_gap = False
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if hi <= lo:
            continue
        seg = ys[lo:hi]
        s = sum(seg)
        if s - s == 0:  # all finite (overflow to inf just takes the slow path)
            i_min = lo + seg.index(min(seg))
            i_max = lo + seg.index(max(seg))
            picks = [i_min] if i_min == i_max else sorted((i_min, i_max))
            gap = -1
        else:
            i_min = i_max = gap = -1
            vmin = vmax = 0.0
            for i in range(lo, hi):
                y = ys[i]
                if y - y == 0:
                    if i_min < 0 or y < vmin:
                        i_min, vmin = i, y
                    if i_max < 0 or y > vmax:
                        i_max, vmax = i, y
                elif gap < 0:
                    gap = i
            picks = sorted({i for i in (i_min, i_max) if i >= 0})
        if lo == 0 and (not picks or picks[0] != 0) and gap != 0:
            picks.insert(0, 0)
        if hi == n and (not picks or picks[-1] != n - 1) and gap != n - 1:
            picks.append(n - 1)
        if gap >= 0:
            picks = sorted((*picks, gap))
        for i in picks:
            y = ys[i]
            if i == gap or not _is_finite(y):
                if not last_was_gap:
                    append((xs[i], NAN))
                    last_was_gap = True
            else:
                append((xs[i], y))
                last_was_gap = False
    return out


def finite_segments(
    points: Sequence[tuple[float, float]],
) -> list[tuple[list[float], list[float]]]:
    """Split `points` at non-finite x or y into runs of finite points: [(xs, ys), ...]."""
    segments: list[tuple[list[float], list[float]]] = []
    xs: list[float] = []
    ys: list[float] = []
    for x, y in points:
        if x - x == 0 and y - y == 0:
            xs.append(x)
            ys.append(y)
        elif xs:
            segments.append((xs, ys))
            xs, ys = [], []
    if xs:
        segments.append((xs, ys))
    return segments


# ---------------------------------------------------------------------- transforms
def ema(points: Iterable[Point], weight: float) -> list[Point]:
    """TensorBoard-style smoothing: s_t = w * s_(t-1) + (1 - w) * y_t, debiased.

    Debiasing divides by (1 - w**k) after k finite points, so the first smoothed value is
    the first raw value and a constant series stays constant. Points with a non-finite y
    (NaN, ±inf) are passed through unchanged, as gaps, and don't enter the average.
    `weight` is clamped to [0, 0.99]; weight 0 returns the points unchanged (as a list).
    """
    w = min(max(float(weight), 0.0), MAX_SMOOTHING) if weight == weight else 0.0
    pts = points if isinstance(points, list) else list(points)
    if w == 0:
        return list(pts)
    ys = _ema_ys(list(map(itemgetter(1), pts)), w, 0.0, 1.0)[0]
    return list(zip(map(itemgetter(0), pts), ys, strict=True))


def _ema_ys(ys: Iterable[float], w: float, last: float, wk: float,
            ) -> tuple[list[float], float, float]:
    """The EMA arithmetic itself, over y values only (w already clamped, > 0)."""
    one = 1.0 - w
    out: list[float] = []
    append = out.append
    for y in ys:
        if y - y == 0:
            last = last * w + one * y
            wk *= w
            append(last / (1.0 - wk))
        else:
            append(y)
    return out, last, wk


def _sorted_finite_x(points: Sequence[Point]) -> list[Point]:
    """`points` as a list sorted by x, without points whose x is not finite."""
    xs = list(map(itemgetter(0), points))
    total = sum(xs)
    pts = points
    if not _is_finite(total) and any(not _is_finite(x) for x in xs):
        pts = [p for p in points if _is_finite(p[0])]
        xs = list(map(itemgetter(0), pts))
    if all(map(le, xs, islice(xs, 1, None))):
        return pts if isinstance(pts, list) else list(pts)
    return sorted(pts, key=itemgetter(0))


def last_n(points: Sequence[Point], n: int | None) -> list[Point]:
    """The last `n` points by x (all of them if `n` is None or >= len); sorted by x."""
    if n is None:
        return list(points)
    n = max(int(n), 0)
    if n == 0:
        return []
    pts = _sorted_finite_x(points)
    return pts[-n:] if len(pts) > n else list(pts)


def log_safe(points: Iterable[Point]) -> list[Point]:
    """Points fit for a log y axis: y <= 0 and non-finite y become gaps `(x, nan)`.

    Consecutive gaps collapse into one, so the line breaks where values can't be shown
    instead of joining across them.
    """
    if isinstance(points, Sequence) and points:
        ys = list(map(itemgetter(1), points))
        total = sum(ys)
        if total - total == 0 and min(ys) > 0:  # all finite and positive: fast path
            return list(points)
    out: list[Point] = []
    append = out.append
    gap = False
    for x, y in points:
        if y > 0 and y - y == 0:
            append((x, y))
            gap = False
        elif not gap:
            append((x, NAN))
            gap = True
    return out


def y_range(*series: Iterable[Point]) -> tuple[float, float] | None:
    """(min, max) of the finite y values over all `series`; None when there are none."""
    lo = math.inf
    hi = -math.inf
    for pts in series:
        ys = [y for _, y in pts if y - y == 0]
        if ys:
            lo = min(lo, min(ys))
            hi = max(hi, max(ys))
    return None if lo > hi else (lo, hi)


def legend_headroom(lo: float, hi: float, legend_rows: int, plot_rows: int) -> float | None:
    """The top of the y axis that leaves the plot's first `legend_rows` + 1 rows above the
    data: plotext draws its legend over the top-left corner, where loss curves start. None
    when there is no room to spare (more legend than half the plot) or nothing to do."""
    if legend_rows <= 0 or plot_rows <= 0 or 2 * (legend_rows + 1) > plot_rows:
        return None
    if not hi > lo:
        return None
    return lo + (hi - lo) * plot_rows / (plot_rows - legend_rows - 1)
