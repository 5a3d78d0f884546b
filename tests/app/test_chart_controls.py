"""MetricChart display options (x mode, log y, smoothing, zoom), hosted and driven with Pilot."""

from __future__ import annotations

import math
import re

from textual.app import App, ComposeResult

from mlflow_tui.widgets import ChartOptions, MetricChart, ema
from tests.conftest import screen_text, wait_until


class Host(App[None]):
    def __init__(self, chart: MetricChart) -> None:
        super().__init__()
        self.chart = chart

    def compose(self) -> ComposeResult:
        yield self.chart


async def _rendered(pilot, chart: MetricChart, before: int) -> None:
    await pilot.pause()
    await wait_until(lambda: chart.render_count > before, message="chart re-rendered")


def _loss_series(n: int) -> dict[str, list[tuple[float, float]]]:
    loss = [(float(i), 1.0 / (i + 1) + 0.01 * (i % 3)) for i in range(n)]
    loss[n - 20] = (float(n - 20), math.nan)
    loss[n - 10] = (float(n - 10), math.inf)
    loss[500] = (500.0, -1.0)  # can't be shown on a log axis
    val = [(float(i), math.nan if i % 7 == 0 else 0.5) for i in range(0, n, 100)]
    return {"train_loss": loss, "val_loss": val}


async def test_all_options_on_large_series_with_nan():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(100, 30)) as pilot:
        chart.set_data(_loss_series(100_000), title="losses", marker_x=99_990.0,
                       marker_label="best val")
        await _rendered(pilot, chart, 0)
        opts = ChartOptions(x_mode="relative", log_y=True, smoothing=0.8, last_n=50)
        before = chart.render_count
        chart.set_options(opts)
        await _rendered(pilot, chart, before)
        assert chart.options == opts
        screen = screen_text(app)
        for part in ("x: relative", "log y", "smooth 0.8", "last 50", "time since start"):
            assert part in screen, part
        assert screen.count("train_loss") == 1
        assert screen.count("val_loss") == 1
        assert re.search(r"best val @ 27\.7\dh", screen)  # marker in the same (relative) units
        assert re.search(r"\b26\.75h\b", screen)  # relative time ticks
        assert app.is_running


async def test_set_data_keeps_options_and_accepts_them():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(100, 30)) as pilot:
        chart.set_options(ChartOptions(log_y=True))
        chart.set_data({"m": [(float(i), 2.0**-i) for i in range(40)]}, title="t1")
        await _rendered(pilot, chart, 0)
        assert "log y" in screen_text(app)
        assert chart.options.log_y
        before = chart.render_count
        chart.set_data({"m": [(float(i), float(i)) for i in range(40)]}, title="t2",
                       options=ChartOptions(smoothing=0.5))
        await _rendered(pilot, chart, before)
        screen = screen_text(app)
        assert "smooth 0.5" in screen and "log y" not in screen
        assert screen.count(" m ") >= 1 and "(raw)" not in screen
        before = chart.render_count
        chart.set_options(ChartOptions())
        await _rendered(pilot, chart, before)
        screen = screen_text(app)
        assert "smooth" not in screen and "[" not in screen.splitlines()[0]


async def test_default_options_change_nothing_on_screen():
    data = {"a": [(float(i), math.sin(i / 9)) for i in range(300)]}
    plain = MetricChart()
    app = Host(plain)
    async with app.run_test(size=(80, 24)) as pilot:
        plain.set_data(data, title="same", marker_x=100.0, marker_label="best")
        await _rendered(pilot, plain, 0)
        expected = screen_text(app)
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(80, 24)) as pilot:
        chart.set_data(data, title="same", marker_x=100.0, marker_label="best",
                       options=ChartOptions())
        await _rendered(pilot, chart, 0)
        assert screen_text(app) == expected


async def test_wall_clock_ticks_and_zoom_with_marker():
    chart = MetricChart()
    app = Host(chart)
    start = 1_700_000_000.0
    async with app.run_test(size=(100, 24)) as pilot:
        chart.set_data({"m": [(start + 30.0 * i, float(i % 17)) for i in range(2000)]},
                       title="wall", marker_x=start + 30.0 * 1990, marker_label="best",
                       options=ChartOptions(x_mode="wall", last_n=100))
        await _rendered(pilot, chart, 0)
        screen = screen_text(app)
        assert "wall clock (local)" in screen and "x: wall" in screen and "last 100" in screen
        assert re.search(r"\b\d\d:\d\d\b", screen)
        assert "1700" not in screen  # no raw epoch numbers on the axis
        # A marker outside the zoomed range neither breaks nor widens the plot.
        before = chart.render_count
        chart.set_data({"m": [(start + 30.0 * i, float(i)) for i in range(2000)]},
                       title="wall2", marker_x=start, marker_label="first")
        await _rendered(pilot, chart, before)
        assert "first @" in screen_text(app)


async def test_log_scale_with_nothing_positive_shows_a_hint():
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(80, 20)) as pilot:
        chart.set_data({"m": [(0.0, -1.0), (1.0, 0.0), (2.0, math.nan)]}, title="neg",
                       options=ChartOptions(log_y=True))
        await pilot.pause()
        await wait_until(lambda: "no values > 0" in screen_text(app))
        assert "neg" in screen_text(app)


