"""The chart turns plotext's matrix of cells into strips itself (`_Canvas`), instead of
textual-plotext's ANSI string parsed back by Rich: the strips must be the same, segment
for segment, and so the screen."""

from __future__ import annotations

import math

import pytest
from textual.app import App, ComposeResult
from textual.visual import Visual
from textual.widgets import Static

import mlflow_tui.widgets.chart.plotext_bridge as plotext_bridge
from mlflow_tui.widgets import ChartOptions, MetricChart
from mlflow_tui.widgets.chart import _Canvas
from tests.conftest import wait_until


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("above", id="above")
        yield MetricChart(id="chart")


def _data(n: int = 400) -> dict[str, list[tuple[float, float]]]:
    train = [(float(i), math.exp(-i / 150) + 0.02 * math.sin(i)) for i in range(n)]
    train[n // 3] = (float(n // 3), math.nan)
    val = [(float(i), math.exp(-i / 200) + 0.1) for i in range(0, n, 3)]
    return {"train_loss": train, "val_loss": val}


def _both(chart: MetricChart) -> tuple[list[list[object]], list[list[object]]]:
    """The chart's strips drawn from the matrix, and through the ANSI round trip."""
    visual = chart.render()
    assert isinstance(visual, _Canvas)
    width, height = chart.size
    fast = Visual.to_strips(chart, visual, width, height, chart.visual_style)
    slow = Visual.to_strips(chart, visual._ansi_content(), width, height, chart.visual_style)
    return [list(strip) for strip in fast], [list(strip) for strip in slow]


async def _drawn(pilot, chart: MetricChart, before: int) -> None:
    await pilot.pause()
    await wait_until(lambda: chart.render_count > before, message="chart rendered")


CASES = {
    "plain": dict(title="train_loss vs val_loss", marker_x=120.0, marker_label="best val"),
    "smoothed log, dots": dict(title="loss", options=ChartOptions(log_y=True, smoothing=0.7),
                               markers={"val_loss": "dot"}),
    "relative, zoomed": dict(x_label="step", options=ChartOptions(x_mode="relative",
                                                                   last_n=120)),
    "wide title": dict(title="損失 — ＬＯＳＳ ✓"),  # wide characters: the ANSI path is taken
    "colours": dict(colors={"train_loss": "red", "val_loss": "blue+"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_strips_from_the_matrix_equal_the_ansi_round_trip(case: str):
    app = Host()
    async with app.run_test(size=(120, 34)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_data(_data(), **CASES[case])  # type: ignore[arg-type]
        await _drawn(pilot, chart, 0)
        fast, slow = _both(chart)
        assert len(fast) == chart.size.height == 33 and all(fast)
        assert fast == slow
        # Focused (a background tint) and in a light theme: still the same.
        chart.focus()
        app.theme = "textual-light"
        await pilot.pause()
        fast, slow = _both(chart)
        assert fast == slow


async def test_screen_is_the_same_as_through_textual_plotext(monkeypatch: pytest.MonkeyPatch):
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_data(_data(), title="losses", options=ChartOptions(smoothing=0.5))
        await _drawn(pilot, chart, 0)
        assert isinstance(chart.render(), _Canvas)
        ours = app.export_screenshot()
        # Without the plotext internals the chart falls back to PlotextPlot.render().
        monkeypatch.setattr(plotext_bridge, "_PLOTEXT_MATRIX", False)  # where it is read
        assert not isinstance(chart.render(), _Canvas)
        before = chart.render_count
        chart.refresh()
        await _drawn(pilot, chart, before)
        assert app.export_screenshot() == ours


async def test_plotext_theme_without_colours():
    app = Host()
    async with app.run_test(size=(90, 25)) as pilot:
        chart = app.query_one(MetricChart)
        chart.theme = "clear"  # plotext's own theme: no colours but the lines'
        chart.set_data(_data(), title="clear", colors={"val_loss": "black"})
        await _drawn(pilot, chart, 0)
        fast, slow = _both(chart)
        assert fast == slow


async def test_cells_without_style_make_one_segment_as_rich_leaves_them():
    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        chart = app.query_one(MetricChart)
        await pilot.pause()
        width, height = chart.size

        class Matrix:  # what plotext leaves after a build: rows bottom up, one cell a column
            marker = [[chr(97 + (c + r) % 26) for c in range(width)] for r in range(height)]
            # "default" and "none" both mean no colour: runs of them read as one unstyled run.
            fullground = [[("default", "none", "red", "none", "default")[c // 3 % 5]
                           for c in range(width)] for _ in range(height)]
            style = [["default"] * width for _ in range(height)]
            background = [["default"] * width for _ in range(height)]

        canvas = _Canvas(chart, Matrix())
        fast = Visual.to_strips(chart, canvas, width, height, chart.visual_style)
        slow = Visual.to_strips(chart, canvas._ansi_content(), width, height,
                                chart.visual_style)
        assert [list(s) for s in fast] == [list(s) for s in slow]
        # 40 cells: red at 6-8, 21-23 and 36-38, unstyled runs merged between them.
        assert [len(seg.text) for seg in fast[0]] == [6, 3, 12, 3, 12, 3, 1]
        assert len(list(fast[0])) == 7


async def test_lines_kept_from_the_last_figure_only_where_nothing_changed():
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(MetricChart)
        data = _data(600)
        chart.set_data(data, title="t")
        await _drawn(pilot, chart, 0)
        # One more point: most lines are drawn as they were, the changed ones again.
        data = {**data, "train_loss": [*data["train_loss"], (600.0, 0.5)]}
        before = chart.render_count
        chart.set_data(data, title="t")
        await _drawn(pilot, chart, before)
        fast, slow = _both(chart)
        assert fast == slow
        # The same characters in other colours: every line with a series on it changes.
        chart.set_data(data, title="t", colors={"train_loss": "red", "val_loss": "green"})
        fast, slow = _both(chart)
        assert fast == slow


async def test_str_of_the_figure_is_its_text():
    app = Host()
    async with app.run_test(size=(80, 20)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_data(_data(), title="losses")
        await _drawn(pilot, chart, 0)
        visual = chart.render()
        assert isinstance(visual, _Canvas)
        assert str(visual) == str(visual._ansi_content())  # str() of the parsed ANSI text
        assert str(visual).count("val_loss") == 1
