"""Everything that reaches into plotext's internals (its version is pinned for them): the
check that they are there, the faster braille grouping swapped in while a figure builds,
and `_Canvas`, a built figure turned from plotext's matrix of cells into Textual strips
(cell styles cached in `_StyleCache`). Textual's private `active_app` is read here too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import compress, islice
from operator import ne
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style as RichStyle
from rich.terminal_theme import TerminalTheme
from rich.text import Text
from textual._context import active_app
from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, Visual

if TYPE_CHECKING:
    from .widget import MetricChart


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


def _matrix_figure(chart: MetricChart) -> _Canvas | None:
    """`chart`'s figure built as `PlotextPlot.render()` builds it, but read from plotext's
    matrix of cells (`_Canvas`) and with `_hd_group` standing in; None where the plain
    path (`PlotextPlot.render()`) must draw it: the plotext internals are missing, or
    plotext is in a mode this does not cover."""
    plot: Any = chart.plt  # plotext's internals: not in its types (checked in tests)
    if not _PLOTEXT_MATRIX or plot.monitor.fast_plot or not plot._no_plots:
        return None
    width, height = chart.size
    plot.plotsize(width, height)
    plot._set_size(width, height)  # as PlotextPlot.render() does (textual-plotext#5)
    plot.theme(chart._get_plotext_theme_name(chart.app.theme))
    plot._set_sizes()
    with _faster_plotext():
        plot._build_matrix()
    return _Canvas(chart, plot.monitor.matrix)


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
        lines: list[tuple[tuple[object, ...], Strip]] = []
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
