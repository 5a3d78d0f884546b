"""Line chart of metric series (plotext inside Textual) and the downsampling behind it."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, islice
from operator import itemgetter, le, ne
from typing import Any

from rich.align import Align
from rich.cells import cell_len
from rich.console import Group
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.terminal_theme import TerminalTheme
from rich.text import Text
from textual._context import active_app
from textual.app import RenderResult
from textual.content import Content
from textual.css.styles import RulesMap
from textual.reactive import Reactive
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, Visual
from textual_plotext import PlotextPlot

from .text import safe_text

__all__ = [
    "PALETTE",
    "X_MODES",
    "ChartOptions",
    "MetricChart",
    "downsample",
    "ema",
    "finite_segments",
    "format_relative",
    "format_wall",
    "last_n",
    "log_safe",
    "y_range",
]

NAN = float("nan")

PALETTE: tuple[str, ...] = (
    "cyan+", "orange+", "green+", "magenta+", "yellow+", "blue+", "red+", "white",
)
"""Plotext colour names given to series in order when no explicit colour is set."""

MARKER_COLOR = "red+"
POINT_BUDGET = 2400  # points handed to plotext per figure, all series together

RAW_GRAY = "gray"
"""Colour of the raw (unsmoothed) line of a series whose colour has no darker shade."""

MAX_SMOOTHING = 0.99

X_MODES: tuple[str, ...] = ("step", "relative", "wall")
"""What the x values are: steps, seconds since the run started, or epoch seconds."""

X_MODE_LABELS = {"relative": "time since start", "wall": "wall clock (local)"}

Point = tuple[float, float]


@dataclass(frozen=True)
class ChartOptions:
    """How `MetricChart` shows its series. The caller supplies x values to match `x_mode`.

    - `x_mode`: "step" (x = step), "relative" (x = seconds since the run started; ticks
      read like "90s", "12m", "1.5h") or "wall" (x = epoch seconds; ticks are local
      "HH:MM"). The chart only formats ticks and the axis label, it converts nothing.
    - `log_y`: logarithmic y axis; points with y <= 0 can't be shown and become gaps.
    - `smoothing`: TensorBoard-style EMA weight in [0, 0.99] (clamped); 0 = off. The raw
      line is drawn faint behind the smoothed one.
    - `last_n`: zoom to the last N points (by x) of each series; None = all.
    """

    x_mode: str = "step"
    log_y: bool = False
    smoothing: float = 0.0
    last_n: int | None = None

    def __post_init__(self) -> None:
        if self.x_mode not in X_MODES:
            raise ValueError(f"x_mode must be one of {X_MODES}, not {self.x_mode!r}")
        w = float(self.smoothing)
        w = min(max(w, 0.0), MAX_SMOOTHING) if w == w else 0.0
        object.__setattr__(self, "smoothing", w)
        n = self.last_n
        if n is not None:
            object.__setattr__(self, "last_n", max(int(n), 1))
        object.__setattr__(self, "log_y", bool(self.log_y))

    def summary(self) -> str:
        """The non-default settings, e.g. "x: relative · log y · smooth 0.6 · last 200"."""
        parts = []
        if self.x_mode != "step":
            parts.append(f"x: {self.x_mode}")
        if self.log_y:
            parts.append("log y")
        if self.smoothing > 0:
            parts.append(f"smooth {self.smoothing:g}")
        if self.last_n is not None:
            parts.append(f"last {self.last_n}")
        return " · ".join(parts)


def _display_names(series: Mapping[str, object], width: int = 60) -> dict[str, str]:
    """Legend text for each label: sanitised and shortened, and still one per series (two
    long labels that shorten alike get a number, instead of one replacing the other)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for label in series:
        name = safe_text(label, width)
        n = 1
        while name in taken:
            n += 1
            name = f"{safe_text(label, width - 4)} ({n})"
        taken.add(name)
        out[label] = name
    return out


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


def _log_ticks(lo: float, hi: float, count: int) -> list[float]:
    """Round ticks for a log axis over [lo, hi] (lo > 0): decades, else 1-2-5, else spread."""
    if not (lo > 0 and hi >= lo):
        return []
    k0 = math.floor(math.log10(lo))
    k1 = math.ceil(math.log10(hi))
    count = max(count, 2)
    for mantissas in ((1.0,), (1.0, 2.0, 5.0)):
        ticks = [m * 10.0**k for k in range(k0, k1 + 1) for m in mantissas]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) >= 3 or (len(ticks) >= 2 and mantissas != (1.0,)):
            stride = math.ceil(len(ticks) / count)
            return ticks[::stride]
    if hi == lo:
        return [lo]
    ratio = (hi / lo) ** (1 / (count - 1))
    return [float(f"{lo * ratio**i:.3g}") for i in range(count)]


def _tick_label(value: float) -> str:
    return f"{value:.3g}"


def _trim(value: float) -> str:
    """Up to two decimals, without trailing zeros: 1.5, 26.75, 12."""
    text = f"{value:.2f}".rstrip("0")
    return text.rstrip(".")


def format_relative(seconds: float) -> str:
    """Seconds as a short duration: "45s", "90s", "12m", "1.5h", "3d"."""
    if not _is_finite(seconds):
        return "?"
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s < 120:
        text = f"{_trim(s)}s" if s >= 10 or s == int(s) else f"{s:.2g}s"
    elif s < 3600:
        text = f"{_trim(s / 60)}m"
    elif s < 48 * 3600:
        text = f"{_trim(s / 3600)}h"
    else:
        text = f"{_trim(s / 86400)}d"
    return sign + text


def format_wall(epoch_seconds: float, step: float = 60.0, span: float = 0.0) -> str:
    """Epoch seconds as local time: "HH:MM" ("HH:MM:SS" for sub-minute `step`,
    "MM-DD HH:MM" when `span` covers a day or more)."""
    if not _is_finite(epoch_seconds):
        return "?"
    try:
        moment = datetime.fromtimestamp(epoch_seconds)
    except (OverflowError, OSError, ValueError):
        return "?"
    if span >= 86400:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S" if step < 60 else "%H:%M")


