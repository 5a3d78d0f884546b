"""The Now feed on a server with hundreds of RUNNING runs, most of them silent for days
(crashed trainings never end their runs): each refresh reads the series of at most
FIRST_READS runs it has not read yet, the most recently active first, so the live runs are
judged at the first refresh and the silent ones follow."""

from __future__ import annotations

import asyncio
import math

from mlflow_tui.session.now import FIRST_READS, NowFeed
from mlflow_tui.tracking.models import Experiment, Run, RunStatus
from tests.fakes import FakeSource
from tests.sample_data import curves

NOW_MS = 1_800_000_000_000
DAY = 86_400_000


def _source(silent: int, live: int) -> tuple[FakeSource, list[str]]:
    src = FakeSource()
    src.experiments = [Experiment(str(i), f"team/exp-{i}") for i in range(10)]
    for i in range(silent):  # started and last logged days ago
        src.add_run(Run(f"z{i:04d}", str(i % 10), f"zombie-{i}", RunStatus.RUNNING,
                        NOW_MS - 5 * DAY), curves(30, seed=i), t0=NOW_MS - 4 * DAY - i * 1000)
    live_ids = []
    for i in range(live):  # logging now; one of them overfits
        rid = f"live{i}"
        data = curves(40, overfit_at=12, seed=3) if i == 0 else curves(40, seed=100 + i)
        src.add_run(Run(rid, str(i % 10), f"live-{i}", RunStatus.RUNNING, NOW_MS - 60_000),
                    data, t0=NOW_MS - 45_000)
        live_ids.append(rid)
    return src, live_ids


def test_live_runs_are_judged_at_the_first_refresh_and_the_rest_follow():
    src, live = _source(silent=3 * FIRST_READS, live=5)
    feed = NowFeed(src, wall_ms=lambda: NOW_MS)

    async def go() -> None:
        first = await feed.tick(src.experiments)
        read = {k[0] for k in feed.poller.poller.series}
        assert set(live) <= read, "the live runs first"
        assert len(read) <= FIRST_READS
        assert first.counts.get("0", (0, 0))[0] >= 1, "the overfitting live run is counted"
        refreshes = 1
        while len({k[0] for k in feed.poller.poller.series}) < len(src.runs):
            await feed.tick(src.experiments)
            refreshes += 1
            assert refreshes <= 5, "every run read within a few refreshes"
        assert refreshes == math.ceil(len(src.runs) / FIRST_READS)

    asyncio.run(go())


def test_a_few_running_runs_are_all_read_at_once():
    src, live = _source(silent=10, live=5)
    feed = NowFeed(src, wall_ms=lambda: NOW_MS)
    asyncio.run(feed.tick(src.experiments))
    assert {k[0] for k in feed.poller.poller.series} == {r.run_id for r in src.runs}
