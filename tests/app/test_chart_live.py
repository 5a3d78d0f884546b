"""A live run's chart follows new points without reading its whole history again: the monitor
converts only the new points (XYCache) and the chart extends its tracks in place."""

from __future__ import annotations

from mlflow_tui.analysis.charting import XYSeries, xy
from mlflow_tui.tracking.models import Point
from mlflow_tui.widgets import MetricChart
from tests.conftest import wait_rows, wait_until
from tests.sample_data import fake_app, sample_source


async def test_monitor_chart_extends_with_a_live_run():
    source = sample_source()
    app = fake_app(source)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 6)
        await pilot.press("j")  # a1, running
        await wait_until(lambda: app.session.highlighted == "a1" and bool(
            app.session.poller.points(("a1", "val_loss"))), message="a1 charted")
        chart = app.monitor.query_one(MetricChart)
        await wait_until(lambda: len(chart._series.get("val_loss", ())) == 40, message="40")
        await wait_until(lambda: chart.render_count > 0 and chart._tracks_version
                         == chart._version, message="tracks built")
        first = chart._series["val_loss"]
        track = chart._tracks["val_loss"]
        xs = track.xs
        # The run logs two more steps, and the last one again with another value.
        history = source.history[("a1", "val_loss")]
        last = history[-1]
        history += [Point(last.step + 1, 0.9, last.timestamp + 1000),
                    Point(last.step + 2, 0.8, last.timestamp + 2000)]
        await wait_until(lambda: len(chart._series["val_loss"]) == 42, message="42 points")
        history[-1] = Point(last.step + 2, 0.7, last.timestamp + 3000)
        await wait_until(lambda: chart._series["val_loss"][-1][1] == 0.7, message="re-logged")
        await wait_until(lambda: chart._tracks_version == chart._version, message="drawn")
        view = chart._series["val_loss"]
        run = app.session.poller.runs["a1"]
        assert isinstance(view, XYSeries)
        assert list(view) == xy(
            app.session.poller.points(("a1", "val_loss")), "step", run.start_time
        )
        assert view.shared_prefix(first) == 40  # the same buffer, extended
        assert chart._tracks["val_loss"] is track and track.xs is xs  # extended, not rebuilt
        assert track.xs == [x for x, _ in view] and track.ys == [y for _, y in view]
