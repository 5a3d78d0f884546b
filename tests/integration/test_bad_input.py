"""Bad and unusual input from a real server: unknown experiment names, runs and experiments
deleted or renamed while watched, empty experiments, runs without metrics, one-point series,
NaN and infinities, 200,000 points in one series and 5,000 runs in one experiment. Each is
shown plainly, and the app keeps running and keeps answering keys."""

from __future__ import annotations

import math
import time
import uuid

import pytest
from mlflow.entities import Metric

from bench.common import Seeder
from mlflow_tui.app import make_app
from mlflow_tui.settings.config import Settings
from mlflow_tui.widgets import MetricChart, RunTable
from tests.conftest import screen_text, wait_rows, wait_until

FAST = {"interval": 0.5, "max_backoff": 2.0}


def _name(what: str) -> str:
    return f"bad/{uuid.uuid4().hex[:6]}/{what}"


def _notes(app) -> str:
    return " | ".join(str(n.message) for n in app._notifications)


async def _still_answers(app, pilot) -> None:
    before = app.chart_options.log_y
    await pilot.press("y")
    await wait_until(lambda: app.chart_options.log_y != before, timeout=5)
    await pilot.press("y")


async def test_unknown_experiment_name_is_reported_then_watched_once_created(live_server):
    client = live_server.client()
    real = _name("real")
    later = _name("no such [bold]thing")
    real_id = client.create_experiment(real)
    app = make_app(Settings(uri=live_server.url, experiments=[later, real], **FAST))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_until(lambda: f"No experiment named '{later}'" in _notes(app), timeout=15)
        await wait_until(lambda: app.session.state == "live")
        assert app.session.watched == (real_id,)  # the one that exists is watched
        await _still_answers(app, pilot)
        # The training script creates it a moment later: it is watched as soon as it exists.
        later_id = client.create_experiment(later)
        client.create_run(later_id, run_name="first")
        await wait_until(lambda: set(app.session.watched) == {real_id, later_id}, timeout=15)
        await wait_rows(app, 1)
        assert _notes(app).count("No experiment named") == 1  # said once


async def test_empty_experiment_and_run_without_metrics_and_one_point(live_server):
    client = live_server.client()
    name = _name("sparse")
    exp = client.create_experiment(name)
    app = make_app(Settings(uri=live_server.url, experiments=[name], **FAST))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(
            lambda: app.session.watched == (exp,) and app.session.state == "live", timeout=15
        )
        assert app.monitor.query_one(RunTable).row_count == 0
        assert "0" in str(app.monitor.query_one(RunTable).border_title)
        bare = client.create_run(exp, run_name="no-metrics").info.run_id
        await wait_rows(app, 1)
        await wait_until(lambda: app.session.highlighted == bare)
        await wait_until(lambda: "no metrics logged yet" in screen_text(app), timeout=10)
        one = client.create_run(exp, run_name="one-point").info.run_id
        client.log_metric(one, "val_loss", 0.42, step=7)
        await wait_rows(app, 2)
        app.monitor.query_one(RunTable).move_cursor(row=0)  # newest first: one-point
        await wait_until(lambda: app.session.highlighted == one)
        await wait_until(lambda: len(app.session.poller.points((one, "val_loss"))) == 1, timeout=10)
        chart = app.monitor.query_one(MetricChart)
        await wait_until(lambda: "val_loss" in chart.series_labels)
        # One point, drawn at its value (the labels are set before the chart is repainted).
        await wait_until(lambda: "0.420┤" in screen_text(app) and "view 1/1" in screen_text(app),
                         message="the one point charted at 0.420")
        text = screen_text(app)
        row = next(line for line in text.splitlines() if "one-point" in line and "RUNNING" in line)
        assert " 7 " in row  # its latest step
        await _still_answers(app, pilot)


async def test_nan_and_infinities_are_gaps_and_a_warning(live_server):
    client = live_server.client()
    name = _name("nan")
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="blows-up").info.run_id
    now = int(time.time() * 1000)
    values = [1.0 / (s + 1) for s in range(30)]
    values[10], values[20], values[25] = math.nan, math.inf, -math.inf
    client.log_batch(
        rid,
        metrics=[Metric("train_loss", v, now + s, s) for s, v in enumerate(values)]
        + [Metric("val_loss", 1.2 / (s + 1), now + s, s) for s in range(29)]
        + [Metric("val_loss", math.nan, now + 29, 29)],
    )
    app = make_app(Settings(uri=live_server.url, experiments=[name], **FAST))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 1, timeout=15)
        await wait_until(
            lambda: len(app.session.poller.points((rid, "train_loss"))) == 30, timeout=10
        )
        cached = app.session.poller.points((rid, "train_loss"))
        assert math.isnan(cached[10].value) and cached[20].value == math.inf
        chart = app.monitor.query_one(MetricChart)
        await wait_until(lambda: "train_loss" in chart.series_labels)
        text = screen_text(app)
        assert "NaN" in text  # the latest val_loss, in the table
        await wait_until(lambda: "diverged" in screen_text(app).lower(), timeout=10)
        await _still_answers(app, pilot)


