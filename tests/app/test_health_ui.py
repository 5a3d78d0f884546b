"""Warnings in the UI: badges, filter, sort, notifications once per run, the bell."""

from __future__ import annotations

import pytest

from mlflow_tui.tracking.models import Experiment, Point, Run, RunStatus
from mlflow_tui.widgets import RunTable
from tests.conftest import wait_rows, wait_until
from tests.fakes import FakeSource
from tests.sample_data import NOW, T0, curves, fake_app, sample_source


def _app(source=None, **kw):
    source = source or sample_source()
    kw.setdefault("interval", 0.2)
    return fake_app(source, **kw), source


def _rows(app) -> list[str]:
    table = app.monitor.query_one(RunTable)
    return [str(table.coordinate_to_cell_key((i, 0)).row_key.value)
            for i in range(table.row_count)]


async def test_badges_for_each_kind_and_warnings_only_filter():
    app, _ = _app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 6)
        await wait_until(lambda: app.session.health.overfitting("a1") is not None)
        table = app.monitor.query_one(RunTable)
        assert str(table.get_cell("a1", "warn")) == "⚠ overfit"
        assert str(table.get_cell("a4", "warn")).startswith("✘ failed")
        assert str(table.get_cell("a5", "warn")) == "■ killed"
        assert str(table.get_cell("a2", "warn")) == ""
        kinds = {w.kind.value for w in app.session.health.of("a4")}
        assert kinds == {"failed", "diverged"}
        await pilot.press("w")
        await wait_until(lambda: set(_rows(app)) == {"a1", "a4", "a5"})
        assert "with warnings" in str(table.border_title)
        await pilot.press("w")
        await wait_until(lambda: len(_rows(app)) == 6)


async def test_sort_by_warnings_then_reverse_and_back_to_newest():
    app, _ = _app()
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 6)
        await wait_until(lambda: app.session.health.overfitting("a1") is not None)
        newest = _rows(app)
        assert newest == ["a6", "a1", "a2", "a3", "a4", "a5"]
        while app.monitor.sort_column != "warn":
            await pilot.press("o")
        await wait_until(lambda: _rows(app)[0] == "a4")  # failed + diverged first
        assert _rows(app)[1] == "a1"
        await pilot.press("O")
        await wait_until(lambda: _rows(app)[-1] == "a4")
        while app.monitor.sort_column != "start":
            await pilot.press("o")
        await wait_until(lambda: _rows(app) == newest)
        # The cursor stays on its run through re-sorting.
        table = app.monitor.query_one(RunTable)
        table.move_cursor(row=table.get_row_index("a3"))
        await wait_until(lambda: app.session.highlighted == "a3")
        while app.monitor.sort_column != "name":
            await pilot.press("o")
        await wait_until(lambda: table.current_row_key == "a3")


def _growing_source() -> tuple[FakeSource, dict]:
    src = FakeSource()
    src.experiments = [Experiment("1", "live/exp", last_update_time=T0)]
    full = curves(45, overfit_at=14, seed=3)
    state = {"n": 10, "full": full}
    src.add_run(Run("r1", "1", "overfitter", RunStatus.RUNNING, T0), {})
    return src, state


def _advance(src: FakeSource, state: dict, n: int) -> None:
    state["n"] = n
    now = int(NOW * 1000) - 10_000
    latest = {}
    for key, pts in state["full"].items():
        points = [Point(s, v, now - (n - i) * 1000) for i, (s, v) in enumerate(pts[:n])]
        src.history[("r1", key)] = points
        latest[key] = points[-1]
    r = src.runs[0]
    src.runs = [Run(r.run_id, r.experiment_id, r.name, r.status, r.start_time, None, latest)]


def _record(app) -> tuple[list[int], list[str]]:
    """The bells rung and the toasts' titles, in order."""
    bells: list[int] = []
    titles: list[str] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    notify = app.notify

    def recording_notify(message, *, title="", **kw):
        titles.append(title)
        notify(message, title=title, **kw)

    app.notify = recording_notify  # type: ignore[method-assign]
    return bells, titles


# The two tests below wait two ticks per logged epoch (35 epochs): ticks every 0.05 s, not
# every 0.2 s, make that 70 ticks in ~4 s instead of ~14 s; what a tick does is the same.
@pytest.mark.waits  # waits on ticks
async def test_notification_and_bell_once_when_a_run_starts_overfitting():
    src, state = _growing_source()
    _advance(src, state, 10)
    app, _ = _app(src, interval=0.05)
    bells, titles = _record(app)
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: len(app.session.poller.points(("r1", "val_loss"))) == 10)
        assert app.session.health.of("r1") == [] and bells == []
        for n in range(11, 46):
            _advance(src, state, n)
            ticks = app.ticks
            await wait_until(lambda: app.ticks >= ticks + 2)  # noqa: B023
        assert app.session.health.overfitting("r1") is not None
        assert bells == [1], "one bell for one new warning"
        assert titles.count("Overfitting") == 1


@pytest.mark.waits  # waits on ticks
async def test_no_bell_setting():
    src, state = _growing_source()
    _advance(src, state, 10)
    app, _ = _app(src, bell=False, interval=0.05)
    bells, titles = _record(app)
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: len(app.session.poller.points(("r1", "val_loss"))) == 10)
        for n in range(11, 46):
            _advance(src, state, n)
            ticks = app.ticks
            await wait_until(lambda: app.ticks >= ticks + 2)  # noqa: B023
        await wait_until(lambda: app.session.health.overfitting("r1") is not None)
        assert titles.count("Overfitting") == 1
        assert bells == []


async def test_a_warning_only_the_now_feed_sees_rings_the_bell_once():
    """A run starts overfitting in an experiment that is not the open one: only the Now feed
    reads it, and its toast rings the bell too (once), as the monitor's does."""
    src, state = _growing_source()
    _advance(src, state, 10)
    src.experiments.append(Experiment("2", "other/exp", last_update_time=T0))
    app, _ = _app(src, experiments=["other/exp"])
    bells, titles = _record(app)
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: app.session.watched == ("2",)
                         and app.now is not None and app.now.applied >= 1)
        assert bells == [] and "Overfitting" not in titles
        _advance(src, state, 45)
        await wait_until(lambda: "Overfitting" in titles, message="the feed's toast")
        applied = app.now.applied
        await wait_until(lambda: app.now.applied >= applied + 2)  # later refreshes: no more
        assert "r1" not in app.session.poller.runs, "the monitor never listed it"
        assert titles.count("Overfitting") == 1
        assert bells == [1], "one bell for one new warning"


async def test_warnings_there_at_start_are_one_summary_not_a_toast_each():
    src, state = _growing_source()
    _advance(src, state, 45)  # already overfitting when the app opens
    app, _ = _app(src)
    bells = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: any(n.title == "Now" for n in app._notifications))
        await wait_until(lambda: app.session.health.overfitting("r1") is not None)
        summary = [n.message for n in app._notifications if n.title == "Now"]
        assert summary == ["1 run with warnings in 1 experiment: n shows them all"]
        assert not any(n.title == "Overfitting" for n in app._notifications)
        assert bells == []


async def test_explicit_pair_overrides_name_matching():
    app, _ = _app(pair=("train_acc", "val_loss"))
    async with app.run_test(size=(140, 40)):
        await wait_until(lambda: app.session.poller is not None and "a2" in app.session.poller.runs)
        assert app.session.pair(app.session.poller.runs["a2"])[:2] == ("train_acc", "val_loss")
