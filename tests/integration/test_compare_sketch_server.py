"""The compare view's sketch against a real `mlflow server`: the probes' points are real logged
points of each history, runs shorter than the others and runs logging every k steps get points
too, the view labels the sketch until the loaded histories replace it, and a server failing the
sketch's requests leaves the view working."""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid

import pytest
from mlflow.entities import Metric

from mlflow_tui.app import make_app
from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking import sketch as sketch_module
from mlflow_tui.tracking.models import Point
from mlflow_tui.tracking.rest import RestSource
from mlflow_tui.tracking.sketch import sketch
from mlflow_tui.widgets import MetricChart
from tests.conftest import screen_text, wait_rows, wait_until
from tests.proxy import Fault, FaultProxy

KEYS = ("train_loss", "val_loss")
# name -> logged steps: a long run, one a bit shorter (shares its probe steps), a much
# shorter one, and one logging every 50 steps (more than a probe's narrow window). Under 2,500
# steps, so that the compare view's loaded histories are whole (not sampled) and comparable.
SHAPES = {"long": range(2400), "shorter": range(2000), "short": range(200),
          "sparse": range(0, 2400, 50)}


def _value(key: str, step: int, offset: float) -> float:
    return 2 * math.exp(-step / 500) + offset + (0.2 if key == "val_loss" else 0.0)


@pytest.fixture(scope="module")
def seeded(mlflow_server):
    """{name: run_id} in a fresh experiment, and the experiment's name."""
    client = mlflow_server.client()
    name = f"sketch/{uuid.uuid4().hex[:8]}"
    exp = client.create_experiment(name)
    now = int(time.time() * 1000)
    ids = {}
    for i, (run, steps) in enumerate(SHAPES.items()):
        rid = client.create_run(exp, run_name=run).info.run_id
        metrics = [Metric(k, _value(k, s, 0.1 * i), now + s, s) for s in steps for k in KEYS]
        for j in range(0, len(metrics), 1000):
            client.log_batch(rid, metrics=metrics[j:j + 1000])
        client.set_terminated(rid, "FINISHED")
        ids[run] = rid
    return name, ids


def _history(server, rid: str, key: str) -> list[tuple[int, float]]:
    return sorted((m.step, m.value) for m in server.client().get_metric_history(rid, key))


async def _latest(source: RestSource, name: str) -> dict[tuple[str, str], Point]:
    experiment = next(e for e in await source.search_experiments() if e.name == name)
    runs = await source.search_runs([experiment.experiment_id])
    return {(r.run_id, k): p for r in runs for k, p in r.metrics.items()}


async def test_probes_give_real_points_of_every_run(live_server, seeded):
    name, ids = seeded
    source = RestSource(live_server.url)
    try:
        latest = await _latest(source, name)
        waves = [w async for w in sketch(source, latest, first=4, waves=2, full_scan_steps=0)]
    finally:
        await source.aclose()
    assert [w.wave for w in waves] == [1, 2] and waves[-1].failed == 0
    first, last = waves[0].points, waves[-1].points
    for run, rid in ids.items():
        for key in KEYS:
            history = _history(live_server, rid, key)
            got = [(p.step, p.value) for p in last[(rid, key)]]
            assert set(got) <= set(history), run  # logged points, nothing made up
            assert got == sorted(got)
            assert got[-1] == history[-1] and got[0] == history[0], run
            assert len(first[(rid, key)]) < len(got), run  # the second wave refined it
            if run == "sparse":  # every 50 steps: found by the widened windows
                assert len(got) >= 6
            elif run == "shorter":  # shares the long run's probe steps, up to its own end
                assert len(got) >= 8
            else:  # 4 + 4 probe steps, the first with step 0 and its neighbour, the latest
                assert len(got) >= 10, run


async def test_short_histories_are_sampled_whole(live_server, seeded):
    name, ids = seeded
    source = RestSource(live_server.url)
    try:
        latest = await _latest(source, name)
        latest = {k: p for k, p in latest.items() if k[0] == ids["short"]}
        waves = [w async for w in sketch(source, latest)]  # 200 steps: one sampled request
    finally:
        await source.aclose()
    assert len(waves) == 1 and source.requests >= 2
    points = waves[0].points[(ids["short"], "val_loss")]
    history = _history(live_server, ids["short"], "val_loss")
    got = [(p.step, p.value) for p in points]
    assert set(got) <= set(history) and got[0] == history[0] and got[-1] == history[-1]
    assert len(got) >= 16


