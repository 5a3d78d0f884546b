"""The Now view's data (tui/tracking/now.py) against a real `mlflow server`: running runs of
every experiment, runs that ended in the last hour, and what a refresh costs."""

from __future__ import annotations

import time
import uuid

from mlflow.entities import Metric

from mlflow_tui.analysis.judge import series_keys
from mlflow_tui.tracking.now import NowPoller
from mlflow_tui.tracking.rest import RestSource


def _experiments(client, n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [client.create_experiment(f"now/{tag}/exp{i}") for i in range(n)]


def _log(client, run_id: str, steps, key: str = "train_loss") -> None:
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(key, 1.0 / (s + 1), now + s, s) for s in steps])


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def test_running_runs_of_every_experiment_and_the_recently_ended(live_server):
    client = live_server.client()
    exps = _experiments(client, 3)
    running = []
    for i, exp in enumerate(exps):
        run = client.create_run(exp, run_name=f"live-{i}")
        _log(client, run.info.run_id, range(5))
        _log(client, run.info.run_id, range(5), "val_loss")
        running.append(run.info.run_id)
    done = client.create_run(exps[0], run_name="done-earlier")
    client.set_terminated(done.info.run_id, "FINISHED")
    old = client.create_run(exps[1], run_name="ended-long-ago")
    client.set_terminated(old.info.run_id, "FAILED",
                          end_time=int(time.time() * 1000) - 2 * 3_600_000)
    clock = Clock()
    source = RestSource(live_server.url)
    now = NowPoller(source, clock=clock)
    try:
        first = await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
        assert {r.run_id for r in first.active} == set(running)
        assert [r.run_id for r in first.recent] == [done.info.run_id]  # not the 2-hour-old
        # The judged series of running runs are cached (for warnings everywhere).
        assert all(len(now.points((rid, "val_loss"))) == 5 for rid in running)

        # One run fails, another finishes, a new one starts: the next ticks see all three.
        client.set_terminated(running[1], "FAILED")
        client.set_terminated(running[2], "FINISHED")
        fresh = client.create_run(exps[2], run_name="started-later")
        _log(client, running[0], range(5, 9))
        clock.t += 2
        second = await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
        assert {r.run_id for r in second.active} == {running[0], fresh.info.run_id}
        assert set(second.ended) == {running[1], running[2]}
        statuses = {r.run_id: r.status.value for r in second.recent}
        assert statuses.items() >= {running[1]: "FAILED", running[2]: "FINISHED"}.items()
        assert [p.step for p in now.points((running[0], "train_loss"))] == list(range(9))

        # A quiet refresh between listings: the probes that normally answer nothing (a status
        # change, a new run, a run ended since the last tick), one for the run that has
        # logged nothing yet, one open window per judged key.
        clock.t += 2
        quiet = await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
        assert quiet.ended == [] and quiet.requests <= 6
        assert {r.run_id for r in quiet.active} == {running[0], fresh.info.run_id}

        # Later, the full listing and the recent search agree with the transitions seen.
        clock.t += 120
        later = await now.tick(exps, lambda runs: [k for r in runs for k in series_keys(r)])
        assert {r.run_id for r in later.active} == {running[0], fresh.info.run_id}
        assert {r.run_id for r in later.recent} == {running[1], running[2], done.info.run_id}
        assert later.ended == []
    finally:
        await source.aclose()


async def test_a_run_deleted_while_running_leaves_without_a_trace(live_server):
    client = live_server.client()
    exps = _experiments(client, 2)
    keep = client.create_run(exps[0], run_name="keep")
    gone = client.create_run(exps[1], run_name="gone")
    clock = Clock()
    source = RestSource(live_server.url)
    now = NowPoller(source, clock=clock)
    try:
        first = await now.tick(exps)
        assert {r.run_id for r in first.active} == {keep.info.run_id, gone.info.run_id}
        client.delete_run(gone.info.run_id)
        clock.t += 120  # a full listing
        second = await now.tick(exps)
        assert {r.run_id for r in second.active} == {keep.info.run_id}
        assert second.recent == [] and second.ended == []
    finally:
        await source.aclose()


async def test_more_experiments_than_one_search_takes(live_server):
    """Ids are sent a hundred at a time; the runs of the 101st experiment are found too."""
    client = live_server.client()
    exps = _experiments(client, 101)
    first_run = client.create_run(exps[0], run_name="first")
    last_run = client.create_run(exps[-1], run_name="last")
    source = RestSource(live_server.url)
    now = NowPoller(source, clock=Clock())
    try:
        got = await now.tick(exps)
        assert {r.run_id for r in got.active} == {first_run.info.run_id, last_run.info.run_id}
    finally:
        await source.aclose()
