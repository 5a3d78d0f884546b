"""Incremental series: each series kept as x and y columns with what the chart derives from
them (the EMA, an index of minima, maxima and gaps), extended with new points only
(`_Track`, `_Extremes`, `_Smoothed`). Pure Python: no Textual, no plotext."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import islice
from operator import itemgetter, le

from .options import ChartOptions
from .series import NAN, Point, _ema_ys, _is_finite, _sorted_finite_x, downsample, log_safe

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