_TIME_STEPS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400,
)


def _time_ticks(lo: float, hi: float, count: int, offset: float = 0.0) -> tuple[list[float], float]:
    """About `count` round time ticks over [lo, hi] (aligned after adding `offset`)."""
    span = hi - lo
    if not span > 0:
        return [lo], 1.0
    want = span / max(count, 1)
    step: float = next((t for t in _TIME_STEPS if t >= want), 0)
    if not step:
        step = 10 ** math.ceil(math.log10(want))
    first = math.ceil((lo + offset) / step) * step - offset
    ticks = []
    tick = first
    while tick <= hi + 1e-9 * span and len(ticks) < 50:
        ticks.append(tick)
        tick += step
    return ticks or [lo], step


# ---------------------------------------------------------------------- incremental series
# A live tick appends a point or two to series of up to millions of points. The chart keeps
# each series split into x and y columns, with what it derives from them (the EMA, an index
# of where the minima, maxima and gaps are), and extends all of it with the new points only.
# Long series are then downsampled from that index: the same points as `downsample()` would
# pick, found without reading the whole series.

BLOCK = 32
"""Points per block of the min/max index of a long series."""

SMALL_SERIES = 4096
"""Series (after the zoom) up to this long are downsampled by `downsample()` itself."""

INF = math.inf


def _sparse_extend(levels: list[list[int]], values: list[float], lowest: bool) -> None:
    """Extend a sparse table of first minima (`lowest`) or maxima of `values` after its
    blocks (levels[0], the index of each block's first min / max) grew: levels[j][i] is the
    index of the first min / max of blocks i to i + 2**j - 1."""
    n = len(levels[0])
    j = 1
    while (1 << j) <= n:
        if len(levels) <= j:
            levels.append([])
        level, below, half = levels[j], levels[j - 1], 1 << (j - 1)
        start, stop = len(level), n - (1 << j) + 1
        pairs = zip(below[start:stop], below[start + half:stop + half], strict=True)
        if lowest:
            level.extend([a if values[a] <= values[b] else b for a, b in pairs])
        else:
            level.extend([a if values[a] >= values[b] else b for a, b in pairs])
        j += 1


def _sparse_cut(levels: list[list[int]], blocks: int) -> None:
    """The sparse table of the first `blocks` blocks."""
    for j, level in enumerate(levels):
        del level[max(0, blocks - (1 << j) + 1):]