class _Gate:
    """Wraps the proxy's upstream client: requests whose target holds `match` wait until
    `opened` is set (the compare view's history loads, while the sketch answers)."""

    def __init__(self, client, match: str) -> None:
        self.client, self.match = client, match
        self.opened = threading.Event()

    async def request(self, method, target, **kwargs):  # type: ignore[no-untyped-def]
        if self.match in target:
            while not self.opened.is_set():
                await asyncio.sleep(0.02)
        return await self.client.request(method, target, **kwargs)

    async def aclose(self) -> None:
        await self.client.aclose()


async def _open_compare(app, pilot) -> CompareScreen:
    await wait_rows(app, len(SHAPES), timeout=30)
    for _ in SHAPES:
        await pilot.press("space", "j")
    assert len(app.session.marked) == len(SHAPES)
    await pilot.press("c")
    await wait_until(lambda: isinstance(app.screen, CompareScreen))
    return app.screen


def _lengths(screen: CompareScreen) -> list[int]:
    return [len(p) for p in screen.query_one(MetricChart)._series.values()]  # noqa: SLF001


async def _exact(app, live_server, ids, screen) -> None:
    await wait_until(lambda: screen.note == "" and app.session.compare.frame is not None
                     and app.session.compare.frame["val_loss.min"].notna().all(), timeout=60)
    assert "sketch" not in screen_text(app)
    assert sorted(_lengths(screen)) == sorted(len(s) for s in SHAPES.values() for _ in KEYS)
    for run, rid in ids.items():
        history = _history(live_server, rid, "val_loss")
        assert [
            (p.step, p.value) for p in app.session.compare.poller.points((rid, "val_loss"))
        ] == (history), run
        row = app.session.compare.frame[app.session.compare.frame["run_id"] == rid].iloc[0]
        assert math.isclose(row["val_loss.min"], min(v for _, v in history))


async def test_sketch_on_screen_then_the_histories(live_server, seeded, monkeypatch):
    monkeypatch.setattr(sketch_module, "FULL_SCAN_STEPS", 0)  # probe the short runs too
    # A later wave starts only while the sketch has taken less than REFINE_WITHIN (1 s); on a
    # busy machine the first wave alone takes longer, the sketch stops with 3 points for the
    # sparse run and the wait below for >= 4 never ends. The waves must not depend on speed
    # here: refine whatever the time taken (keyword default, read where the app calls it).
    monkeypatch.setitem(sketch_module.sketch.__kwdefaults__, "refine_within", math.inf)
    name, ids = seeded
    with FaultProxy(live_server.url) as proxy:
        gate = proxy._client = _Gate(proxy._client, "max_results=2500")  # noqa: SLF001
        app = make_app(Settings(uri=proxy.url, experiments=[name], interval=0.5))
        async with app.run_test(size=(160, 45)) as pilot:
            screen = await _open_compare(app, pilot)
            try:
                await wait_until(
                    lambda: (
                        "sketch" in screen.note
                        and len(_lengths(screen)) == 8
                        and min(_lengths(screen)) >= 4
                    ),
                    timeout=30,
                )
            except AssertionError as exc:  # say where it stood
                raise AssertionError(f"{exc}: note {screen.note!r}, lengths {_lengths(screen)}, "
                                     f"sketch done {app.session.compare.sketch_done}") from None
            assert "sketch:" in screen_text(app)
            assert app.session.compare.poller.series == {}  # the sketch is not in the exact cache
            assert app.session.compare.frame["val_loss.min"].isna().all()
            assert "statistics loading" in screen.note
            for run, rid in ids.items():
                history = set(_history(live_server, rid, "val_loss"))
                points = app.session.compare.preview[(rid, "val_loss")]
                assert {(p.step, p.value) for p in points} <= history, run
                assert len(points) >= 4, run
            gate.opened.set()
            await _exact(app, live_server, ids, screen)


async def test_server_failing_the_sketch_leaves_the_view_working(live_server, seeded, monkeypatch):
    monkeypatch.setattr(sketch_module, "FULL_SCAN_STEPS", 0)
    name, ids = seeded
    with FaultProxy(live_server.url) as proxy:
        app = make_app(Settings(uri=proxy.url, experiments=[name], interval=0.5))
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_rows(app, len(SHAPES), timeout=30)
            # Every windowed history request (the sketch's probes) answers 500.
            proxy.fault = Fault(status=500, match="start_step")
            screen = await _open_compare(app, pilot)
            await wait_until(
                lambda: (
                    app.session.compare.sketch_done is not None
                    and app.session.compare.sketch_done.is_set()
                ),
                timeout=30,
            )
            assert any(r.status == 500 for r in proxy.snapshot())
            await _exact(app, live_server, ids, screen)
            assert app.session.state == "live"
            proxy.fault = None
            await pilot.press("escape")
            await wait_until(lambda: not isinstance(app.screen, CompareScreen))
