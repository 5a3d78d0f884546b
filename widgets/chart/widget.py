"""`MetricChart`: the Textual widget that plots named series of (x, y) points with plotext."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from rich.align import Align
from rich.console import Group
from rich.text import Text
from textual.app import RenderResult
from textual.reactive import Reactive
from textual_plotext import PlotextPlot

from ..text import safe_text
from .options import X_MODE_LABELS, ChartOptions
from .plotext_bridge import _matrix_figure, _StyleCache
from .series import Point, _is_finite, finite_segments, legend_headroom, y_range
from .ticks import _log_ticks, _tick_label, _time_ticks, format_relative, format_wall
from .tracks import _Track

PALETTE: tuple[str, ...] = (
    "cyan+", "orange+", "green+", "magenta+", "yellow+", "blue+", "red+", "white",
)
"""Plotext colour names given to series in order when no explicit colour is set."""

MARKER_COLOR = "red+"
POINT_BUDGET = 2400  # points handed to plotext per figure, all series together

PLOT_FRAME_ROWS = 5  # rows of a figure that are not plot: title, axes, ticks, x label

RAW_GRAY = "gray"
"""Colour of the raw (unsmoothed) line of a smoothed series, on a dark theme."""
RAW_GRAY_LIGHT = 250
"""... on a light theme: a light gray of the 256-colour palette (fixed, not remapped by the
theme), closer to the background than any curve colour (gray stood out more than cyan)."""


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
        self.y_top: float | None = None  # the y axis top the last figure set (legend room)
        """How many times the plot was built (for tests and benchmarks)."""
        # Said in the title when the plot is too short for its legend (which would cover
        # most of the curves): where else the series' colours are explained.
        self.legend_note = "no room for the legend"
        self.legend_shown = True  # whether the last figure had its legend

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
        (`mlflow_tui.analysis.charting.XYSeries` does this). Any other new series object is read
        whole.
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

    def raw_color_for(self, color: str) -> str | int:
        """The colour of a smoothed series' raw line, behind every curve and fainter than it
        on the theme's background: gray on a dark theme, a light gray on a light one (a darker
        shade of the curve's own colour reads as bright as the curve in many themes)."""
        try:
            dark = self.app.current_theme.dark
        except Exception:  # noqa: BLE001 - not mounted: the dark default
            dark = True
        return RAW_GRAY if dark else RAW_GRAY_LIGHT

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

    def _leave_room_for_the_legend(self, data: Iterable[tuple[list[Point], list[Point] | None]],
                                   labels: int) -> None:
        """Raise the top of the y axis so the curves start below the legend (top-left). Not
        on a log scale: plotext's limits there are its own."""
        shown = [pts for raw, smooth in data for pts in (raw, smooth) if pts is not None]
        bounds = None if self._options.log_y else y_range(*shown)
        rows = (self.size.height or 24) - PLOT_FRAME_ROWS
        top = None if bounds is None else legend_headroom(*bounds, labels, rows)
        self.y_top = top
        if top is not None and bounds is not None:
            self.plt.ylim(bounds[0], top)

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
            # A legend over more than half the plot would hide the curves it names: leave it
            # out and say so (compare's run table shows the same colours). Two lines (train
            # and validation) always stay: nothing else tells their colours apart.
            rows = (self.size.height or 24) - PLOT_FRAME_ROWS
            self.legend_shown = len(data) <= 2 or 2 * len(data) <= rows
            title = self._plot_title()
            plt.title(title if self.legend_shown else f"{title}   ({self.legend_note})")
            plt.xlabel(self._x_axis_label())
            plt.ylabel(self._y_label)
            if opts.log_y:
                plt.yscale("log")
                self._set_log_ticks(data.values())
            if opts.x_mode != "step":
                self._set_time_ticks(data.values(), width)
            self._leave_room_for_the_legend(data.values(),
                                            len(data) if self.legend_shown else 0)
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
                    plt.plot(xs, ys, color=color, marker=marker,
                             label=label if first and self.legend_shown else None)
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
        canvas = _matrix_figure(self)
        return super().render() if canvas is None else canvas

    def _marker_visible(self, data: Iterable[tuple[list[Point], list[Point] | None]]) -> bool:
        """When zoomed, only draw the marker inside the shown x range (it would widen it)."""
        if self._options.last_n is None:
            return True
        xs = [x for raw, _ in data for x, _y in raw[:1] + raw[-1:]]
        return bool(xs) and min(xs) <= self._marker_x <= max(xs)  # type: ignore[operator]
