"""Line chart of metric series (plotext inside Textual) and the downsampling behind it."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from operator import itemgetter, le

from rich.align import Align
from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
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
    return _ema_from(points, weight, 0.0, 1.0)[0]


def _ema_from(
    points: Iterable[Point], weight: float, last: float, wk: float,
) -> tuple[list[Point], float, float]:
    """`ema` continuing from the state (last, w**k); returns (points, last, w**k)."""
    w = min(max(float(weight), 0.0), MAX_SMOOTHING) if weight == weight else 0.0
    if w == 0:
        return list(points), last, wk
    one = 1.0 - w
    out: list[Point] = []
    append = out.append
    for x, y in points:
        if y - y == 0:
            last = last * w + one * y
            wk *= w
            append((x, last / (1.0 - wk)))
        else:
            append((x, y))
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



class MetricChart(PlotextPlot, can_focus=True):
    """Plots named series of (x, y) points; the data is plain, nothing MLflow-specific.

    `set_data` only stores the data and asks for a refresh; the plot is rebuilt in
    `render()` (once per refresh, at the widget's current size), with each series
    downsampled to about twice the plot's width in columns. `set_options` changes how
    the data is shown (x axis mode, log y, smoothing, zoom to the last N points); the
    settings that differ from the defaults are listed in the plot's title.
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
        self._prep_key: tuple[int, ChartOptions] | None = None
        self._prepared: dict[str, tuple[list[Point], list[Point] | None]] = {}
        self._cache_key: tuple[int, ChartOptions, int] | None = None
        self._plot_cache: dict[str, tuple[list[Point], list[Point] | None]] = {}
        self._ema_cache: dict[str, _EmaEntry] = {}
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
        for label in list(self._ema_cache):
            if label not in self._series:
                del self._ema_cache[label]
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
    def _smoothed(self, label: str, pts: list[Point], weight: float) -> list[Point]:
        """EMA of `pts`, cached per series; an appended-to series only smooths the tail."""
        entry = self._ema_cache.get(label)
        n = len(pts)
        if entry is not None and entry.weight == weight and n >= entry.length > 0:
            if entry.source is pts and entry.length == n:
                return entry.smoothed
            if pts[0] == entry.first and pts[entry.length - 1] == entry.last_point:
                tail, last, wk = _ema_from(
                    islice(pts, entry.length, None), weight, entry.last, entry.wk)
                smoothed = entry.smoothed + tail if tail else entry.smoothed
                self._ema_cache[label] = _EmaEntry(
                    pts, n, pts[0], pts[-1], weight, smoothed, last, wk)
                return smoothed
        smoothed, last, wk = _ema_from(pts, weight, 0.0, 1.0)
        if n:
            self._ema_cache[label] = _EmaEntry(
                pts, n, pts[0], pts[-1], weight, smoothed, last, wk)
        return smoothed

    def _prepared_series(self) -> dict[str, tuple[list[Point], list[Point] | None]]:
        """Per series: (raw, smoothed or None), zoomed and made log-safe as the options say.

        Smoothing runs over the whole series, before the zoom. Not yet downsampled.
        """
        opts = self._options
        key = (self._version, opts)
        if self._prep_key != key:
            prepared: dict[str, tuple[list[Point], list[Point] | None]] = {}
            for label, points in self._series.items():
                pts = _sorted_finite_x(points)
                smooth = self._smoothed(label, pts, opts.smoothing) if opts.smoothing else None
                if opts.last_n is not None and len(pts) > opts.last_n:
                    start = len(pts) - opts.last_n
                    pts = pts[start:]
                    smooth = smooth[start:] if smooth is not None else None
                if opts.log_y:
                    pts = log_safe(pts)
                    smooth = log_safe(smooth) if smooth is not None else None
                prepared[label] = (pts, smooth)
            self._prepared = prepared
            self._prep_key = key
        return self._prepared

    def _downsampled(self, width: int) -> dict[str, tuple[list[Point], list[Point] | None]]:
        key = (self._version, self._options, width)
        if self._cache_key != key:
            # plotext costs ~36 us a point: keep the whole figure under POINT_BUDGET points, so
            # twenty overlaid runs draw as fast as one (each still gets >= 16 buckets).
            n = max(1, len(self._series))
            buckets = max(16, min(max(width, 10), POINT_BUDGET // (2 * n)))
            self._plot_cache = {
                label: (
                    downsample(raw, buckets),
                    downsample(smooth, buckets) if smooth is not None else None,
                )
                for label, (raw, smooth) in self._prepared_series().items()
            }
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
            return super().render()
        except (ArithmeticError, ValueError, IndexError) as exc:
            # plotext gives up on some extreme values: say so instead of taking the app down.
            return Align.center(Group(
                Text(self._plot_title() or "Chart", style="bold", justify="center"),
                Text(f"these values cannot be drawn ({type(exc).__name__}); press y for a "
                     "log scale or n to zoom", style="dim", justify="center")),
                vertical="middle")

    def _marker_visible(self, data: Iterable[tuple[list[Point], list[Point] | None]]) -> bool:
        """When zoomed, only draw the marker inside the shown x range (it would widen it)."""
        if self._options.last_n is None:
            return True
        xs = [x for raw, _ in data for x, _y in raw[:1] + raw[-1:]]
        return bool(xs) and min(xs) <= self._marker_x <= max(xs)  # type: ignore[operator]


@dataclass
class _EmaEntry:
    """A cached EMA of one series, with the state to extend it when points are appended."""

    source: list[Point]
    length: int
    first: Point
    last_point: Point
    weight: float
    smoothed: list[Point]
    last: float
    wk: float