@pytest.mark.waits  # waits on ticks
async def test_run_and_experiment_deleted_or_renamed_while_watched(live_server):
    client = live_server.client()
    name = _name("doomed")
    exp = client.create_experiment(name)
    keep = client.create_run(exp, run_name="keeper").info.run_id
    gone = client.create_run(exp, run_name="goner").info.run_id
    for rid in (keep, gone):
        client.log_metric(rid, "val_loss", 0.5, step=0)
    app = make_app(Settings(uri=live_server.url, experiments=[name], **FAST))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_rows(app, 2, timeout=15)
        table = app.monitor.query_one(RunTable)
        table.move_cursor(row=table.get_row_index(gone))
        await wait_until(lambda: app.session.highlighted == gone)
        await pilot.press("space")
        client.delete_run(gone)
        await wait_rows(app, 1, timeout=10)
        await wait_until(lambda: "highlighted run was deleted" in _notes(app))
        assert gone not in app.session.marked and gone not in app.session.poller.runs
        # Renamed: still watched (by id); the new name is shown.
        new_name = name + "-renamed"
        client.rename_experiment(exp, new_name)
        app.monitor.action_refresh()
        await wait_until(lambda: new_name in str(table.border_title), timeout=70)
        assert app.session.watched == (exp,)
        client.set_tag(keep, "mlflow.runName", "keeper-renamed")
        await wait_until(lambda: "keeper-renamed" in screen_text(app), timeout=10)
        # Deleted: said once, and the app moves on.
        client.delete_experiment(exp)
        app.monitor.action_refresh()
        await wait_until(lambda: "watched experiment was deleted" in _notes(app), timeout=15)
        await wait_until(lambda: app.session.watched != (exp,), timeout=15)
        await _still_answers(app, pilot)


async def test_two_hundred_thousand_points_in_one_series(live_server):
    client = live_server.client()
    name = _name("long")
    exp = client.create_experiment(name)
    rid = client.create_run(exp, run_name="long-run").info.run_id
    Seeder(live_server).history(
        rid, ["train_loss", "val_loss"], 200_000, start_ms=int(time.time() * 1000) - 200_000_000
    )
    last = client.get_run(rid).data.metrics["val_loss"]
    app = make_app(Settings(uri=live_server.url, experiments=[name], **FAST))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_rows(app, 1, timeout=20)
        chart = app.monitor.query_one(MetricChart)
        await wait_until(lambda: "val_loss" in chart.series_labels, timeout=30)
        await wait_until(
            lambda: len(app.session.poller.points((rid, "val_loss"))) >= 2,
            timeout=60,
            message="the first (sampled) load of 200,000 points",
        )
        points = app.session.poller.points((rid, "val_loss"))
        # Loaded as a bounded sample, not 200,000 points; the first and last steps are in it.
        assert 2 <= len(points) <= 10_000
        assert points[0].step == 0 and points[-1].step == 199_999
        assert math.isclose(points[-1].value, last)
        await _still_answers(app, pilot)
        # New points keep arriving at the end.
        client.log_metric(rid, "val_loss", 0.123, step=200_000)
        await wait_until(
            lambda: app.session.poller.points((rid, "val_loss"))[-1].step == 200_000, timeout=15
        )


async def test_five_thousand_runs_in_one_experiment(live_server):
    client = live_server.client()
    name = _name("wide")
    exp = client.create_experiment(name)
    Seeder(live_server).runs(
        exp,
        [f"sweep-{i:04d}" for i in range(5000)],
        params={"lr": "0.01"},
        latest={"val_loss": 0.5, "train_loss": 0.4},
    )
    app = make_app(Settings(uri=live_server.url, experiments=[name], **FAST))
    async with app.run_test(size=(160, 45)) as pilot:
        table = app.monitor.query_one(RunTable)
        await wait_until(lambda: table.row_count > 0, timeout=60)
        text = screen_text(app)
        assert "sweep-4999" in text  # newest first
        # One page is listed (the newest 500; and any running run): the title says so.
        assert table.row_count == 500
        assert "newest 500" in str(table.border_title)
        await pilot.press("G")
        await wait_until(lambda: table.cursor_row == table.row_count - 1, timeout=10)
        await _still_answers(app, pilot)
