"""The Now feed (tui/session/now.py) against a real `mlflow server`: runs in trouble in any
experiment counted per experiment, a new warning announced once, and an ended run judged as
`mlflow-tui status` judges it."""

from __future__ import annotations

import time
import uuid

from mlflow.entities import Metric

from mlflow_tui.analysis.health import Kind
from mlflow_tui.cli.status import collect
from mlflow_tui.session.now import NowFeed
from mlflow_tui.settings.config import Settings
from mlflow_tui.tracking.rest import RestSource
from tests.sample_data import curves


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _log(client, run_id: str, data: dict[str, list[tuple[int, float]]], upto: int,
         start: int = 0) -> None:
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now + step, step) for key in ("train_loss", "val_loss")
               for step, value in data[key][start:upto]]
    client.log_batch(run_id, metrics=metrics)


async def test_trouble_anywhere_is_counted_and_announced_once(live_server):
    client = live_server.client()
    tag = uuid.uuid4().hex[:8]
    exps = [client.create_experiment(f"feed/{tag}/{name}")
            for name in ("overfits", "healthy", "failed", "later")]
    bad = curves(40, overfit_at=12, seed=3)
    good = curves(40, seed=4)
    overfit = client.create_run(exps[0], run_name="overfits").info.run_id
    _log(client, overfit, bad, 40)
    healthy = client.create_run(exps[1], run_name="healthy").info.run_id
    _log(client, healthy, good, 40)
    failed = client.create_run(exps[2], run_name="crashed").info.run_id
    _log(client, failed, good, 10)
    client.set_terminated(failed, "FAILED")
    later = client.create_run(exps[3], run_name="turns-later").info.run_id
    _log(client, later, bad, 12)  # still healthy: the rise starts after step 12
    experiments = [e for e in await _experiments(live_server) if e.experiment_id in exps]
    clock = Clock()
    source = RestSource(live_server.url)
    feed = NowFeed(source, clock=clock)
    try:
        first = await feed.tick(experiments)
        assert first.first and first.fresh == []
        by_run = {r.run.run_id: r for r in first.rows}
        assert set(by_run) == {overfit, healthy, failed, later}
        assert first.counts == {exps[0]: (1, 0), exps[2]: (0, 1)}
        assert [w.kind for w in by_run[overfit].warnings] == [Kind.OVERFITTING]
        assert by_run[healthy].warnings == () and by_run[later].warnings == ()
        # Trouble first: the failed run (error), the overfitting one, then the healthy ones.
        assert [r.run.run_id for r in first.rows[:2]] == [failed, overfit]

        # The last run starts overfitting: one fresh warning, at this tick only.
        _log(client, later, bad, 40, start=12)
        clock.t += 2
        second = await feed.tick(experiments)
        assert [(row.run.run_id, w.kind) for row, w in second.fresh] == [
            (later, Kind.OVERFITTING)]
        assert second.counts[exps[3]] == (1, 0)
        clock.t += 2
        third = await feed.tick(experiments)
        assert third.fresh == [] and third.counts == second.counts
    finally:
        await source.aclose()


async def test_an_ended_run_gets_the_verdict_status_gives(live_server):
    client = live_server.client()
    exp_name = f"feed/{uuid.uuid4().hex[:8]}/ends"
    exp = client.create_experiment(exp_name)
    bad = curves(40, overfit_at=12, seed=3)
    run = client.create_run(exp, run_name="ends-overfit").info.run_id
    _log(client, run, bad, 40)
    experiments = [e for e in await _experiments(live_server) if e.experiment_id == exp]
    clock = Clock()
    source = RestSource(live_server.url)
    feed = NowFeed(source, clock=clock)
    try:
        running = await feed.tick(experiments)
        assert [w.kind for w in running.rows[0].warnings] == [Kind.OVERFITTING]
        client.set_terminated(run, "FINISHED")
        clock.t += 2
        ended = await feed.tick(experiments)
        row = ended.rows[0]
        assert row.run.status.value == "FINISHED"
        rows, _ = await collect(source, Settings(uri=live_server.url, experiments=[exp_name]),
                                int(time.time() * 1000))
        assert [(w.kind, w.reason, w.step) for w in row.warnings] == [
            (w.kind, w.reason, w.step) for w in rows[0].warnings]
        assert row.judgement.best == dict(rows[0].best)
    finally:
        await source.aclose()


async def _experiments(live_server):
    source = RestSource(live_server.url)
    try:
        return await source.search_experiments()
    finally:
        await source.aclose()
