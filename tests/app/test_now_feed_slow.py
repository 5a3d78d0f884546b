"""The everywhere-feed behind the tree's ⚠/✘ counts on a server where one refresh outlasts a
few monitor ticks (hundreds of running runs: the first refresh took 20 s for 400 on a real
server). Each refresh runs to its end; a new one starts only when it is done. Once, a new tick
cancelled the one in flight, so on such a server the counts never appeared."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.widgets import ExperimentTree
from tests.conftest import wait_until
from tests.fakes import FakeSource
from tests.sample_data import NOW, curves, fake_app

T0 = int(NOW * 1000) - 60_000


class SlowEverywhere(FakeSource):
    """Searches that span the experiment that is not open take `delay` seconds."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0

    async def search_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "",
                          max_runs: int = 5000) -> list[Run]:
        if "2" in experiment_ids:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_flight -= 1
        return await super().search_runs(experiment_ids, filter_string=filter_string,
                                          max_runs=max_runs)


@pytest.mark.waits  # a slow refresh
async def test_a_refresh_slower_than_a_tick_still_lands():
    src = SlowEverywhere(delay=1.5)  # 7 monitor ticks of 0.2 s
    src.experiments = [Experiment("1", "team/open", last_update_time=T0),
                       Experiment("2", "team/elsewhere", last_update_time=T0)]
    src.add_run(Run("ok", "1", "healthy", RunStatus.RUNNING, T0), curves(30, seed=1),
                t0=T0)
    src.add_run(Run("bad", "2", "overfitter", RunStatus.RUNNING, T0),
                curves(40, overfit_at=12, seed=3), t0=T0)
    app = fake_app(src, interval=0.2, experiments=["team/open"])
    async with app.run_test(size=(160, 40)):
        tree = app.monitor.query_one(ExperimentTree)

        def label() -> str:
            node = tree.node_for_path(("team", "elsewhere"))
            return str(node.label) if node is not None else ""

        await wait_until(lambda: "⚠ 1" in label(), timeout=60,
                         message="the marker of the experiment that is not open")
        assert app.now is not None and app.now.applied >= 1
        # Never two refreshes in flight: they do not pile up on a slow server either.
        assert src.most_in_flight == 1


async def test_trouble_counts_arriving_while_the_monitor_is_torn_down():
    """The feed's trouble counts redraw the tree alone; when they land while the monitor is
    being torn down (the app exiting: its widgets already gone), nothing is drawn and the app
    does not crash (it did, under load, with NoMatches for ExperimentTree)."""
    src = FakeSource()
    src.experiments = [Experiment("1", "team/open", last_update_time=T0)]
    src.add_run(Run("ok", "1", "healthy", RunStatus.RUNNING, T0), curves(30, seed=1), t0=T0)
    app = fake_app(src, interval=0.2, experiments=["team/open"])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(lambda: app.session.poller is not None and app.monitor.ready)
        await app.monitor.query_one(ExperimentTree).remove()
        app.monitor.redraw_tree()
        app.monitor.redraw()
        await pilot.pause()
        assert app.is_running and app.return_code is None



async def test_no_refresh_starts_once_the_app_is_shutting_down():
    """A tick that ends while the app shuts down must not start an everywhere refresh: its
    requests would go out on the closed client, and the app crashed on its way out
    (WorkerFailed: "Cannot send a request, as the client has been closed")."""
    src = FakeSource()
    src.experiments = [Experiment("1", "team/open", last_update_time=T0),
                       Experiment("2", "team/elsewhere", last_update_time=T0)]
    src.add_run(Run("ok", "1", "healthy", RunStatus.RUNNING, T0), curves(30, seed=1), t0=T0)
    app = fake_app(src, interval=0.2, experiments=["team/open"])
    async with app.run_test(size=(160, 40)):
        await wait_until(lambda: app.now is not None and app.now.applied >= 1)
        relay = app.relay
        relay._now_worker = None  # noqa: SLF001 - as if no refresh were in flight
        app.now.due = lambda: True  # type: ignore[method-assign]
        relay.feed(src.experiments)
        assert relay._now_worker is not None  # noqa: SLF001 - running: a refresh starts
        await relay._now_worker.wait()  # noqa: SLF001
        relay._now_worker = None  # noqa: SLF001
        app._running = False  # noqa: SLF001 - what App._shutdown sets first
        try:
            relay.feed(src.experiments)
            assert relay._now_worker is None  # noqa: SLF001 - shutting down: none starts
        finally:
            app._running = True  # noqa: SLF001 - let run_test shut it down normally