async def test_smoothing_cache_extends_appended_series_correctly():
    chart = MetricChart()
    app = Host(chart)
    points = [(float(i), math.nan if i % 97 == 5 else float((i * 31) % 11)) for i in range(5000)]
    async with app.run_test(size=(80, 20)) as pilot:
        chart.set_options(ChartOptions(smoothing=0.7))
        chart.set_data({"m": points[:3000]})
        await _rendered(pilot, chart, 0)
        before = chart.render_count
        chart.set_data({"m": list(points)})  # a new list: the old points plus new ones
        await _rendered(pilot, chart, before)
        smoothed = chart._prepared_series()["m"][1]
        expected = ema(points, 0.7)
        assert len(smoothed) == len(expected)
        for (x1, y1), (x2, y2) in zip(smoothed, expected, strict=True):
            assert x1 == x2
            assert (math.isnan(y1) and math.isnan(y2)) or math.isclose(y1, y2)
        # A changed history is smoothed from scratch, not extended.
        changed = [(x, y + 1.0) for x, y in points]
        chart.set_data({"m": changed})
        smoothed = chart._prepared_series()["m"][1]
        assert math.isclose(smoothed[-1][1], ema(changed, 0.7)[-1][1])


async def test_loss_curves_start_below_the_legend():
    """Loss curves start high on the left, where plotext puts its legend: the y axis leaves
    the legend's rows free above the highest value (not on a log scale)."""
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(100, 30)) as pilot:
        series = {"train_loss": [(float(i), 2.0 / (i + 1)) for i in range(50)],
                  "val_loss": [(float(i), 2.5 / (i + 1) + 0.1) for i in range(50)]}
        chart.set_data(series, title="losses")
        await _rendered(pilot, chart, 0)
        assert chart.y_top is not None and chart.y_top > 2.6
        rows = chart.size.height - 5
        assert (chart.y_top - 2.6) / (chart.y_top - 0.04) * rows >= 3 - 1e-9  # 2 labels + 1
        legend = [line for line in screen_text(app).splitlines()
                  if "train_loss" in line or "val_loss" in line]
        assert len(legend) == 2
        for line in legend:  # the legend's own marker (2 cells), no curve beside it
            assert sum("\u2800" < c <= "\u28ff" for c in line) == 2, line
        before = chart.render_count
        chart.set_options(ChartOptions(log_y=True))
        await _rendered(pilot, chart, before)
        assert chart.y_top is None


async def test_a_legend_taller_than_half_the_plot_is_left_out_and_said():
    """Six series on a short chart (compare, 80x24): the legend would cover most of the curves,
    so it is left out and the title says where the colours are explained."""
    chart = MetricChart()
    chart.legend_note = "colours as in the table"
    app = Host(chart)
    series = {f"run-{i} · {role}": [(float(s), (2.0 + i) / (s + 1)) for s in range(40)]
              for i in range(3) for role in ("train", "val")}
    async with app.run_test(size=(80, 14)) as pilot:  # 9 plot rows: 7 legend rows do not fit
        chart.set_data(series, title="train_loss vs val_loss")
        await _rendered(pilot, chart, 0)
        text = screen_text(app)
        assert not chart.legend_shown
        assert "(colours as in the table)" in text
        assert "run-0 · train" not in text
        await pilot.resize_terminal(80, 40)  # 35 plot rows: room for it
        await wait_until(lambda: chart.legend_shown and "run-2 · val" in screen_text(app),
                         message="legend back on a tall chart")
        assert "colours as in the table" not in screen_text(app)
        # Train and validation alone keep their legend on the short chart: nothing else says
        # which colour is which.
        await pilot.resize_terminal(80, 14)
        before = chart.render_count
        chart.set_data({k: v for k, v in series.items() if k.startswith("run-0")})
        await _rendered(pilot, chart, before)
        assert chart.legend_shown and "run-0 · val" in screen_text(app)


def _line_colours(chart: MetricChart, app: App) -> set[tuple[int, int, int]]:
    """The colours (as the terminal shows them) of the chart's braille cells: its lines."""
    out = set()
    for strip in chart.render_lines(chart.region.reset_offset):
        for segment in strip:
            colour = segment.style.color if segment.style else None
            if colour is None or not any(0x2801 <= ord(c) <= 0x28FF for c in segment.text):
                continue
            triplet = colour.get_truecolor(app.ansi_theme)
            out.add((triplet.red, triplet.green, triplet.blue))
    return out


def _luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance (linear sRGB)."""
    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio: how much a line stands out from the background."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


async def test_the_raw_line_behind_a_smoothed_curve_is_dimmer_than_the_curve():
    """For each run colour of the compare view but gray (the raw line's own colour, the 8th
    run's) and the monitor's own default colour, on a dark and a light theme: the smoothed
    curve in its colour, the raw points behind it in a colour that stands out less from the
    background (WCAG contrast, with the colours the terminal shows)."""
    from mlflow_tui.text import format as fmt

    noisy = [(float(i), 1.0 / (i + 1) + (0.3 if i % 2 else -0.3) / (1 + i / 50))
             for i in range(400)]
    chart = MetricChart()
    app = Host(chart)
    async with app.run_test(size=(100, 24)) as pilot:
        for theme, pairs in (("textual-dark", fmt.RUN_COLOURS_DARK),
                             ("textual-light", fmt.RUN_COLOURS_LIGHT)):
            app.theme = theme
            await pilot.pause()
            background = chart.background_colors[1].rgb
            for colour in [None, *(c for c, _ in pairs if c != "gray")]:
                given = {"m": colour} if colour else None
                chart.set_data({"m": noisy}, colors=given, options=ChartOptions())
                await _rendered(pilot, chart, chart.render_count)
                curve = _line_colours(chart, app)
                assert len(curve) == 1, (colour, curve)
                chart.set_data({"m": noisy}, colors=given,
                               options=ChartOptions(smoothing=0.9))
                await _rendered(pilot, chart, chart.render_count)
                raw = _line_colours(chart, app) - curve
                assert len(raw) == 1, (colour, raw)
                assert _contrast(raw.pop(), background) < _contrast(curve.pop(),
                                                                     background), (theme, colour)
