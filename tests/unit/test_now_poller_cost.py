"""What one refresh of the Now feed asks (tui/tracking/now.py): between listings, the two probes
and one window per judged key, no more; the search for runs that ended unseen (too short to be
seen running) every ENDED_EVERY s, not every refresh, and such a run still shows."""

from __future__ import annotations

import asyncio

from mlflow_tui.analysis.judge import series_keys
from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from mlflow_tui.tracking.now import ENDED_EVERY, NowPoller
from tests.fakes import FakeSource
from tests.sample_data import T0, curves


class Logged(FakeSource):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def search_runs(self, experiment_ids, *, filter_string="", max_runs=5000):
        self.asked.append(f"search {filter_string}")
        return await super().search_runs(experiment_ids, filter_string=filter_string,
                                         max_runs=max_runs)

    async def get_history_window(self, run_ids, key, **kw):
        self.asked.append(f"window {key}")
        return await super().get_history_window(run_ids, key, **kw)


def _source() -> Logged:
    src = Logged()
    src.experiments = [Experiment(str(i), f"team/e{i}") for i in range(50)]
    for i in range(0, 50, 10):
        src.add_run(Run(f"r{i}", str(i), f"live-{i}", RunStatus.RUNNING, T0, None),
                    curves(20, seed=i), t0=T0)
    return src


def _tracked(runs):
    return [k for r in runs for k in series_keys(r)]


def test_a_quiet_refresh_asks_the_two_probes_and_one_window_per_key():
    src = _source()
    clock = [0.0]
    now = NowPoller(src, clock=lambda: clock[0], wall_ms=lambda: T0 + int(clock[0] * 1000))
    ids = [e.experiment_id for e in src.experiments]

    async def ticks() -> list[list[str]]:
        await now.tick(ids, _tracked)
        asked = []
        for _ in range(30):  # a minute of refreshes, 2 s apart
            clock[0] += 2
            mark = len(src.asked)
            await now.tick(ids, _tracked)
            asked.append(src.asked[mark:])
        return asked

    asked = asyncio.run(ticks())
    # Light refreshes (between the listings every 10 s): new runs, status changes, and the
    # open windows of train_loss and val_loss; 4 requests, nothing else.
    light = [a for a in asked if "window train_loss" in a]
    assert light and min(len(a) for a in light) == 4, light[:3]
    ended_probes = sum(1 for a in asked for q in a if q.startswith("search attributes.end_time"))
    assert ended_probes <= 60 / ENDED_EVERY + 1, ended_probes
    assert sum(map(len, asked)) / len(asked) < 4, sum(map(len, asked)) / len(asked)


def test_a_run_too_short_to_be_seen_running_still_shows():
    src = _source()
    clock = [0.0]
    now = NowPoller(src, clock=lambda: clock[0], wall_ms=lambda: T0 + int(clock[0] * 1000))
    ids = [e.experiment_id for e in src.experiments]

    async def run() -> list[str]:
        await now.tick(ids, _tracked)
        clock[0] += 2
        await now.tick(ids, _tracked)
        # Started and ended between two refreshes, never listed as running.
        src.add_run(Run("short", "7", "short-run", RunStatus.FINISHED,
                        T0 + 2500, T0 + 3000), {})
        ended: list[str] = []
        for _ in range(int(ENDED_EVERY / 2) + 1):
            clock[0] += 2
            ended += (await now.tick(ids, _tracked)).ended
        return ended

    assert asyncio.run(run()) == ["short"]
    assert "short" in now.recent
