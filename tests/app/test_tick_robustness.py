"""The monitor's tick on edge cases: old warnings are not announced when their points land
late, a failed system-metrics fetch does not lose the tick, huge values on a log scale, live
durations repaint one cell each.

on_listed posts a TickDone before the series are loaded: an old FINISHED overfitting run is
first seen without points, so its warning is announced when the points land (it must not be:
'a monitor opened on an old failure should not ring')."""
import asyncio

from textual.app import App

from mlflow_tui.tracking.errors import ServerError
from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.widgets import ChartOptions, MetricChart
from tests.app.test_sparklines import _log_sample, _source_with_gpu_run
from tests.conftest import wait_rows, wait_until
from tests.fakes import FakeSource
from tests.sample_data import T0, curves, fake_app


class SlowHistory(FakeSource):
    async def get_history_window(self, *a, **kw):
        await asyncio.sleep(0.5)
        return await super().get_history_window(*a, **kw)


def _src(cls):
    src = cls()
    src.experiments = [Experiment("1", "exp", last_update_time=T0)]
    src.add_run(Run("old", "1", "old-overfit", RunStatus.FINISHED, T0, T0 + 60_000),
                curves(45, overfit_at=14, seed=3))
    return src


async def _titles(cls):
    app = fake_app(_src(cls))
    titles, bells = [], []
    notify = app.notify

    def rec(message, *, title="", **kw):
        titles.append(title)
        notify(message, title=title, **kw)

    app.notify = rec
    app.bell = lambda: bells.append(1)
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: app.session.health.overfitting("old") is not None)
        await asyncio.sleep(0.5)
    return titles, bells


async def test_fast_server_no_announcement():
    titles, bells = await _titles(FakeSource)
    assert "Overfitting" not in titles and bells == []


async def test_slow_history_announces_old_warning():
    titles, bells = await _titles(SlowHistory)
    assert "Overfitting" not in titles and bells == [], (titles, bells)


async def test_a_failed_system_panel_fetch_does_not_lose_the_tick():
    src = _source_with_gpu_run()
    state = {"fail": False}
    orig = src.get_history_window

    async def ghw(run_ids, key, **kw):
        if state["fail"] and key.startswith("system/"):
            raise ServerError("boom")
        return await orig(run_ids, key, **kw)

    src.get_history_window = ghw
    app = fake_app(src)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 7)
        await pilot.press("j")
        await wait_until(lambda: app.session.highlighted == "g1")
        await wait_until(lambda: app.session.system_points, message="system window")
        app.session.marked["a3"] = app.session.poller.runs["a3"]
        app.session.marked["a2"] = app.session.poller.runs["a2"]
        # one tick: a3 deleted on the server, and a gap in g1's system samples
        state["fail"] = True
        for v in (50, 51, 52):
            _log_sample(src, v)
        src.runs = [r for r in src.runs if r.run_id != "a3"]
        app.session.poller.refresh()
        # The system panel's failure does not fail the tick: the deletion is applied.
        await wait_until(lambda: "a3" not in app.session.marked, message="the deleted run unmarked")
        assert "a3" not in app.session.poller.runs and app.session.state == "live"
        state["fail"] = False
        assert "a3" not in app.session.marked, "the deleted run stays marked"


class A(App):
    def compose(self):
        yield MetricChart()


async def test_log_scale_with_values_above_1e308_does_not_crash():
    app = A()
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.query_one(MetricChart)
        chart.set_data({"loss": [(0, 1.0), (1, 1.5e308)]}, title="loss",
                       options=ChartOptions(log_y=True))
        await pilot.pause()
        await pilot.pause()
    assert app.return_code in (None, 0), app.return_code
    assert not app._exception, app._exception


async def test_live_durations_tick_one_cell_each_not_the_whole_table():
    from mlflow_tui.app import make_app
    from mlflow_tui.settings.config import Settings
    from mlflow_tui.widgets import RunTable
    from tests.fakes import FakeSource

    src = FakeSource()
    src.experiments = [Experiment("1", "exp", last_update_time=T0)]
    src.add_run(Run("live", "1", "live", RunStatus.RUNNING, T0), curves(5))
    for i in range(30):
        src.add_run(Run(f"done{i}", "1", f"done{i}", RunStatus.FINISHED, T0 - i - 1, T0),
                    curves(5))
    now = [T0 / 1000 + 65]
    app = make_app(Settings(uri=FakeSource.display_uri, interval=3600), src,
                   clock=lambda: now[0])
    async with app.run_test(size=(160, 45)):
        await wait_rows(app, 31)
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: str(table.get_cell("live", "duration")) == "1m05s")
        finished = str(table.get_cell("done0", "duration"))
        calls = []
        original = table.set_rows
        table.set_rows = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
        now[0] += 60
        app._every_second()
        assert str(table.get_cell("live", "duration")) == "2m05s"
        assert str(table.get_cell("done0", "duration")) == finished  # finished: unchanged
        assert calls == []  # no row was rebuilt or compared for it
