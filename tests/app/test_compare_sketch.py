"""The compare view opens with a sketch of every charted curve (a few probe points each),
labelled as such, and replaces it by the loaded histories; statistics are never taken from a
sketch. The histories are held back by a gate, so each stage can be looked at."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import pytest

from mlflow_tui.screens.compare import CompareScreen
from mlflow_tui.tracking import sketch as sketch_module
from mlflow_tui.tracking.errors import ServerError
from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus
from mlflow_tui.widgets import MetricChart
from tests.conftest import screen_text, wait_rows, wait_until
from tests.fakes import FakeSource
from tests.sample_data import T0, fake_app

STEPS = 2000


class GatedSource(FakeSource):
    """The compare view's history loads (no step window, 2500 points a run) wait for `gate`,
    the monitor's (500 points a run) for `monitor_gate` (open at first); windowed requests
    (the sketch's probes) answer at once, or fail with `probe_error`."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.monitor_gate = asyncio.Event()
        self.monitor_gate.set()
        self.probe_error: Exception | None = None
        self.probes = 0

    async def get_history_window(self, run_ids: Sequence[str], key: str, *,
                                 start_step: int | None, end_step: int | None,
                                 max_results: int) -> dict[str, list[Point]]:
        if start_step is None and max_results == 2500:
            await self.gate.wait()
        if start_step is None and max_results == 500:
            await self.monitor_gate.wait()
        if start_step is not None:
            self.probes += 1
            if self.probe_error is not None:
                raise self.probe_error
        got = await super().get_history_window(run_ids, key, start_step=start_step,
                                               end_step=end_step, max_results=max(2, max_results))
        if max_results == 1:  # MLflow answers the window's last point
            return {rid: points[-1:] for rid, points in got.items()}
        return got


def _curve(steps: range, offset: float) -> list[tuple[int, float]]:
    return [(s, 2 * math.exp(-s / 400) + offset + 0.01 * math.sin(s)) for s in steps]


def source() -> GatedSource:
    src = GatedSource()
    src.experiments = [Experiment("1", "sketchy")]
    shapes = {"long": range(STEPS), "short": range(150), "sparse": range(0, STEPS, 40)}
    for i, (name, steps) in enumerate(shapes.items()):
        run = Run(name, "1", f"run-{name}", RunStatus.FINISHED, T0 + i * 1000, T0 + 10**6,
                  params={"lr": str(0.1 / (i + 1))})
        src.add_run(run, {"train_loss": _curve(steps, 0.1 * i),
                          "val_loss": _curve(steps, 0.1 * i + 0.2)})
    return src


@pytest.fixture(autouse=True)
def probes_for_short_histories(monkeypatch):
    # Histories this short would be sampled whole in one request: probe them, as long ones.
    monkeypatch.setattr(sketch_module, "FULL_SCAN_STEPS", 0)


async def open_compare(app, pilot) -> CompareScreen:
    await wait_rows(app, 3)
    await pilot.press("space", "j", "space", "j", "space")
    assert len(app.session.marked) == 3
    await pilot.press("c")
    await wait_until(lambda: isinstance(app.screen, CompareScreen))
    return app.screen


def chart_lengths(screen: CompareScreen) -> dict[str, int]:
    chart = screen.query_one(MetricChart)
    return {label: len(pts) for label, pts in chart._series.items()}  # noqa: SLF001


@pytest.fixture(autouse=True)
def _waves_whatever_the_speed(monkeypatch):
    """A later wave of the sketch starts only while it has taken less than REFINE_WITHIN (1 s);
    on a busy machine the first wave alone can take that long, and a curve keeps 9 points
    instead of 10 or more. Here the waves must not depend on the machine's speed."""
    monkeypatch.setitem(sketch_module.sketch.__kwdefaults__, "refine_within", math.inf)


async def test_sketch_labelled_then_replaced_by_the_histories():
    src = source()
    app = fake_app(src)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_compare(app, pilot)
        await wait_until(lambda: "sketch" in screen.note and len(chart_lengths(screen)) == 6
                         and min(chart_lengths(screen).values()) >= 4, timeout=10)
        await wait_until(lambda: app.session.compare.sketch_done.is_set())  # every wave: refined
        text = screen_text(app)
        assert "sketch:" in text and "full curves loading" in text
        assert "sketch" in str(screen.query_one(MetricChart).border_title)
        # Nothing of the sketch went into the poller's cache, which holds exact histories only.
        assert app.session.compare.poller.series == {}
        for key in ("train_loss", "val_loss"):
            for rid in ("long", "short", "sparse"):
                points = app.session.compare.preview[(rid, key)]
                history = src.history[(rid, key)]
                assert set(points) <= set(history)  # real logged points, nothing made up
                assert points[-1] == history[-1] and points[0] == history[0]
                assert len(points) >= 10
        assert max(p.step for p in app.session.compare.preview[("short", "val_loss")]) == 149
        assert all(p.step % 40 == 0 for p in app.session.compare.preview[("sparse", "val_loss")])
        # Statistics are not known yet: blank, and said so; the latest value is exact.
        frame = app.session.compare.frame
        assert frame["val_loss.min"].isna().all() and frame["val_loss.best_step"].isna().all()
        assert "statistics loading" in screen.note
        latest = dict(zip(frame["run_id"], frame["val_loss.latest"], strict=True))
        assert latest["long"] == src.history[("long", "val_loss")][-1].value

        src.gate.set()
        await wait_until(lambda: screen.note == "" and app.session.compare.frame is not None
                         and app.session.compare.frame["val_loss.min"].notna().all(), timeout=10)
        assert "sketch" not in screen_text(app)
        assert "sketch" not in str(screen.query_one(MetricChart).border_title)
        lengths = chart_lengths(screen)
        assert sorted(lengths.values()) == sorted([STEPS, STEPS, 150, 150, 50, 50])
        for rid in ("long", "short", "sparse"):
            loaded = app.session.compare.poller.points((rid, "val_loss"))
            assert loaded == src.history[(rid, "val_loss")]
        assert not any(k[1] in ("train_loss", "val_loss") for k in app.session.compare.preview)
        frame = app.session.compare.frame
        for record in frame.to_dict("records"):
            history = src.history[(record["run_id"], "val_loss")]
            assert record["val_loss.min"] == min(p.value for p in history)
            assert record["val_loss.best_step"] == min(history, key=lambda p: p.value).step


async def test_failed_sketch_leaves_the_view_working():
    src = source()
    src.probe_error = ServerError("injected: the sketch's requests fail")
    app = fake_app(src)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_compare(app, pilot)
        await wait_until(
            lambda: (
                app.session.compare.sketch_done is not None
                and app.session.compare.sketch_done.is_set()
            )
        )
        assert src.probes > 0
        await wait_until(lambda: "curves loading" in screen.note)
        assert "sketch" not in screen.note
        assert app.session.state != "error"
        src.gate.set()
        await wait_until(
            lambda: (
                screen.note == ""
                and app.session.compare.frame is not None
                and app.session.compare.frame["val_loss.min"].notna().all()
            ),
            timeout=10,
        )
        assert sorted(chart_lengths(screen).values()) == sorted([STEPS, STEPS, 150, 150, 50, 50])
        assert app.session.state == "live"
        await pilot.press("escape")  # and back to the monitor, which still works
        await wait_until(lambda: not isinstance(app.screen, CompareScreen))
        assert len(app.session.marked) == 3


async def test_compare_view_does_not_wait_for_the_monitors_round():
    """The monitor's first loads can take many seconds on long histories: pressing c while
    they are in flight abandons that round instead of waiting behind it."""
    src = source()
    src.monitor_gate.clear()  # the monitor's loads never answer
    src.gate.set()
    app = fake_app(src)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_compare(app, pilot)
        assert app.session.poller.series == {}  # the monitor's round is still waiting
        await wait_until(
            lambda: (
                screen.note == ""
                and app.session.compare.frame is not None
                and app.session.compare.frame["val_loss.min"].notna().all()
            ),
            timeout=10,
        )
        assert sorted(chart_lengths(screen).values()) == sorted([STEPS, STEPS, 150, 150, 50, 50])
        src.monitor_gate.set()
        await pilot.press("escape")
        await wait_until(lambda: not isinstance(app.screen, CompareScreen))
        await wait_until(lambda: bool(app.session.poller.series))  # the monitor loads again