class _Extremes:
    """Where the minima, maxima and gaps of one y column are, kept up to date as it grows.

    `lo` / `hi` hold y where it can be shown and +inf / -inf where it can't (they are the
    column itself while every value can be shown). `arg_lo[0]` / `arg_hi[0]` hold where
    the first min / max of each complete block of BLOCK points is, and `arg_lo[j]` where
    it is over 2**j blocks from each one (a sparse table): the first minimum of any range
    is found in a few steps, whatever its length. On a linear axis the values that can't
    be shown are the non-finite ones, and each is listed in `gaps`. On a log axis y <= 0
    can't be shown either, and `log_safe` keeps only the first of a run of such points:
    those firsts are in `gaps`, the rest of each run in `tails`.
    """

    __slots__ = ("arg_hi", "arg_lo", "clean", "gaps", "hi", "last_bad", "last_good", "lo",
                 "log", "n", "tails", "ys")

    def __init__(self, ys: list[float], log: bool) -> None:
        self.ys = ys
        self.log = log
        self.n = 0  # values of `ys` indexed so far
        self.lo = self.hi = ys
        self.clean = True  # no value that can't be shown: lo and hi are ys itself
        self.gaps: list[int] = []
        self.tails: list[int] = []
        self.arg_lo: list[list[int]] = [[]]
        self.arg_hi: list[list[int]] = [[]]
        self.last_good = -1  # index of the last value that can be shown
        self.last_bad = -2  # index of the last one that can't

    def _bad(self, values: list[float], start: int) -> list[int]:
        total = sum(values)
        if total - total == 0 and (not self.log or min(values) > 0):
            return []
        if self.log:
            return [i for i, y in enumerate(values, start) if not (y > 0 and y - y == 0)]
        return [i for i, y in enumerate(values, start) if not y - y == 0]

    def sync(self) -> None:
        """Index the values appended to the column since the last call."""
        ys, n = self.ys, self.n
        m = len(ys)
        if m <= n:
            return
        new = ys[n:m]
        bad = self._bad(new, n)
        if bad and self.clean:
            self.lo, self.hi, self.clean = ys[:n], ys[:n], False
        if not self.clean:
            high = list(new)
            for i in bad:
                new[i - n] = INF
                high[i - n] = -INF
            self.lo.extend(new)
            self.hi.extend(high)
        if bad:
            if self.log:
                for i in bad:
                    (self.tails if i - 1 == self.last_bad else self.gaps).append(i)
                    self.last_bad = i
            else:
                self.gaps.extend(bad)
                self.last_bad = bad[-1]
            good = m - 1
            for i in reversed(bad):
                if i != good:
                    break
                good -= 1
            if good >= n:
                self.last_good = good
        else:
            self.last_good = m - 1
        lo, hi = self.lo, self.hi
        blocks_lo, blocks_hi = self.arg_lo[0], self.arg_hi[0]
        blocks = len(blocks_lo)
        for b in range(blocks, m // BLOCK):
            a = b * BLOCK
            seg = lo[a:a + BLOCK]
            blocks_lo.append(a + seg.index(min(seg)))
            seg = seg if self.clean else hi[a:a + BLOCK]
            blocks_hi.append(a + seg.index(max(seg)))
        if len(blocks_lo) > blocks:
            _sparse_extend(self.arg_lo, lo, True)
            _sparse_extend(self.arg_hi, hi, False)
        self.n = m

    def truncate(self, length: int) -> None:
        """Forget the values from index `length` on (the column was cut back)."""
        if length >= self.n:
            return
        self.n = length
        if not self.clean:
            del self.lo[length:]
            del self.hi[length:]
        del self.gaps[bisect_left(self.gaps, length):]
        del self.tails[bisect_left(self.tails, length):]
        _sparse_cut(self.arg_lo, length // BLOCK)
        _sparse_cut(self.arg_hi, length // BLOCK)
        i = length - 1
        if self.clean:
            self.last_good, self.last_bad = i, -2
            return
        lo = self.lo
        self.last_bad = i if i >= 0 and lo[i] == INF else -2
        while i >= 0 and lo[i] == INF:
            i -= 1
        self.last_good = i

    def _min_max(self, a: int, b: int) -> tuple[int, int]:
        """Indices of the first minimum of lo[a:b] and of the first maximum of hi[a:b]: the
        complete blocks inside from the sparse tables, the cells before and after them one
        by one (sliced once for both while lo and hi are the same list)."""
        lo, hi = self.lo, self.hi
        b0, b1 = -(-a // BLOCK), b // BLOCK
        if b1 - b0 < 2:
            seg = lo[a:b]
            high = seg if self.clean else hi[a:b]
            return a + seg.index(min(seg)), a + high.index(max(high))
        # Blocks b0 to b1 - 1: two windows of 2**j blocks cover them. If the first one
        # doesn't hold the minimum, the second one holds its first occurrence.
        j = (b1 - b0).bit_length() - 1
        last = b1 - (1 << j)
        level = self.arg_lo[j]
        i_lo, i2 = level[b0], level[last]
        if lo[i2] < lo[i_lo]:
            i_lo = i2
        level = self.arg_hi[j]
        i_hi, i2 = level[b0], level[last]
        if hi[i2] > hi[i_hi]:
            i_hi = i2
        v_lo, v_hi = lo[i_lo], hi[i_hi]
        h, t = b0 * BLOCK, b1 * BLOCK
        if a < h:
            head = lo[a:h]
            head_hi = head if self.clean else hi[a:h]
            m = min(head)
            if m <= v_lo:
                v_lo, i_lo = m, a + head.index(m)
            m = max(head_hi)
            if m >= v_hi:
                v_hi, i_hi = m, a + head_hi.index(m)
        if t < b:
            tail = lo[t:b]
            tail_hi = tail if self.clean else hi[t:b]
            m = min(tail)
            if m < v_lo:
                i_lo = t + tail.index(m)
            m = max(tail_hi)
            if m > v_hi:
                i_hi = t + tail_hi.index(m)
        return i_lo, i_hi

    def downsample(self, xs: list[float], start: int, buckets: int,
                   find: Callable[[float, int, int], int] | None = None,
                   ) -> list[Point] | None:
        """`downsample(points[start:], buckets)` (of `log_safe(points[start:])` on a log
        axis), the same list, in O(buckets x BLOCK) instead of O(points); None where
        `downsample()` must run itself: nothing to downsample, or all x equal. `xs` is
        the x column, sorted; the column must be synced. `find(x, lo, hi)`, if given, is
        `bisect_left(xs, x, lo, hi)`, faster.
        """
        n = self.n
        lo, gaps = self.lo, self.gaps
        if self.log:
            # log_safe(points[start:]) keeps the first point, and the first of each run of
            # points that can't be shown; the series ends at the first of its final run.
            if self.last_good < start:
                return [(xs[start], NAN)]
            end = n if self.last_good == n - 1 else self.last_good + 2
            count = end - start - (bisect_left(self.tails, end)
                                   - bisect_left(self.tails, start + 1))
        else:
            end, count = n, n - start
        if count <= 2 * buckets:
            return None
        x0 = xs[start]
        span = xs[end - 1] - x0
        if not span > 0:
            return None
        step = span / buckets
        if find is None:
            bounds = [start, *[bisect_left(xs, x0 + step * k, start + 1, end)
                               for k in range(1, buckets)], end]
        else:
            bounds = [start, *[find(x0 + step * k, start + 1, end)
                               for k in range(1, buckets)], end]
        first_gap = start if lo[start] == INF else -1  # a first point that can't be shown
        ys = self.ys
        out: list[Point] = []
        append = out.append
        last_was_gap = False
        for a, b in zip(bounds, bounds[1:], strict=False):
            if b <= a:
                continue
            i_min, i_max = self._min_max(a, b)
            if lo[i_min] == INF:
                picks = []
            elif i_min == i_max:
                picks = [i_min]
            else:
                picks = [i_min, i_max] if i_min < i_max else [i_max, i_min]
            if a == start and first_gap >= 0:
                gap = first_gap
            else:
                k = bisect_left(gaps, a)
                gap = gaps[k] if k < len(gaps) and gaps[k] < b else -1
            if a == start and (not picks or picks[0] != start) and gap != start:
                picks.insert(0, start)
            if b == end and (not picks or picks[-1] != end - 1) and gap != end - 1:
                picks.append(end - 1)
            if gap >= 0:
                picks = sorted((*picks, gap))
            for i in picks:
                if i == gap or lo[i] == INF:
                    if not last_was_gap:
                        append((xs[i], NAN))
                        last_was_gap = True
                else:
                    append((xs[i], ys[i]))
                    last_was_gap = False
        return out


class _Smoothed:
    """The EMA of a track's y column, extended as the column grows. The EMA state is kept
    every BLOCK points, so a column cut back is smoothed again from there, with the same
    arithmetic (and so the same values) as `ema()` over the whole column."""

    __slots__ = ("checkpoints", "extremes", "last", "n", "source", "weight", "wk", "ys")

    def __init__(self, source: list[float], weight: float) -> None:
        self.source = source
        self.weight = weight
        self.ys: list[float] = []
        self.n = 0
        self.last, self.wk = 0.0, 1.0
        self.checkpoints: list[tuple[float, float]] = [(0.0, 1.0)]  # state before k * BLOCK
        self.extremes: dict[bool, _Extremes] = {}

    def sync(self) -> None:
        source, n = self.source, self.n
        m = len(source)
        while n < m:
            stop = min(m, (n // BLOCK + 1) * BLOCK)
            out, self.last, self.wk = _ema_ys(source[n:stop], self.weight, self.last, self.wk)
            self.ys.extend(out)
            n = stop
            if n % BLOCK == 0:
                self.checkpoints.append((self.last, self.wk))
        self.n = n

    def truncate(self, length: int) -> None:
        if length >= self.n:
            return
        k = length // BLOCK
        del self.checkpoints[k + 1:]
        last, wk = self.checkpoints[k]
        _, self.last, self.wk = _ema_ys(self.source[k * BLOCK:length], self.weight, last, wk)
        del self.ys[length:]
        self.n = length
        for extremes in self.extremes.values():
            extremes.truncate(length)


class _Track:
    """One series as the chart keeps it: the points with a finite x, in x order, as `xs` and
    `ys`, and what is derived from them, extended in place as the series grows.

    A series that can say how much of an earlier one it still holds (`shared_prefix`, see
    `MetricChart.set_data`) is cut back to that and extended with the rest; any other new
    series object, or one whose new points come before the last x, is read whole again (the
    order is then the sorted one, as `downsample()` sorts).
    """

    __slots__ = ("block_x", "consumed", "dropped", "extremes", "ordered", "smoothed", "source",
                 "xs", "ys")

    def __init__(self) -> None:
        self.source: Sequence[Point] | None = None
        self.consumed = 0  # points of `source` read
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.block_x: list[float] = []  # float(xs[k * BLOCK]) for each k: see `find`
        self.dropped: list[int] = []  # indices in `source` of points with a non-finite x
        self.ordered = True  # xs / ys are the source's points in the source's order
        self.extremes: dict[bool, _Extremes] = {}
        self.smoothed: _Smoothed | None = None

    def update(self, source: Sequence[Point]) -> None:
        if source is self.source:
            return
        n = len(source)
        shared = getattr(source, "shared_prefix", None)
        keep = 0
        if self.ordered and self.source is not None and callable(shared):
            keep = min(int(shared(self.source)), self.consumed, n)
        try:
            if keep <= 0:
                self._rebuild(source)
                return
            cut = bisect_left(self.dropped, keep)
            del self.dropped[cut:]
            self._truncate(keep - cut)
            self.source, self.consumed = source, n
            if keep < n and not self._append(source[keep:n], keep):
                self._rebuild(source)
        except BaseException:
            self.source = None  # half updated: read the next series whole
            raise

    def _truncate(self, length: int) -> None:
        if length >= len(self.xs):
            return
        del self.xs[length:]
        del self.ys[length:]
        del self.block_x[-(-length // BLOCK):]
        for extremes in self.extremes.values():
            extremes.truncate(length)
        if self.smoothed is not None:
            self.smoothed.truncate(length)

    def _append(self, points: Sequence[Point], offset: int) -> bool:
        """Append points that come after the last x; False (nothing appended) if they don't."""
        xs = list(map(itemgetter(0), points))
        ys = list(map(itemgetter(1), points))
        total = sum(xs)
        if not total - total == 0:
            bad = [i for i, x in enumerate(xs) if not _is_finite(x)]
            if bad:
                skip = set(bad)
                xs = [x for i, x in enumerate(xs) if i not in skip]
                ys = [y for i, y in enumerate(ys) if i not in skip]
        else:
            bad = []
        if xs and ((self.xs and xs[0] < self.xs[-1])
                   or not all(map(le, xs, islice(xs, 1, None)))):
            return False
        self.dropped.extend(offset + i for i in bad)
        self.xs.extend(xs)
        self.ys.extend(ys)
        self._index_x()
        return True

    def _index_x(self) -> None:
        xs, block_x = self.xs, self.block_x
        for i in range(len(block_x) * BLOCK, len(xs), BLOCK):
            x = xs[i]
            try:
                block_x.append(float(x))
            except OverflowError:  # an int beyond floats: `find` checks its answers
                block_x.append(INF if x > 0 else -INF)

    def find(self, x: float, lo: int, hi: int) -> int:
        """`bisect_left(self.xs, x, lo, hi)`, narrowed down first on `block_x`: a long
        series' x values are scattered in memory, a bisection over them is mostly cache
        misses. (Exact: the answer is checked, and looked for again over [lo, hi) if
        float rounding put it outside the narrowed range.)"""
        xs = self.xs
        k = bisect_left(self.block_x, x)
        a, b = max(lo, (k - 1) * BLOCK), min(hi, k * BLOCK + 1)
        if a >= b:
            return bisect_left(xs, x, lo, hi)
        i = bisect_left(xs, x, a, b)
        if (i == a and a > lo and not xs[a - 1] < x) or (i == b and b < hi and xs[b] < x):
            return bisect_left(xs, x, lo, hi)
        return i

    def _rebuild(self, source: Sequence[Point]) -> None:
        self.source, self.consumed = source, len(source)
        self.xs, self.ys, self.dropped, self.block_x = [], [], [], []
        self.extremes, self.smoothed = {}, None
        self.ordered = True
        if not self._append(source, 0):
            pts = _sorted_finite_x(source)
            self.xs = list(map(itemgetter(0), pts))
            self.ys = list(map(itemgetter(1), pts))
            self.block_x = []
            self._index_x()
            self.ordered = False

    def smooth(self, weight: float) -> _Smoothed:
        if self.smoothed is None or self.smoothed.weight != weight:
            self.smoothed = _Smoothed(self.ys, weight)
        self.smoothed.sync()
        return self.smoothed

    def _start(self, opts: ChartOptions) -> int:
        n = len(self.xs)
        return n - opts.last_n if opts.last_n is not None and n > opts.last_n else 0

    def prepared(self, opts: ChartOptions) -> tuple[list[Point], list[Point] | None]:
        """(raw, smoothed or None): zoomed and made log-safe as `opts` say, not downsampled."""
        start = self._start(opts)
        xs = self.xs[start:]
        raw = list(zip(xs, self.ys[start:], strict=True))
        smooth = (list(zip(xs, self.smooth(opts.smoothing).ys[start:], strict=True))
                  if opts.smoothing else None)
        if opts.log_y:
            raw = log_safe(raw)
            smooth = log_safe(smooth) if smooth is not None else None
        return raw, smooth

    def plotted(self, opts: ChartOptions, buckets: int,
                ) -> tuple[list[Point], list[Point] | None]:
        """`prepared(opts)`, each downsampled to about 2 x `buckets` points."""
        start = self._start(opts)
        if len(self.xs) - start <= SMALL_SERIES:
            raw, smooth = self.prepared(opts)
            return (downsample(raw, buckets),
                    downsample(smooth, buckets) if smooth is not None else None)
        smoothed = self.smooth(opts.smoothing) if opts.smoothing else None
        raw_points = self._indexed(self.ys, self.extremes, start, opts.log_y, buckets)
        smooth_points = (self._indexed(smoothed.ys, smoothed.extremes, start, opts.log_y,
                                       buckets) if smoothed is not None else None)
        return raw_points, smooth_points

    def _indexed(self, ys: list[float], index: dict[bool, _Extremes], start: int, log: bool,
                 buckets: int) -> list[Point]:
        extremes = index.get(log)
        if extremes is None:
            extremes = index[log] = _Extremes(ys, log)
        extremes.sync()
        out = extremes.downsample(self.xs, start, buckets, self.find)
        if out is None:
            pts = list(zip(self.xs[start:], ys[start:], strict=True))
            out = downsample(log_safe(pts) if log else pts, buckets)
        return out


# ---------------------------------------------------------------------- drawing
def _plotext_matrix_ok() -> bool:
    """Whether plotext has the internals `_Canvas` reads (its version is pinned for them)."""
    try:
        from plotext._figure import _figure_class
        from plotext._matrix import matrix_class
        from plotext._utility import ansi_end, colors_to_ansi  # noqa: F401
    except ImportError:
        return False
    return (all(callable(getattr(_figure_class, name, None))
                for name in ("_set_sizes", "_build_matrix"))
            and callable(getattr(matrix_class, "set_canvas", None)))


_PLOTEXT_MATRIX = _plotext_matrix_ok()
_MISSING = object()

try:
    import plotext._utility as _plotext_utility

    _PLOTEXT_HD_GROUP: Callable[..., Any] | None = getattr(_plotext_utility, "hd_group", None)
except ImportError:  # pragma: no cover - plotext is a dependency
    _PLOTEXT_HD_GROUP = None

_INT_ONLY = {int}
_DOTS: dict[tuple[int, int], tuple[int, ...]] = {}


def _hd_group(x: list[Any], y: list[Any], xf: list[Any], yf: list[Any]) -> Any:
    """plotext's `hd_group` (which dots of each cell a braille / HD line lights), computed
    with one dict of bit masks instead of a small matrix per dot: plotext spends ~40% of a
    figure there. The same lists, in the same order; input it was not written for (mixed
    dot sizes, non-integer or missing coordinates) goes to plotext's own."""
    n = len(x)
    if n and len(y) == n and len(xf) == n and len(yf) == n:
        fx, fy = xf[0], yf[0]
        if (type(fx) is int and type(fy) is int and fx > 0 and fy > 0
                and xf.count(fx) == n and yf.count(fy) == n
                and set(map(type, x)) == _INT_ONLY and set(map(type, y)) == _INT_ONLY):
            bits: dict[tuple[int, int], int] = {}
            get = bits.get
            top = fy - 1
            for xi, yi in zip(x, y, strict=True):
                key = (xi // fx, yi // fy)
                # plotext's matrix row yk is flattened from the top row: dot (xk, yk) is at
                # (fy - 1 - yk) * fx + xk.
                bits[key] = get(key, 0) | 1 << ((top - yi % fy) * fx + xi % fx)
            size = fx * fy
            dots = []
            for mask in bits.values():
                code = _DOTS.get((size, mask))
                if code is None:
                    code = _DOTS[(size, mask)] = tuple((mask >> j) & 1 for j in range(size))
                dots.append(code)
            return [k[0] for k in bits], [k[1] for k in bits], dots
    assert _PLOTEXT_HD_GROUP is not None
    return _PLOTEXT_HD_GROUP(x, y, xf, yf)


@contextmanager
def _faster_plotext() -> Iterator[None]:
    """plotext's `hd_group` replaced by `_hd_group` while our figure builds (the event
    loop runs nothing else meanwhile; plotext is used nowhere else)."""
    if _PLOTEXT_HD_GROUP is None or _plotext_utility.hd_group is not _PLOTEXT_HD_GROUP:
        yield
        return
    _plotext_utility.hd_group = _hd_group
    try:
        yield
    finally:
        _plotext_utility.hd_group = _PLOTEXT_HD_GROUP


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _ansi_theme() -> TerminalTheme | None:
    """The theme Textual maps ANSI colours with (as `Content.from_rich_text` gets it)."""
    try:
        return active_app.get().ansi_theme
    except LookupError:
        return None


class _StyleCache:
    """The styles of a figure's cells, kept across repaints (a figure has a few colours),
    and the last figure's lines: a line whose cells did not change is not drawn again."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._spans: dict[tuple[object, ...], object] = {}
        self._by_cell: dict[tuple[object, object, object], VisualStyle | None] = {}
        self._by_cell_theme: object = _MISSING
        self._combined: dict[tuple[VisualStyle, VisualStyle | None], VisualStyle] = {}
        self._placed: dict[tuple[VisualStyle, int, int], RichStyle] = {}
        self.lines: list[tuple[tuple[object, ...], Strip]] = []  # ((text, colours...), strip)
        self.lines_key: tuple[object, ...] = ()

    def span(self, colors: tuple[object, object, object],
             theme: TerminalTheme | None) -> VisualStyle | None:
        """The style Textual gives cells of plotext `colors` (fullground, style, background)
        when it reads them from plotext's ANSI output; None for no style."""
        if theme is not self._by_cell_theme:
            self._by_cell, self._by_cell_theme = {}, theme
        try:
            return self._by_cell[colors]
        except KeyError:
            style = self._by_cell[colors] = self._span(colors, theme)
            return style
        except TypeError:  # a colour given as a list
            return self._span(colors, theme)

    def _span(self, colors: tuple[object, object, object],
              theme: TerminalTheme | None) -> VisualStyle | None:
        key = (theme, *map(_hashable, colors))
        style = self._spans.get(key, _MISSING)
        if style is _MISSING:
            from plotext._utility import ansi_end, colors_to_ansi

            text = Text.from_ansi(colors_to_ansi(*colors) + "x" + ansi_end)
            rich = text.spans[0].style if text.spans else None
            style = (VisualStyle.from_rich_style(rich, theme)
                     if isinstance(rich, RichStyle) else None)
            self._spans[key] = style
        return style  # type: ignore[return-value]

    def placed(self, base: VisualStyle, span: VisualStyle | None, x: int, y: int) -> RichStyle:
        """The Rich style of a segment at (x, y), as `Content` renders one."""
        combined = self._combined.get((base, span))
        if combined is None:
            combined = base + VisualStyle.combine([base] if span is None else [base, span])
            self._combined[(base, span)] = combined
        key = (combined, x, y)
        rich = self._placed.get(key)
        if rich is None:
            if len(self._placed) > self.LIMIT:
                self._placed.clear()
            rich = self._placed[key] = combined.rich_style_with_offset(x, y)
        return rich


class _Canvas(Visual):
    """A built plotext figure, drawn from plotext's matrix of cells.

    textual-plotext has plotext write the figure as a colour ANSI string and parses it back
    with Rich (one style per cell), on every repaint. This reads the characters and colours
    plotext left in its matrix and makes the strips directly, one segment per run of cells
    of the same colours, with cached styles: segment for segment what the ANSI path gives
    (a test compares them). Where that can't be promised (a text selection, text-align or
    line-pad rules, wide characters, another size) it takes the ANSI path.
    """

    def __init__(self, chart: MetricChart, matrix: Any) -> None:
        self._chart = chart
        self._marker: list[list[str]] = matrix.marker
        self._colors = (matrix.fullground, matrix.style, matrix.background)
        self._height = len(self._marker)
        self._width = len(self._marker[0]) if self._marker else 0
        self._content: Content | None = None

    def _ansi_content(self) -> Content:
        """The figure as textual-plotext shows it: plotext's ANSI string, parsed by Rich."""
        if self._content is None:
            from plotext._matrix import matrix_class

            matrix = matrix_class()
            matrix.set_size(self._width, self._height)
            matrix.marker = self._marker
            matrix.fullground, matrix.style, matrix.background = self._colors
            self._content = Content.from_rich_text(Text.from_ansi(matrix.set_canvas()),
                                                   console=self._chart.app.console)
        return self._content

    def _strip(self, line: tuple[str, list[object], list[object], list[object]], y: int,
               style: VisualStyle, theme: TerminalTheme | None) -> Strip:
        """Line `y` (from the top): one segment per run of cells of the same colours, runs
        of unstyled cells merged (as Rich's ANSI decoder leaves them)."""
        text, fg, st, bg = line
        cells = list(zip(fg, st, bg, strict=True))
        cuts = [0, *compress(range(1, len(cells)), map(ne, islice(cells, 1, None), cells)),
                len(cells)]
        span = self._chart._styles.span
        runs: list[tuple[int, int, VisualStyle | None]] = []
        for a, b in zip(cuts, islice(cuts, 1, None), strict=False):
            run_style = span(cells[a], theme)
            if run_style is None and runs and runs[-1][2] is None:
                runs[-1] = (runs[-1][0], b, None)
            else:
                runs.append((a, b, run_style))
        placed = self._chart._styles.placed
        return Strip([Segment(text[a:b], placed(style, run_style, a, y))
                      for a, b, run_style in runs], len(text))

    def render_strips(self, width: int, height: int | None, style: VisualStyle,
                      options: RenderOptions) -> list[Strip]:
        rules = options.rules
        if (options.selection is not None or options.post_style is not None
                or not width or width != self._width or height != self._height
                or rules.get("text_align", "left") not in ("left", "start")
                or rules.get("line_pad", 0)):
            return self._ansi_content().render_strips(width, height, style, options)
        rows = range(self._height - 1, -1, -1)  # plotext's rows go up
        texts = ["".join(self._marker[r]) for r in rows]
        if any(len(text) != width or cell_len(text) != width for text in texts):
            return self._ansi_content().render_strips(width, height, style, options)
        cache = self._chart._styles
        theme = _ansi_theme()
        key = (style, theme)
        before = cache.lines if cache.lines_key == key else []
        fg, st, bg = self._colors
        lines = []
        for y, (r, text) in enumerate(zip(rows, texts, strict=True)):
            line = (text, fg[r], st[r], bg[r])
            if y < len(before) and before[y][0] == line:
                strip = before[y][1]
            else:
                strip = self._strip(line, y, style, theme)
            lines.append((line, strip))
        cache.lines, cache.lines_key = lines, key
        return [strip for _, strip in lines]

    def __str__(self) -> str:
        """The figure's characters, as `str()` of textual-plotext's `Text` gives them."""
        return "".join("".join(row) + "\n" for row in reversed(self._marker))

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self._ansi_content().get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self._ansi_content().get_height(rules, width)


class MetricChart(PlotextPlot, can_focus=True):
    """Plots named series of (x, y) points; the data is plain, nothing MLflow-specific.

    `set_data` only stores the data and asks for a refresh; the plot is rebuilt in
    `render()` (once per refresh, at the widget's current size), with each series
    downsampled to about twice the plot's width in columns (long series from an index
    kept as they grow, see `_Track`), and drawn by plotext into strips (`_Canvas`).
    `set_options` changes how the data is shown (x axis mode, log y, smoothing, zoom to
    the last N points); the settings that differ from the defaults are listed in the
    plot's title.
    """

    DEFAULT_CSS = """
    MetricChart {
        width: 1fr;
        height: 1fr;
        min-height: 6;
    }
    MetricChart:focus {
        background-tint: $foreground 3%;
    }
    """

    # A figure holds no links: Textual need not look for them in every segment of it.
    auto_links: Reactive[bool] = Reactive(False)

    def __init__(
        self,
        *,
        name: str | None = None,
        id: str | None = None,  # noqa: A002 - Textual's API
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._series: dict[str, Sequence[Point]] = {}
        self._title = ""
        self._x_label = "step"
        self._y_label = ""
        self._marker_x: float | None = None
        self._marker_label = ""
        self._series_colors: dict[str, str] = {}
        self._series_markers: dict[str, str] = {}
        self._options = ChartOptions()
        self._version = 0
        self._tracks: dict[str, _Track] = {}
        self._tracks_version = -1
        self._prep_key: tuple[int, ChartOptions] | None = None
        self._prepared: dict[str, tuple[list[Point], list[Point] | None]] = {}
        self._cache_key: tuple[int, ChartOptions, int] | None = None
        self._plot_cache: dict[str, tuple[list[Point], list[Point] | None]] = {}
        self._styles = _StyleCache()
        self.render_count = 0
        """How many times the plot was built (for tests and benchmarks)."""

    # ------------------------------------------------------------------ public API
    def set_data(
        self,
        series: Mapping[str, Sequence[Point]],
        *,
        title: str = "",
        x_label: str = "step",
        y_label: str = "",
        marker_x: float | None = None,
        marker_label: str = "",
        colors: Mapping[str, str] | None = None,
        options: ChartOptions | None = None,
        markers: Mapping[str, str] | None = None,
    ) -> None:
        """Replace what is plotted. Cheap: the plot itself is built on the next refresh.

        `marker_x` is in the same units as the x values. `options`, if given, replaces
        the display options too (else the current ones are kept).

        A series is any sequence of (x, y). The chart keeps what it derived from each one
        (by label) and, if a series has a method `shared_prefix(earlier) -> int` (how many
        leading points it is known to share with `earlier`, a series given before under
        the same label, without reading them), it cuts that back to the shared points and
        reads only the rest: an update then costs what changed, not the whole history
        (`tui.charting.XYSeries` does this). Any other new series object is read whole.
        """
        names = _display_names(series)
        new_series = {names[label]: pts for label, pts in series.items()}
        state = (
            safe_text(title, 200), safe_text(x_label, 60), safe_text(y_label, 60),
            marker_x if marker_x is not None and _is_finite(marker_x) else None,
            safe_text(marker_label, 60),
            {names[k]: v for k, v in (colors or {}).items() if k in names},
            # plotext marker per series ("braille" lines by default; e.g. "dot" tells a second
            # series of the same colour apart).
            {names[k]: v for k, v in (markers or {}).items() if k in names},
        )
        if (options is None or options == self._options) and state == (
                self._title, self._x_label, self._y_label, self._marker_x, self._marker_label,
                self._series_colors, self._series_markers) and new_series == self._series:
            return  # the same plot (a tick that brought nothing new): no rebuild, no repaint
        self._series = new_series
        (self._title, self._x_label, self._y_label, self._marker_x, self._marker_label,
         self._series_colors, self._series_markers) = state
        if options is not None:
            self._options = options
        for label in list(self._tracks):
            if label not in self._series:
                del self._tracks[label]
        self._version += 1
        self.refresh()

    def set_options(self, options: ChartOptions) -> None:
        """Change how the data is shown; the plot is rebuilt on the next refresh."""
        if not isinstance(options, ChartOptions):
            raise TypeError(f"expected ChartOptions, got {type(options).__name__}")
        if options != self._options:
            self._options = options
            self.refresh()

    @property
    def options(self) -> ChartOptions:
        """The display options currently in effect."""
        return self._options

    @property
    def series_labels(self) -> list[str]:
        """The (sanitised) labels of the series currently set, in order."""
        return list(self._series)

    @property
    def title(self) -> str:
        """The (sanitised) title currently set."""
        return self._title

    def color_for(self, label: str, index: int) -> str:
        """The plotext colour used for series `label` at position `index`."""
        return self._series_colors.get(label) or PALETTE[index % len(PALETTE)]

    @staticmethod
    def raw_color_for(color: str) -> str:
        """The faint colour of a smoothed series' raw line: the darker shade, else gray."""
        if color.endswith("+") and len(color) > 1:
            return color[:-1]
        return RAW_GRAY

    # ------------------------------------------------------------------ data pipeline
    def _synced_tracks(self) -> dict[str, _Track]:
        """Each series' `_Track`, brought up to date with the data last set."""
        if self._tracks_version != self._version:
            for label, points in self._series.items():
                track = self._tracks.get(label)
                if track is None:
                    track = self._tracks[label] = _Track()
                track.update(points)
            self._tracks_version = self._version
        return self._tracks

    def _prepared_series(self) -> dict[str, tuple[list[Point], list[Point] | None]]:
        """Per series: (raw, smoothed or None), zoomed and made log-safe as the options say.

        Smoothing runs over the whole series, before the zoom. Not yet downsampled. (What
        is drawn comes from `_downsampled`, which does not build these lists for long
        series.)
        """
        opts = self._options
        key = (self._version, opts)
        if self._prep_key != key:
            tracks = self._synced_tracks()
            self._prepared = {label: tracks[label].prepared(opts) for label in self._series}
            self._prep_key = key
        return self._prepared

    def _downsampled(self, width: int) -> dict[str, tuple[list[Point], list[Point] | None]]:
        key = (self._version, self._options, width)
        if self._cache_key != key:
            # plotext costs ~36 us a point: keep the whole figure under POINT_BUDGET points, so
            # twenty overlaid runs draw as fast as one (each still gets >= 16 buckets).
            n = max(1, len(self._series))
            buckets = max(16, min(max(width, 10), POINT_BUDGET // (2 * n)))
            tracks = self._synced_tracks()
            self._plot_cache = {label: tracks[label].plotted(self._options, buckets)
                                for label in self._series}
            self._cache_key = key
        return self._plot_cache

    def _has_points(self) -> bool:
        return y_range(*(raw for raw, _ in self._downsampled(self._width()).values())) is not None

    def _width(self) -> int:
        return self.size.width or 80

    # ------------------------------------------------------------------ rendering
    def _format_x(self, x: float) -> str:
        mode = self._options.x_mode
        if mode == "relative":
            return format_relative(x)
        if mode == "wall":
            return format_wall(x, step=1.0)
        return f"{x:g}"

    def _plot_title(self) -> str:
        title = self._title
        if self._marker_x is not None:
            mark = f"{self._marker_label or 'marker'} @ {self._format_x(self._marker_x)}"
            title = f"{title}   ┊ {mark}" if title else f"┊ {mark}"
        summary = self._options.summary()
        if summary:
            title = f"{title}   [{summary}]" if title else f"[{summary}]"
        return title

    def _x_axis_label(self) -> str:
        return X_MODE_LABELS.get(self._options.x_mode, self._x_label)

    def _set_time_ticks(self, data: Iterable[tuple[list[Point], list[Point] | None]],
                        width: int) -> None:
        lo = math.inf
        hi = -math.inf
        for raw, _ in data:
            xs = [x for x, y in raw if y - y == 0]
            if xs:
                lo = min(lo, xs[0], min(xs))
                hi = max(hi, xs[-1], max(xs))
        if lo > hi:
            return
        count = max(2, min(8, width // 14))
        mode = self._options.x_mode
        if mode == "wall":
            try:
                offset = datetime.fromtimestamp(lo).astimezone().utcoffset()
            except (OverflowError, OSError, ValueError):
                return
            ticks, step = _time_ticks(lo, hi, count, offset.total_seconds() if offset else 0.0)
            labels = [format_wall(t, step, hi - lo) for t in ticks]
        else:
            ticks, step = _time_ticks(lo, hi, count)
            labels = [format_relative(t) for t in ticks]
        self.plt.xticks(ticks, labels)

    def _set_log_ticks(self, data: Iterable[tuple[list[Point], list[Point] | None]]) -> None:
        shown = [pts for raw, smooth in data for pts in (raw, smooth) if pts is not None]
        bounds = y_range(*shown)
        if bounds is None:
            return
        ticks = _log_ticks(*bounds, max(2, min(8, (self.size.height or 24) // 4)))
        if ticks:
            self.plt.yticks(ticks, [_tick_label(t) for t in ticks])

    def render(self) -> RenderResult:
        width = self._width()
        opts = self._options
        if not self._series or not self._has_points():
            message = Text(self._plot_title() or "No data", style="bold", justify="center")
            if not self._series:
                hint = "no data to plot"
            elif opts.log_y:
                hint = "no values > 0 to show on a log scale"
            else:
                hint = "no data points yet"
            return Align.center(
                Group(message, Text(hint, style="dim", justify="center")), vertical="middle")
        try:
            data = self._downsampled(width)
            plt = self.plt
            plt.clear_figure()
            plt.title(self._plot_title())
            plt.xlabel(self._x_axis_label())
            plt.ylabel(self._y_label)
            if opts.log_y:
                plt.yscale("log")
                self._set_log_ticks(data.values())
            if opts.x_mode != "step":
                self._set_time_ticks(data.values(), width)
            # Raw lines of smoothed series first, faint and unlabelled, so they stay behind.
            for index, (label, (raw, smooth)) in enumerate(data.items()):
                if smooth is not None:
                    faint = self.raw_color_for(self.color_for(label, index))
                    for xs, ys in finite_segments(raw):
                        plt.plot(xs, ys, color=faint, marker="braille")
            for index, (label, (raw, smooth)) in enumerate(data.items()):
                color = self.color_for(label, index)
                first = True
                marker = self._series_markers.get(label, "braille")
                for xs, ys in finite_segments(raw if smooth is None else smooth):
                    plt.plot(xs, ys, color=color, marker=marker, label=label if first else None)
                    first = False
            if self._marker_x is not None and self._marker_visible(data.values()):
                plt.vline(self._marker_x, MARKER_COLOR)
            self.render_count += 1
            return self._figure()
        except (ArithmeticError, ValueError, IndexError) as exc:
            # plotext gives up on some extreme values: say so instead of taking the app down.
            return Align.center(Group(
                Text(self._plot_title() or "Chart", style="bold", justify="center"),
                Text(f"these values cannot be drawn ({type(exc).__name__}); press y for a "
                     "log scale or n to zoom", style="dim", justify="center")),
                vertical="middle")

    def _figure(self) -> RenderResult:
        """Build the figure: `PlotextPlot.render()` without its ANSI round trip (`_Canvas`),
        and with a faster exact braille grouping (`_hd_group`). Without the plotext
        internals these rely on (plotext is pinned for them), the plain path."""
        plot = self.plt
        if not _PLOTEXT_MATRIX or plot.monitor.fast_plot or not plot._no_plots:
            return super().render()
        width, height = self.size
        plot.plotsize(width, height)
        plot._set_size(width, height)  # as PlotextPlot.render() does (textual-plotext#5)
        plot.theme(self._get_plotext_theme_name(self.app.theme))
        plot._set_sizes()
        with _faster_plotext():
            plot._build_matrix()
        return _Canvas(self, plot.monitor.matrix)

    def _marker_visible(self, data: Iterable[tuple[list[Point], list[Point] | None]]) -> bool:
        """When zoomed, only draw the marker inside the shown x range (it would widen it)."""
        if self._options.last_n is None:
            return True
        xs = [x for raw, _ in data for x, _y in raw[:1] + raw[-1:]]
        return bool(xs) and min(xs) <= self._marker_x <= max(xs)  # type: ignore[operator]
