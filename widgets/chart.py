"""Line chart of metric series (plotext inside Textual) and the downsampling behind it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from itertools import islice
from operator import itemgetter, le

from rich.align import Align
from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

from .text import safe_text

__all__ = ["PALETTE", "MetricChart", "downsample", "finite_segments"]

NAN = float("nan")

PALETTE: tuple[str, ...] = (
    "cyan+", "orange+", "green+", "magenta+", "yellow+", "blue+", "red+", "white",
)
"""Plotext colour names given to series in order when no explicit colour is set."""

MARKER_COLOR = "red+"


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


class MetricChart(PlotextPlot, can_focus=True):
    """Plots named series of (x, y) points; the data is plain, nothing MLflow-specific.

    `set_data` only stores the data and asks for a refresh; the plot is rebuilt in
    `render()` (once per refresh, at the widget's current size), with each series
    downsampled to about twice the plot's width in columns.
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
        self._series: dict[str, Sequence[tuple[float, float]]] = {}
        self._title = ""
        self._x_label = "step"
        self._y_label = ""
        self._marker_x: float | None = None
        self._marker_label = ""
        self._series_colors: dict[str, str] = {}
        self._version = 0
        self._cache_key: tuple[int, int] | None = None
        self._plot_cache: dict[str, list[tuple[float, float]]] = {}
        self.render_count = 0
        """How many times the plot was built (for tests and benchmarks)."""

    # ------------------------------------------------------------------ public API
    def set_data(
        self,
        series: Mapping[str, Sequence[tuple[float, float]]],
        *,
        title: str = "",
        x_label: str = "step",
        y_label: str = "",
        marker_x: float | None = None,
        marker_label: str = "",
        colors: Mapping[str, str] | None = None,
    ) -> None:
        """Replace what is plotted. Cheap: the plot itself is built on the next refresh."""
        self._series = {safe_text(label, 60): pts for label, pts in series.items()}
        self._title = safe_text(title, 200)
        self._x_label = safe_text(x_label, 60)
        self._y_label = safe_text(y_label, 60)
        self._marker_x = marker_x if marker_x is not None and _is_finite(marker_x) else None
        self._marker_label = safe_text(marker_label, 60)
        self._series_colors = {safe_text(k, 60): v for k, v in (colors or {}).items()}
        self._version += 1
        self.refresh()

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

    # ------------------------------------------------------------------ rendering
    def _plot_title(self) -> str:
        title = self._title
        if self._marker_x is not None:
            mark = f"{self._marker_label or 'marker'} @ {self._marker_x:g}"
            title = f"{title}   ┊ {mark}" if title else f"┊ {mark}"
        return title

    def _downsampled(self, width: int) -> dict[str, list[tuple[float, float]]]:
        key = (self._version, width)
        if self._cache_key != key:
            buckets = max(width, 10)
            self._plot_cache = {
                label: downsample(pts, buckets) for label, pts in self._series.items()
            }
            self._cache_key = key
        return self._plot_cache

    def _has_points(self) -> bool:
        return any(
            any(_is_finite(y) for _, y in pts) for pts in self._downsampled(self._width()).values()
        )

    def _width(self) -> int:
        return self.size.width or 80

    def render(self) -> RenderResult:
        width = self._width()
        if not self._series or not self._has_points():
            message = Text(self._title or "No data", style="bold", justify="center")
            hint = Text(
                "no data points yet" if self._series else "no data to plot",
                style="dim", justify="center",
            )
            return Align.center(Group(message, hint), vertical="middle")
        plt = self.plt
        plt.clear_figure()
        plt.title(self._plot_title())
        plt.xlabel(self._x_label)
        plt.ylabel(self._y_label)
        for index, (label, pts) in enumerate(self._downsampled(width).items()):
            color = self.color_for(label, index)
            first = True
            for xs, ys in finite_segments(pts):
                plt.plot(xs, ys, color=color, marker="braille", label=label if first else None)
                first = False
        if self._marker_x is not None:
            plt.vline(self._marker_x, MARKER_COLOR)
        self.render_count += 1
        return super().render()

